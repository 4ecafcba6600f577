"""nbgrader's steps that fetch a submission's grades one cell at a time, and the engine's that
fetch them at once, store and show the same.

``SaveAutoGradesAtOnce`` against nbgrader's ``SaveAutoGrades``: both run on copies of one
gradebook, on a notebook with every kind of cell the step scores: autograded tests that pass and
fail, one whose score a grader overrode, a written answer left as released and one answered, a
written answer already graded by hand, and a task. Every grade and comment must come out the
same, field by field. The feedback's ``GetGradesAndPending`` must show the same with its rows
fetched at once as with nbgrader's lookups.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import SaveAutoGrades

from notebook_grader import patches
from notebook_grader.patches.overrides import SAVE_GRADES_AT_ONCE
from notebook_grader.pipeline.save_grades import SaveAutoGradesAtOnce
from notebook_grader.storage.database import ensure_schema
from notebook_grader.storage.gradebook_rows import submission_grades_and_comments

ASSIGNMENT, NOTEBOOK, COURSE = "a1", "graded", "course"
STUDENTS = ("amy", "ben")


def _cell(cell: Any, grade_id: str, *, grade: bool = False, solution: bool = False, task: bool = False,
          locked: bool = False, points: float = 0.0) -> Any:
    cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": grade, "solution": solution, "task": task,
                                 "locked": locked, "schema_version": 3, "points": points}
    cell.metadata["nbgrader"]["checksum"] = utils.compute_checksum(cell)
    cell.id = grade_id.replace("_", "-")  # the same notebook every time it is built
    return cell


def _released() -> Any:
    return new_notebook(cells=[
        _cell(new_code_cell("def f(x):\n    raise NotImplementedError"), "answer", solution=True),
        _cell(new_code_cell("assert f(1) == 2"), "test_pass", grade=True, locked=True, points=2),
        _cell(new_code_cell("assert f(2) == 4"), "test_fail", grade=True, locked=True, points=3),
        _cell(new_code_cell("assert f(3) == 6"), "test_overridden", grade=True, locked=True, points=1),
        _cell(new_markdown_cell("YOUR ANSWER HERE"), "written_blank", grade=True, solution=True, points=2),
        _cell(new_markdown_cell("YOUR ANSWER HERE"), "written_answered", grade=True, solution=True, points=2),
        _cell(new_markdown_cell("YOUR ANSWER HERE"), "written_hand_graded", grade=True, solution=True, points=1),
        _cell(new_markdown_cell("Plot the data."), "task", task=True, locked=True, points=1),
    ])


def _submitted(released: Any) -> Any:
    nb = nbformat.from_dict(released)
    nb.cells[0].source = "def f(x):\n    return 2 * x if x == 1 else 0"
    nb.cells[2].outputs = [new_output("error", ename="AssertionError", evalue="", traceback=[])]
    nb.cells[5].source = "Because the score has mean zero."
    nb.cells[6].source = "An answer a grader has already scored."
    return nb


@pytest.fixture
def gradebook(tmp_path: Path) -> Path:
    path = tmp_path / "gradebook.db"
    released = _released()
    ensure_schema(f"sqlite:///{path}")  # as `course release` makes it (nbgrader's own way takes 3 s)
    with Gradebook(f"sqlite:///{path}", COURSE) as gb:
        gb.add_assignment(ASSIGNMENT)
        gb.add_notebook(NOTEBOOK, ASSIGNMENT)
        for cell in released.cells:
            meta = cell.metadata["nbgrader"]
            name = meta["grade_id"]
            gb.add_source_cell(name, NOTEBOOK, ASSIGNMENT, cell_type=cell.cell_type, locked=meta["locked"],
                               source=cell.source, checksum=meta["checksum"])
            if meta["task"]:
                gb.add_task_cell(name, NOTEBOOK, ASSIGNMENT, max_score=meta["points"], cell_type=cell.cell_type)
            elif meta["grade"]:
                gb.add_grade_cell(name, NOTEBOOK, ASSIGNMENT, max_score=meta["points"], cell_type=cell.cell_type)
            if meta["solution"]:
                gb.add_solution_cell(name, NOTEBOOK, ASSIGNMENT)
        for student in STUDENTS:
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
            gb.find_grade("written_hand_graded", NOTEBOOK, ASSIGNMENT, student).manual_score = 1.0
            gb.find_grade("test_overridden", NOTEBOOK, ASSIGNMENT, student).manual_score = 0.5  # a grader's override
        gb.db.commit()
    return path


def _save(step: type, db: Path, student: str) -> tuple[list[Any], list[Any]]:
    nb = _submitted(_released())
    resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": student,
                              "db_url": f"sqlite:///{db}"}}
    step().preprocess(nb, resources)
    with Gradebook(f"sqlite:///{db}", COURSE) as gb:
        grades, comments = submission_grades_and_comments(gb, ASSIGNMENT, student)
        return (sorted((key, g.auto_score, g.manual_score, g.needs_manual_grade) for key, g in grades.items()),
                sorted((key, c.auto_comment, c.manual_comment) for key, c in comments.items()))


def test_it_stores_what_nbgraders_step_stores(gradebook: Path, tmp_path: Path) -> None:
    theirs, ours = tmp_path / "theirs.db", tmp_path / "ours.db"
    shutil.copy(gradebook, theirs)
    shutil.copy(gradebook, ours)
    for student in STUDENTS:
        expected = _save(SaveAutoGrades, theirs, student)
        assert _save(SaveAutoGradesAtOnce, ours, student) == expected
    grades, comments = expected
    by_cell = {key[1]: row for key, *row in grades}
    assert by_cell["test_pass"] == [2.0, None, False] and by_cell["test_fail"] == [0.0, None, False]
    assert by_cell["written_hand_graded"][2] is True  # a hand-given score keeps the part under review
    assert by_cell["test_overridden"] == [1.0, 0.5, True]
    assert dict((key[1], auto) for key, auto, _ in comments)["written_blank"] == "No response."


def test_with_the_patches_off_it_is_nbgraders_step(gradebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(patches.SWITCH, "1")
    monkeypatch.delitem(patches.APPLIED, SAVE_GRADES_AT_ONCE.name, raising=False)  # decided again, switched off
    calls: list[str] = []
    monkeypatch.setattr(SaveAutoGrades, "_add_score", lambda self, cell, resources: calls.append("nbgrader's"))
    monkeypatch.setattr(SaveAutoGrades, "_add_comment", lambda self, cell, resources: None)
    _save(SaveAutoGradesAtOnce, gradebook, STUDENTS[0])
    assert calls == ["nbgrader's"] * 6  # one per graded cell


def test_feedback_gets_the_grades_nbgraders_step_gets(gradebook: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The feedback step (``GetGradesAndPending``) puts the same scores, points and comments into the
    notebook with the rows fetched at once as with nbgrader's lookups, cell by cell."""
    from notebook_grader.patches.overrides import FEEDBACK_GRADES_AT_ONCE
    from notebook_grader.pipeline.feedback_exporter import GetGradesAndPending

    _save(SaveAutoGradesAtOnce, gradebook, STUDENTS[0])
    with Gradebook(f"sqlite:///{gradebook}", COURSE) as gb:
        gb.find_comment("answer", NOTEBOOK, ASSIGNMENT, STUDENTS[0]).manual_comment = "Nice and short."
        gb.db.commit()

    def shown() -> tuple[list[Any], dict[str, Any]]:
        nb = _submitted(_released())
        resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": STUDENTS[0],
                                  "db_url": f"sqlite:///{gradebook}"}}
        nb, resources = GetGradesAndPending().preprocess(nb, resources)
        return [dict(c.metadata["nbgrader"]) for c in nb.cells], dict(resources["nbgrader"])

    at_once = shown()
    monkeypatch.setenv(patches.SWITCH, "1")
    monkeypatch.delitem(patches.APPLIED, FEEDBACK_GRADES_AT_ONCE.name, raising=False)
    assert not patches.in_use(FEEDBACK_GRADES_AT_ONCE)
    assert shown() == at_once
    cells = {meta["grade_id"]: meta for meta in at_once[0]}
    assert cells["answer"]["comment"] == "Nice and short." and cells["test_fail"]["score"] == 0.0
    assert cells["written_answered"]["awaiting_hand_grading"] is True


def test_overwrite_cells_restores_what_nbgraders_step_restores(gradebook: Path, tmp_path: Path) -> None:
    """A tampered submission: a locked test edited, its points raised, a cell's type changed, a test
    deleted. The engine's ``OverwriteCellsAtOnce`` restores exactly what nbgrader's
    ``OverwriteCells`` restores (missing cells added back, as the course configures)."""
    from nbgrader.preprocessors import OverwriteCells

    from notebook_grader.pipeline.overwrite_cells import OverwriteCellsAtOnce

    def tampered() -> Any:
        nb = _submitted(_released())
        nb.cells[1].source = "assert True  # edited"
        nb.cells[1].metadata["nbgrader"]["points"] = 50
        nb.cells[4].cell_type = "code"
        nb.cells[4].outputs, nb.cells[4].execution_count = [], None
        del nb.cells[2]
        return nb

    pages = []
    for step in (OverwriteCells, OverwriteCellsAtOnce):
        db = tmp_path / f"{step.__name__}.db"
        shutil.copy(gradebook, db)
        resources = {"nbgrader": {"notebook": NOTEBOOK, "assignment": ASSIGNMENT, "student": STUDENTS[0],
                                  "db_url": f"sqlite:///{db}"}}
        nb, _ = step(add_missing_cells=True).preprocess(tampered(), resources)
        pages.append(nb)
    ids = [[cell.pop("id", None) for cell in nb.cells] for nb in pages]  # a cell put back gets a random id
    assert pages[1] == pages[0] and len(ids[0]) == len(ids[1])
    restored = pages[1]
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in restored.cells}
    assert by_id["test_pass"].source == "assert f(1) == 2" and by_id["test_pass"].metadata["nbgrader"]["points"] == 2
    assert "test_fail" in by_id and by_id["written_answered"].cell_type == "markdown"


class _Queries:
    """Counts the SQL statements a gradebook's engine runs while the block runs."""

    def __init__(self, gb: Gradebook) -> None:
        self.engine, self.count = gb.engine, 0

    def _seen(self, *args: Any, **kwargs: Any) -> None:
        self.count += 1

    def __enter__(self) -> _Queries:
        from sqlalchemy import event

        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc: Any) -> None:
        from sqlalchemy import event

        event.remove(self.engine, "before_cursor_execute", self._seen)


def test_the_cells_and_rows_fetched_at_once_hold_every_column_the_steps_read(gradebook: Path) -> None:
    """No query per cell afterwards: a graded cell's points and type, and a grade's points, come with the fetch."""
    from notebook_grader.pipeline.overwrite_cells import NotebookCells

    _save(SaveAutoGradesAtOnce, gradebook, STUDENTS[0])
    with Gradebook(f"sqlite:///{gradebook}", COURSE) as gb:
        cells = NotebookCells(gb, NOTEBOOK, ASSIGNMENT)
        grades, _ = submission_grades_and_comments(gb, ASSIGNMENT, STUDENTS[0])
        graded = [cells.find_graded_cell(name, NOTEBOOK, ASSIGNMENT) for name in
                  ("test_pass", "test_fail", "test_overridden", "written_blank", "written_answered",
                   "written_hand_graded", "task")]
        with _Queries(gb) as queries:
            read = [(c.name, c.max_score, c.cell_type) for c in graded]
            points = {name: g.max_score for (_, name), g in grades.items()}
        assert queries.count == 0
        assert read[0] == ("test_pass", 2.0, "code") and read[-1] == ("task", 1.0, "markdown")
        assert points == {name: gb.find_grade(name, NOTEBOOK, ASSIGNMENT, STUDENTS[0]).max_score for name in points}
        assert points["test_fail"] == 3.0 and points["task"] == 1.0

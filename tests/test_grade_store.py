"""The coordinator's bookkeeping: the gradebook lock, folders replaced in one step, the template's gradebook,
storing a result."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbgrader.api import Gradebook, MissingEntry

from notebook_grader.model import CommentRecord, GradeRecord, GradingResult
from notebook_grader.release import generate_release
from notebook_grader.run.template import build_template
from notebook_grader.storage.database import ensure_schema
from notebook_grader.storage.store import GradebookLock, _replace_folder, remove_leftovers, store_result
from tests.course_copy import ASSIGNMENT, copy_course

pytestmark = pytest.mark.unit


def test_lock_is_exclusive_and_dies_with_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from notebook_grader.storage.store import GradebookLock\n"
        f"assert GradebookLock(Path({str(path)!r})).acquire(wait=False)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    lock = GradebookLock(path)
    assert not lock.acquire(wait=False)
    assert lock.holder() == str(holder.pid)
    os.kill(holder.pid, signal.SIGKILL)  # a killed grader never leaves the gradebook locked
    holder.wait()
    deadline = time.monotonic() + 5
    while not lock.acquire(wait=False):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lock.release()


def test_a_folder_is_replaced_whole(tmp_path: Path) -> None:
    dest = tmp_path / "autograded" / "alice" / "hw"
    _replace_folder(dest, {"exercises.ipynb": b"old", "data/extra.csv": b"1"}, 0o444)
    _replace_folder(dest, {"exercises.ipynb": b"new"}, 0o444)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["exercises.ipynb"]
    assert (dest / "exercises.ipynb").read_bytes() == b"new"
    assert not (dest / "exercises.ipynb").stat().st_mode & 0o222
    assert [p.name for p in dest.parent.iterdir()] == ["hw"]


def test_a_run_killed_between_two_renames_is_repaired(tmp_path: Path) -> None:
    student = tmp_path / "autograded" / "alice"
    _replace_folder(student / "hw", {"exercises.ipynb": b"graded"}, 0o444)
    retired = student / ".hw.old-x1"  # the old folder moved aside, the new one not moved in yet
    retired.mkdir()
    os.rename(student / "hw", retired / "hw")
    half = student / ".hw.new-x2"
    half.mkdir()
    (half / "exercises.ipynb").write_bytes(b"half")
    remove_leftovers(tmp_path, "hw")
    assert (student / "hw" / "exercises.ipynb").read_bytes() == b"graded"
    assert sorted(p.name for p in student.iterdir()) == ["hw"]


def test_a_template_gradebook_is_what_nbgrader_would_create(tmp_path: Path) -> None:
    """The course's gradebook (made by `course release`) and the template, built without
    nbgrader's `alembic heads` subprocess and (the template) without its per-row methods: the same
    schema and version, and nbgrader reads from it the assignment the course's gradebook holds
    (due date, notebooks, and every grade, solution, task and source cell with its stored fields)."""
    course = copy_course(tmp_path / "course")
    generate_release(course, ASSIGNMENT)
    with Gradebook(course.db_url) as gb:  # the course has none; a task cell, so the test covers one
        gb.add_task_cell("a_task", "exercises", ASSIGNMENT, max_score=2.0, cell_type="markdown")
    template = build_template(course, ASSIGNMENT, tmp_path / "template")
    nbgraders = tmp_path / "nbgrader.db"
    Gradebook(f"sqlite:///{nbgraders}").close()  # a new gradebook, made by nbgrader itself

    def schema(path: Path) -> tuple[list, list]:
        with sqlite3.connect(path) as db:
            return (sorted(db.execute("SELECT type, name, sql FROM sqlite_master")),
                    db.execute("SELECT version_num FROM alembic_version").fetchall())

    assert schema(template.gradebook) == schema(nbgraders)
    assert schema(course.root / "gradebook.db") == schema(nbgraders)  # made by `course release`, not nbgrader

    def definition(db_url: str) -> dict:
        """The assignment as nbgrader reads it: due date, notebooks and every cell's stored fields."""
        with Gradebook(db_url, template.course_id) as gb:
            stored = gb.find_assignment(ASSIGNMENT)
            return {"course": stored.course_id, "duedate": stored.duedate, "notebooks": {
                nb.name: {
                    "kernelspec": nb.kernelspec,
                    "grade": sorted((c.name, c.max_score, c.cell_type) for c in nb.grade_cells),
                    "solution": sorted(c.name for c in nb.solution_cells),
                    "task": sorted((c.name, c.max_score, c.cell_type) for c in nb.task_cells),
                    "source": sorted((c.name, c.cell_type, c.locked, c.source, c.checksum) for c in nb.source_cells),
                } for nb in stored.notebooks}}

    built = definition(f"sqlite:///{template.gradebook}")
    assert built == definition(course.db_url)
    assert all(built["notebooks"]["exercises"][kind] for kind in ("grade", "solution", "task", "source"))


def test_a_result_is_stored_in_the_cells_nbgrader_would_find(tmp_path: Path) -> None:
    """One student's scores and comments land in that student's rows, cell by cell, as nbgrader's
    ``find_grade``/``find_comment`` locate them (same cell names in two notebooks, task cells)."""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    ensure_schema(db_url)  # as `course release` makes it (nbgrader's own way takes 3 s)
    with Gradebook(db_url) as gb:
        gb.add_assignment("hw")
        for notebook in ("one", "two"):
            gb.add_notebook(notebook, "hw")
            for cell in ("p1", "p2"):
                gb.add_grade_cell(cell, notebook, "hw", max_score=3, cell_type="code")
            gb.add_solution_cell("answer", notebook, "hw")
            gb.add_task_cell("task", notebook, "hw", max_score=2, cell_type="markdown")
        for student in ("ann", "ben"):
            gb.add_student(student)
            gb.add_submission("hw", student)
        gb.find_grade("task", "two", "hw", "ben").manual_score = 1.0
        gb.db.commit()

    def result(student: str, base: float) -> GradingResult:
        grades = [GradeRecord(nb, cell, base + i) for i, (nb, cell) in
                  enumerate((nb, cell) for nb in ("one", "two") for cell in ("p1", "p2"))]
        grades += [GradeRecord("one", "task", None), GradeRecord("two", "task", 0.5)]
        comments = [CommentRecord(nb, cell, f"{student} {nb} {cell}") for nb in ("one", "two")
                    for cell in ("answer", "task")]
        return GradingResult(assignment="hw", student=student, grades=grades, comments=comments)

    for student, base in (("ann", 0.0), ("ben", 10.0)):
        store_result(tmp_path, db_url, "default_course", result(student, base),
                     submission_fingerprint=student, assignment_fingerprint="a")
    with Gradebook(db_url) as gb:
        for student, base in (("ann", 0.0), ("ben", 10.0)):
            stored = result(student, base)
            for record in stored.grades:
                grade = gb.find_grade(record.name, record.notebook, "hw", student)
                assert grade.auto_score == record.auto_score, (student, record)
            for record in stored.comments:
                assert gb.find_comment(record.name, record.notebook, "hw", student).auto_comment == \
                    record.auto_comment
            assert gb.find_grade("p1", "one", "hw", student).needs_manual_grade is False
            assert gb.find_grade("task", "one", "hw", student).needs_manual_grade is True  # no score
        assert gb.find_grade("task", "two", "hw", "ben").needs_manual_grade is True  # a manual score stays
        assert gb.find_grade("task", "two", "hw", "ann").needs_manual_grade is False

    wrong = result("ann", 100.0)
    wrong.grades.append(GradeRecord("three", "p1", 1.0))  # no such notebook: nothing is stored
    with pytest.raises(MissingEntry):
        store_result(tmp_path, db_url, "default_course", wrong, submission_fingerprint="x", assignment_fingerprint="a")
    with Gradebook(db_url) as gb:
        assert gb.find_grade("p1", "one", "hw", "ann").auto_score == 0.0


def test_a_timestamp_file_that_cannot_be_written_costs_no_grade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """The stored time is also written to submitted/<student>/<assignment>/timestamp.txt for formgrader; a
    folder that refuses the file (read-only, full disk) leaves the stored grades and time as they are."""
    from datetime import datetime

    from notebook_grader.storage import store

    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    ensure_schema(db_url)  # as `course release` makes it (nbgrader's own way takes 3 s)
    with Gradebook(db_url) as gb:
        gb.add_assignment("hw")
        gb.add_notebook("one", "hw")
        gb.add_grade_cell("p1", "one", "hw", max_score=3, cell_type="code")
        gb.add_student("ann")
        gb.add_submission("hw", "ann")
        gb.db.commit()
    (tmp_path / "submitted" / "ann" / "hw").mkdir(parents=True)

    def refuse(folder: Path, at: datetime) -> None:
        raise PermissionError(13, "Permission denied", str(folder / "timestamp.txt"))

    monkeypatch.setattr(store, "write_timestamp_file", refuse)
    when = datetime(2026, 3, 1, 12, 0)
    result = GradingResult(assignment="hw", student="ann", grades=[GradeRecord("one", "p1", 2.0)], timestamp=when)
    store_result(tmp_path, db_url, "default_course", result, submission_fingerprint="f", assignment_fingerprint="a")
    with Gradebook(db_url) as gb:
        assert gb.find_grade("p1", "one", "hw", "ann").auto_score == 2.0
        assert gb.find_submission("hw", "ann").timestamp == when
    assert "not written to timestamp.txt" in caplog.text and "Permission denied" in caplog.text

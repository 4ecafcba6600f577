"""The score tables and CSV, read with plain SQL, agree with nbgrader's own model of the gradebook."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from notebook_grader.report.scores import (
    course_scores,
    format_course_table,
    format_table,
    student_scores,
    write_csv,
)
from notebook_grader.storage.database import ensure_schema

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def built_gradebook(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two assignments; hand grades, extra credit, an ungraded written answer, a task cell, a missing
    student. Built once (nbgrader's ``Gradebook`` commits row by row), and each test gets a copy."""
    path = tmp_path_factory.mktemp("scores") / "gradebook.db"
    url = f"sqlite:///{path}"
    ensure_schema(url)  # as `course release` makes it (nbgrader's own way takes 3 s)
    with Gradebook(url) as gb:
        for assignment in ("unit1", "unit2"):
            gb.update_or_create_assignment(assignment)
            gb.update_or_create_notebook("exercises", assignment)
            gb.update_or_create_grade_cell("ex1a", "exercises", assignment, max_score=4, cell_type="code")
            gb.update_or_create_grade_cell("ex1b", "exercises", assignment, max_score=2, cell_type="code")
            gb.update_or_create_grade_cell("ex1c", "exercises", assignment, max_score=3, cell_type="markdown")
            gb.update_or_create_task_cell("task1", "exercises", assignment, max_score=1, cell_type="markdown")
        for student in ("alice", "bob", "=cmd"):
            gb.update_or_create_student(student)
        gb.add_submission("unit1", "alice")
        gb.add_submission("unit1", "bob")
        gb.add_submission("unit1", "=cmd")
        gb.add_submission("unit2", "alice")
        values = {
            ("unit1", "alice"): {"ex1a": (4, None, None), "ex1b": (2, 0.5, 0.25), "ex1c": (None, 3, 1.0),
                                 "task1": (None, 1, None)},
            ("unit1", "bob"): {"ex1a": (0, None, None), "ex1b": (2, None, 0.5), "ex1c": (None, None, None)},
            ("unit1", "=cmd"): {},
            ("unit2", "alice"): {"ex1a": (1.5, None, None), "ex1c": (None, 2, None)},
        }
        for (assignment, student), cells in values.items():
            for cell, (auto, manual, extra) in cells.items():
                grade = gb.find_grade(cell, "exercises", assignment, student)
                grade.auto_score, grade.manual_score, grade.extra_credit = auto, manual, extra
                grade.needs_manual_grade = manual is None and auto is None
            gb.db.commit()
    return path


@pytest.fixture
def gradebook(built_gradebook: Path, tmp_path: Path) -> str:
    """A copy of the gradebook above for one test, as a database URL."""
    shutil.copy(built_gradebook, tmp_path / "gradebook.db")
    return f"sqlite:///{tmp_path / 'gradebook.db'}"


def _nbgrader_scores(url: str, assignment: str) -> dict[str, tuple]:
    with Gradebook(url) as gb:
        result = {}
        for sub in gb.assignment_submissions(assignment):
            parts = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    graded = grade.auto_score is not None or grade.manual_score is not None
                    parts[grade.name] = grade.score if graded else None
            result[sub.student_id] = (sub.code_score, sub.max_code_score, sub.written_score, sub.max_written_score,
                                      bool(sub.needs_manual_grade), parts)
        return result


@pytest.mark.parametrize("driver", ["sqlite", "sqlite+pysqlite"])  # the standard library; SQLAlchemy
@pytest.mark.parametrize("assignment", ["unit1", "unit2", "unknown"])
def test_sql_scores_equal_nbgraders(gradebook: str, assignment: str, driver: str) -> None:
    url = gradebook
    ours = {r.student: (r.autograded, r.max_autograded, r.written, r.max_written, r.needs_manual_grade, r.parts)
            for r in student_scores(url.replace("sqlite:", f"{driver}:", 1), assignment)}
    assert ours == _nbgrader_scores(url, assignment)  # sums of binary fractions: exact


def test_known_values(gradebook: str) -> None:
    rows = {r.student: r for r in student_scores(gradebook, "unit1")}
    alice, bob = rows["alice"], rows["bob"]
    assert (alice.autograded, alice.written, alice.max_total) == (4 + 0.5 + 0.25, 3 + 1.0, 9)
    assert (bob.autograded, bob.written, bob.needs_manual_grade) == (2.5, 0, True)
    assert bob.parts["ex1c"] is None and alice.parts["task1"] == 1


def test_empty_gradebook_has_no_scores(tmp_path: Path) -> None:
    assert student_scores(f"sqlite:///{tmp_path / 'none.db'}", "unit1") == []


def test_course_table_and_csv(gradebook: str, tmp_path: Path) -> None:
    url = gradebook
    by_assignment = course_scores(url, ["unit1", "unit2"])
    table = format_course_table(by_assignment)
    assert "course total" in table.splitlines()[0]
    alice = next(line for line in table.splitlines() if line.startswith("alice"))
    assert alice.split() == ["alice", "8.75/9", "3.5/9", "12.25/18"]
    bob = next(line for line in table.splitlines() if line.startswith("bob"))
    assert bob.split() == ["bob", "2.5/9", "-", "2.5/18"]
    assert "alice" in format_table(by_assignment["unit1"])
    write_csv(by_assignment, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv") as f:
        rows = list(csv.DictReader(f))
    assert [(r["student_id"], r["assignment"]) for r in rows] == [
        ("'=cmd", "unit1"), ("alice", "unit1"), ("bob", "unit1"), ("alice", "unit2")]
    alice2 = rows[3]
    assert float(alice2["total"]) == 3.5 and float(alice2["course_total"]) == 12.25
    assert alice2["unit2/ex1a"] == "1.5" and alice2["unit1/ex1a"] == ""

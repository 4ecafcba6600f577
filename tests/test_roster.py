"""The class roster: ``course students import``, names in the scores and CSVs, and the Canvas and
Moodle grade exports."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from nbgrader.api import Gradebook

from notebook_grader.course import Course
from notebook_grader.report.scores import student_scores, write_csv, write_lms_csv
from notebook_grader.storage.roster import RosterInvalid, read_roster
from tests.course_copy import ASSIGNMENT
from tests.faults.courses import released_course, run_course

GOOD = """id,first_name,last_name,email
alice,Alice,Martin,alice@example.org
bob,Bob,=Evil(),bob@example.org
dana,Dana,Okafor,
"""


@pytest.fixture
def course(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Course:
    """A released course whose gradebook already has alice's and bob's (empty) submissions."""
    root = tmp_path / "course"
    shutil.copytree(released_course(tmp_path_factory), root, symlinks=True)
    course = Course(root.resolve())
    with Gradebook(course.db_url) as gb:
        for student in ("alice", "bob"):
            gb.add_student(student)
            gb.add_submission(ASSIGNMENT, student)
    return course


def _students(course: Course) -> dict[str, tuple[str | None, str | None, str | None]]:
    with Gradebook(course.db_url) as gb:
        return {s.id: (s.first_name, s.last_name, s.email) for s in gb.students}


def test_a_roster_gives_the_gradebook_its_names_and_keeps_the_grades(course: Course, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(GOOD)
    proc = run_course(course.root, "students", "import", str(roster))
    assert "3 student(s): 1 added, 2 updated" in proc.stdout
    assert _students(course) == {"alice": ("Alice", "Martin", "alice@example.org"),
                                 "bob": ("Bob", "=Evil()", "bob@example.org"), "dana": ("Dana", "Okafor", None)}
    with Gradebook(course.db_url) as gb:
        assert {s.student_id for s in gb.assignment_submissions(ASSIGNMENT)} == {"alice", "bob"}
    table = run_course(course.root, "scores").stdout
    assert "Martin, Alice" in table and "=Evil(), Bob" in table


def test_a_roster_with_bad_rows_imports_nothing_and_names_every_bad_line(course: Course, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("Student ID,First Name,Last Name,Email\n"
                      "carol,Carol,Nguyen,carol@example.org\n"       # line 2: good
                      "bad id,Bad,Id,bad@example.org\n"              # line 3: a space in the id
                      "carol,Carol,Again,carol2@example.org\n"       # line 4: duplicate id
                      "erin,,,erin@example.org\n"                    # line 5: no name
                      "frank,Frank,Lee,not-an-address\n"             # line 6: bad email
                      "gina,Gina\n")                                 # line 7: too few fields
    proc = run_course(course.root, "students", "import", str(roster), check=False)
    assert proc.returncode == 2, proc.stderr
    assert "nothing imported" in proc.stderr
    for line, why in ((3, "is not allowed"), (4, "also on line 2"), (5, "no first or last name"),
                      (6, "is not an address"), (7, "2 fields")):
        assert any(f"line {line}:" in row and why in row for row in proc.stderr.splitlines()), (line, proc.stderr)
    assert "line 2" not in proc.stderr.replace("also on line 2", "")
    assert set(_students(course)) == {"alice", "bob"}, "a good row of a bad roster was stored"


def test_a_roster_without_the_columns_is_refused(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("login,name\nalice,Alice\n")
    with pytest.raises(RosterInvalid, match=r"line 1: no column 'id'"):
        read_roster(roster)


def test_names_reach_grades_csv_safely_and_the_lms_exports_carry_the_totals(course: Course, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(GOOD)
    run_course(course.root, "students", "import", str(roster))
    rows = student_scores(course.db_url, ASSIGNMENT)
    write_csv({ASSIGNMENT: rows}, tmp_path / "grades.csv")
    with open(tmp_path / "grades.csv") as f:
        grades = {r["student_id"]: r for r in csv.DictReader(f)}
    assert grades["alice"]["first_name"] == "Alice" and grades["alice"]["email"] == "alice@example.org"
    assert grades["bob"]["last_name"] == "'=Evil()", "a formula in a name is quoted"

    run_course(course.root, "export", "--lms", "canvas")
    with open(course.root / "grades-canvas.csv") as f:
        canvas = list(csv.reader(f))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", ASSIGNMENT]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == rows[0].max_total > 0
    assert canvas[2][:3] == ["Martin, Alice", "", "alice"]
    assert {r[2]: float(r[5]) for r in canvas[2:]} == {r.student: r.total for r in rows}

    write_lms_csv(rows, ASSIGNMENT, "moodle", tmp_path / "moodle.csv")
    with open(tmp_path / "moodle.csv") as f:
        moodle = list(csv.DictReader(f))
    assert list(moodle[0]) == ["First name", "Last name", "ID number", "Email address", ASSIGNMENT]
    assert moodle[0]["Email address"] == "alice@example.org" and moodle[1]["Last name"] == "'=Evil()"
    assert {r["ID number"]: float(r[ASSIGNMENT]) for r in moodle} == {r.student: r.total for r in rows}

"""Nothing lost: a grader killed mid-batch resumes, and two graders at once share one gradebook.

Both cases end with the same checks on the gradebook: it is intact, every student has exactly
one submission with exactly one grade per graded cell, and every score is the right one.
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from notebook_grader.course import Course
from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT
from tests.faults.catalog import FaultContext, Listener
from tests.faults.courses import course_command, course_env, new_course, released_course, run_course
from tests.support.processes import parent_pid, running
from tests.support.submissions import fill, write_submission

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SLOW_STUDENTS = 4  # each sleeps this long in a cell of its own, so that a kill lands mid-batch
SLOW_SECONDS = 1.5


def _class_of(tmp_path: Path, factory: pytest.TempPathFactory, slow: int = SLOW_STUDENTS
              ) -> tuple[Course, dict[str, float]]:
    """The three samples and ``slow`` correct but slow submissions; the scores each must get."""
    course = new_course(released_course(factory), tmp_path / "course")
    listener = Listener()
    try:
        ctx = FaultContext(course.root, "resume", listener)
    finally:
        listener.close()
    expected = {"alice": ctx.full, "bob": 30.0, "carol": 0.0}
    for number in range(slow):
        nb = fill(ctx.release, ctx.answers, {"ex1_code": f"import time\ntime.sleep({SLOW_SECONDS})"})
        write_submission(nb, course.root / "submitted", f"slow{number}", ASSIGNMENT)
        expected[f"slow{number}"] = ctx.full
    return course, expected


def _journal(course: Course) -> dict[str, str]:
    with sqlite3.connect(course.root / "gradebook.db", timeout=30) as db:
        try:
            rows = db.execute("SELECT student, graded_at FROM course_grade_journal").fetchall()
        except sqlite3.OperationalError:  # the table does not exist yet
            return {}
    return dict(rows)


def _check_gradebook(course: Course, expected: dict[str, float]) -> None:
    with sqlite3.connect(course.root / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        per_student = dict(db.execute(
            "SELECT student.id, COUNT(*) FROM submitted_assignment JOIN student "
            "ON submitted_assignment.student_id = student.id GROUP BY student.id").fetchall())
        cells = db.execute("SELECT COUNT(*) FROM grade_cells").fetchone()[0]  # one assignment here
        grades = dict(db.execute(
            "SELECT submitted_assignment.student_id, COUNT(grade.id) FROM grade "
            "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
            "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
            "GROUP BY submitted_assignment.student_id").fetchall())
    assert per_student == {student: 1 for student in expected}
    assert grades == {student: cells for student in expected}
    scores = {row.student: row.autograded for row in student_scores(course.db_url, ASSIGNMENT)}
    assert scores == expected
    for student in expected:
        assert (course.folder("autograded", ASSIGNMENT, student) / "exercises.ipynb").is_file()
        assert (course.folder("feedback", ASSIGNMENT, student) / "exercises.html").is_file()
    leftovers = [p for step in ("autograded", "feedback") for p in (course.root / step).glob("*/.*")]
    assert not leftovers


def _grader_processes(coordinator: int) -> list[int]:
    """The workers, kernel parents and kernels a coordinator started (found by ancestry)."""
    parents: dict[int, int] = {}
    for proc in Path("/proc").iterdir():
        parent = parent_pid(proc.name) if proc.name.isdigit() else None
        if parent is not None:
            parents[int(proc.name)] = parent
    found, frontier = [], [coordinator]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        found += children
        frontier += children
    return found


def test_killed_grader_resumes_without_regrading_or_losing(tmp_path: Path,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    course, expected = _class_of(tmp_path, tmp_path_factory)
    grader = subprocess.Popen(course_command(course.root, "grade", ASSIGNMENT, "--quiet", "--workers", "2"),
                              cwd=course.root, env=course_env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while len(_journal(course)) < 2:
        assert grader.poll() is None, "the grader finished before it could be killed"
        assert time.monotonic() < deadline, "nothing got graded"
        time.sleep(0.05)
    family = _grader_processes(grader.pid)
    assert family, "the grader had started no workers"
    grader.send_signal(signal.SIGKILL)
    grader.wait()
    before = _journal(course)
    assert 2 <= len(before) < len(expected), "the kill did not land mid-batch"
    time.sleep(1)
    alive = [pid for pid in family if running(pid)]
    assert not alive, "workers or kernels outlived the killed grader"

    again = run_course(course.root, "grade", ASSIGNMENT, "--quiet")
    after = _journal(course)
    assert set(after) == set(expected)
    assert {student: after[student] for student in before} == before, "a finished submission was regraded"
    assert f"{len(before)} skipped as already graded" in again.stdout
    _check_gradebook(course, expected)


def test_two_graders_at_once_never_corrupt_the_gradebook(tmp_path: Path,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    course, expected = _class_of(tmp_path, tmp_path_factory, slow=1)
    graders = [subprocess.Popen(course_command(course.root, "grade", ASSIGNMENT, *extra),
                                cwd=course.root, env=course_env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for extra in (["--quiet"], ["--quiet", "--force"])]
    outputs = [grader.communicate(timeout=300) for grader in graders]
    assert [grader.returncode for grader in graders] == [0, 0], outputs
    waited = [err for _, err in outputs if "is grading with this gradebook; waiting" in err]
    assert len(waited) == 1, "exactly one grader should have waited for the other"
    _check_gradebook(course, expected)
    assert set(_journal(course)) == set(expected)

    # later, carol resubmits a correct notebook: only she is graded again
    carol = course.folder("submitted", ASSIGNMENT, "carol") / "exercises.ipynb"
    alice = course.folder("submitted", ASSIGNMENT, "alice") / "exercises.ipynb"
    nbformat.write(nbformat.read(alice, as_version=4), carol)
    again = run_course(course.root, "grade", ASSIGNMENT, "--quiet")
    assert "graded 1 of 1" in again.stdout and f"{len(expected) - 1} skipped" in again.stdout
    _check_gradebook(course, {**expected, "carol": expected["alice"]})

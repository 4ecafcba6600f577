"""nbgrader's exchange, on one machine, from the command line: the instructor releases to the
exchange, two students (each with a home and a Jupyter configuration of their own, written by
``course student-config``) fetch and submit with ``nbgrader fetch_assignment`` and ``submit``,
the instructor collects with ``nbgrader collect`` and grades with ``course grade``.

The submission time ``course grade`` uses is the exchange's; formgrader shows it (the gradebook
and ``submitted/<student>/<assignment>/timestamp.txt`` agree). The browser test plays the same
with the students' Assignment List (``tests/test_browser.py``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config.loader import PyFileConfigLoader

from notebook_grader.course import Course
from notebook_grader.identifiers import BadStudentId
from notebook_grader.release import ReleaseFailed, release_to_exchange
from notebook_grader.report.scores import student_scores
from notebook_grader.run.collection import RECORD, write_timestamp_file
from notebook_grader.run.template import submission_fingerprint
from notebook_grader.student_config import DISABLED_LAB_PLUGINS, StudentConfigError, write_student_config
from tests.course_copy import ASSIGNMENT, copy_course
from tests.faults.courses import new_course, released_course, run_course
from tests.fixtures.make_samples import BOB_MISTAKES
from tests.support.exchange import Student, instructor_env, new_student, run_nbgrader
from tests.support.submissions import fill, reference_answers

INBOUND = re.compile(r"inbound/(?P<student>[^+/]+)\+(?P<assignment>[^+]+)\+(?P<time>[^+]+ UTC)")


def _answer(course: Course, student: Student, answers: dict[str, str]) -> None:
    """Write ``answers`` into the student's fetched exercises, as they would in JupyterLab."""
    path = student.home / ASSIGNMENT / "exercises.ipynb"
    nbformat.write(fill(nbformat.read(path, as_version=4), answers), path)


def _submitted_time(log: str) -> datetime:
    """The exchange's time of a submission, from ``nbgrader submit``'s log (its inbound folder)."""
    match = INBOUND.search(log)
    assert match, log
    return datetime.strptime(match["time"], "%Y-%m-%d %H:%M:%S.%f UTC").replace(tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> tuple[Course, dict[str, datetime]]:
    """A course whose two students submitted through the exchange and were collected: Ann right,
    Ben with Bob's mistakes and a link to the course's source notebook; their exchange times."""
    base = tmp_path_factory.mktemp("exchange")
    course = new_course(released_course(tmp_path_factory), base / "course", samples=False)
    release_to_exchange(course, ASSIGNMENT)
    answers = reference_answers(course.folder("source", ASSIGNMENT) / "exercises.ipynb")
    times = {}
    for name, mine in (("ann", answers), ("ben", {**answers, **BOB_MISTAKES})):
        student = new_student(course, name, base)
        student.nbgrader("fetch_assignment", ASSIGNMENT)
        _answer(course, student, mine)
        log = student.nbgrader("submit", ASSIGNMENT)
        times[name] = _submitted_time(log)
        if name == "ben":  # added in the exchange, where a student can write (submit itself copies a link's file)
            inbound = course.root / "exchange" / course.course_id / "inbound"
            (submission,) = inbound.glob("ben+*")
            os.symlink(course.folder("source", ASSIGNMENT) / "exercises.ipynb", submission / "secret")
    run_nbgrader(course.root, instructor_env(), "collect", ASSIGNMENT)
    return course, times


def test_collect_records_the_exchanges_time(collected: tuple[Course, dict[str, datetime]]) -> None:
    course, times = collected
    record = json.loads((course.root / "downloaded" / ASSIGNMENT / RECORD).read_text())
    for student, at in times.items():
        folder = course.folder("submitted", ASSIGNMENT, student)
        assert (folder / "exercises.ipynb").is_file()
        assert record[student]["source"] == "the exchange"
        assert datetime.fromisoformat(record[student]["at"]) == at
        assert datetime.fromisoformat((folder / "timestamp.txt").read_text()) == at
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, "the collected copy is writable by others"
    # the link was copied as a link (course grade refuses it), not as the solution it points at
    assert (course.folder("submitted", ASSIGNMENT, "ben") / "secret").is_symlink()


def test_a_second_collect_keeps_the_record(collected: tuple[Course, dict[str, datetime]]) -> None:
    course, _ = collected
    path = course.root / "downloaded" / ASSIGNMENT / RECORD
    before = path.read_text()
    log = run_nbgrader(course.root, instructor_env(), "collect", "--update", ASSIGNMENT)
    assert "No newer submission" in log, log
    assert path.read_text() == before


@pytest.mark.sandbox
def test_course_grade_grades_what_was_collected(collected: tuple[Course, dict[str, datetime]]) -> None:
    """Scores, the exchange's times in the gradebook and in formgrader (not None, and counted as
    autograded), and Ben's link refused. Cleo's submission was put in submitted/ by hand (as an
    instructor copies one): formgrader shows her arrival time, the one ``course grade`` stored."""
    course, times = collected
    cleo = course.folder("submitted", ASSIGNMENT, "cleo")
    cleo.mkdir(parents=True)
    shutil.copy(course.folder("submitted", ASSIGNMENT, "ann") / "exercises.ipynb", cleo)
    run_course(course.root, "grade", ASSIGNMENT, "--quiet", timeout=900)
    rows = {row.student: row for row in student_scores(course.db_url, ASSIGNMENT)}
    assert rows["ann"].autograded == 40 and rows["cleo"].autograded == 40
    assert 0 < rows["ben"].autograded < 40
    record = json.loads((course.root / "downloaded" / ASSIGNMENT / RECORD).read_text())
    assert record["cleo"]["source"] == "arrival"
    config = course.config()
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    shown = {s["student"]: s for s in api.get_submissions(ASSIGNMENT)}
    for student, at in {**times, "cleo": datetime.fromisoformat(record["cleo"]["at"])}.items():
        assert shown[student]["autograded"], shown[student]
        assert datetime.fromisoformat(shown[student]["timestamp"]).replace(tzinfo=timezone.utc) == at
        assert rows[student].submitted_at.startswith(at.strftime("%Y-%m-%dT%H:%M:%S"))
    feedback = (course.folder("feedback", ASSIGNMENT, "ben") / "exercises.html").read_text()
    assert "secret is a symbolic link" in feedback


@pytest.mark.unit
def test_student_config(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course", release=False)
    folder = tmp_path / "home" / ".jupyter"
    (folder / "labconfig").mkdir(parents=True)
    (folder / "labconfig" / "page_config.json").write_text(json.dumps({"disabledExtensions": {"other": True}}))
    write_student_config(course, folder, "ann")
    config = PyFileConfigLoader("nbgrader_config.py", path=str(folder)).load_config()
    assert config.Exchange.root == str(course.root / "exchange")
    assert config.CourseDirectory.course_id == "fisher-information" and config.CourseDirectory.student_id == "ann"
    page = json.loads((folder / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    assert page == {"other": True, **dict.fromkeys(DISABLED_LAB_PLUGINS, True)}
    server = json.loads((folder / "jupyter_server_config.json").read_text())["ServerApp"]["jpserver_extensions"]
    assert server["nbgrader.server_extensions.formgrader"] is False
    assert server["nbgrader.server_extensions.assignment_list"] is True
    with pytest.raises(BadStudentId, match="not allowed"):
        write_student_config(course, folder, "../ann")
    (folder / "jupyter_server_config.json").write_text("{oops")
    with pytest.raises(StudentConfigError, match="not readable JSON"):
        write_student_config(course, folder)


def test_bad_input_gets_one_line(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course", release=False)
    with pytest.raises(ReleaseFailed, match="run `course release fisher_information` first"):
        release_to_exchange(course, ASSIGNMENT)
    proc = run_course(course.root, "student-config", str(tmp_path / "cfg"), "--student", "a b", check=False)
    assert proc.returncode == 2 and "not allowed" in proc.stderr and len(proc.stderr.splitlines()) == 1


@pytest.mark.unit
def test_the_time_file_is_no_resubmission(tmp_path: Path) -> None:
    """``course grade`` rewrites ``timestamp.txt`` with the stored time: not a change of the submission."""
    folder = tmp_path / "submitted" / "ann" / ASSIGNMENT
    folder.mkdir(parents=True)
    (folder / "exercises.ipynb").write_text("{}")
    before = submission_fingerprint(folder)
    write_timestamp_file(folder, datetime(2026, 3, 1, 12, 0))
    assert submission_fingerprint(folder) == before
    (folder / "timestamp.txt").unlink()
    os.symlink("/etc/passwd", folder / "timestamp.txt")  # a link under that name is replaced, not followed
    write_timestamp_file(folder, datetime(2026, 3, 1, 12, 0))
    assert not (folder / "timestamp.txt").is_symlink()
    assert (folder / "timestamp.txt").read_text() == "2026-03-01T12:00:00+00:00"
    (folder / "exercises.ipynb").write_text('{"cells": []}')
    assert submission_fingerprint(folder) != before

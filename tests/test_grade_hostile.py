"""The grader's side of the box: the hostile faults (``tests/faults/hostile.py``) graded on their own.

The whole fault catalog (``test_grade_faults.py``) grades these too; this module grades only
them and the three samples, so the attacks on paths and rendering can be run quickly.
"""

from __future__ import annotations

import csv
import html
import re
import subprocess
import uuid
import zipfile
from datetime import datetime, timezone

import pytest
from nbgrader.api import Gradebook

from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT
from tests.faults.catalog import Fault, FaultContext, Listener
from tests.faults.courses import course_command, course_env, new_course, released_course, run_course
from tests.faults.hostile import HOSTILE_FAULTS

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    course = new_course(released_course(tmp_path_factory), tmp_path_factory.mktemp("hostile") / "course")
    listener = Listener()
    ctx = FaultContext(course.root, uuid.uuid4().hex[:12], listener)
    for fault in HOSTILE_FAULTS:
        fault.build(ctx)
    proc = subprocess.run(course_command(course.root, "grade", ASSIGNMENT, "--quiet"), cwd=course.root,
                          env=course_env(), text=True, capture_output=True, timeout=900)
    yield ctx, proc
    listener.close()


def test_every_hostile_submission_is_recorded(graded) -> None:
    _, proc = graded
    assert proc.returncode == 0, proc.stdout + proc.stderr
    total = len(HOSTILE_FAULTS) + 3
    assert f"graded {total} of {total} submission(s)" in proc.stdout, proc.stdout


@pytest.mark.parametrize("fault", HOSTILE_FAULTS, ids=[f.student for f in HOSTILE_FAULTS])
def test_hostile_fault_is_stopped(graded, fault: Fault) -> None:
    ctx, proc = graded
    ctx: FaultContext
    scores = {row.student: row.autograded for row in student_scores(f"sqlite:///{ctx.root / 'gradebook.db'}",
                                                                    ASSIGNMENT)}
    assert scores[fault.student] == fault.score(ctx)
    feedback = html.unescape((ctx.root / "feedback" / fault.student / ASSIGNMENT / "exercises.html").read_text())
    assert any(reason in feedback for reason in fault.reasons()), fault.reasons()
    assert (f"failed: {fault.student}:" in proc.stdout) == fault.failed, proc.stdout
    if fault.host_check is not None:
        fault.host_check(ctx)
    assert scores["alice"] == ctx.full


def test_the_submission_time_is_the_graders(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A student's own timestamp.txt is ignored: the LMS's time, or the arrival, decides lateness.

    The due date lies between the LMS's time of Erin's entry (on time) and now: Erin is on time
    although her upload claims a time after the due date; Dave's folder claims a time long before
    it, but arrives now, late. With nbgrader's ``zero`` penalty, a late submission scores 0.
    """
    samples = new_course(released_course(tmp_path_factory), tmp_path_factory.mktemp("late") / "samples")
    course = new_course(released_course(tmp_path_factory), tmp_path_factory.mktemp("late") / "course", samples=False)
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.LateSubmissionPlugin.penalty_method = "zero"\n')
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=datetime(2026, 3, 2, tzinfo=timezone.utc))
    alice = samples.folder("submitted", ASSIGNMENT, "alice") / "exercises.ipynb"
    archive = course.root / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr(zipfile.ZipInfo("erin/exercises.ipynb", date_time=(2026, 3, 1, 12, 0, 0)), alice.read_bytes())
        z.writestr(zipfile.ZipInfo("erin/timestamp.txt", date_time=(2026, 3, 1, 12, 0, 0)), "2099-01-01 00:00:00")
    dave = course.root / "submitted" / "dave" / ASSIGNMENT
    dave.mkdir(parents=True)
    (dave / "exercises.ipynb").write_bytes(alice.read_bytes())
    (dave / "timestamp.txt").write_text("2000-01-01 00:00:00")
    proc = subprocess.run(course_command(course.root, "grade", ASSIGNMENT, "--zip", str(archive), "--quiet"),
                          cwd=course.root, env=course_env(), text=True, capture_output=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {row.student: row for row in student_scores(course.db_url, ASSIGNMENT)}
    assert rows["erin"].late_penalty == 0 and rows["erin"].total == rows["erin"].autograded == 40
    assert rows["erin"].submitted_at.startswith("2026-03-01T12:00")
    assert rows["dave"].autograded == 40 and rows["dave"].late_penalty == 40 and rows["dave"].total == 0
    with open(course.root / "grades.csv") as f:
        csv_rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(csv_rows["dave"]["late_penalty"]) == 40 and float(csv_rows["dave"]["total"]) == 0
    table = run_course(course.root, "scores").stdout
    assert re.search(r"^dave\s.*-40\s+0/", table, re.MULTILINE), table

"""The grader's side of the box: the hostile faults (``tests/faults/hostile.py``) graded on their own.

The whole fault catalog (``test_grade_faults.py``) grades these too; this module grades only
them and the three samples, so the attacks on paths and rendering can be run quickly.
"""

from __future__ import annotations

import html
import subprocess
import uuid

import pytest

from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT
from tests.faults.catalog import Fault, FaultContext, Listener
from tests.faults.courses import course_command, course_env, new_course, released_course
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

"""The fault catalog (``tests/faults/catalog.py``), graded in one batch with the samples.

Every faulty submission must come out graded, with its score and a clear reason in its
feedback; no attack may reach the solutions, the gradebook, other students, the network
or the grader's files; the other students' grades must be exactly as without the faults;
and nothing of the run may be left running.
"""

from __future__ import annotations

import hashlib
import html
import os
import re
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from notebook_grader.course import Course
from notebook_grader.model import Outcome
from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT
from tests.faults.catalog import FAULTS as CATALOG_FAULTS
from tests.faults.catalog import Fault, FaultContext, Listener
from tests.faults.courses import course_command, course_env, new_course, released_course
from tests.faults.hostile import HOSTILE_FAULTS
from tests.support.processes import parent_pid, started_seconds

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

#: The catalog: faults inside the sandbox, and attacks on the grader around it (tests/faults/hostile.py).
FAULTS = [*CATALOG_FAULTS, *HOSTILE_FAULTS]

#: Long enough that a fork or memory bomb hits its limit before its cell's time is up.
CELL_TIMEOUT = "10"


@dataclass
class CatalogRun:
    ctx: FaultContext
    course: Course
    stdout: str
    stderr: str
    returncode: int
    started: float
    ended: float
    pid: int


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    import subprocess

    course = new_course(released_course(tmp_path_factory), tmp_path_factory.mktemp("faults") / "course")
    listener = Listener()
    ctx = FaultContext(course.root, uuid.uuid4().hex[:12], listener, secret=f"secret-{uuid.uuid4().hex}")
    alice = course.root / "submitted" / "alice" / ASSIGNMENT / "exercises.ipynb"
    ctx.alice_digest = hashlib.sha256(alice.read_bytes()).hexdigest()
    for fault in FAULTS:
        fault.build(ctx)
    env = course_env()
    env["COURSE_TEST_SECRET"] = ctx.secret
    started = _boot_ticks()
    proc = subprocess.Popen(course_command(course.root, "grade", ASSIGNMENT, "--cell-timeout", CELL_TIMEOUT,
                                           "--quiet"), cwd=course.root, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout, stderr = proc.communicate(timeout=600)
    yield CatalogRun(ctx, course, stdout, stderr, proc.returncode, started, _boot_ticks(), proc.pid)
    listener.close()


def _boot_ticks() -> float:
    return float(Path("/proc/uptime").read_text().split()[0])


def _score(course: Course, student: str) -> float:
    rows = {row.student: row for row in student_scores(course.db_url, ASSIGNMENT)}
    return rows[student].autograded


def _feedback(course: Course, student: str) -> str:
    return html.unescape((course.folder("feedback", ASSIGNMENT, student) / "exercises.html").read_text())


def _outputs(course: Course, student: str) -> str:
    nb = nbformat.read(course.folder("autograded", ASSIGNMENT, student) / "exercises.ipynb", as_version=4)
    return "\n".join(str(o) for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs)


def test_the_run_itself_succeeds(run: CatalogRun) -> None:
    assert run.returncode == 0, run.stderr
    total = len(FAULTS) + 3
    assert f"graded {total} of {total} submission(s)" in run.stdout
    assert "0 not graded" in run.stdout


@pytest.mark.parametrize("fault", FAULTS, ids=[f.student for f in FAULTS])
def test_fault_is_graded_with_its_reason(run: CatalogRun, fault: Fault) -> None:
    expected = fault.score(run.ctx)
    score = _score(run.course, fault.student)
    if isinstance(expected, tuple):
        assert expected[0] <= score <= expected[1]
    else:
        assert score == expected
    feedback = _feedback(run.course, fault.student)
    assert any(reason in feedback for reason in fault.reasons()), fault.reasons()
    listed = re.search(rf"^  failed: {re.escape(fault.student)}: (.*)$", run.stdout, re.MULTILINE)
    assert bool(listed) == fault.failed, run.stdout
    if fault.failed:
        assert any(reason in listed.group(1) or reason in feedback for reason in fault.reasons())
    with sqlite3.connect(run.course.root / "gradebook.db") as db:
        status = db.execute("SELECT status FROM course_grade_journal WHERE student = ?", (fault.student,)).fetchone()
    assert status == ((Outcome.FAILED if fault.failed else Outcome.GRADED).value,)
    if fault.host_check is not None:
        fault.host_check(run.ctx)


def test_no_attack_succeeded(run: CatalogRun) -> None:
    for student in ("fault-snoop", "fault-writer", "fault-network"):
        outputs = _outputs(run.course, student)
        for sign in ("LEAK:", "NETWORK: reachable"):
            assert sign not in outputs, f"{student}: {sign}"
    snoop = _outputs(run.course, "fault-snoop")
    assert "denied gradebook" in snoop and "denied source" in snoop
    assert run.ctx.secret not in snoop, "the grader's environment reached a kernel"
    assert "BEGIN SOLUTION" not in _feedback(run.course, "fault-snoop")
    with sqlite3.connect(run.course.root / "gradebook.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT COUNT(*) FROM grade WHERE auto_score >= 1000").fetchone() == (0,)


def test_other_students_are_unaffected(run: CatalogRun) -> None:
    assert _score(run.course, "alice") == run.ctx.full
    assert _score(run.course, "bob") == 30
    assert _score(run.course, "carol") == 0
    for student in ("alice", "bob", "carol"):
        assert "Notes from the autograder" not in _feedback(run.course, student)


def _cmdline(pid: str) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")


def _is_test_process(pid: str) -> bool:
    """pytest itself (``pytest`` or ``python -m pytest``) or a pytest-xdist worker (execnet's ``-c``)."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return any(arg == b"pytest" or arg.endswith(b"/pytest") for arg in argv[:3]) or \
        b"import sys;exec(eval(sys.stdin.readline()))" in argv[:3]


def _under_a_test_process(pid: str) -> bool:
    """Whether a live pytest process (this session's, or a pytest-xdist worker) is among ``pid``'s
    ancestors. The graded run's coordinator has exited, so a process it left behind has none: it
    was handed to init. Another module's grading, which may overlap this run on another worker,
    still has its test process above it."""
    seen = {pid}
    while True:
        parent = parent_pid(pid)
        if parent is None:
            return False
        pid = str(parent)
        if pid in ("0", "1") or pid in seen:
            return False
        seen.add(pid)
        try:
            if _is_test_process(pid):
                return True
        except OSError:
            return False


def test_nothing_is_left_running_or_lying_around(run: CatalogRun) -> None:
    time.sleep(0.5)
    leftovers = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = _cmdline(proc.name)
        except OSError:
            continue
        start = started_seconds(proc.name)
        if start is None:
            continue
        if "notebook_grader" in cmdline and run.started <= start <= run.ended and not _under_a_test_process(proc.name):
            leftovers.append(cmdline)
    assert not leftovers, leftovers
    bases = (Path("/dev/shm"), Path(os.environ.get("TMPDIR", "/tmp")))
    scratch = [p for base in bases for p in base.glob("course-grade-run-*")
               if (p / "pid").is_file() and (p / "pid").read_text() == str(run.pid)]
    assert not scratch

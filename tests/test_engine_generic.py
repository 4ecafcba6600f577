"""The engine grades an assignment it has never seen, with no edit, through every door.

The fixture course (``tests/fixtures/mini_course.py``) shares nothing with the Fisher course:
other names, other functions, its own configuration. Each door (``course grade``, plain
``nbgrader autograde``, ``NbGraderAPI.autograde`` behind formgrader's Autograde button) must
grade it the same way: in the sandbox, judged outside the kernel, the reading notebook never
executed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from notebook_grader.course import Course
from notebook_grader.patches.imports import DEFERRALS
from notebook_grader.patches.speedups import PATCHES
from notebook_grader.report.scores import student_scores
from tests.faults.courses import course_env, run_course
from tests.fixtures.mini_course import ASSIGNMENT, READING_MARK, submit, write_course

pytestmark = pytest.mark.sandbox

RIGHT = "def double(x):\n    return np.asarray(x) * 2.0\n"  # written differently from the reference
WRONG = "def double(x):\n    return np.asarray(x) + 2.0\n"  # right at the visible input only


def _spy(root: Path) -> str:
    """A right answer that also says whether the kernel can see the course directory."""
    return f"import os\nprint('course visible:', os.path.exists({str(root)!r}))\n" + RIGHT


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_course(tmp_path_factory.mktemp("mini") / "released")
    run_course(root, "release", ASSIGNMENT)
    return root


def _course_with_submissions(released: Path, dest: Path) -> Course:
    shutil.copytree(released, dest)
    submit(dest, "alice", RIGHT)
    submit(dest, "bob", WRONG)
    submit(dest, "spy", _spy(dest))
    return Course(dest)


def _check_graded(course: Course) -> None:
    scores = {row.student: row.autograded for row in student_scores(course.db_url, ASSIGNMENT)}
    assert scores == {"alice": 3.0, "bob": 0.0, "spy": 3.0}
    spy = nbformat.read(course.folder("autograded", ASSIGNMENT, "spy") / "graded.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in spy.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "course visible: False" in printed, printed
    for student in ("alice", "bob", "spy"):
        notes = course.folder("autograded", ASSIGNMENT, student) / "notes.ipynb"
        if notes.exists():  # copied through, but never run
            nb = nbformat.read(notes, as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), student
            assert READING_MARK not in notes.read_text().replace(f"print({READING_MARK!r})", "")


def test_course_grade(released: Path, tmp_path: Path) -> None:
    course = _course_with_submissions(released, tmp_path / "course")
    run_course(course.root, "grade", ASSIGNMENT, "--quiet")
    _check_graded(course)


def test_plain_nbgrader_autograde(released: Path, tmp_path: Path) -> None:
    course = _course_with_submissions(released, tmp_path / "course")
    nbgrader = str(Path(sys.executable).parent / "nbgrader")
    proc = subprocess.run([nbgrader, "autograde", ASSIGNMENT, "--force"], cwd=course.root, env=course_env(),
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_graded(course)


def test_formgrader_autograde_button(released: Path, tmp_path: Path) -> None:
    """``NbGraderAPI.autograde`` is what formgrader's Autograde button calls, in the Jupyter server."""
    course = _course_with_submissions(released, tmp_path / "course")
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the server may run anywhere; the course's configuration says where it is
    try:
        api = course.api()
        for student in ("alice", "bob", "spy"):
            outcome = api.autograde(ASSIGNMENT, student, force=True)
            assert outcome["success"], outcome.get("error") or outcome.get("log")
    finally:
        os.chdir(cwd)
    _check_graded(course)


def test_grading_is_the_same_without_any_patch(released: Path, tmp_path: Path) -> None:
    """Every runtime patch only saves time: with all of them off, the same grades and feedback."""
    pages = {}
    for label, env in (("patched", {}), ("unpatched", {"NOTEBOOK_GRADER_NO_PATCHES": "1"})):
        course = _course_with_submissions(released, tmp_path / label)
        proc = subprocess.run([sys.executable, "-m", "notebook_grader.cli", "--root", str(course.root), "grade",
                               ASSIGNMENT, "--quiet"], env={**course_env(), **env}, capture_output=True, text=True,
                              timeout=600, cwd=course.root)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        skipped = re.findall(r"patch (\w+) skipped: NOTEBOOK_GRADER_NO_PATCHES is set", proc.stderr)
        assert set(skipped) == ({p.name for p in (*PATCHES, *DEFERRALS)} if env else set()), proc.stderr
        _check_graded(course)
        # the same document: without its patch the exporter serializes the page through BeautifulSoup
        pages[label] = {student: str(BeautifulSoup((course.folder("feedback", ASSIGNMENT, student) / "graded.html")
                                                   .read_text().replace(str(course.root), "ROOT"), "html.parser"))
                        for student in ("alice", "bob", "spy")}
    assert pages["patched"] == pages["unpatched"]

"""Released throwaway courses for the grading tests, and running ``course`` on them.

The course is copied (``tests.course_copy``) and released once per test session; each test
then grades in its own copy, so every test has its own gradebook, ``submitted/`` and results,
and nothing touches the repository's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from notebook_grader.course import Course
from notebook_grader.release import generate_release
from tests.course_copy import ASSIGNMENT, copy_course
from tests.fixtures.make_samples import sample_notebooks
from tests.support.submissions import write_submission


def course_env() -> dict[str, str]:
    """The environment to run ``course`` in: this Python's tools first on PATH."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("COURSE_ROOT", None)
    return env


def course_command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "notebook_grader.cli", "--root", str(root), *args]


def run_course(root: Path, *args: str, timeout: float = 300, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``course --root ROOT ARGS...`` in a subprocess; its output is returned as text."""
    proc = subprocess.run(course_command(root, *args), capture_output=True, text=True, env=course_env(),
                          timeout=timeout, cwd=root)
    if check and proc.returncode != 0:
        raise AssertionError(f"course {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def released_course(factory: pytest.TempPathFactory) -> Path:
    """A course copy with the assignment released and no submission (built once per session)."""
    root = factory.getbasetemp() / "released-course"
    if not (root / "gradebook.db").exists():
        os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
        course = copy_course(root)
        generate_release(course, ASSIGNMENT)
    return root


def new_course(released: Path, dest: Path, *, samples: bool = True) -> Course:
    """A fresh copy of the released course in ``dest``, with the sample students if ``samples``."""
    shutil.copytree(released, dest, symlinks=True)
    course = Course(dest.resolve())
    if samples:
        for student, nb in sample_notebooks(course).items():
            write_submission(nb, course.root / "submitted", student, ASSIGNMENT)
    return course

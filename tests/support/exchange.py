"""Students of nbgrader's exchange for the tests: each with a home and a Jupyter configuration of
their own (``course student-config``), as on one machine with several students."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from notebook_grader.course import Course
from notebook_grader.student_config import write_student_config


@dataclass(frozen=True)
class Student:
    """A student's home (where their Jupyter server and ``nbgrader`` commands run) and configuration."""

    id: str
    home: Path

    @property
    def config(self) -> Path:
        return self.home / ".jupyter"

    def env(self) -> dict[str, str]:
        """A student's environment: their home and Jupyter folders, this Python's tools on PATH."""
        env = dict(os.environ)
        env.pop("JUPYTER_PATH", None)
        env.pop("COURSE_ROOT", None)
        env.update({"HOME": str(self.home), "JUPYTER_CONFIG_DIR": str(self.config),
                    "JUPYTER_DATA_DIR": str(self.home / ".local" / "share" / "jupyter"),
                    "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")})
        return env

    def nbgrader(self, *args: str) -> str:
        """``nbgrader ARGS`` as this student, in their home; its log."""
        return run_nbgrader(self.home, self.env(), *args)


def new_student(course: Course, student: str, base: Path) -> Student:
    """A student with a fresh home and the course's student configuration in ``~/.jupyter``."""
    person = Student(student, base / student)
    person.home.mkdir(parents=True)
    write_student_config(course, person.config, student)
    return person


def run_nbgrader(cwd: Path, env: dict[str, str], *args: str) -> str:
    """``nbgrader ARGS`` in ``cwd``; its output, or an AssertionError with it if it failed."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=300)
    if proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr


def instructor_env() -> dict[str, str]:
    """The instructor's environment for ``nbgrader`` in the course folder (this Python's tools on PATH)."""
    env = dict(os.environ)
    env.pop("COURSE_ROOT", None)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env

"""A throw-away copy of the course directory, so tests never touch the real gradebook."""

from __future__ import annotations

import shutil
from pathlib import Path

from notebook_grader.course import Course

REPO = Path(__file__).resolve().parents[1]
#: The course's first unit, and its graded notebook: what most grading tests grade.
ASSIGNMENT = "fisher_information"
NOTEBOOK = "exercises.ipynb"
#: What the course shows a student's kernel (c.CourseGrading.helper_packages).
HELPER_PACKAGES = ("fisher_helpers", "cell_checks")


def copy_course(destination: Path, *, submitted: bool = False, release: bool = True) -> Course:
    """Copy the config, ``source/`` and (optionally) ``release/`` and ``submitted/`` to ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", destination / "nbgrader_config.py")
    folders = ["source"] + (["release"] if release else []) + (["submitted"] if submitted else [])
    for folder in folders:
        shutil.copytree(REPO / folder, destination / folder)
    return Course(destination.resolve())


def source_notebook(course: Course, assignment: str = ASSIGNMENT) -> Path:
    return course.folder("source", assignment) / NOTEBOOK


def release_notebook(course: Course, assignment: str = ASSIGNMENT) -> Path:
    return course.folder("release", assignment) / NOTEBOOK

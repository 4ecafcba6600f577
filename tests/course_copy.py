"""A throw-away copy of the course directory, so tests never touch the real gradebook."""

from __future__ import annotations

import shutil
from pathlib import Path

from fisher_grader.course import Course

REPO = Path(__file__).resolve().parents[1]


def copy_course(destination: Path, *, submitted: bool = False, release: bool = True) -> Course:
    """Copy the config, ``source/`` and (optionally) ``release/`` and ``submitted/`` to ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", destination / "nbgrader_config.py")
    folders = ["source"] + (["release"] if release else []) + (["submitted"] if submitted else [])
    for folder in folders:
        shutil.copytree(REPO / folder, destination / folder)
    return Course(destination.resolve())

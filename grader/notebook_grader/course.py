"""Where the course lives and how nbgrader is configured for it.

Every command finds the course root the same way (the folder holding ``nbgrader_config.py``,
from ``--root``, ``$COURSE_ROOT`` or the current directory upwards) and loads that file, so
the command line, the Python API, nbgrader's own apps and the tests share one configuration:
nbgrader's options and the course's grading settings (:mod:`notebook_grader.settings`).
Constructing a :class:`Course` changes nothing in the process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from notebook_grader.errors import CourseError
from notebook_grader.settings import AssignmentSettings, CourseGrading, grading_settings

if TYPE_CHECKING:
    from nbgrader.apps import NbGraderAPI

CONFIG_FILE = "nbgrader_config.py"


class CourseNotFound(CourseError):
    """No ``nbgrader_config.py`` was found where the course should be."""


def find_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The course root: ``start``, else ``$COURSE_ROOT``, else the first parent with a config."""
    if start is None:
        start = os.environ.get("COURSE_ROOT") or os.getcwd()
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise CourseNotFound(f"no {CONFIG_FILE} in {here} or any folder above it")


def load_config(root: str | os.PathLike[str]) -> Config:
    """The nbgrader configuration in ``root``'s ``nbgrader_config.py``."""
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


@dataclass(frozen=True)
class Course:
    """A course directory, its nbgrader configuration and its grading settings."""

    root: Path

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Course:
        return cls(find_root(start))

    def config(self) -> Config:
        """A fresh copy of the course's nbgrader config (callers may change it)."""
        return load_config(self.root)

    @cached_property
    def settings(self) -> CourseGrading:
        """The course's grading settings (``c.CourseGrading`` in ``nbgrader_config.py``)."""
        return grading_settings(self.config())

    def assignment(self, name: str) -> AssignmentSettings:
        """The declared settings of assignment ``name`` (graded and reading notebooks)."""
        return self.settings.assignment(name)

    def default_assignment(self) -> str | None:
        return self.settings.default_assignment

    def api(self) -> NbGraderAPI:
        """nbgrader's own API on this course (what formgrader's buttons call)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        config = self.config()
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    @property
    def db_url(self) -> str:
        return str(self.config().CourseDirectory.db_url)

    @property
    def course_id(self) -> str:
        return str(self.config().CourseDirectory.course_id or "default_course")

    def folder(self, step: str, assignment: str, student: str = ".") -> Path:
        """``<root>/<step>/<student>/<assignment>`` in nbgrader's layout."""
        return self.root / step / student / assignment

"""Where the course lives and how nbgrader is configured for it.

Every command finds the course root the same way (the folder holding ``nbgrader_config.py``,
from ``--root``, ``$COURSE_ROOT`` or the current directory upwards) and loads that file, so
the command line, the Python API and the tests share one configuration.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
ASSIGNMENT = "fisher_information"
#: The notebooks autograde executes; the theory notebook is reading only.
GRADED_NOTEBOOK = "exercises"


def ensure_environment_on_path() -> None:
    """Put this environment's ``bin`` first on PATH: nbgrader shells out to ``alembic``."""
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("alembic") != str(Path(bin_dir) / "alembic"):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


class CourseNotFound(RuntimeError):
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


@dataclass(frozen=True)
class Course:
    """A course directory and its nbgrader configuration."""

    root: Path

    def __post_init__(self) -> None:
        ensure_environment_on_path()  # any gradebook use may need alembic

    @classmethod
    def find(cls, start: str | os.PathLike[str] | None = None) -> Course:
        return cls(find_root(start))

    def config(self, *, graded_only: bool = False) -> Config:
        """The course's nbgrader config; ``graded_only`` limits it to the graded notebook."""
        config = PyFileConfigLoader(CONFIG_FILE, path=str(self.root)).load_config()
        if graded_only:
            config.CourseDirectory.notebook_id = GRADED_NOTEBOOK
        return config

    def api(self, *, graded_only: bool = False) -> NbGraderAPI:
        config = self.config(graded_only=graded_only)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    @property
    def db_url(self) -> str:
        return str(self.config().CourseDirectory.db_url)

    def folder(self, step: str, assignment: str, student: str = ".") -> Path:
        """``<root>/<step>/<student>/<assignment>`` in nbgrader's layout."""
        return self.root / step / student / assignment

    def source_notebook(self, assignment: str = ASSIGNMENT) -> Path:
        return self.folder("source", assignment) / f"{GRADED_NOTEBOOK}.ipynb"

    def release_notebook(self, assignment: str = ASSIGNMENT) -> Path:
        return self.folder("release", assignment) / f"{GRADED_NOTEBOOK}.ipynb"

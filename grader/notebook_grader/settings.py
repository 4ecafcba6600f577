"""The course's grading settings: one declaration, read by every entry point.

A course declares them in its ``nbgrader_config.py`` like any nbgrader option::

    c.CourseGrading.assignments = {
        "unit_one": {"graded": ["exercises"], "reading": ["theory"]},
    }
    c.CourseGrading.helper_packages = ["my_helpers", "cell_checks"]
    c.CourseGrading.cell_timeout = 30

``course``, plain ``nbgrader autograde``, formgrader's buttons and ``nbgrader validate`` all
load that file, so they all see the same assignments, the same graded and reading notebooks,
and the same limits. Every default lives here, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from traitlets import Dict, Float, Int, List, Unicode
from traitlets.config import Config, Configurable

from notebook_grader.errors import CourseError
from notebook_grader.model import GradingOptions, Limits


class AssignmentUnknown(CourseError):
    """An assignment the course configuration does not declare."""


@dataclass(frozen=True)
class AssignmentSettings:
    """Which notebooks of one assignment are graded, and which are reading only."""

    name: str
    graded: tuple[str, ...]
    reading: tuple[str, ...] = ()

    def is_graded(self, notebook: str) -> bool:
        return notebook in self.graded


class CourseGrading(Configurable):
    """How this course is graded (set in ``nbgrader_config.py``; see the module's description)."""

    assignments = Dict(
        value_trait=Dict(),
        help='Per assignment: {"graded": [notebook, ...], "reading": [notebook, ...]}. A reading notebook '
        "is released to students but never executed or graded by any autograde path.",
    ).tag(config=True)
    helper_packages = List(
        Unicode(), help="Packages a student's kernel may import from the course (shown read-only in the sandbox)."
    ).tag(config=True)
    cell_timeout = Float(Limits.cell_seconds, help="Wall-clock seconds per cell.").tag(config=True)
    submission_timeout = Float(
        Limits.submission_seconds, help="Wall-clock seconds per notebook, kernel start included."
    ).tag(config=True)
    memory_mb = Int(Limits.memory_mb, help="Memory a kernel may add to what it starts with, MiB.").tag(config=True)
    processes = Int(Limits.processes, help="Processes and threads in one sandbox.").tag(config=True)
    output_mb = Float(Limits.output_mb, help="Outputs kept per notebook, MiB; the rest is cut.").tag(config=True)
    max_notebook_mb = Float(
        GradingOptions.max_notebook_mb, help="A larger submitted notebook is not run."
    ).tag(config=True)
    workers = Int(0, help="Grading processes of `course grade` (0: one per CPU).").tag(config=True)
    task_margin_seconds = Float(
        120.0, help="Time a grading worker gets beyond the submission's limit before it is killed."
    ).tag(config=True)

    def assignment(self, name: str) -> AssignmentSettings:
        """The declared settings of ``name``; :class:`AssignmentUnknown` if it is not declared."""
        entry = self.assignments.get(name)
        if entry is None:
            known = ", ".join(sorted(self.assignments)) or "none"
            raise AssignmentUnknown(
                f"the course configuration declares no assignment {name!r} (declared: {known}); "
                "add it to c.CourseGrading.assignments in nbgrader_config.py")
        graded = tuple(entry.get("graded", ()))
        if not graded:
            raise AssignmentUnknown(f"assignment {name!r} declares no graded notebook")
        return AssignmentSettings(name=name, graded=graded, reading=tuple(entry.get("reading", ())))

    def is_graded(self, assignment: str, notebook: str) -> bool:
        """Whether autograding may execute ``notebook`` (undeclared assignments: every notebook)."""
        entry = self.assignments.get(assignment)
        if entry is None:
            return True
        return notebook in tuple(entry.get("graded", ()))

    def limits(self) -> Limits:
        """The sandbox limits of one submission these settings give."""
        return Limits(cell_seconds=self.cell_timeout, submission_seconds=self.submission_timeout,
                      memory_mb=self.memory_mb, processes=self.processes, output_mb=self.output_mb)

    @property
    def default_assignment(self) -> str | None:
        """The only assignment, or the first declared one: what ``course`` commands default to."""
        return next(iter(self.assignments), None)


def grading_settings(config: Config | None = None, **overrides: Any) -> CourseGrading:
    """The :class:`CourseGrading` of ``config`` (an nbgrader config), with ``overrides`` applied."""
    settings = CourseGrading(config=config or Config())
    for name, value in overrides.items():
        if value is not None:
            setattr(settings, name, value)
    return settings

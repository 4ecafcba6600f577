"""Kernel parents started first, while ``course grade`` imports nbgrader and builds the template.

A kernel parent imports what every kernel will need (NumPy, SciPy, Matplotlib, the course's
helpers: a second or two), and the first submission cannot run before it is ready.
Started by the worker, it would begin only after the coordinator has imported nbgrader and
forked the workers; started here, from the command line before those imports (this module and
what it needs import in a few tenths of a second), it does its imports on the other core
meanwhile. One parent serves all the first workers, each through a handle of its own: the pool
gives one handle to each (:class:`~notebook_grader.batch.pool.WorkerPool`); a worker started
later (a recycled one) starts a parent of its own.
"""

from __future__ import annotations

import os

from notebook_grader.course import Course
from notebook_grader.identifiers import is_student_id, terminal_safe
from notebook_grader.isolation.kernel_manager import KernelParent, parent_env
from notebook_grader.run.imports import assignment_imports


def submitted_students(course: Course, assignment: str, refused: dict[str, str] | None = None) -> list[str]:
    """Students with a folder for ``assignment`` under ``submitted/``, sorted.

    A folder whose name is not a safe student id (:mod:`notebook_grader.identifiers`) is no
    student: it goes into ``refused`` (its name shown terminal-safe), with the reason. A link
    is listed: grading refuses it with the reason (:mod:`notebook_grader.run.paths`).
    """
    submitted = course.root / "submitted"
    if not submitted.is_dir():
        return []
    students = []
    for p in submitted.iterdir():
        if p.name.startswith(".") or not os.path.lexists(p / assignment):
            continue
        if is_student_id(p.name):
            students.append(p.name)
        elif refused is not None:
            refused[terminal_safe(p.name)] = "not a student id (use letters, digits, '.', '_', '-'); not graded"
    return sorted(students)


def planned_workers(course: Course, assignment: str, requested: int | None = None) -> int:
    """How many workers a run starts: as requested, else the course's setting, else one per CPU;
    never more than there are submissions."""
    wanted = requested or course.settings.workers or os.cpu_count() or 1
    return min(wanted, len(submitted_students(course, assignment)))


def start_kernel_parents(course: Course, assignment: str, requested: int | None = None) -> list[KernelParent]:
    """A handle for each planned worker on one kernel parent, importing what the assignment's kernels import.

    One process serves them all: its imports (seconds of CPU with SciPy and seaborn) are paid
    once per run, not once per worker, and only one interpreter competes with the coordinator
    for the cores while it imports.
    """
    helpers = tuple(course.settings.helper_packages)
    preload = list(assignment_imports(course.folder("release", assignment), helpers))
    return KernelParent.shared(preload, parent_env(), planned_workers(course, assignment, requested))

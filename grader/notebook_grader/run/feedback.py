"""Feedback pages written from the course's gradebook, without running any student code.

A grading task writes its feedback from its own scratch gradebook (:mod:`notebook_grader.run.grade`),
which holds the autograder's scores and nothing given by hand. Once the instructor has scored
or commented written answers in formgrader, the page that tells the student about them can
only come from the course's gradebook. :class:`FeedbackRenderer` writes it there: nbgrader's
``GenerateFeedback`` (with the engine's exporter, as every feedback door uses) on the stored
``autograded/`` notebooks, against the course's gradebook. It is used:

* by ``course grade``, for a student who has hand grades when their result is stored
  (:func:`notebook_grader.storage.store.store_result`), so that regrading keeps them on the page;
* by ``course feedback`` (:func:`regenerate_feedback`), after hand grading.

Pages are rendered in a private folder (the stored autograded folders linked into it) and moved
into ``feedback/`` one student at a time, in one rename each, as ``course grade`` stores them.
"""

from __future__ import annotations

import copy
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log

from notebook_grader.course import Course
from notebook_grader.errors import CourseError
from notebook_grader.identifiers import is_student_id, terminal_safe
from notebook_grader.isolation.scratch import fast_temp_dir
from notebook_grader.pipeline.feedback_exporter import FeedbackExporter
from notebook_grader.storage.store import remove_leftovers, replace_feedback, take_lock


class FeedbackUnavailable(CourseError):
    """Feedback cannot be written: no graded submission to write it from."""


class FeedbackRenderer:
    """Renders feedback pages from the course's gradebook (nbgrader's ``GenerateFeedback``).

    Holds the course's configuration, loaded once: ``course grade`` calls it for each
    hand-graded student it stores. Calling it renders one student's page and raises if it cannot
    (the shape :data:`notebook_grader.storage.store.FeedbackRenderer` expects).
    """

    def __init__(self, course: Course, scratch: Path | None = None) -> None:
        self.course = course
        self.scratch = scratch
        self._config = course.config()
        # the gradebook as configured, else nbgrader's default (which follows the root, moved below)
        self.db_url = str(CourseDirectory(config=self._config, root=str(course.root)).db_url)

    def __call__(self, assignment: str, student: str) -> dict[str, bytes]:
        pages, failed = self.render(assignment, [student])
        if student not in pages:
            raise RuntimeError(f"nbgrader generate_feedback failed: {failed.get(student, 'no page written')}")
        return pages[student]

    def render(self, assignment: str, students: Sequence[str]) -> tuple[dict[str, dict[str, bytes]], dict[str, str]]:
        """Each student's feedback files (by path in ``feedback/<student>/<assignment>/``), and why
        any student got none. One ``GenerateFeedback`` run for all of them."""
        # ids read back from the gradebook may have reached it by another door: only safe ones make paths
        failed = {terminal_safe(s): "not a safe student id; no page written" for s in students
                  if not is_student_id(s)}
        students = [s for s in students if is_student_id(s)]
        if not students:
            return {}, failed
        base = self.scratch or Path(fast_temp_dir())
        with tempfile.TemporaryDirectory(prefix="course-feedback-", dir=base) as tmp:
            root = Path(tmp)
            for student in students:
                link = root / "autograded" / student / assignment
                link.parent.mkdir(parents=True, exist_ok=True)
                link.symlink_to(self.course.folder("autograded", assignment, student), target_is_directory=True)
            config = copy.deepcopy(self._config)
            config.CourseDirectory.db_url = self.db_url  # before root moves: nbgrader's default follows it
            config.CourseDirectory.root = str(root)
            config.CourseDirectory.assignment_id = assignment
            config.CourseDirectory.student_id = students[0] if len(students) == 1 else "*"
            config.GenerateFeedback.exporter_class = FeedbackExporter  # as the grading tasks write it
            config.BaseConverter.force = True
            app = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
            app.log.setLevel(logging.WARNING)
            outcome = capture_log(app)
            pages: dict[str, dict[str, bytes]] = {}
            for student in students:
                folder = root / "feedback" / student / assignment
                files = {str(p.relative_to(folder)): p.read_bytes()
                         for p in sorted(folder.rglob("*")) if p.is_file()} if folder.is_dir() else {}
                if any(name.endswith(".html") for name in files):
                    pages[student] = files
                else:
                    failed[student] = _first_error(outcome)
        return pages, failed


def _first_error(outcome: dict[str, object]) -> str:
    """The first error nbgrader logged (or its traceback's last line), in one line."""
    text = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line.removeprefix("[ERROR] ") for line in lines if line.startswith("[ERROR]")]
    return (errors[0] if errors else lines[-1] if lines else "no page written")[:300]


@dataclass
class FeedbackSummary:
    """What one ``course feedback`` run did."""

    written: list[str] = field(default_factory=list)  # students whose pages were written
    failed: dict[str, str] = field(default_factory=dict)  # students left with their old page: why
    seconds: float = 0.0
    waited_seconds: float = 0.0  # for a `course grade` holding the gradebook


def graded_students(course: Course, assignment: str) -> list[str]:
    """Students with a submission of ``assignment`` in the gradebook and its autograded folder, sorted."""
    with Gradebook(course.db_url, course.course_id) as gb:
        try:
            submitted = {s.student_id for s in gb.assignment_submissions(assignment)}
        except MissingEntry:
            submitted = set()
    return sorted(s for s in submitted if course.folder("autograded", assignment, s).is_dir())


def regenerate_feedback(course: Course, assignment: str, *, student: str | None = None,
                        wait_for_lock: bool = True,
                        notify: Callable[[str], None] | None = None) -> FeedbackSummary:
    """Write the feedback of ``assignment`` (every graded student's, or ``student``'s) again from
    the course's gradebook, holding the gradebook's lock as ``course grade`` does; no student code runs.
    """
    say = notify or (lambda message: print(message, file=sys.stderr))
    started = time.monotonic()
    summary = FeedbackSummary()
    lock, summary.waited_seconds = take_lock(course.db_url, course.root, wait=wait_for_lock, say=say)
    try:
        remove_leftovers(course.root, assignment)  # a killed `course grade` may have left a folder aside
        students = graded_students(course, assignment)
        if student is not None:
            if student not in students:
                raise FeedbackUnavailable(f"{student} has no graded submission of {assignment} "
                                          "(grade it first: course grade)")
            students = [student]
        scratch = Path(tempfile.mkdtemp(prefix="course-feedback-run-", dir=fast_temp_dir()))
        try:
            pages, summary.failed = FeedbackRenderer(course, scratch).render(assignment, students)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        for name, files in sorted(pages.items()):
            replace_feedback(course.root, assignment, name, files)
            summary.written.append(name)
    finally:
        lock.release()
        summary.seconds = time.monotonic() - started
    return summary

"""Grade every submission of an assignment: the engine behind ``course grade``.

This first version runs nbgrader's own autograde once per submission, in this process and
one after another. It is the reference behaviour the sandboxed, parallel engine must match.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from fisher_grader.course import Course
from fisher_grader.report import StudentScore, student_scores, write_csv


@dataclass
class BatchSummary:
    """What one ``course grade`` run did."""

    graded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    sandboxed: bool = False
    scores: list[StudentScore] = field(default_factory=list)


def submitted_students(course: Course, assignment: str) -> list[str]:
    """Students with a folder for ``assignment`` under ``submitted/``, sorted."""
    submitted = course.root / "submitted"
    if not submitted.is_dir():
        return []
    return sorted(p.name for p in submitted.iterdir() if (p / assignment).is_dir())


def grade_all(course: Course, assignment: str, *, force: bool = False) -> BatchSummary:
    """Autograde, write feedback and export grades for every submitted student."""
    started = time.monotonic()
    summary = BatchSummary()
    api = course.api(graded_only=True)
    for student in submitted_students(course, assignment):
        already = course.folder("autograded", assignment, student).is_dir()
        if already and not force:
            summary.skipped.append(student)
            continue
        result = api.autograde(assignment, student, force=force, create=True)
        if not result.get("success"):
            error = (result.get("error") or result.get("log") or "autograde failed").strip()
            summary.failed[student] = error.splitlines()[-1]
            continue
        api.generate_feedback(assignment, student, force=True)
        summary.graded.append(student)
    summary.scores = student_scores(course.db_url, assignment)
    write_csv(summary.scores, course.root / "grades.csv")
    summary.seconds = time.monotonic() - started
    return summary

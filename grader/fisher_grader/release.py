"""Generate the student version (``release/``) from the authored notebooks (``source/``)."""

from __future__ import annotations

from fisher_grader.course import Course


class ReleaseFailed(RuntimeError):
    """nbgrader could not generate the release."""


def generate_release(course: Course, assignment: str) -> None:
    """Run ``nbgrader generate_assignment`` (forced) and register the assignment's grade cells.

    Solutions and hidden tests are removed from the released notebooks; the test cells' code
    and checksums are stored in the gradebook, which autograde restores them from.
    """
    result = course.api().generate_assignment(assignment, force=True, create=True)
    if not result.get("success"):
        raise ReleaseFailed(result.get("error") or result.get("log") or "generate_assignment failed")

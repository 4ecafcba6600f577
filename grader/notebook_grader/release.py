"""Generate the student version (``release/``) from the authored notebooks (``source/``)."""

from __future__ import annotations

from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from notebook_grader.course import Course
from notebook_grader.errors import CourseError
from notebook_grader.storage.database import ensure_schema
from notebook_grader.storage.store import take_lock


class ReleaseFailed(CourseError):
    """nbgrader could not generate the release, or generating it would lose grades."""


def _refuse_if_grades_would_be_lost(course: Course, assignment: str) -> None:
    """nbgrader deletes ``release/`` and then refuses to change the notebooks of an assignment
    that has submissions; check first, so a refused release leaves everything as it was."""
    source = {p.stem for p in course.folder("source", assignment).glob("*.ipynb")}
    with Gradebook(course.db_url) as gb:
        try:
            stored = gb.find_assignment(assignment)
        except MissingEntry:
            return
        registered = {nb.name for nb in stored.notebooks}
        if registered and registered != source and stored.submissions:
            raise ReleaseFailed(
                f"{assignment} has graded submissions for notebooks {sorted(registered)}, but source/ "
                f"now has {sorted(source)}; changing the notebooks of a graded assignment would orphan "
                "its grades. Release it under a new assignment name instead."
            )


def generate_release(course: Course, assignment: str) -> list[str]:
    """Run ``nbgrader generate_assignment`` (forced) and register the assignment's grade cells;
    then compute and save what every check expects. Returns what the instructor should know.

    Solutions and hidden tests are removed from the released notebooks; the test cells' code
    and checksums are stored in the gradebook, which autograde restores them from. The reference
    solution's expected values are saved for grading (:mod:`notebook_grader.protocol.saved_reference`);
    a notebook whose values cannot be computed (its solution fails its own checks) is released
    all the same, and the returned notes say why (grading will report it too).
    """
    source = course.folder("source", assignment)
    if not source.is_dir():
        raise ReleaseFailed(f"no source/{assignment} folder in {course.root}")
    lock, _ = take_lock(course.db_url, course.root)  # never rewrite the gradebook under a running `course grade`
    try:
        ensure_schema(course.db_url)  # a new gradebook made here: nbgrader would run `alembic heads` (3 s)
        _refuse_if_grades_would_be_lost(course, assignment)
        result = course.api().generate_assignment(assignment, force=True, create=True)
        if not result.get("success"):
            raise ReleaseFailed(result.get("error") or result.get("log") or "generate_assignment failed")
        from notebook_grader.batch.fingerprint import environment_fingerprint
        from notebook_grader.protocol.saved_reference import save_reference

        notebooks = tuple(sorted(p.stem for p in source.glob("*.ipynb")))
        environment = environment_fingerprint(tuple(course.settings.helper_packages))
        return save_reference(course.root, assignment, notebooks, environment)
    finally:
        lock.release()


def release_to_exchange(course: Course, assignment: str) -> str:
    """Copy ``release/<assignment>`` into nbgrader's exchange (``nbgrader release_assignment``,
    replacing an earlier copy there); where it went. Students who fetched before keep theirs."""
    if not course.folder("release", assignment).is_dir():
        raise ReleaseFailed(f"no release/{assignment}: run `course release {assignment}` first")
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange import ExchangeFactory
    from nbgrader.utils import capture_log

    config = course.config()
    config.ExchangeReleaseAssignment.force = True
    coursedir = CourseDirectory(config=config, assignment_id=assignment)
    app = ExchangeFactory(config=config).ReleaseAssignment(coursedir=coursedir,
                                                           authenticator=Authenticator(config=config), config=config)
    result = capture_log(app)
    if not result.get("success"):
        raise ReleaseFailed(_last_error(result) or f"nbgrader could not release {assignment} to the exchange")
    return str(Path(app.dest_path))


def _last_error(result: dict[str, object]) -> str:
    """The last line nbgrader logged as an error (its message says what to fix)."""
    lines = [line for line in str(result.get("log") or "").splitlines() if "ERROR" in line or "CRITICAL" in line]
    return (lines[-1].split("]", 1)[-1].strip() if lines else str(result.get("error") or "")).strip()

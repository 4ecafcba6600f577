"""Store grading results in the course: the gradebook, the autograded and feedback files.

Only the coordinator of a ``course grade`` run calls this, and only one run at a time does
(:class:`GradebookLock`, or on a PostgreSQL gradebook an advisory lock, see
:mod:`notebook_grader.storage.database`), so the gradebook has a single writer.

Nothing is lost or stored twice when the grader is killed at any moment:

* a result's files are written to a temporary folder next to their destination, then moved
  into place (a rename), so a folder is either the old one or the new one;
* its grades, comments and late penalty, and the journal entry that says the submission is
  done, are committed in one database transaction, after the files. A run that was killed
  before the commit leaves the submission not done: the next run grades it again and
  overwrites the same rows (nbgrader keys them by student, notebook and cell, so there is
  never a second copy);
* the journal (a table in the gradebook, ``course_grade_journal``) records, per assignment and
  student, the fingerprints of the submission and of the assignment that were graded. A
  later run skips a submission whose fingerprints match (unless ``--force``), and regrades
  one that was resubmitted or whose assignment changed.

The grades are the ones nbgrader's ``SaveAutoGrades`` computed in the task; they are copied
as it would store them: ``auto_score`` set, a manual score kept (and then the grade is
flagged for review), ``needs_manual_grade`` as nbgrader decides it.

The feedback the task wrote comes from the task's scratch gradebook, which knows nothing of
hand grading. So when the student has hand-given scores or comments in the course's gradebook
(formgrader's ``manual_score``, ``extra_credit`` or ``manual_comment``), the feedback is written
again from the course's gradebook once the grades are committed (a ``render_feedback`` given
by the caller: nbgrader's ``GenerateFeedback`` on the stored autograded notebooks, see
:mod:`notebook_grader.run.feedback`). Until that page is in place the submission's journal entry
is left out, so a run killed in between grades the submission again rather than keep a page
without the hand grades. A student without hand grades keeps the task's page: nothing more.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import text

from notebook_grader.identifiers import terminal_safe
from notebook_grader.model import GradingResult, Outcome
from notebook_grader.run.collection import write_timestamp_file
from notebook_grader.run.paths import submission_problem
from notebook_grader.storage.database import AdvisoryLock, ensure_schema, is_postgresql
from notebook_grader.storage.gradebook_rows import ByCell, submission_grades_and_comments

log = logging.getLogger(__name__)

JOURNAL = "course_grade_journal"
_JOURNAL_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {JOURNAL} (
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    submission_fingerprint TEXT NOT NULL,
    assignment_fingerprint TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    graded_at TEXT NOT NULL,
    seconds REAL,
    PRIMARY KEY (assignment, student)
)
"""
#: nbgrader's defaults for the permissions of files it writes (see ``BaseConverter.permissions``).
AUTOGRADED_MODE = 0o444
FEEDBACK_MODE = 0o644

#: Renders one student's feedback from the course's gradebook: ``(assignment, student)`` to the
#: files of ``feedback/<student>/<assignment>/`` by their path in it; raises if it cannot.
FeedbackRenderer = Callable[[str, str], dict[str, bytes]]


class GradebookBusy(RuntimeError):
    """Another ``course`` command holds the gradebook (only when not waiting)."""


class GradebookLock:
    """An exclusive lock on a gradebook, held by one ``course grade`` run at a time.

    A POSIX record lock on ``<gradebook>.lock``: the kernel releases it when the holding
    process ends, however it ends (a killed grader never leaves it stuck), and child
    processes do not inherit it.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def holder(self) -> str:
        with contextlib.suppress(OSError):
            return self.path.read_text().strip()
        return "?"

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock; return False if it was busy and ``wait`` is False. Re-entrant: no."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            if not wait:
                os.close(fd)
                return False
            fcntl.lockf(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock
            self._fd = None


def take_lock(db_url: str, root: Path, *, wait: bool = True,
              say: Callable[[str], None] | None = None) -> tuple[GradebookLock | AdvisoryLock, float]:
    """The gradebook's lock, and the seconds spent waiting for the command that held it.

    ``course grade`` and ``course feedback`` both write the course's files and gradebook: one
    at a time. Without ``wait``, a held lock raises :class:`GradebookBusy`; with it, ``say``
    tells the user whom they wait for.
    """
    lock = open_lock(db_url, root)
    waited = 0.0
    if not lock.acquire(wait=False):
        holder = lock.holder()
        if not wait:
            lock.release()
            raise GradebookBusy(f"another `course grade` (pid {holder}) is grading with this gradebook")
        if say is not None:
            say(f"another `course grade` (pid {holder}) is grading with this gradebook; waiting for it")
        started = time.monotonic()
        lock.acquire(wait=True)
        waited = time.monotonic() - started
    if isinstance(lock, AdvisoryLock):
        try:
            ensure_schema(db_url, extra=(_JOURNAL_SCHEMA,))  # by the lock's holder: once, by one process
        except BaseException:
            lock.release()
            raise
    return lock, waited


def open_lock(db_url: str, root: Path) -> GradebookLock | AdvisoryLock:
    """The (not yet taken) lock of the gradebook ``db_url``: a file lock, or PostgreSQL's advisory lock.

    A URL the grader does not support is refused here, before anything is opened or written.
    """
    if is_postgresql(db_url):
        return AdvisoryLock(db_url)
    return GradebookLock(lock_path(db_url, root))


def lock_path(db_url: str, root: Path) -> Path:
    """``<gradebook file>.lock`` for a SQLite gradebook, else ``<course>/.course-grade.lock``."""
    prefix = "sqlite:///"
    if db_url.startswith(prefix):
        return Path(db_url[len(prefix):] + ".lock")
    return root / ".course-grade.lock"


@dataclass(frozen=True)
class JournalEntry:
    student: str
    submission_fingerprint: str
    assignment_fingerprint: str
    status: str
    reason: str | None
    graded_at: str


def journal(db_url: str, course_id: str, assignment: str) -> dict[str, JournalEntry]:
    """The journal of ``assignment``: which students' submissions are done, keyed by student.

    Only entries whose submission is still in the gradebook count (a student removed with
    nbgrader is graded again).
    """
    with Gradebook(db_url, course_id) as gb:
        gb.db.execute(text(_JOURNAL_SCHEMA))
        gb.db.commit()
        rows = gb.db.execute(text(
            f"SELECT student, submission_fingerprint, assignment_fingerprint, status, reason, graded_at "
            f"FROM {JOURNAL} WHERE assignment = :a"), {"a": assignment}).fetchall()
        try:
            present = {s.student_id for s in gb.assignment_submissions(assignment)}
        except MissingEntry:
            present = set()
    return {row[0]: JournalEntry(*row) for row in rows if row[0] in present}


def store_result(course_root: Path, db_url: str, course_id: str, result: GradingResult, *,
                 submission_fingerprint: str, assignment_fingerprint: str, gradebook: Gradebook | None = None,
                 render_feedback: FeedbackRenderer | None = None) -> bool:
    """Write a recorded result's files, then its grades and journal entry in one transaction.

    ``gradebook`` is the course's gradebook, open (a run storing many results opens it once:
    opening one costs nbgrader about 40 ms); by default it is opened for this result alone.
    If the student has hand grades in it and ``render_feedback`` is given, the feedback is then
    rendered from it and replaces the task's (see the module). Returns whether it was.
    """
    assert result.recorded, "a failed task has nothing to store"
    _replace_folder(course_root / "autograded" / result.student / result.assignment, result.autograded,
                    AUTOGRADED_MODE)
    replace_feedback(course_root, result.assignment, result.student, result.feedback)
    with contextlib.ExitStack() as stack:
        gb = gradebook if gradebook is not None else stack.enter_context(Gradebook(db_url, course_id))
        gb.update_or_create_student(result.student)  # these two commit, and are idempotent
        kwargs = {"timestamp": result.timestamp} if result.timestamp else {}
        gb.update_or_create_submission(result.assignment, result.student, **kwargs)
        with _transaction(gb):
            grades, comments = submission_grades_and_comments(gb, result.assignment, result.student)
            rerender = render_feedback is not None and has_hand_grades(grades, comments)
            for record in result.grades:
                grade = grades.get((record.notebook, record.name))
                if grade is None:
                    raise MissingEntry(f"No such grade: {result.assignment}/{record.notebook}/{record.name} "
                                       f"for {result.student}")
                grade.auto_score = record.auto_score
                # as nbgrader's SaveAutoGrades: a manual score (or no score) needs a look
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
            for record in result.comments:
                comment = comments.get((record.notebook, record.name))
                if comment is None:
                    raise MissingEntry(f"No such comment: {result.assignment}/{record.notebook}/{record.name} "
                                       f"for {result.student}")
                comment.auto_comment = record.auto_comment
            for notebook, penalty in result.late_penalties.items():
                with contextlib.suppress(MissingEntry):
                    gb.find_submission_notebook(notebook, result.assignment, result.student) \
                        .late_submission_penalty = penalty
            gb.db.execute(text(_JOURNAL_SCHEMA))
            if rerender:  # not done until the page with the hand grades is in place
                gb.db.execute(text(f"DELETE FROM {JOURNAL} WHERE assignment = :a AND student = :s"),
                              {"a": result.assignment, "s": result.student})
            else:
                _journal_done(gb, result, submission_fingerprint, assignment_fingerprint)
        if result.timestamp is not None:
            record_time_in_submission(course_root, result.assignment, result.student, result.timestamp)
        if not rerender:
            return False
        assert render_feedback is not None
        replace_feedback(course_root, result.assignment, result.student,
                         render_feedback(result.assignment, result.student))
        with _transaction(gb):
            _journal_done(gb, result, submission_fingerprint, assignment_fingerprint)
        return True


def record_time_in_submission(course_root: Path, assignment: str, student: str, at: datetime) -> None:
    """Write the stored submission time into ``submitted/<student>/<assignment>/timestamp.txt``.

    Formgrader shows a submission's time from that file, and counts the submission as
    autograded only when it equals the gradebook's; without it every graded student showed
    "None" and "needs autograding". A folder that is not a safe submission folder (a link...)
    is left alone: its refusal is already in the result.

    The grades are stored by then; a folder the file cannot be written to (read-only, full) costs
    formgrader's display of the time only, so it is logged, not raised.
    """
    submitted = course_root / "submitted"
    if submission_problem(submitted, student, assignment) is None:
        try:
            write_timestamp_file(submitted / student / assignment, at)
        except OSError as exc:
            log.warning("%s: the submission time was stored, but not written to timestamp.txt (%s)",
                        terminal_safe(student), exc)


def has_hand_grades(grades: ByCell, comments: ByCell) -> bool:
    """Whether a submission's grades or comments hold anything given by hand (formgrader's fields).

    Any manual comment counts, even an empty one: it replaces the autograder's on the page.
    """
    return (any(g.manual_score is not None or g.extra_credit is not None for g in grades.values())
            or any(c.manual_comment is not None for c in comments.values()))


def replace_feedback(course_root: Path, assignment: str, student: str, files: dict[str, bytes]) -> None:
    """Make ``feedback/<student>/<assignment>`` hold exactly ``files``, switching in one rename."""
    _replace_folder(course_root / "feedback" / student / assignment, files, FEEDBACK_MODE)


def _journal_done(gb: Gradebook, result: GradingResult, submission_fingerprint: str,
                  assignment_fingerprint: str) -> None:
    """Record (in the open transaction) that ``result``'s submission is graded and stored."""
    gb.db.execute(text(
        f"INSERT INTO {JOURNAL} (assignment, student, submission_fingerprint, "
        "assignment_fingerprint, status, reason, graded_at, seconds) "
        "VALUES (:a, :s, :sf, :af, :st, :r, :t, :sec) "
        "ON CONFLICT (assignment, student) DO UPDATE SET submission_fingerprint = excluded.submission_fingerprint, "
        "assignment_fingerprint = excluded.assignment_fingerprint, status = excluded.status, "
        "reason = excluded.reason, graded_at = excluded.graded_at, seconds = excluded.seconds"), {
            "a": result.assignment, "s": result.student, "sf": submission_fingerprint,
            "af": assignment_fingerprint, "st": Outcome(result.status).value,
            "r": "; ".join(result.problems) or None,
            "t": datetime.now(timezone.utc).isoformat(timespec="seconds"), "sec": result.seconds,
        })


@contextlib.contextmanager
def _transaction(gb: Gradebook) -> Iterator[None]:
    """One commit for everything inside (no autoflush surprises: changes are flushed at the end)."""
    try:
        with gb.db.no_autoflush:
            yield
        gb.db.commit()
    except BaseException:
        gb.db.rollback()
        raise


def _replace_folder(dest: Path, files: dict[str, bytes], mode: int) -> None:
    """Make ``dest`` hold exactly ``files``, switching from the old folder in one rename."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.new-", dir=dest.parent))
    try:
        for name, data in files.items():
            path = staging / name
            if not path.resolve().is_relative_to(staging.resolve()):
                raise ValueError(f"refusing to write outside {dest}: {name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        staging.chmod(0o755)
        if dest.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
            os.rename(dest, retired / dest.name)
            os.rename(staging, dest)
            _remove(retired)
        else:
            os.rename(staging, dest)
    except BaseException:
        _remove(staging)
        raise


def _remove(path: Path) -> None:
    def writable(function: object, name: str, _exc: object) -> None:
        os.chmod(os.path.dirname(name), stat.S_IRWXU)
        os.chmod(name, stat.S_IRWXU)
        os.remove(name)

    shutil.rmtree(path, onerror=writable)


def remove_leftovers(course_root: Path, assignment: str) -> None:
    """Tidy up after a run that was killed while it replaced a folder.

    If it was killed between moving the old folder aside and moving the new one in, the
    old one goes back (the journal still describes it); half-written new ones go away.
    """
    for step in ("autograded", "feedback"):
        base = course_root / step
        if not base.is_dir():
            continue
        for student in base.iterdir():
            if not student.is_dir():
                continue
            dest = student / assignment
            for retired in student.glob(f".{assignment}.old-*"):
                if not dest.exists() and (retired / assignment).is_dir():
                    os.rename(retired / assignment, dest)
                _remove(retired)
            for staging in student.glob(f".{assignment}.new-*"):
                _remove(staging)

"""Grade every submission of an assignment: the engine behind ``course grade``.

The coordinator (this module) and its workers share the work like this:

1. take the gradebook's lock (:class:`~notebook_grader.storage.store.GradebookLock`): one run at a
   time per gradebook; a second one waits, then finds the work done;
2. tidy what a killed run left, and take in a learning-management system's zip if given;
3. start the worker processes (:mod:`notebook_grader.batch.pool`), one per submission up to the
   number of workers: each gets a handle on the run's kernel parent, started before the imports
   (:mod:`notebook_grader.batch.prestart`), or starts one, and warms up (:mod:`notebook_grader.run.warm_up`:
   the feedback page's first-time work and the reference solution) while the coordinator goes on;
4. build the assignment's template (:mod:`notebook_grader.run.template`) and check that the
   sandbox works on this machine (refusing to go on without it unless told to);
5. list the submissions under ``submitted/`` and skip those the journal says are graded,
   unchanged, against the unchanged assignment (unless ``force``); hand the rest to the
   workers, each grading one submission at a time in a fresh sandboxed kernel
   (:mod:`notebook_grader.run.grade`). Given a Dask scheduler, the workers are its
   (:mod:`notebook_grader.batch.dask_runner`), connected and checked first of all, so that an
   unusable cluster stops the run before anything is written;
6. store each result as it arrives (:mod:`notebook_grader.storage.store`): files, then grades and
   journal in one transaction. The coordinator is the gradebook's only writer. A student who
   has hand grades in the gradebook (formgrader's) gets the feedback page written again from
   it (:mod:`notebook_grader.run.feedback`): the task's page knows only the autograder's scores;
7. export the grades CSV and return a :class:`BatchSummary`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from notebook_grader.batch.fingerprint import environment_fingerprint
from notebook_grader.batch.pool import WorkerPool
from notebook_grader.batch.prestart import planned_workers, submitted_students
from notebook_grader.batch.zip_intake import collect_zip
from notebook_grader.course import Course
from notebook_grader.isolation import cgroups, sandbox, seccomp
from notebook_grader.isolation.kernel_manager import KernelParent
from notebook_grader.isolation.scratch import fast_temp_dir
from notebook_grader.model import GradingOptions, GradingResult, GradingTask, Outcome
from notebook_grader.protocol.saved_reference import current_saved
from notebook_grader.report.progress import Progress
from notebook_grader.report.scores import StudentScore, course_scores, student_scores, write_csv
from notebook_grader.run.collection import collected_at
from notebook_grader.run.feedback import FeedbackRenderer
from notebook_grader.run.grade import WorkerConfig
from notebook_grader.run.imports import assignment_imports
from notebook_grader.run.template import build_template, submission_fingerprint
from notebook_grader.storage.store import journal, remove_leftovers, store_result, take_lock

if TYPE_CHECKING:
    from notebook_grader.batch.dask_runner import DaskRunner


@dataclass
class BatchOptions:
    """How ``course grade`` runs (see ``course grade --help``)."""

    force: bool = False
    workers: int | None = None  # default: the course's setting, else one per CPU
    sandboxed: bool = True
    limits: sandbox.Limits | None = None  # default: the course's grading settings
    max_notebook_mb: float | None = None  # default: the course's grading settings
    zip: Path | None = None
    progress: bool = True
    wait_for_lock: bool = True
    scheduler: Any = None  # a Dask scheduler's address (or a cluster object): grade there, not here
    max_tasks: int = 500  # tasks a worker grades before it is replaced by a fresh one


@dataclass
class BatchSummary:
    """What one ``course grade`` run did."""

    graded: list[str] = field(default_factory=list)  # recorded; ran without trouble
    failed: dict[str, str] = field(default_factory=dict)  # recorded; something went wrong: why
    errors: dict[str, str] = field(default_factory=dict)  # not graded at all (retried next run): why
    skipped: list[str] = field(default_factory=list)  # graded before and unchanged
    collected: list[str] = field(default_factory=list)  # taken from a zip
    seconds: float = 0.0
    sandboxed: bool = True
    workers: int = 0
    waited_seconds: float = 0.0  # for another run's lock
    scores: list[StudentScore] = field(default_factory=list)
    results: list[GradingResult] = field(default_factory=list)  # this run's, without their files

    @property
    def recorded(self) -> int:
        return len(self.graded) + len(self.failed)


def default_limits(course: Course) -> sandbox.Limits:
    """The limits of one submission, from the course's grading settings."""
    return course.settings.limits()


def grade_all(course: Course, assignment: str, *, force: bool = False, options: BatchOptions | None = None,
              notify: Callable[[str], None] | None = None,
              kernel_parents: Sequence[KernelParent] = ()) -> BatchSummary:
    """Grade, write feedback for and export every submission of ``assignment`` (see the module).

    ``kernel_parents``, started early by the caller (:mod:`notebook_grader.batch.prestart`), go to the
    first workers; the run stops the ones it does not use.
    """
    options = options or BatchOptions(force=force)
    options.force = options.force or force
    say = notify or (lambda message: print(message, file=sys.stderr))
    warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's, about its own sessions
    started = time.monotonic()
    summary = BatchSummary(sandboxed=options.sandboxed)
    settings = course.settings
    helpers = tuple(settings.helper_packages)
    cluster: DaskRunner | None = None
    try:
        if options.scheduler is not None:
            from notebook_grader.batch.dask_runner import DaskRunner

            cluster = DaskRunner.connect(options.scheduler, helpers, sandboxed=options.sandboxed)
        lock, summary.waited_seconds = take_lock(course.db_url, course.root, wait=options.wait_for_lock, say=say)
    except BaseException:
        for kernel_parent in kernel_parents:
            kernel_parent.close()
        if cluster is not None:
            cluster.close()
        raise
    run_dir = _run_dir()
    try:
        remove_leftovers(course.root, assignment)
        if options.zip is not None:
            taken = collect_zip(course, assignment, options.zip)
            summary.collected = taken.collected
            summary.errors.update(taken.refused)  # each is that student's, listed; the batch goes on
            for student, notes in taken.notes.items():
                say(f"{student}: {'; '.join(notes)}")
        declared = course.assignment(assignment)
        hidden = (str(course.root), str(run_dir))
        limits = options.limits or default_limits(course)
        max_mb = options.max_notebook_mb if options.max_notebook_mb is not None else settings.max_notebook_mb
        grading = GradingOptions(limits=limits, sandboxed=options.sandboxed, max_notebook_mb=max_mb)
        students = submitted_students(course, assignment, refused=summary.errors)
        workers = planned_workers(course, assignment, options.workers)
        if cluster is not None:
            workers = min(cluster.size, len(students))
        release = course.folder("release", assignment)
        # The workers start now, while the template is built: each starts its kernel parent and
        # renders the release once and, unless `course release` saved what the checks expect (the
        # template carries it), runs the reference solution (run/warm_up.py), off the first
        # submission's path.
        saved = current_saved(course.root, assignment, declared.graded, environment_fingerprint(helpers))
        sources = tuple(n for n in declared.graded if n not in saved)
        config = WorkerConfig(hidden=(*hidden, *_home()), helper_packages=helpers, sandboxed=options.sandboxed,
                              preload=assignment_imports(release, helpers), scratch=str(run_dir),
                              warm_up=_graded_notebooks(release, declared.graded),
                              warm_up_sources=_graded_notebooks(course.folder("source", assignment), sources),
                              config_root=str(course.root))
        if workers > 1 and cluster is None:
            warm_up_before_fork(config)
        with contextlib.ExitStack() as running:
            pool = running.enter_context(
                WorkerPool(workers, config, task_timeout=limits.submission_seconds + settings.task_margin_seconds,
                           kernel_parents=kernel_parents, max_tasks=options.max_tasks)
            ) if workers and cluster is None else None
            template = build_template(course, assignment, run_dir / "template", notebooks=declared.graded,
                                      helper_packages=helpers, saved_references=saved)
            if options.sandboxed and cluster is None:  # a cluster's workers were checked when it was connected
                show = sandbox.runtime_paths([*hidden, *_home()], helpers)
                sandbox.probe(show, hidden=str(course.root))
                no_filter = None if seccomp.wanted() else "no seccomp filter (NOTEBOOK_GRADER_SECCOMP=0 turned it off)"
                for missing in (no_filter or seccomp.unavailable(), cgroups.probe(limits)):
                    if missing:
                        say(f"note: {missing}")
            done = {} if options.force else journal(course.db_url, template.course_id, assignment)
            tasks, fingerprints = [], {}
            for student in students:
                folder = course.folder("submitted", assignment, student)
                fingerprints[student] = submission_fingerprint(folder)
                entry = done.get(student)
                if (entry is not None and entry.submission_fingerprint == fingerprints[student]
                        and entry.assignment_fingerprint == template.fingerprint):
                    summary.skipped.append(student)
                    continue
                when = collected_at(course.root, assignment, student, fingerprints[student]).at
                tasks.append(GradingTask(assignment, student, folder, template.root, grading, submitted_at=when))
            summary.workers = min(workers, len(tasks))
            runner: WorkerPool | DaskRunner | None = pool
            if tasks and cluster is not None:
                cluster.start(template.root, template.imports, max_tasks=options.max_tasks)
                runner = running.enter_context(cluster)
            if tasks and runner is not None:
                progress = Progress(len(tasks), f"grading {assignment}", enabled=options.progress)
                renderer = FeedbackRenderer(course, scratch=run_dir)
                try:
                    with Gradebook(course.db_url, template.course_id) as gradebook:
                        for result in runner.grade(tasks):
                            _store(course, gradebook, template.fingerprint, fingerprints, result, summary, renderer)
                            progress.advance(failed=result.status == Outcome.FAILED,
                                             error=result.status == Outcome.NOT_GRADED)
                finally:
                    progress.close()
            if pool is not None:
                pool.begin_close()  # the workers tidy up while the scores are read
            by_assignment = course_scores(course.db_url, [*course.settings.assignments])
            summary.scores = by_assignment.get(assignment) or student_scores(course.db_url, assignment)
            write_csv(by_assignment, course.root / "grades.csv")
    finally:
        for kernel_parent in kernel_parents:  # any the pool did not take (or no pool ran)
            kernel_parent.close()
        shutil.rmtree(run_dir, ignore_errors=True)
        lock.release()
        if cluster is not None:
            cluster.close()
        summary.seconds = time.monotonic() - started
    return summary


def _store(course: Course, gradebook: Gradebook, assignment_fingerprint: str, fingerprints: dict[str, str],
           result: GradingResult, summary: BatchSummary, renderer: FeedbackRenderer) -> None:
    """Store ``result`` (its feedback from the gradebook if the student has hand grades) and count it."""
    if result.recorded:
        try:
            store_result(course.root, course.db_url, gradebook.course_id, result,
                         submission_fingerprint=fingerprints[result.student],
                         assignment_fingerprint=assignment_fingerprint, gradebook=gradebook,
                         render_feedback=renderer)
        except Exception as exc:  # e.g. a full disk: this student is not graded, the run goes on
            result.status, result.error = Outcome.NOT_GRADED, f"not stored: {type(exc).__name__}: {exc}"
    if result.status == Outcome.GRADED:
        summary.graded.append(result.student)
    elif result.status == Outcome.FAILED:
        summary.failed[result.student] = result.problems[0] if result.problems else "see the feedback"
    else:
        summary.errors[result.student] = result.error or "unknown error"
    result.autograded, result.feedback = {}, {}
    summary.results.append(result)


def warm_up_before_fork(config: WorkerConfig) -> int:
    """Render the release's feedback once here, so that every worker forked after inherits the work;
    returns how many notebooks were rendered.

    Each worker would otherwise do it itself (``run/warm_up.py``: about half a CPU-second for unit 1,
    compiling the page's templates and colouring every code cell), once per worker, while the
    machine's cores are already busy with the kernel parent's imports. Only the rendering caches
    are installed here (``speedups.install_rendering``); a worker's own warm-up then finds the
    notebooks rendered and skips them. With one worker, the warm-up stays in the worker, where it
    overlaps the building of the template.
    """
    if not config.warm_up or not config.config_root:
        return 0
    from notebook_grader.patches import speedups
    from notebook_grader.run.warm_up import warm_up_feedback

    speedups.install_rendering()
    return warm_up_feedback(config.config_root, config.warm_up)


def _graded_notebooks(folder: Path, graded: Sequence[str]) -> tuple[str, ...]:
    """The paths of the ``graded`` notebooks that ``folder`` holds."""
    return tuple(str(folder / f"{nb}.ipynb") for nb in graded if (folder / f"{nb}.ipynb").is_file())


def _home() -> tuple[str, ...]:
    home = os.path.expanduser("~")
    return (home,) if home not in ("/", "") else ()


RUN_PREFIX = "course-grade-run-"


def _run_dir() -> Path:
    """A private folder for this run's template and scratch; folders of dead runs are removed."""
    base = Path(fast_temp_dir())
    for stale in base.glob(f"{RUN_PREFIX}*"):
        with contextlib.suppress(OSError, ValueError):
            pid = int((stale / "pid").read_text())
            if stale.stat().st_uid == os.getuid() and not _alive(pid):
                shutil.rmtree(stale, ignore_errors=True)
    run_dir = Path(tempfile.mkdtemp(prefix=RUN_PREFIX, dir=base))
    (run_dir / "pid").write_text(str(os.getpid()))
    return run_dir


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

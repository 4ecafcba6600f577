"""Grading on a Dask cluster: ``course grade --scheduler tcp://HOST:PORT``.

The same interface as the local :class:`~notebook_grader.batch.pool.WorkerPool` (a context
manager whose :meth:`DaskRunner.grade` yields one result per task as they come), so the
coordinator does not care where a task runs, and stays the gradebook's only writer.

A task stays stateless: the submission's files (read by the coordinator) go in, a
:class:`~notebook_grader.model.GradingResult` with the grades and the autograded and feedback
files comes out. The assignment's template (the course's config, ``source/``, release and the
assignment's definition) reaches each worker once, inside the :class:`GraderPlugin` the
coordinator registers for the run. A worker needs only the course's environment (the engine, the
helper packages, the same libraries), which the plugin checks by fingerprint
(:mod:`notebook_grader.batch.fingerprint`) before it grades anything; the coordinator refuses to
start when any worker differs.

Each worker keeps one pre-imported kernel parent (started by the plugin, as the local pool's
workers do), grades one submission at a time in the same sandbox with the same limits, with
its kernels' sockets (IPC) in a private folder, and is restarted by its nanny after
``max_tasks`` tasks. A worker that dies mid-task loses nothing: the scheduler runs the task
again on another worker, and the coordinator stores the one result it receives per submission.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from distributed import WorkerPlugin

from notebook_grader.batch.fingerprint import (
    course_fingerprint,
    differences,
    environment_fingerprint,
    environment_parts,
)
from notebook_grader.errors import CourseError
from notebook_grader.identifiers import check_student_id
from notebook_grader.model import GradingOptions, GradingResult, GradingTask, Outcome

PLUGIN = "course-grader"
KEY_PREFIX = "course-grade-"
#: Seconds the coordinator waits for a scheduler with no worker to get one.
WAIT_FOR_WORKERS = 60.0


class SchedulerUnavailable(CourseError):
    """The Dask scheduler cannot be reached, or its address is not one."""


class WorkerMismatch(CourseError):
    """A Dask worker has another version of the course's environment, or cannot grade at all."""


# --------------------------------------------------------------------------- files in and out


def pack_folder(folder: Path) -> dict[str, bytes]:
    """Every regular file under ``folder`` (symlinks are left out, as when grading locally)."""
    files = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            files[str(path.relative_to(folder))] = path.read_bytes()
    return files


def unpack_folder(files: dict[str, bytes], dest: Path) -> None:
    """Write ``files`` (from :func:`pack_folder`) under ``dest``; a path that leaves it is refused."""
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    for name, data in files.items():
        path = (dest / name).resolve()
        if not path.is_relative_to(root) or path == root:
            raise ValueError(f"refusing to write outside {dest}: {name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


# --------------------------------------------------------------------------- the worker's side


def _home() -> tuple[str, ...]:
    home = os.path.expanduser("~")
    return (home,) if home not in ("/", "") else ()


class GraderPlugin(WorkerPlugin):
    """A Dask worker plugin: the assignment's template, the kernel parent, the fingerprint check.

    Registered by the coordinator for a run (registering it again replaces it: the old one's
    kernel parent is closed). ``setup`` unpacks the template into a private folder and, if the
    worker's environment is the coordinator's, starts the kernel parent; ``transition`` counts
    finished grading tasks and has the worker restarted by its nanny after ``max_tasks``.
    """

    name = PLUGIN

    def __init__(self, template: dict[str, bytes], helper_packages: tuple[str, ...], sandboxed: bool,
                 preload: tuple[str, ...], environment: str, max_tasks: int) -> None:
        self.template_files = template
        self.helper_packages = helper_packages
        self.sandboxed = sandboxed
        self.preload = preload
        self.expected_environment = environment
        self.max_tasks = max_tasks

    def setup(self, worker: Any) -> None:
        from notebook_grader.isolation.scratch import fast_temp_dir
        from notebook_grader.run import grade
        from notebook_grader.run.template import AssignmentTemplate

        self.worker = worker
        self.lock = threading.Lock()  # one submission at a time per worker process, whatever its threads
        self.done = 0
        self.recycling = False
        self.root = Path(tempfile.mkdtemp(prefix="course-grade-dask-", dir=fast_temp_dir()))
        self.template = self.root / "template"
        unpack_folder(self.template_files, self.template)
        self.template_files = {}
        self.environment = environment_fingerprint(self.helper_packages)
        self.fingerprint = course_fingerprint(AssignmentTemplate.load(self.template).fingerprint, self.environment)
        if self.environment == self.expected_environment:
            grade.close_worker()
            grade.init_worker(grade.WorkerConfig(
                hidden=(str(self.root), *_home()), helper_packages=self.helper_packages, sandboxed=self.sandboxed,
                preload=self.preload, scratch=str(self.root)))

    def teardown(self, worker: Any) -> None:
        from notebook_grader.run import grade

        with self.lock:
            grade.close_worker()
            shutil.rmtree(self.root, ignore_errors=True)

    def transition(self, key: Any, start: str, finish: str, **kwargs: Any) -> None:
        if start != "executing" or not str(key).startswith(KEY_PREFIX):
            return
        self.done += 1
        if self.done >= self.max_tasks and not self.recycling:
            self.recycling = True  # the nanny starts a fresh process; the scheduler re-sends this plugin
            self.worker.loop.add_callback(self.worker.close_gracefully, restart=True,
                                          reason=f"recycled after {self.done} grading tasks")


def worker_report(helper_packages: tuple[str, ...], sandboxed: bool) -> dict[str, Any]:
    """Run on every worker by the coordinator: its environment, and why it cannot sandbox (or None)."""
    from notebook_grader.isolation import sandbox

    problem = None
    if sandboxed:
        with tempfile.TemporaryDirectory() as hidden:
            try:
                sandbox.probe(sandbox.runtime_paths([hidden, *_home()], helper_packages), hidden=hidden)
            except sandbox.SandboxUnavailable as exc:
                problem = str(exc)
    return {"parts": environment_parts(helper_packages), "sandbox": problem}


def grade_remote(files: dict[str, bytes], assignment: str, student: str, options: GradingOptions,
                 fingerprint: str) -> GradingResult:
    """The Dask task: grade one submission (its files) on this worker, against the plugin's template."""
    from distributed import get_worker

    from notebook_grader.run import grade

    plugin = get_worker().plugins.get(PLUGIN)
    if plugin is None:
        raise RuntimeError("this Dask worker has no course-grader plugin")
    if plugin.fingerprint != fingerprint:
        raise RuntimeError(f"this Dask worker has another version of the course (fingerprint {plugin.fingerprint}, "
                           f"the coordinator's {fingerprint})")
    with plugin.lock:
        work = Path(tempfile.mkdtemp(prefix="s", dir=plugin.root))
        try:
            # laid out as under the course's submitted/, which the worker's intake checks (run/paths.py)
            submission = work / "submitted" / check_student_id(student) / assignment
            unpack_folder(files, submission)
            return grade.grade_submission(GradingTask(assignment, student, submission, plugin.template, options))
        finally:
            shutil.rmtree(work, ignore_errors=True)


# --------------------------------------------------------------------------- the coordinator's side


class DaskRunner:
    """Grading tasks on a Dask cluster, with :class:`~notebook_grader.batch.pool.WorkerPool`'s interface.

    :meth:`connect` first (before anything is written: an unreachable scheduler or a worker with
    another environment is a :class:`~notebook_grader.errors.CourseError`), then :meth:`start`
    for an assignment's template, then ``with runner: runner.grade(tasks)``.
    """

    def __init__(self, client: Any, helper_packages: tuple[str, ...], sandboxed: bool) -> None:
        self.client = client
        self.helper_packages = helper_packages
        self.sandboxed = sandboxed
        self.environment = environment_fingerprint(helper_packages)
        self.fingerprint = ""
        self.size = 0
        self._token = os.urandom(4).hex()

    @classmethod
    def connect(cls, scheduler: Any, helper_packages: tuple[str, ...], *, sandboxed: bool = True) -> DaskRunner:
        """Connect to ``scheduler`` (an address, or a cluster object such as ``LocalCluster``) and check it.

        Every worker must have this machine's environment (fingerprint) and, unless ``sandboxed``
        is False, a working sandbox.
        """
        from distributed import Client

        if isinstance(scheduler, str) and not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise SchedulerUnavailable(f"{scheduler!r} is not a Dask scheduler address: use tcp://HOST:PORT")
        try:
            client = Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            where = scheduler if isinstance(scheduler, str) else "the cluster"
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise SchedulerUnavailable(f"cannot reach the Dask scheduler at {where}: {reason}") from None
        runner = cls(client, helper_packages, sandboxed)
        try:
            runner.check_workers()
        except BaseException:
            runner.close()
            raise
        return runner

    def check_workers(self) -> None:
        """Refuse (one line) a cluster with no worker, or a worker that cannot grade as this machine would."""
        try:
            self.client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
        except TimeoutError:
            raise WorkerMismatch(f"the Dask scheduler has no worker after {WAIT_FOR_WORKERS:g} s; start one with "
                                 "`dask worker SCHEDULER --nthreads 1` in the course's environment") from None
        reports = self.client.run(worker_report, self.helper_packages, self.sandboxed)
        mine = environment_parts(self.helper_packages)
        for address, report in sorted(reports.items()):
            differ = differences(mine, report["parts"])
            if differ:
                raise WorkerMismatch(
                    f"Dask worker {address} has another version of the course ({', '.join(differ)} differ): "
                    "install the same engine, helper packages and libraries there (or stop that worker)")
            if report["sandbox"]:
                from notebook_grader.isolation.sandbox import SandboxUnavailable

                raise SandboxUnavailable(f"on Dask worker {address}: {report['sandbox']}")
        self.size = sum(self.client.nthreads().values())

    def start(self, template: Path, preload: tuple[str, ...], *, max_tasks: int = 500) -> None:
        """Send the assignment's template to every worker (now and joining later) and prepare them."""
        from notebook_grader.run.template import AssignmentTemplate

        self.fingerprint = course_fingerprint(AssignmentTemplate.load(template).fingerprint, self.environment)
        plugin = GraderPlugin(pack_folder(template), self.helper_packages, self.sandboxed, preload,
                              self.environment, max_tasks)
        self.client.register_plugin(plugin, name=PLUGIN)

    def __enter__(self) -> DaskRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        with contextlib.suppress(Exception):
            self.client.unregister_worker_plugin(PLUGIN)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.close()

    def grade(self, tasks: Iterable[GradingTask]) -> Iterator[GradingResult]:
        """Grade ``tasks`` on the cluster; yield one result per task (NOT_GRADED if it could not be).

        At most a few tasks per worker thread are in flight, so the coordinator reads the
        submissions as the cluster needs them, not all at once.
        """
        from distributed import as_completed

        pending = iter(tasks)
        window = max(4, 2 * self.size)
        running: dict[Any, GradingTask] = {}
        completed = as_completed(loop=self.client.loop)

        def submit() -> bool:
            task = next(pending, None)
            if task is None:
                return False
            future = self.client.submit(
                grade_remote, pack_folder(task.submission), task.assignment, task.student, task.options,
                self.fingerprint, key=f"{KEY_PREFIX}{task.assignment}-{task.student}-{self._token}", pure=False)
            running[future] = task
            completed.add(future)
            return True

        while len(running) < window and submit():
            pass
        for future in completed:
            task = running.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # the task's worker died too often, or the grader failed there
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                result = GradingResult(assignment=task.assignment, student=task.student, status=Outcome.NOT_GRADED,
                                       error=f"not graded on the cluster: {type(exc).__name__}: {reason}")
            future.release()
            submit()
            yield result

"""A pool of grading worker processes that survives what the submissions do to it.

Each worker is a process forked from the coordinator (so it starts with nbgrader imported)
that prepares itself once (:func:`notebook_grader.run.grade.init_worker`: its kernel parent), then
grades one task at a time and sends the result back over a pipe. The coordinator:

* hands a task to whichever worker is free, and never runs one student twice at once;
* gives every task a hard deadline: a worker that overruns it, or dies, is killed and
  replaced (its kernels die with it), and the task is tried once more on a fresh worker
  before it is reported as not graded;
* replaces a worker after ``max_tasks`` tasks, to bound what any one process accumulates.

Workers die with the coordinator (parent-death signal), so killing ``course grade`` leaves
no process behind. (``multiprocessing.Pool`` would not let a single overrunning task be
killed; this does.)

What a worker does with a task is a :class:`WorkerRunner`: grading (:class:`Grader`) unless told
otherwise, so that tests can drive the pool with fake tasks that crash, hang or report their pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from notebook_grader.isolation.kernel_manager import KernelParent
from notebook_grader.model import GradingResult, GradingTask, Outcome
from notebook_grader.run import grade
from notebook_grader.run.grade import WorkerConfig

#: A task is tried this many times in all when its worker dies or overruns.
ATTEMPTS = 2
#: Seconds :meth:`WorkerPool.close` lets workers finish their task before it kills them.
CLOSE_GRACE = 5.0


class WorkerRunner(Protocol):
    """What one worker process does: ``init`` once, ``run`` each task, ``close`` on its way out.

    The pool forks its workers, so a runner is inherited, never pickled; only tasks and results
    cross the pipe.
    """

    def init(self, config: WorkerConfig) -> None: ...

    def run(self, task: GradingTask) -> GradingResult: ...

    def close(self) -> None: ...


class Grader:
    """The runner of ``course grade``: :mod:`notebook_grader.run.grade`'s worker functions."""

    def init(self, config: WorkerConfig) -> None:
        grade.init_worker(config)

    def run(self, task: GradingTask) -> GradingResult:
        return grade.grade_submission(task)

    def close(self) -> None:
        grade.close_worker()


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def _worker_main(conn: Connection, runner: WorkerRunner, config: WorkerConfig, parent: int, max_tasks: int,
                 not_mine: tuple[KernelParent, ...] = ()) -> None:
    _die_with_parent(parent)
    os.setsid()  # a Ctrl-C in the terminal reaches the coordinator only; it stops the workers
    for kernel_parent in not_mine:  # sockets of parents meant for later workers, inherited by the fork
        kernel_parent.forget()
    runner.init(config)
    try:
        for _ in range(max_tasks):
            try:
                job = conn.recv()
            except EOFError:
                break
            if job is None:
                break
            conn.send(runner.run(job))
    finally:
        runner.close()


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    task: GradingTask | None = None
    started: float = 0.0
    done: int = 0
    closing: bool = False  # told to finish


@dataclass
class _Pending:
    task: GradingTask
    attempts: int = 0
    reasons: list[str] = field(default_factory=list)


class WorkerPool:
    """``workers`` grading processes; :meth:`grade` yields results as they come.

    ``runner`` is what each worker does with a task (default: grade it, :class:`Grader`).
    """

    def __init__(self, workers: int, config: WorkerConfig, *, task_timeout: float, max_tasks: int = 500,
                 runner: WorkerRunner | None = None, kernel_parents: Sequence[KernelParent] = ()) -> None:
        self.size = max(1, workers)
        self.config = config
        self.runner: WorkerRunner = runner if runner is not None else Grader()
        self.task_timeout = task_timeout
        self.max_tasks = max_tasks
        self._context = multiprocessing.get_context("fork")
        self._workers: list[_Worker] = []
        # Kernel parents started before the pool (batch/prestart.py): the first workers take one each.
        self._spare = list(kernel_parents)
        self._given: list[KernelParent] = []

    def __enter__(self) -> WorkerPool:
        for _ in range(self.size):
            self._workers.append(self._start())
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _start(self) -> _Worker:
        mine, theirs = self._context.Pipe()
        kernel_parent = self._spare.pop(0) if self._spare else None
        config = self.config if kernel_parent is None else replace(self.config, kernel_parent=kernel_parent)
        process = self._context.Process(target=_worker_main,
                                        args=(theirs, self.runner, config, os.getpid(), self.max_tasks,
                                              tuple(self._spare)),
                                        daemon=True, name="course-grade-worker")
        process.start()
        theirs.close()
        if kernel_parent is not None:
            kernel_parent.hand_over()  # the worker holds its only socket now
            self._given.append(kernel_parent)
        return _Worker(process=process, conn=mine)

    def begin_close(self) -> None:
        """Tell every worker to finish (it tidies up and exits); :meth:`close` waits for them."""
        for worker in self._workers:
            if not worker.closing:
                worker.closing = True
                with contextlib.suppress(OSError, ValueError):
                    worker.conn.send(None)

    def close(self) -> None:
        self.begin_close()
        deadline = time.monotonic() + CLOSE_GRACE
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers.clear()
        for kernel_parent in (*self._spare, *self._given):  # unused ones stop; used ones are reaped
            kernel_parent.close()
        self._spare.clear()
        self._given.clear()

    def grade(self, tasks: Iterable[GradingTask]) -> Iterator[GradingResult]:
        """Grade ``tasks``; yield each result (a NOT_GRADED result if a task could not be graded).

        A worker that hands in a result gets its next task before the result is yielded, so it
        grades while the caller stores the result.
        """
        queue = deque(_Pending(t) for t in tasks)
        busy: dict[int, _Pending] = {}
        while queue or busy:
            self._dispatch(queue, busy)
            waitables: list[Any] = []
            for worker in self._workers:
                if worker.task is not None:
                    waitables += [worker.conn, worker.process.sentinel]
            if not waitables:
                continue
            ready = wait(waitables, timeout=1.0)
            now = time.monotonic()
            finished: list[GradingResult] = []
            for index, worker in enumerate(self._workers):
                pending = busy.get(index)
                if pending is None:
                    continue
                failure = None
                if worker.conn in ready:
                    try:
                        result = worker.conn.recv()
                    except (EOFError, OSError):
                        failure = f"its grading process died (exit code {worker.process.exitcode})"
                    else:
                        worker.task = None
                        worker.done += 1
                        del busy[index]
                        if worker.done >= self.max_tasks:
                            self._replace(index)
                        finished.append(result)
                        continue
                elif worker.process.sentinel in ready or not worker.process.is_alive():
                    worker.process.join(1)
                    failure = f"its grading process died (exit code {worker.process.exitcode})"
                elif now - worker.started > self.task_timeout:
                    failure = f"grading it took longer than {self.task_timeout:g} s"
                if failure is None:
                    continue
                del busy[index]
                self._replace(index)
                pending.reasons.append(failure)
                if pending.attempts < ATTEMPTS:
                    queue.appendleft(pending)
                else:
                    reason = "; then ".join(pending.reasons)
                    finished.append(GradingResult(assignment=pending.task.assignment, student=pending.task.student,
                                                  status=Outcome.NOT_GRADED, error=f"not graded: {reason}"))
            self._dispatch(queue, busy)
            yield from finished

    def _dispatch(self, queue: deque[_Pending], busy: dict[int, _Pending]) -> None:
        """Give each idle worker the next task, if any."""
        for index, worker in enumerate(self._workers):
            if worker.task is None and queue:
                running = {p.task.student for p in busy.values()}
                # a second task of a student already being graded waits (never two at once)
                pick = next((i for i, p in enumerate(queue) if p.task.student not in running), None)
                if pick is None:
                    return
                pending = queue[pick]
                del queue[pick]
                pending.attempts += 1
                try:
                    worker.conn.send(pending.task)
                except (OSError, ValueError):
                    queue.appendleft(pending)
                    pending.attempts -= 1
                    self._replace(index)
                    continue
                worker.task, worker.started = pending.task, time.monotonic()
                busy[index] = pending

    def _replace(self, index: int) -> None:
        old = self._workers[index]
        if old.process.is_alive():
            old.process.kill()
        old.process.join()
        old.conn.close()
        self._workers[index] = self._start()

"""The grading worker pool's own promises, checked with fake tasks (no kernel, no sandbox, no nbgrader run).

A :class:`FakeRunner` stands in for grading: what it does with a task is spelled by the
student's name (``ok-1`` returns at once, ``die-1`` kills its worker, ``hangonce-1`` overruns
on its first attempt only...). Workers are forked, so the runner leaves what it saw as files
in a folder the test reads back: one ``init-<pid>``/``close-<pid>`` per worker, one line per
attempt in ``attempts-<student>``, and ``overlap-<student>`` if a student's task started while
another attempt of it still ran (an exclusive ``flock`` held for the whole attempt; the kernel
drops it when the process dies).
"""

from __future__ import annotations

import fcntl
import os
import signal
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from notebook_grader.batch import pool
from notebook_grader.batch.pool import WorkerPool
from notebook_grader.model import GradingResult, GradingTask, Limits, Outcome
from notebook_grader.run.grade import WorkerConfig
from tests.support.processes import running

pytestmark = pytest.mark.unit

HANG_SECONDS = 10.0  # how long a hanging task sleeps: far beyond every test's deadline
TIMEOUT = 0.3  # the task deadline of the tests that overrun it
POLL = 1.0  # the pool checks deadlines at least this often (its wait timeout)
WATCHDOG = 15  # seconds: a test still running then has a pool that is stuck (see `watchdog`)
CONFIG = WorkerConfig(hidden=())


@dataclass(frozen=True)
class FakeRunner:
    """Does what each task's student name says, and leaves traces in ``log``."""

    log: Path
    close_seconds: float = 0.0  # how long ``close`` takes

    def init(self, config: WorkerConfig) -> None:
        (self.log / f"init-{os.getpid()}").touch()

    def close(self) -> None:
        time.sleep(self.close_seconds)
        (self.log / f"close-{os.getpid()}").touch()

    def run(self, task: GradingTask) -> GradingResult:
        name = task.student
        with open(self.log / f"attempts-{name}", "a") as attempts:
            attempts.write(f"{os.getpid()}\n")
        attempt = len((self.log / f"attempts-{name}").read_text().splitlines())
        with open(self.log / f"lock-{name}", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                (self.log / f"overlap-{name}").touch()
            kind = name.split("-")[0]
            if kind == "die" or (kind == "dieonce" and attempt == 1):
                os._exit(3)
            if kind == "hang" or (kind == "hangonce" and attempt == 1):
                time.sleep(HANG_SECONDS)
            if kind == "slow":
                time.sleep(0.3)
        return GradingResult(assignment=task.assignment, student=name, notes=[f"pid {os.getpid()}"])


def _task(student: str, log: Path) -> GradingTask:
    return GradingTask(assignment="a1", student=student, submission=log, template=log)


def _grade(log: Path, students: Iterable[str], *, workers: int = 2, task_timeout: float = 5.0,
           max_tasks: int = 500, runner: FakeRunner | None = None) -> dict[str, GradingResult]:
    """Run ``students``' fake tasks through a pool; their results by student (each exactly once)."""
    with WorkerPool(workers, CONFIG, task_timeout=task_timeout, max_tasks=max_tasks,
                    runner=runner or FakeRunner(log)) as workers_pool:
        results = list(workers_pool.grade(_task(s, log) for s in students))
    counts = Counter(r.student for r in results)
    assert all(n == 1 for n in counts.values()), counts
    return {r.student: r for r in results}


def _pid(result: GradingResult) -> int:
    return int(result.notes[0].removeprefix("pid "))


def _attempts(log: Path, student: str) -> int:
    return len((log / f"attempts-{student}").read_text().splitlines())


def _worker_pids(log: Path, what: str = "init") -> set[int]:
    return {int(p.name.split("-")[1]) for p in log.glob(f"{what}-*")}


def _exists(pid: int) -> bool:
    """Whether process ``pid`` is still there (running, or dead but not reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _assert_no_worker_left(log: Path) -> None:
    pids = _worker_pids(log)
    assert pids, "no worker started"
    assert [pid for pid in pids if _exists(pid)] == []


def _assert_no_overlap(log: Path) -> None:
    assert sorted(p.name for p in log.glob("overlap-*")) == []


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(autouse=True)
def watchdog() -> Iterator[None]:
    """Fail a test whose pool is stuck (a broken pool can loop forever) instead of hanging the run.

    The alarm interrupts the pool's loop in this process (forked workers do not inherit the timer);
    leaving the pool's ``with`` then closes it.
    """

    def stuck(signum: int, frame: object) -> None:
        raise TimeoutError(f"the pool was still running after {WATCHDOG} s")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(WATCHDOG)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_every_task_yields_one_result_over_two_workers(log: Path) -> None:
    students = [f"ok-{n}" for n in range(12)] + ["slow-1", "slow-2"]

    results = _grade(log, students, workers=2)

    assert sorted(results) == sorted(students)
    assert {r.status for r in results.values()} == {Outcome.GRADED}
    assert all(_attempts(log, s) == 1 for s in students)
    assert {_pid(r) for r in results.values()} == _worker_pids(log) and len(_worker_pids(log)) == 2
    assert _worker_pids(log, "close") == _worker_pids(log)  # told to stop, each worker closed its runner
    _assert_no_worker_left(log)
    _assert_no_overlap(log)


def test_a_worker_that_dies_is_replaced_and_its_task_retried(log: Path) -> None:
    results = _grade(log, ["dieonce-1", "ok-1", "ok-2", "ok-3"], workers=2)

    assert {r.status for r in results.values()} == {Outcome.GRADED}
    assert _attempts(log, "dieonce-1") == 2
    assert _exists(int((log / "attempts-dieonce-1").read_text().split()[0])) is False  # the dead one
    assert len(_worker_pids(log)) == 3  # two, and the replacement
    _assert_no_worker_left(log)


@pytest.mark.parametrize("attempts", [pool.ATTEMPTS, 3])
def test_a_task_that_always_kills_its_worker_is_an_error_after_all_attempts(
        log: Path, monkeypatch: pytest.MonkeyPatch, attempts: int) -> None:
    monkeypatch.setattr(pool, "ATTEMPTS", attempts)
    students = ["die-1", "ok-1", "ok-2", "ok-3", "ok-4"]

    results = _grade(log, students, workers=2)

    failed = results.pop("die-1")
    assert failed.status == Outcome.NOT_GRADED
    assert failed.error is not None and failed.error.startswith("not graded: its grading process died")
    assert failed.error.count("its grading process died") == attempts
    assert _attempts(log, "die-1") == attempts
    assert {r.status for r in results.values()} == {Outcome.GRADED}
    assert sorted(results) == students[1:]
    _assert_no_worker_left(log)


def test_a_task_that_overruns_is_killed_retried_then_an_error(log: Path) -> None:
    started = time.monotonic()

    results = _grade(log, ["hang-1", "hangonce-1", "ok-1", "ok-2"], workers=2, task_timeout=TIMEOUT)

    elapsed = time.monotonic() - started
    overran = results["hang-1"]
    assert overran.status == Outcome.NOT_GRADED
    assert overran.error is not None
    assert overran.error.count(f"grading it took longer than {TIMEOUT:g} s") == pool.ATTEMPTS
    assert _attempts(log, "hang-1") == pool.ATTEMPTS
    assert results["hangonce-1"].status == Outcome.GRADED and _attempts(log, "hangonce-1") == 2
    assert results["ok-1"].status == results["ok-2"].status == Outcome.GRADED
    # Each attempt is cut within a deadline check of its timeout, far sooner than the task's sleep.
    assert elapsed < pool.ATTEMPTS * (TIMEOUT + POLL) + 1.5 < HANG_SECONDS
    _assert_no_worker_left(log)
    _assert_no_overlap(log)


def test_a_retry_never_runs_alongside_the_attempt_it_replaces(log: Path) -> None:
    results = _grade(log, ["hangonce-1", "slow-1", "slow-2", "slow-3"], workers=2, task_timeout=TIMEOUT)

    assert results["hangonce-1"].status == Outcome.GRADED and _attempts(log, "hangonce-1") == 2
    _assert_no_overlap(log)  # the overrunning attempt was dead before the retry started
    _assert_no_worker_left(log)


def test_two_tasks_of_one_student_never_run_at_once(log: Path) -> None:
    with WorkerPool(2, CONFIG, task_timeout=5.0, runner=FakeRunner(log)) as workers_pool:
        results = list(workers_pool.grade([_task("slow-1", log), _task("slow-1", log)]))

    assert len(results) == 2
    _assert_no_overlap(log)


def test_a_worker_is_recycled_after_max_tasks(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The pool replaces a worker that has done max_tasks itself. (The worker also stops then; if
    # the pool relied on that, its next task would be sent to a worker still closing and be lost
    # with it: with one attempt and a slow close, that shows as an error instead of a silent retry.)
    monkeypatch.setattr(pool, "ATTEMPTS", 1)
    students = [f"ok-{n}" for n in range(5)]

    results = _grade(log, students, workers=1, max_tasks=2, runner=FakeRunner(log, close_seconds=0.3))

    assert {r.status for r in results.values()} == {Outcome.GRADED}

    pids = [_pid(results[s]) for s in students]  # one worker: tasks run in order
    assert len(set(pids)) == 3
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]
    assert _worker_pids(log) == set(pids)  # no other worker was started
    assert all(_attempts(log, s) == 1 for s in students)
    _assert_no_worker_left(log)


def test_close_after_an_error_in_the_consumer_kills_busy_workers(log: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool, "CLOSE_GRACE", 0.5)
    started = time.monotonic()
    seen: list[GradingResult] = []

    with pytest.raises(RuntimeError, match="consumer failed"), \
            WorkerPool(2, CONFIG, task_timeout=HANG_SECONDS * 2, runner=FakeRunner(log)) as workers_pool:
        for result in workers_pool.grade(_task(s, log) for s in ["ok-1", "hang-1", "hang-2", "ok-2"]):
            seen.append(result)
            raise RuntimeError("consumer failed")

    # ok-1 came back; both workers were then busy with a hanging task and had to be killed.
    assert [r.student for r in seen] == ["ok-1"]
    assert (log / "attempts-hang-1").exists() and (log / "attempts-hang-2").exists()
    assert len(_worker_pids(log)) == 2
    _assert_no_worker_left(log)
    assert time.monotonic() - started < HANG_SECONDS / 2


# --------------------------------------------------------------------------- kernel parents started early


@dataclass(frozen=True)
class ParentReporter(FakeRunner):
    """Records which kernel parent each worker was given, and whether it answers.

    (Its ``init`` waits for the parent's imports, which counts against the first task's deadline:
    the tests give a generous one.)"""

    def init(self, config: WorkerConfig) -> None:
        kernel_parent = config.kernel_parent
        if kernel_parent is not None:
            ready = kernel_parent.wait_ready()
            (self.log / f"parent-{os.getpid()}").write_text(f"{kernel_parent.process.pid} {ready['event']}")
        super().init(config)


def test_early_kernel_parents_go_one_to_each_worker_and_stop_with_the_pool(tmp_path: Path) -> None:
    """Kernel parents started before the pool (batch/prestart.py): each of the first workers gets one
    of its own, which answers it; the pool's end stops them all, and a parent nobody took stops too."""
    from notebook_grader.isolation.kernel_manager import KernelParent, parent_env

    parents = [KernelParent([], parent_env()) for _ in range(3)]
    with WorkerPool(2, CONFIG, task_timeout=120, runner=ParentReporter(tmp_path), kernel_parents=parents) as p:
        results = list(p.grade([_task(f"ok-{i}", tmp_path) for i in range(4)]))
    assert len(results) == 4
    given = sorted(f.read_text() for f in tmp_path.glob("parent-*"))
    pids = sorted(str(k.process.pid) for k in parents[:2])
    assert [g.split()[0] for g in given] == pids and all(g.endswith("ready") for g in given)
    assert not any(running(k.process.pid) for k in parents)


def test_a_killed_workers_early_kernel_parent_stops(tmp_path: Path) -> None:
    """The parent's socket is held by its worker alone: when the worker dies, the parent exits at once
    (not only when the coordinator ends), and so do its kernels."""
    from notebook_grader.isolation.kernel_manager import KernelParent, parent_env

    parents = [KernelParent([], parent_env()) for _ in range(2)]
    with WorkerPool(2, CONFIG, task_timeout=120, runner=ParentReporter(tmp_path), kernel_parents=parents) as p:
        list(p.grade([_task("ok-1", tmp_path), _task("ok-2", tmp_path)]))
        worker = next(w for w in p._workers if (tmp_path / f"parent-{w.process.pid}").exists())
        mine = int((tmp_path / f"parent-{worker.process.pid}").read_text().split()[0])
        os.kill(worker.process.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while running(mine) and time.monotonic() < deadline:
            time.sleep(0.05)
            next(k for k in parents if k.process.pid == mine).process.poll()  # reap it if it exited
        assert not running(mine), "the kernel parent outlived its worker"
        others = [k.process.pid for k in parents if k.process.pid != mine]
        assert all(running(pid) for pid in others), "another worker's parent stopped too"


def test_one_kernel_parent_serves_the_first_workers_and_stops_with_the_pool(tmp_path: Path) -> None:
    """``course grade`` starts one kernel parent for its first workers (batch/prestart.py): each worker
    gets a handle of its own on it, the parent answers both, and the pool's end stops it."""
    from notebook_grader.isolation.kernel_manager import KernelParent, parent_env

    handles = KernelParent.shared([], parent_env(), 2)
    assert handles[0].process is handles[1].process
    with WorkerPool(2, CONFIG, task_timeout=120, runner=ParentReporter(tmp_path), kernel_parents=handles) as p:
        results = list(p.grade([_task(f"ok-{i}", tmp_path) for i in range(4)]))
    assert len(results) == 4
    given = [f.read_text() for f in tmp_path.glob("parent-*")]
    assert len(given) == 2 and set(given) == {f"{handles[0].process.pid} ready"}
    assert not running(handles[0].process.pid)


def test_a_shared_kernel_parent_kills_a_gone_workers_kernels_and_serves_the_others(tmp_path: Path) -> None:
    """A worker that goes away (its socket closes) takes the kernels it launched with it; the parent
    goes on launching kernels for the other workers, and exits when the last one has gone."""
    from notebook_grader.isolation.kernel_manager import KernelParent, kernel_env, parent_env

    first, second = KernelParent.shared([], parent_env(), 2)
    env = kernel_env(str(tmp_path))
    supervisor, kernel, _ = first.launch(str(tmp_path / "first.json"), None, Limits(), None, env)
    assert running(supervisor) and running(kernel)
    first.close()
    assert _gone(supervisor, kernel), "a gone worker's kernel outlived it"
    assert first.process.poll() is None, "the parent stopped while another worker still used it"
    _, other_kernel, _ = second.launch(str(tmp_path / "second.json"), None, Limits(), None, env)
    assert running(other_kernel)
    second.close()
    assert second.process.returncode is not None
    assert _gone(other_kernel), "a kernel outlived its parent"


def _gone(*pids: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(running(pid) for pid in pids)

"""Limits per submission, not per process (``notebook_grader.isolation.cgroups``), and the seccomp filter.

Forked children each stay under their own address-space limit; together they must not pass the
submission's. The sandboxed test runs with the control group the machine allows (if any) and
the supervisor's watch, as a kernel does; the watch is also tested alone, on a made-up /proc.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import time
from pathlib import Path

import pytest

from notebook_grader.isolation import sandbox, seccomp
from notebook_grader.isolation.cgroups import (
    TREE_LIMIT_CODES,
    SubmissionGroup,
    TreeWatch,
    describe_tree_limit,
    ended_by_oom,
    oom_kills,
)
from notebook_grader.model import Limits
from tests.course_copy import HELPER_PACKAGES, REPO

LIMITS = Limits(processes=40, memory_mb=256, scratch_mb=32)


@pytest.mark.sandbox
@pytest.mark.parametrize("with_group", [True, False], ids=["group-and-watch", "watch-alone"])
def test_forked_children_cannot_add_up_past_the_memory_limit(tmp_path: Path, with_group: bool) -> None:
    show = sandbox.runtime_paths([str(REPO), str(tmp_path), os.path.expanduser("~")], HELPER_PACKAGES)

    def run() -> None:
        sandbox.seal()  # as a kernel does once it listens: the supervisor starts watching
        children = []
        for _ in range(4):  # 4 x 200 MiB: each child is under 256 MiB, together they are not
            pid = os.fork()
            if pid == 0:
                block = bytearray(200 << 20)
                for i in range(0, len(block), 4096):
                    block[i] = 1
                time.sleep(120)
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        os._exit(0)

    group = SubmissionGroup.create(LIMITS) if with_group else None
    if with_group and group is None:
        pytest.skip("this machine lets the grader make no control group (the watch alone is tested too)")
    started = time.monotonic()
    try:
        launched = sandbox.launch(run, limits=LIMITS, spec=sandbox.SandboxSpec(show=show), group=group)
        _, status = os.waitpid(launched.supervisor, 0)
    finally:
        if group is not None:
            group.remove()
    code = os.waitstatus_to_exitcode(status)
    assert code in (TREE_LIMIT_CODES["memory"], 128 + 9), code  # the watch, or the group's OOM killer
    assert time.monotonic() - started < 110, "the children slept it out: nothing stopped them"


@pytest.mark.sandbox
def test_a_group_still_emptying_is_removed_later() -> None:
    """A group whose processes have not all gone when it is removed is removed when the next one is
    made (or by ``remove_emptied_groups``), not left behind."""
    from notebook_grader.isolation import cgroups

    group = SubmissionGroup.create(LIMITS)
    if group is None:
        pytest.skip("this machine lets the grader make no control group")
    joined, told = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            group.join()  # every hierarchy's group (cgroup v1: one per controller), then say so
            os.write(told, b"j")
            time.sleep(30)
        finally:
            os._exit(0)
    os.close(told)
    try:
        assert os.read(joined, 1) == b"j", "the child did not join its group"
        group.remove()  # a process is still in it
        assert all(path.is_dir() for path in group.paths)
        assert set(group.paths) <= set(cgroups._emptying)
    finally:
        os.close(joined)
        os.kill(child, 9)
        os.waitpid(child, 0)
    assert cgroups.remove_emptied_groups(wait=2.0) == []
    assert not any(path.exists() for path in group.paths)
    second = SubmissionGroup.create(LIMITS)
    assert second is not None
    second.remove()
    assert not any(path.exists() for path in second.paths) and not cgroups._emptying


def _fake_proc(root: Path, processes: dict[int, tuple[int, int, int]]) -> Path:
    """A /proc with ``pid: (pss_kib, threads, cpu_ticks)`` per process."""
    for pid, (pss, threads, ticks) in processes.items():
        folder = root / str(pid)
        folder.mkdir(parents=True)
        fields = ["S", "1", "1", "1", "0", "-1", "0", "0", "0", "0", "0", str(ticks), "0", "0", "0", "20", "0",
                  str(threads)]
        (folder / "stat").write_text(f"{pid} (python) " + " ".join(fields[:]) + " 0 0\n")
        (folder / "smaps_rollup").write_text(f"Rss: {pss * 2} kB\nPss: {pss} kB\n")
        pages = pss * 2 * 1024 // os.sysconf("SC_PAGE_SIZE")  # RSS: twice PSS (pages shared with forks)
        (folder / "statm").write_text(f"{pages * 2} {pages} 0 0 0 0 0\n")
    (root / "self").mkdir(exist_ok=True)
    return root


@pytest.mark.unit
def test_the_watch_adds_up_every_process(tmp_path: Path) -> None:
    limits = Limits(memory_mb=100, processes=10, submission_seconds=10)
    watch = TreeWatch(limits, proc=_fake_proc(tmp_path / "a", {1: (50_000, 4, 100)}))
    assert watch.over() is None and watch.baseline_pss == 50_000 * 1024
    # five forks of 30 MiB each: each is small, together 150 MiB past the start
    watch.proc = _fake_proc(tmp_path / "b", {1: (50_000, 4, 100), **{i: (30 * 1024, 1, 0) for i in range(2, 7)}})
    assert watch.over() == "memory"
    watch.proc = _fake_proc(tmp_path / "c", {1: (50_000, 4, 100), **{i: (1024, 2, 0) for i in range(2, 6)}})
    assert watch.over() == "processes"  # 4 + 4 x 2 = 12 threads > 10
    ticks = os.sysconf("SC_CLK_TCK")
    watch.proc = _fake_proc(tmp_path / "d", {1: (50_000, 4, 10 * ticks), 2: (1024, 1, 21 * ticks)})
    assert watch.over() == "cpu"  # 31 s > 2 x 10 + 10


@pytest.mark.unit
def test_an_oom_kill_in_the_group_is_the_memory_limit_passed(tmp_path: Path) -> None:
    """The group's OOM killer may end a forked child the notebook outlives: the watch reads the
    group's count of such kills (v1 ``memory.oom_control``, v2 ``memory.events``) and stops the lot."""
    counter = tmp_path / "memory.oom_control"
    counter.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n")
    fd = os.open(counter, os.O_RDONLY)
    try:
        watch = TreeWatch(LIMITS, proc=_fake_proc(tmp_path / "proc", {1: (50_000, 4, 0)}), oom_counter=fd)
        assert oom_kills(fd) == 0 and watch.over() is None and not ended_by_oom(fd) and not ended_by_oom(None)
        counter.write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 1\n")  # the same file, read again
        assert oom_kills(fd) == 1 and watch.over() == "memory"
        assert ended_by_oom(fd)  # what the supervisor asks once its sandbox is gone, if it had no reason yet
    finally:
        os.close(fd)
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 1\n")
    fd = os.open(events, os.O_RDONLY)
    try:
        assert oom_kills(fd) == 2
    finally:
        os.close(fd)


def _run_in_counting_group(run, tmp_path: Path) -> tuple[int, float]:
    """Run ``run`` in a sandbox with a control group that counts OOM kills (skip where there is
    none); its supervisor's wait status and the seconds it took."""
    group = SubmissionGroup.create(LIMITS)
    if group is None:
        pytest.skip("this machine lets the grader make no control group")
    probe = group.open_oom_counter()
    if probe is None:
        group.remove()
        pytest.skip("this kernel's control groups do not count OOM kills")
    os.close(probe)
    show = sandbox.runtime_paths([str(REPO), str(tmp_path), os.path.expanduser("~")], HELPER_PACKAGES)
    started = time.monotonic()
    try:
        launched = sandbox.launch(run, limits=LIMITS, spec=sandbox.SandboxSpec(show=show), group=group)
        _, status = os.waitpid(launched.supervisor, 0)
    finally:
        group.remove()
    return status, time.monotonic() - started


@pytest.mark.sandbox
def test_a_child_the_oom_killer_ends_stops_the_whole_submission(tmp_path: Path) -> None:
    """Two forked children of 200 MiB pass the group's 320 MiB together, so the kernel's OOM killer ends
    one, mostly between two of the watch's looks at memory (twice a second); the one left is under the
    limit and the notebook would go on (here: for a minute). The supervisor sees the group's OOM
    kill and stops the sandbox, with the memory limit as the reason."""

    def allocate() -> bytearray:
        block = bytearray(200 << 20)  # under the 256 MiB each process may map
        block[::4096] = b"\1" * len(range(0, len(block), 4096))
        return block

    def run() -> None:
        sandbox.seal()
        ready_r, ready_w = os.pipe()
        if os.fork() == 0:
            kept = allocate()  # held through the sleep
            os.write(ready_w, b"r")
            time.sleep(60)
            del kept
            os._exit(0)
        os.read(ready_r, 1)
        second = os.fork()
        if second == 0:
            allocate()
            os._exit(0)
        os.waitpid(second, 0)
        time.sleep(60)
        os._exit(0)

    status, seconds = _run_in_counting_group(run, tmp_path)
    assert os.waitstatus_to_exitcode(status) == TREE_LIMIT_CODES["memory"]
    assert seconds < 30, "the notebook outlived its child's OOM kill"


@pytest.mark.sandbox
def test_a_sandbox_the_oom_killer_ends_at_once_is_said_to_have_run_out_of_memory(tmp_path: Path) -> None:
    """The group's OOM killer may end the sandbox's only process (a kernel whose resident imports
    and allocations pass the group's memory before its address space runs out): its reason is the
    memory limit, not a bare SIGKILL ("a time or memory limit"), even when the sandbox is gone
    before the watch looks again (the supervisor then asks the group's OOM count once more)."""
    inherited = bytearray(200 << 20)  # mapped before the fork: writing it adds no address space

    def run() -> None:
        sandbox.seal()
        inherited[::4096] = b"\1" * len(range(0, len(inherited), 4096))  # 200 MiB charged to the group
        more = bytearray(150 << 20)  # under the address space left (256 MiB), over the group's 320 MiB
        more[::4096] = b"\1" * len(range(0, len(more), 4096))
        time.sleep(60)
        os._exit(0)

    status, seconds = _run_in_counting_group(run, tmp_path)
    assert os.waitstatus_to_exitcode(status) == TREE_LIMIT_CODES["memory"]
    assert seconds < 30


@pytest.mark.unit
def test_the_reasons_are_said_in_words() -> None:
    assert "together used more than the 256 MiB" in describe_tree_limit(120, LIMITS)
    assert describe_tree_limit(1) is None


@pytest.mark.unit
def test_the_seccomp_filter_is_on_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(seccomp.SWITCH, raising=False)
    assert seccomp.wanted()
    for off in ("0", "off", "false", " NO "):
        monkeypatch.setenv(seccomp.SWITCH, off)
        assert not seccomp.wanted()
    monkeypatch.setenv(seccomp.SWITCH, "1")
    assert seccomp.wanted()


@pytest.mark.sandbox
def test_the_seccomp_filter_refuses_what_a_notebook_never_needs(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(seccomp.SWITCH, raising=False)  # on by default
    if seccomp.unavailable():
        pytest.skip(seccomp.unavailable())
    out = tmp_path / "out"
    out.mkdir()
    sandbox.hand_over(out)
    show = sandbox.runtime_paths([str(REPO), str(tmp_path), os.path.expanduser("~")], HELPER_PACKAGES)

    def run() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        results = {}
        for name, number, args in (("io_uring_setup", 425, (1, 0)), ("keyctl", 250, (0, 0)), ("bpf", 321, (0, 0)),
                                   ("ptrace", 101, (16, 1)), ("unshare", 272, (0x10000000, 0)),
                                   ("perf_event_open", 298, (0, 0)), ("userfaultfd", 323, (0, 0))):
            ctypes.set_errno(0)
            value = libc.syscall(number, *args)
            results[name] = (value, ctypes.get_errno())
        pid = os.fork()  # plain clone (threads, fork) still works
        if pid == 0:
            os._exit(7)
        results["fork"] = (os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), 0)
        (out / "results.json").write_text(json.dumps(results))

    launched = sandbox.launch(run, limits=LIMITS, spec=sandbox.SandboxSpec(show=show, writable=(str(out),)))
    _, status = os.waitpid(launched.supervisor, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    results = json.loads((out / "results.json").read_text())
    assert results.pop("fork") == [7, 0]
    for name, (value, code) in results.items():
        assert value == -1 and code == errno.EPERM, (name, value, code)


@pytest.mark.unit
def test_the_kernel_parent_starts_with_a_fixed_minimal_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from notebook_grader.isolation.kernel_manager import PARENT_HOME, parent_env

    monkeypatch.setenv("PATH", "/home/instructor/bin:/usr/bin")
    monkeypatch.setenv("HOME", "/home/instructor")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    env = parent_env()
    assert env["HOME"] == PARENT_HOME and "/home/instructor" not in " ".join(env.values())
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert set(env) <= {"PATH", "HOME", "LANG", "TZ", "PYTHONDONTWRITEBYTECODE", "MPLBACKEND", "MPLCONFIGDIR",
                        "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "MALLOC_ARENA_MAX",
                        "PYDEVD_DISABLE_FILE_VALIDATION", "NOTEBOOK_GRADER_NO_PATCHES", "NOTEBOOK_GRADER_SECCOMP"}

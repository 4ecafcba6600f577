"""The sandbox itself: what a sandboxed process can see, reach, keep and become."""

from __future__ import annotations

import errno
import json
import os
import resource
import socket
import sys
import time
from pathlib import Path

import pytest

from notebook_grader.batch import coordinator as batch
from notebook_grader.isolation import linux, sandbox
from tests.course_copy import HELPER_PACKAGES, REPO

pytestmark = pytest.mark.sandbox

LIMITS = sandbox.Limits(processes=40, memory_mb=512, scratch_mb=32)


def _inside(tmp_path: Path, probe_code, *, seal: bool = False) -> dict:
    """Run ``probe_code()`` in a sandbox and return the facts it reported (as JSON)."""
    out = tmp_path / "out"
    out.mkdir()
    sandbox.hand_over(out)
    seed = tmp_path / "seed"
    seed.mkdir()
    (seed / "data.csv").write_text("x,y\n1,2\n")
    show = sandbox.runtime_paths([str(REPO), str(tmp_path), os.path.expanduser("~")], HELPER_PACKAGES)

    def run() -> None:
        (Path(out) / "facts.json").write_text(json.dumps(probe_code(), default=str))
        if seal:  # from now on the folder must be read-only: exit 0 only if writing fails
            sandbox.seal()
            try:
                (Path(out) / "late.txt").write_text("late")
            except OSError as exc:
                os._exit(0 if exc.errno == errno.EROFS else 5)
            os._exit(6)

    launched = sandbox.launch(run, limits=LIMITS, spec=sandbox.SandboxSpec(show=show, writable=(str(out),),
                                                                          seed=str(seed)))
    _, status = os.waitpid(launched.supervisor, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return json.loads((out / "facts.json").read_text())


def _try(action) -> str:
    try:
        return f"ok: {action()!r}"[:300]
    except BaseException as exc:
        return f"{type(exc).__name__}: {exc}"[:300]


def test_sandboxed_process_sees_only_what_it_needs(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    secret = Path.home() / ".course-grade-test-secret"

    def probe() -> dict:
        status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
        return {
            "course": _try(lambda: sorted(os.listdir(REPO))),
            "source": _try(lambda: (REPO / "source").exists()),
            "test folder": _try(lambda: sorted(os.listdir(tmp_path))),
            "home": _try(lambda: secret.exists()),
            "loopback": _try(lambda: socket.create_connection(("127.0.0.1", port), timeout=2)),
            "write usr": _try(lambda: Path("/usr/course-grade-test").write_text("x")),
            "write venv": _try(lambda: (Path(sys.prefix) / "course-grade-test").write_text("x")),
            "scratch": _try(lambda: (Path(os.getcwd()) / "mine.txt").write_text("mine")),
            "seeded": _try(lambda: Path("data.csv").read_text()),
            "cwd": os.getcwd(),
            "uid": os.getuid(),
            "capabilities": status["CapEff"].strip(),
            "bounding": status["CapBnd"].strip(),
            "no new privileges": status["NoNewPrivs"].strip(),
            "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "nproc": resource.getrlimit(resource.RLIMIT_NPROC)[0],
            "address space": resource.getrlimit(resource.RLIMIT_AS)[0],
            "hostname": socket.gethostname(),
            "nested namespace": _try(lambda: linux.check(linux.libc.unshare(linux.CLONE_NEWUSER), "unshare")),
            "import helpers": _try(lambda: [__import__(name).__name__ for name in HELPER_PACKAGES]),
            "grader's code": _try(lambda: Path(batch.__file__).read_text()[:10]),
        }

    secret.write_text("private")
    try:
        facts = _inside(tmp_path, probe, seal=True)
    finally:
        secret.unlink()
        listener.close()
    shown_inside_repo = {Path(p).relative_to(REPO).parts[0] for p in
                         sandbox.runtime_paths([str(REPO / "source")], HELPER_PACKAGES) if Path(p).is_relative_to(REPO)}
    assert facts["course"] == f"ok: {sorted(shown_inside_repo)!r}" or facts["course"].startswith("FileNotFound")
    assert not shown_inside_repo & {"source", "submitted", "release", "tests", "grader", "gradebook.db"}
    assert facts["source"] == "ok: False"
    assert facts["test folder"] == "ok: ['out']"  # the writable folder, not the seed beside it
    assert facts["home"] == "ok: False"
    assert facts["loopback"].startswith("OSError") and "unreachable" in facts["loopback"]
    assert "Read-only file system" in facts["write usr"] and "Read-only file system" in facts["write venv"]
    assert facts["scratch"] == "ok: 4" and facts["seeded"] == "ok: 'x,y\\n1,2\\n'"
    assert facts["cwd"] == sandbox.SANDBOX_HOME
    if os.geteuid() == 0:
        assert facts["uid"] == sandbox.SANDBOX_UID
    assert int(facts["capabilities"], 16) == 0 and int(facts["bounding"], 16) == 0
    assert facts["no new privileges"] == "1"
    assert facts["processes"] == [1]
    assert facts["nproc"] == LIMITS.processes
    assert facts["address space"] != resource.RLIM_INFINITY
    assert facts["hostname"] == "sandbox"
    assert not facts["nested namespace"].startswith("ok")
    assert facts["import helpers"] == f"ok: {list(HELPER_PACKAGES)!r}"
    assert facts["grader's code"].startswith("FileNotFoundError")
    assert not (tmp_path / "out" / "late.txt").exists()


def test_memory_and_process_limits_hold_on_the_sandboxed_process(tmp_path: Path) -> None:
    def probe() -> dict:
        facts = {"memory": _try(lambda: len(bytearray(2 * LIMITS.memory_mb * 2**20)))}
        forked = 0
        try:
            for _ in range(10 * LIMITS.processes):
                if os.fork() == 0:
                    time.sleep(60)
                    os._exit(0)
                forked += 1
        except OSError as exc:
            facts["fork"] = f"{type(exc).__name__} after {forked}"
        return facts

    facts = _inside(tmp_path, probe)
    assert facts["memory"].startswith("MemoryError")
    assert facts["fork"].startswith("BlockingIOError")
    assert int(facts["fork"].split()[-1]) < LIMITS.processes


def test_everything_inside_dies_with_the_supervisor(tmp_path: Path) -> None:
    show = sandbox.runtime_paths([str(REPO), str(tmp_path)], HELPER_PACKAGES)

    def run() -> None:
        if os.fork() == 0:  # a daemon, in its own session, that would like to outlive its kernel
            os.setsid()
            time.sleep(120)
            os._exit(0)
        time.sleep(120)

    launched = sandbox.launch(run, limits=LIMITS, spec=sandbox.SandboxSpec(show=show))
    namespace = os.readlink(f"/proc/{launched.pid}/ns/pid")
    time.sleep(0.3)
    assert len(_members(namespace)) == 2
    os.kill(launched.supervisor, 9)
    os.waitpid(launched.supervisor, 0)
    deadline = time.monotonic() + 5
    while _members(namespace) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _members(namespace)


def _members(namespace: str) -> list[int]:
    members = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if os.readlink(proc / "ns" / "pid") == namespace:
                    members.append(int(proc.name))
            except OSError:
                continue
    return members


def test_the_kernel_is_never_shown_a_folder_that_holds_the_course(tmp_path: Path) -> None:
    inside_the_environment = os.path.join(sys.prefix, "lib")
    with pytest.raises(sandbox.SandboxUnavailable, match="contains"):
        sandbox.runtime_paths([inside_the_environment], HELPER_PACKAGES)


def test_probe_accepts_this_machine(tmp_path: Path) -> None:
    show = sandbox.runtime_paths([str(REPO), str(tmp_path)], HELPER_PACKAGES)
    sandbox.probe(show, hidden=str(REPO / "source"))


def test_a_course_holding_the_environment_is_hidden_but_for_the_way_to_it(tmp_path) -> None:
    """The README's layout keeps .venv inside the course: only the mount points may show."""
    from notebook_grader.isolation.sandbox import _reveals

    course = tmp_path / "course"
    shown = (str(course / ".venv"), str(course / "helpers" / "fisher_helpers"))
    for path in shown:
        os.makedirs(path)
    assert not _reveals(str(course), shown)
    (course / "helpers" / "README.md").write_text("not on the way to a shown path")
    assert _reveals(str(course), shown)
    (course / "helpers" / "README.md").unlink()
    (course / "gradebook.db").write_text("")
    assert _reveals(str(course), shown)
    assert _reveals(str(course), ())


def test_launch_reports_the_kernels_pid_when_the_child_is_ready_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child says "ready" and the supervisor says the child's pid on one pipe, in either order:
    launch waits for both (here the supervisor's line is held back, so "ready" comes first)."""
    report = sandbox._report

    def late_pid(fd: int, message: str) -> None:
        if message.startswith("pid "):
            time.sleep(0.3)
        report(fd, message)

    monkeypatch.setattr(sandbox, "_report", late_pid)
    launched = sandbox.launch(lambda: time.sleep(2), limits=sandbox.Limits(), spec=None)
    try:
        fields = Path(f"/proc/{launched.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert launched.pid > 0 and int(fields[1]) == launched.supervisor
    finally:
        os.kill(launched.supervisor, 9)
        os.waitpid(launched.supervisor, 0)

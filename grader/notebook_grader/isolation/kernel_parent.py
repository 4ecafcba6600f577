"""The kernel parent: a clean, pre-imported process that forks one fresh kernel per submission.

Starting a Python kernel costs most of a second (interpreter, IPython, ipykernel, NumPy, the
course's helpers); the notebook itself runs in a fraction of that. A grading worker therefore
starts this process once, as ``python -m notebook_grader.isolation.kernel_parent FD`` with a scrubbed
environment: it imports the kernel's modules, then forks a new child for every submission.
The child enters its own sandbox (:mod:`notebook_grader.isolation.sandbox`) and becomes the kernel, so
each student gets a kernel that shares nothing with any other: a copy of a parent that never
ran student code.

The parent must never hold anything private, because a forked kernel inherits its memory and
student code can read its own memory: it is started by ``exec`` (not forked from the
grader, which holds the reference solution), with a minimal environment, and it never reads
a notebook, the gradebook or the course. It only receives launch requests.

Protocol (JSON messages over a ``SOCK_SEQPACKET`` socket, file descriptor ``FD``):

* parent → worker ``{"event": "ready", "seconds": ..., "threads": n}`` once imported;
* worker → parent ``{"op": "launch", "id": n, "connection_file": ..., "spec": {...} | null,
  "limits": {...}, "workdir": ..., "env": {...}}``; reply ``{"id": n, "ok": true,
  "supervisor": pid, "pid": pid}`` with a pidfd of the supervisor attached, or
  ``{"id": n, "ok": false, "error": ...}``;
* parent → worker ``{"event": "exit", "supervisor": pid, "code": code}`` when one ends;
* end of file (the worker is gone): the parent kills the kernels that worker launched.

One parent may serve several workers, one socket each (``FD`` is then a comma-separated list):
importing NumPy, SciPy, Matplotlib and seaborn takes seconds of CPU, and the first workers of a
run can share one parent's imports instead of paying them once each
(:meth:`~notebook_grader.isolation.kernel_manager.KernelParent.shared`). Every launch and exit
message goes to the socket that asked; a kernel belongs to the worker that launched it, so a worker
that goes away takes its kernels with it and leaves the others running. The parent exits when its
last socket closes, and with it every kernel.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Any

from notebook_grader.isolation.cgroups import SubmissionGroup, remove_emptied_groups, remove_stale_groups
from notebook_grader.isolation.sandbox import Limits, SandboxError, SandboxSpec, launch, seal
from notebook_grader.patches import kernel_tuning

#: Always imported: what ``IPKernelApp`` needs. The worker adds the assignment's own imports.
KERNEL_MODULES = (
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",
    "IPython.core.interactiveshell",
    "IPython.core.completer",
    "IPython.core.completerlib",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "IPython.extensions.storemagic",
    "IPython.utils.wildcard",
    "IPython.display",
    "matplotlib_inline.backend_inline",
    "tornado.platform.asyncio",
    "comm",
    "faulthandler",
    "pdb",
    "sqlite3",
)
MESSAGE_BYTES = 1 << 20


def preload(modules: list[str]) -> list[str]:
    """Import ``modules`` (best effort); return those that failed."""
    failed = []
    for name in (*KERNEL_MODULES, *modules):
        try:
            importlib.import_module(name)
        except Exception:  # a missing optional module only costs speed
            failed.append(name)
    kernel_tuning.install()
    with contextlib.suppress(Exception):  # a kernel's first error costs a tenth of a second less
        kernel_tuning.warm_tracebacks()
    with contextlib.suppress(Exception):  # load the font list now rather than in every kernel
        import matplotlib.font_manager

        matplotlib.font_manager.fontManager.get_font_names()
    gc.collect()
    gc.freeze()  # kernels share these pages: keep their garbage collector from touching (copying) them
    return failed


def run_kernel(connection_file: str, env: dict[str, str]) -> None:
    """In the forked child, once sandboxed: become an IPython kernel on ``connection_file``."""
    os.environ.clear()
    os.environ.update(env)
    import random

    random.seed()  # a fork copies the parent's random state; a fresh kernel would not share it
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(["-f", connection_file, "--HistoryManager.hist_file=:memory:",
                    "--IPKernelApp.log_level=CRITICAL", "--IPKernelApp.quiet=True"])
    seal()  # the sockets exist: from here on the socket folder is read-only
    app.start()


def _send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    data = json.dumps(message).encode()
    if fds:
        socket.send_fds(sock, [data], fds)
    else:
        sock.send(data)


def _pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


#: The control group of each running sandbox, by its supervisor's pid (removed when it is reaped).
_groups: dict[int, SubmissionGroup] = {}


def _handle_launch(sock: socket.socket, request: dict[str, Any], running: dict[int, socket.socket | None]) -> None:
    spec = request.get("spec")
    sandbox = SandboxSpec(show=tuple(spec["show"]), writable=tuple(spec["writable"]), seed=spec.get("seed"),
                          hostname=spec.get("hostname", "sandbox")) if spec else None
    limits = Limits(**request["limits"])
    connection_file, env = request["connection_file"], request["env"]
    group = SubmissionGroup.create(limits) if sandbox is not None else None
    try:
        launched = launch(lambda: run_kernel(connection_file, env), limits=limits, spec=sandbox,
                          workdir=request.get("workdir"), group=group)
    except (SandboxError, OSError) as exc:
        if group is not None:
            group.remove()
        _send(sock, {"id": request["id"], "ok": False, "error": str(exc)})
        return
    running[launched.supervisor] = sock
    if group is not None:
        _groups[launched.supervisor] = group
    pidfd = _pidfd(launched.supervisor)
    reply = {"id": request["id"], "ok": True, "supervisor": launched.supervisor, "pid": launched.pid}
    _send(sock, reply, [pidfd] if pidfd is not None else None)
    if pidfd is not None:
        os.close(pidfd)


def _reap(running: dict[int, socket.socket | None]) -> None:
    """Reap every finished supervisor; tell the worker that launched it (if it is still there)."""
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        owner = running.pop(pid, None)
        group = _groups.pop(pid, None)
        if group is not None:
            group.remove()
        code = os.waitstatus_to_exitcode(status)
        if owner is not None:
            with contextlib.suppress(OSError):
                _send(owner, {"event": "exit", "supervisor": pid, "code": code})


def _abandon(sock: socket.socket, running: dict[int, socket.socket | None]) -> None:
    """A worker has gone: kill the kernels it launched (their sandboxes die with their supervisors)."""
    for supervisor, owner in running.items():
        if owner is sock:
            running[supervisor] = None  # reaped later, with no one to tell
            with contextlib.suppress(ProcessLookupError):
                os.kill(supervisor, signal.SIGKILL)
    sock.close()


def _die_with_parent(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def main(argv: list[str]) -> int:
    fds, parent = [int(fd) for fd in argv[1].split(",")], int(argv[2])
    modules = json.loads(argv[3]) if len(argv) > 3 else []
    _die_with_parent(parent)
    remove_stale_groups()
    socks = [socket.socket(fileno=fd) for fd in fds]
    started = time.monotonic()
    failed = preload(modules)
    threads = len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else threading.active_count()
    ready = {"event": "ready", "seconds": time.monotonic() - started, "failed": failed, "threads": threads}
    for sock in socks:
        with contextlib.suppress(OSError):  # a worker already gone is seen at its end of file below
            _send(sock, ready)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    running: dict[int, socket.socket | None] = {}  # supervisor pid -> the socket that launched it
    while socks:
        readable, _, _ = select.select([*socks, wake_r], [], [])
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(running)
        for sock in [s for s in socks if s in readable]:
            try:
                data = sock.recv(MESSAGE_BYTES)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            request = json.loads(data) if data else {"op": "quit"}
            if request.get("op") == "quit":
                socks.remove(sock)
                _abandon(sock, running)
            elif request.get("op") == "launch":
                _handle_launch(sock, request, running)
                _reap(running)
    deadline = time.monotonic() + 0.5  # the kernels of workers that went: reaped, their groups removed
    while running and time.monotonic() < deadline:
        _reap(running)
        time.sleep(0.02)
    remove_emptied_groups(wait=0.5)
    # Nothing to flush or save, and its kernels die with it: skip the interpreter's teardown of
    # everything it preloaded (a few tenths of a second a worker would wait for).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main(sys.argv))

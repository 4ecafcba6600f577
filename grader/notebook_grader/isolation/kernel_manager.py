"""Kernels for autograding: forked from the worker's kernel parent, one sandbox each.

nbgrader's ``Execute`` preprocessor (nbclient) starts kernels through a jupyter_client
``KernelManager``. :class:`SandboxedKernelManager` keeps that interface but gets each kernel
from the worker's :class:`KernelParent` (see :mod:`notebook_grader.isolation.kernel_parent`) instead of
starting a new Python: the kernel talks over IPC sockets (a kernel in a network namespace
cannot be reached over TCP) in a directory of its own, and is stopped by killing its sandbox.

What a kernel gets (where its sockets live, which paths it sees, its limits) is the
:class:`KernelSettings` given to the manager when it is made (by
:class:`~notebook_grader.pipeline.sandboxed_execute.SandboxedExecute`).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning.local_provisioner import LocalProvisioner

from notebook_grader.isolation.sandbox import SANDBOX_HOME, Limits, SandboxSpec, hand_over
from notebook_grader.isolation.scratch import fast_temp_dir
from notebook_grader.patches import in_use
from notebook_grader.patches.overrides import QUICK_START_CLIENT

MESSAGE_BYTES = 1 << 20
#: The largest single message a kernel may send; a larger one drops the connection.
MAX_KERNEL_MESSAGE_BYTES = 256 << 20


class KernelStartError(RuntimeError):
    """The kernel parent could not start a kernel (the sandbox failed, or the parent died)."""


def _start_parent(modules: list[str], env: dict[str, str],
                  count: int) -> tuple[subprocess.Popen[bytes], list[socket.socket]]:
    """Start a kernel parent process with ``count`` sockets; return it and this side's sockets."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(count)]
    theirs = [pair[1].fileno() for pair in pairs]
    process = subprocess.Popen(
        [sys.executable, "-m", "notebook_grader.isolation.kernel_parent", ",".join(map(str, theirs)),
         str(os.getpid()), json.dumps(modules)],
        pass_fds=theirs, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True, cwd="/",
        start_new_session=True,
    )
    for _, their_end in pairs:
        their_end.close()
    return process, [mine for mine, _ in pairs]


class KernelParent:
    """A worker's handle on its kernel parent process (see :mod:`notebook_grader.isolation.kernel_parent`).

    Each handle has a socket of its own; several handles may share one parent process
    (:meth:`shared`), one per worker, so that the parent's imports are paid once.
    """

    def __init__(self, modules: list[str], env: dict[str, str]) -> None:
        process, (sock,) = _start_parent(modules, env, 1)
        self._setup(sock, process, [self])

    @classmethod
    def shared(cls, modules: list[str], env: dict[str, str], count: int) -> list[KernelParent]:
        """``count`` handles on one new parent process, one for each of ``count`` workers.

        The parent serves each handle's launches on its socket; a worker that goes away takes its
        own kernels with it. The process exits when every handle's socket is closed.
        """
        if count < 1:
            return []
        process, socks = _start_parent(modules, env, count)
        handles = [cls.__new__(cls) for _ in socks]
        for handle, sock in zip(handles, socks, strict=True):
            handle._setup(sock, process, handles)
        return handles

    def _setup(self, sock: socket.socket, process: subprocess.Popen[bytes], siblings: list[KernelParent]) -> None:
        self._sock = sock
        self.process = process
        self._siblings = siblings  # the handles on the same process, this one included
        self._closed = False
        self._lock = threading.Lock()
        self._next = 0
        self._exits: dict[int, int] = {}
        self.ready: dict[str, Any] | None = None

    def wait_ready(self) -> dict[str, Any]:
        """Block until the parent has done its imports; return its report."""
        with self._lock:
            while self.ready is None:
                message, _ = self._receive(timeout=120)
                if message.get("event") == "ready":
                    self.ready = message
                else:
                    self._note(message)
        return self.ready

    def launch(self, connection_file: str, spec: SandboxSpec | None, limits: Limits, workdir: str | None,
               env: dict[str, str]) -> tuple[int, int, int | None]:
        """Start a kernel; return (supervisor pid, kernel pid, pidfd of the supervisor)."""
        self.wait_ready()
        with self._lock:
            self._next += 1
            request = {
                "op": "launch", "id": self._next, "connection_file": connection_file,
                "spec": None if spec is None else {"show": list(spec.show), "writable": list(spec.writable),
                                                   "seed": spec.seed, "hostname": spec.hostname},
                "limits": asdict(limits), "workdir": workdir, "env": env,
            }
            try:
                self._sock.send(json.dumps(request).encode())
            except OSError as exc:
                raise KernelStartError(f"the kernel parent is gone ({exc})") from None
            while True:
                message, fds = self._receive(timeout=60)
                if message.get("id") == self._next:
                    break
                self._note(message)
                for fd in fds:
                    os.close(fd)
        if not message.get("ok"):
            raise KernelStartError(f"could not start a sandboxed kernel: {message.get('error')}")
        return int(message["supervisor"]), int(message["pid"]), (fds[0] if fds else None)

    def exit_code(self, supervisor: int, timeout: float = 0.0) -> int | None:
        """The exit code of a finished kernel (negative: killed by that signal), if known."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while supervisor not in self._exits:
                left = deadline - time.monotonic()
                try:
                    message, fds = self._receive(timeout=max(left, 0))
                except TimeoutError:
                    return None
                self._note(message)
                for fd in fds:
                    os.close(fd)
            return self._exits[supervisor]

    def close(self) -> None:
        """Close this handle; stop the parent once no handle on it is open here.

        The parent kills the kernels launched through a socket when it closes, and exits when its
        last socket closes (its kernels die with it). The last handle closed in the process that
        started the parent also reaps it, once the workers it was given to (:meth:`hand_over`)
        have gone. In a worker the wait returns at once: it is not the parent's parent.
        """
        self._drop_socket()
        if any(not sibling._closed for sibling in self._siblings):
            return
        try:
            self.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def hand_over(self) -> None:
        """After forking the worker that will use this handle: drop this process's end of the socket.

        The parent stops serving a socket when its last holder closes it, so only its worker may
        hold it. Started early (by the coordinator, while it imports and builds the template), a
        parent is forked into its workers with the sockets; :meth:`close` later reaps its process here.
        """
        self._drop_socket()

    def forget(self) -> None:
        """In a forked worker: drop an inherited socket of another worker's handle (see :meth:`hand_over`)."""
        self._drop_socket()

    def _drop_socket(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._sock.close()

    def _note(self, message: dict[str, Any]) -> None:
        if message.get("event") == "exit":
            self._exits[int(message["supervisor"])] = int(message["code"])

    def _receive(self, timeout: float) -> tuple[dict[str, Any], list[int]]:
        ready, _, _ = select.select([self._sock], [], [], timeout)
        if not ready:
            if self.process.poll() is not None:
                raise KernelStartError(f"the kernel parent exited with status {self.process.returncode}")
            raise TimeoutError("no message from the kernel parent")
        data, fds, _, _ = socket.recv_fds(self._sock, MESSAGE_BYTES, 4)
        if not data:
            raise KernelStartError("the kernel parent closed its socket")
        return json.loads(data), list(fds)


@dataclass
class KernelSettings:
    """Where and how the kernels of one submission run (set by the grading task)."""

    parent: KernelParent
    connection_dir: str
    limits: Limits
    show: tuple[str, ...] | None  # host paths the sandbox shows; None: no sandbox
    env: dict[str, str] = field(default_factory=dict)
    started: list[float] = field(default_factory=list)  # launch times, for the statistics


def kernel_env(settings_home: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a student's kernel: nothing of the grader's, plus autograding's flag."""
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": settings_home,
        "TMPDIR": "/tmp" if settings_home == SANDBOX_HOME else settings_home,
        "LANG": "C.UTF-8",
        "USER": "student",
        "LOGNAME": "student",
        "NBGRADER_EXECUTION": "autograde",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": os.path.join("/tmp" if settings_home == SANDBOX_HOME else settings_home, ".matplotlib"),
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    env.update(extra or {})
    return env


def parent_env() -> dict[str, str]:
    """The kernel parent's environment: fixed and minimal, nothing of the instructor's.

    Not the instructor's ``PATH`` (a folder of theirs on it could shadow a tool), nor ``HOME``
    (their configuration, history and keys), nor anything else of the grader's environment but
    the engine's switches (patches off, the seccomp filter off). Matplotlib's cache goes to a folder of the
    grader's own in the machine's temporary space, so its font list is built once, not per kernel.
    """
    env = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": PARENT_HOME,
        "LANG": "C.UTF-8",
        "TZ": "UTC",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "MPLCONFIGDIR": _matplotlib_cache(),
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    for switch in ("NOTEBOOK_GRADER_NO_PATCHES", "NOTEBOOK_GRADER_SECCOMP"):
        if switch in os.environ:
            env[switch] = os.environ[switch]
    return env


#: The kernel parent's home: no one's (it runs outside the sandbox, but reads no configuration).
PARENT_HOME = "/nonexistent"


def _matplotlib_cache() -> str:
    """A folder of the grader's own (mode 0700) for matplotlib's font cache, kept between runs."""
    path = os.path.join(fast_temp_dir(), f"course-grade-matplotlib-{os.getuid()}")
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return tempfile.mkdtemp(prefix="course-grade-matplotlib-")  # someone else's: not used
    return path


class _SandboxProcess:
    """The ``Popen``-like handle jupyter_client's provisioner expects, for a forked kernel."""

    def __init__(self, parent: KernelParent, supervisor: int, pid: int, pidfd: int | None) -> None:
        self.parent, self.pid, self.kernel_pid, self.pidfd = parent, supervisor, pid, pidfd
        self.returncode: int | None = None
        self.stdin = self.stdout = self.stderr = None

    def _dead(self, timeout: float = 0.0) -> bool:
        if self.pidfd is None:
            try:
                os.kill(self.pid, 0)
                return False
            except ProcessLookupError:
                return True
        ready, _, _ = select.select([self.pidfd], [], [], timeout)
        return bool(ready)

    def poll(self) -> int | None:
        if self.returncode is None and self._dead():
            code = self.parent.exit_code(self.pid, timeout=1.0)
            self.returncode = -signal.SIGKILL if code is None else code
            self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("kernel", timeout or 0)
            self._dead(0.05)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, OSError):
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signum)
            else:
                os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def _close(self) -> None:
        if self.pidfd is not None:
            os.close(self.pidfd)
            self.pidfd = None


class SandboxProvisioner(LocalProvisioner):
    """Launch through the worker's kernel parent instead of ``Popen``."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        km = self.parent
        settings: KernelSettings = km.settings
        folder = kwargs.get("cwd")  # the notebook's folder: its data files seed the scratch directory
        spec = None
        if settings.show is not None:
            spec = SandboxSpec(show=settings.show, writable=(settings.connection_dir,), seed=folder)
            hand_over(km.connection_file)
        started = time.monotonic()
        supervisor, pid, pidfd = settings.parent.launch(
            km.connection_file, spec, settings.limits, None if spec else folder, settings.env)
        settings.started.append(time.monotonic() - started)
        self.process = _SandboxProcess(settings.parent, supervisor, pid, pidfd)
        self.pid, self.pgid = supervisor, None
        self.cwd = SANDBOX_HOME if spec else folder
        return self.connection_info

    async def kill(self, restart: bool = False) -> None:
        if self.process:
            self.process.kill()
            self.process.wait(timeout=5)


class QuickStartClient(AsyncKernelClient):
    """jupyter_client's async client, without its fixed 0.2 s wait when a kernel starts.

    The stock ``wait_for_ready`` ends by draining IOPub until it has been quiet for 0.2 s;
    nbclient ignores messages that answer other requests anyway, so draining what is
    already there is enough.
    """

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or 60)
        while True:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=0.5)
            except Empty:
                reply = None
            if reply is not None and reply["msg_type"] == "kernel_info_reply":
                try:
                    await self.iopub_channel.get_msg(timeout=0.5)  # IOPub is connected too
                except Empty:
                    pass
                else:
                    self._handle_kernel_info_reply(reply)
                    break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        while True:
            try:
                await self.iopub_channel.get_msg(timeout=0)
            except Empty:
                break

    wait_for_ready = _async_wait_for_ready  # type: ignore[assignment]


class SandboxedKernelManager(AsyncKernelManager):
    """A jupyter_client kernel manager whose kernels come from :class:`SandboxProvisioner`."""

    def __init__(self, *, settings: KernelSettings, **kwargs: Any) -> None:
        quick = in_use(QUICK_START_CLIENT)
        kwargs.setdefault("client_class", "notebook_grader.isolation.kernel_manager.QuickStartClient" if quick
                          else "jupyter_client.asynchronous.AsyncKernelClient")
        super().__init__(**kwargs)
        self.settings = settings
        self.transport = "ipc"
        self.ip = os.path.join(settings.connection_dir, "kernel")
        self.connection_file = os.path.join(settings.connection_dir, "kernel.json")

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or kw.pop("kernel_id", None) or str(uuid.uuid4())
            self.provisioner = SandboxProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                  parent=self)
        return await super()._async_pre_start_kernel(**kw)

    def client(self, **kwargs: Any) -> Any:
        kc = super().client(**kwargs)
        kc.context.setsockopt(zmq.MAXMSGSIZE, MAX_KERNEL_MESSAGE_BYTES)
        kc.context.setsockopt(zmq.RECONNECT_IVL, 10)  # the kernel binds a few ms after we connect
        return kc

    @property
    def exit_code(self) -> int | None:
        """How the kernel ended: its exit code, or minus the signal that killed it (None: running)."""
        process = getattr(self.provisioner, "process", None)
        return process.poll() if process is not None else None

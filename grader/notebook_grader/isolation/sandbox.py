"""Start a process in a Linux sandbox: namespaces, a minimal read-only filesystem, rlimits.

This is where a student's kernel is confined. :func:`launch` forks twice::

    caller (the kernel parent, see :mod:`notebook_grader.isolation.kernel_parent`)
      └─ supervisor: new user, mount, PID, network, IPC, UTS and cgroup namespaces (unshare(2))
           └─ sandboxed process: PID 1 of the new PID namespace; runs ``run()``

The sandboxed process builds a fresh root filesystem on a small tmpfs, in which only these
exist: the system directories and the Python environment (read-only, at their usual paths),
the kernel's socket directory (read-write), a private tmpfs scratch directory (the working
directory, seeded with the assignment's data files), a private ``/tmp`` and ``/dev/shm``,
a few device nodes and a ``/proc`` of its own PID namespace. The course directory, the
instructor's home, the gradebook and other students' files are simply not there. Then it
sets the resource limits (setrlimit), drops every capability, sets ``no_new_privs``, installs a
seccomp filter (:mod:`notebook_grader.isolation.seccomp`) and, when the grader runs as root,
switches to an unprivileged user, so student code can neither undo the mounts nor reach outside.
The network namespace has no interface but a down
loopback: no network at all.

When the process (PID 1) exits, the kernel kills everything else in its PID namespace, so a
fork bomb or a daemonised child cannot outlive its submission; when the supervisor dies,
the sandboxed process is killed (parent-death signal), and so on up the chain to the grader.

Everything here uses the plain system calls (unshare, mount, pivot_root, prctl, capset:
:mod:`notebook_grader.isolation.linux`; setrlimit: :mod:`resource`): no setuid helper, no extra
package. It is done in-process rather than by running ``unshare(1)`` or ``bwrap`` because the
sandboxed process must be a fork of the pre-imported kernel parent (an ``exec`` would throw
its imports away), and each student needs namespaces of their own. What the machine needs is
user namespaces: the grader run as root, or unprivileged user namespaces enabled (the
default on Debian 11+ and Fedora); :func:`probe` checks it and says what is missing.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import select
import shutil
import signal
import stat
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from notebook_grader.isolation import linux, seccomp
from notebook_grader.isolation.cgroups import (
    TREE_LIMIT_CODES,
    WATCH_SECONDS,
    SubmissionGroup,
    TreeWatch,
    ended_by_oom,
)
from notebook_grader.model import Limits

# --------------------------------------------------------------------------- the policy


#: Inside the sandbox the student runs as this user; when the grader is root it maps to
#: :data:`UNPRIVILEGED_HOST_ID` outside (``nobody``), otherwise to the grader's own user.
SANDBOX_UID = 1000
UNPRIVILEGED_HOST_ID = 65534
SANDBOX_HOME = "/home/student"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
DEVICES = ("/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom")


@dataclass(frozen=True)
class SandboxSpec:
    """What the sandboxed process sees.

    ``show`` are host paths made visible read-only at the same path, ``writable`` host
    directories visible read-write at the same path (the kernel's socket directory), and
    the files of ``seed`` (a host directory) are copied into the scratch directory.
    """

    show: tuple[str, ...]
    writable: tuple[str, ...] = ()
    seed: str | None = None
    hostname: str = "sandbox"


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot be built on this machine (the message says why and what to do)."""


class SandboxError(RuntimeError):
    """Setting up one sandbox failed."""


def runtime_paths(forbidden: Iterable[str | os.PathLike[str]], packages: Iterable[str] = ()) -> tuple[str, ...]:
    """The host paths a sandboxed Python kernel needs, none of which may contain ``forbidden``.

    That is the system directories, this interpreter's installation and environment
    (``sys.prefix``, ``sys.base_prefix``, ``sys.path``), and the folders of ``packages``
    (the course's helper package, which an editable install keeps inside the course).
    Raises :class:`SandboxUnavailable` if showing one would reveal a forbidden path.
    """
    wanted: list[str] = [p for p in SYSTEM_DIRS if os.path.lexists(p)]
    wanted += [sys.prefix, sys.base_prefix, sys.exec_prefix]
    wanted += [p for p in sys.path if p and os.path.isdir(p) and _inside_any(p, [sys.prefix, sys.base_prefix])]
    for name in packages:
        wanted += _package_dirs(name)
    closed = [os.path.abspath(p) for p in forbidden]
    shown: list[str] = []
    for path in sorted({os.path.abspath(p) for p in wanted}, key=len):
        if any(_inside(path, s) for s in shown):
            continue
        for secret in closed:
            if _inside(secret, path):
                raise SandboxUnavailable(
                    f"the kernel needs {path}, which contains {secret}: move the Python "
                    "environment or the course so that neither contains the other's private files"
                )
        shown.append(path)
    return tuple(shown)


def _package_dirs(name: str) -> list[str]:
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [os.path.abspath(p) for p in spec.submodule_search_locations]
    return [os.path.dirname(os.path.abspath(spec.origin))] if spec.origin else []


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _inside_any(path: str, folders: Iterable[str]) -> bool:
    return any(_inside(os.path.abspath(path), os.path.abspath(f)) for f in folders)


# --------------------------------------------------------------------------- launching


@dataclass(frozen=True)
class Launched:
    """A started sandboxed process: its supervisor's pid (our child) and its own host pid."""

    supervisor: int
    pid: int


def launch(run: Callable[[], None], *, limits: Limits, spec: SandboxSpec | None = None,
           workdir: str | None = None, group: SubmissionGroup | None = None) -> Launched:
    """Fork a supervisor and, under it, a process that enters the sandbox and calls ``run()``.

    Returns once the sandbox is built (``run`` is starting); raises :class:`SandboxError`
    with the reason if it could not be. With ``spec=None`` the process is not sandboxed: it
    gets the resource limits only (no process limit), its own session, and ``workdir``.
    The caller must reap the supervisor (``os.waitpid``); its exit status is the process's:
    the exit code, or 128 + the signal that killed it, or one of :data:`TREE_LIMIT_CODES` when
    the supervisor killed the sandbox for its processes' use together. ``group`` (a control
    group made by the caller) holds the supervisor and so everything under it.
    """
    status_r, status_w = os.pipe()
    go_r, go_w = os.pipe()
    privileged = spec is not None and os.geteuid() == 0
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the supervisor
        code = 70
        try:
            os.close(status_r)
            os.close(go_w)
            oom_counter = None
            if group is not None:
                group.join()
                oom_counter = group.open_oom_counter()
            _supervise(spec, limits, run, workdir, parent, status_w, go_r, privileged, oom_counter)
        except BaseException as exc:  # report anything, never return into the caller's code
            _report(status_w, f"error {type(exc).__name__}: {exc}")
        finally:
            os._exit(code)
    os.close(status_w)
    os.close(go_r)
    try:
        reader = _Lines(status_r)
        kernel_pid, ready = 0, False
        while not (ready and kernel_pid):  # the child's "ready" may arrive before the supervisor's "pid"
            line = reader.next()
            if line is None:
                raise SandboxError("the sandbox stopped while it was being set up")
            if line == "unshared" and privileged:
                _map_ids(pid)
                os.write(go_w, b"g")
            elif line.startswith("pid "):
                kernel_pid = int(line.split()[1])
            elif line == "ready":
                ready = True
            elif line.startswith("error "):
                raise SandboxError(line[len("error "):])
        return Launched(supervisor=pid, pid=kernel_pid)
    except BaseException:
        _kill_and_reap(pid)
        raise
    finally:
        os.close(status_r)
        os.close(go_w)


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


class _Lines:
    """Read newline-terminated messages from a pipe, one at a time."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer = fd, b""

    def next(self) -> str | None:
        while b"\n" not in self.buffer:
            chunk = os.read(self.fd, 4096)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(errors="replace")


def _report(fd: int, message: str) -> None:
    try:
        os.write(fd, message.replace("\n", " ").encode()[:4000] + b"\n")
    except OSError:
        pass


def _map_ids(pid: int) -> None:
    """As root, map the sandbox's root to root (to set it up) and its user to ``nobody``."""
    mapping = f"0 0 1\n{SANDBOX_UID} {UNPRIVILEGED_HOST_ID} 1\n"
    Path(f"/proc/{pid}/uid_map").write_text(mapping)
    Path(f"/proc/{pid}/gid_map").write_text(mapping)


def _supervise(spec: SandboxSpec | None, limits: Limits, run: Callable[[], None], workdir: str | None,
               parent: int, status: int, go: int, privileged: bool, oom_counter: int | None = None) -> None:
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        return
    signal.set_wakeup_fd(-1)  # the caller's signal plumbing is not ours
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if spec is not None:
        uid, gid = os.geteuid(), os.getegid()
        linux.check(linux.libc.unshare(linux.NAMESPACES), "unshare (are user namespaces enabled?)")
        if privileged:
            _report(status, "unshared")
            if os.read(go, 1) != b"g":
                return
        else:
            Path("/proc/self/setgroups").write_text("deny")
            Path("/proc/self/uid_map").write_text(f"0 {uid} 1\n")
            Path("/proc/self/gid_map").write_text(f"0 {gid} 1\n")
    supervisor = os.getpid()
    own = () if oom_counter is None else (oom_counter,)  # the supervisor's alone: never the sandbox's
    _close_fds(keep=(status, go, *own))  # now: once the child pivots, this process sees its /proc
    seal_r, seal_w = os.pipe()  # the child asks, once its kernel is listening...
    sealed_r, sealed_w = os.pipe()  # ...and hears back when its writable folders are read-only
    child = os.fork()
    if child == 0:
        code = 70
        try:
            for fd in (go, seal_r, sealed_w, *own):
                os.close(fd)
            linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)
            if spec is not None:
                _enter(spec, limits, privileged)
            else:
                if os.getppid() != supervisor:
                    return
                _unsandboxed(limits, workdir)
            if spec is not None:
                _close_fds(keep=(status, seal_w, sealed_r))
                global _seal_fds
                _seal_fds = (seal_w, sealed_r)
            else:
                _close_fds(keep=(status,))
            _report(status, "ready")
            os.close(status)
            code = 0
            run()
        except BaseException as exc:
            if code == 70:
                _report(status, f"error {type(exc).__name__}: {exc}")
            else:
                code = 1
        finally:
            os._exit(code)
    _report(status, f"pid {child}")
    for fd in (status, go, seal_w, sealed_r):
        os.close(fd)
    reaped = False

    def forward(signum: int, _frame: object) -> None:
        if not reaped:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    # No threads here (a process that unshared its PID namespace cannot start any): wait for
    # the child and serve its one request to seal its folders, in one loop.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    watching = [wake_r] + ([seal_r] if spec is not None else [])
    watch: TreeWatch | None = None  # from when the sandbox's /proc is this process's (after the pivot)
    over: str | None = None
    while True:
        pid, wait_status = os.waitpid(child, os.WNOHANG)
        if pid:
            break
        ready, _, _ = select.select(watching, [], [], WATCH_SECONDS if watch is not None else None)
        if wake_r in ready:
            os.read(wake_r, 4096)
        if seal_r in ready:
            watching.remove(seal_r)
            _seal(spec.writable if spec is not None else (), seal_r, sealed_w)
            watch = TreeWatch(limits, oom_counter=oom_counter)
        if watch is not None and over is None:
            over = watch.over()
            if over is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)  # PID 1: the whole namespace goes with it
    reaped = True
    if over is None and ended_by_oom(oom_counter):
        over = "memory"  # the group's OOM killer ended the sandbox before the watch looked again
    if over is not None:
        os._exit(TREE_LIMIT_CODES[over])
    if spec is None:
        try:
            os.killpg(child, signal.SIGKILL)  # whatever the student left in its session
        except OSError:
            pass
    code = os.waitstatus_to_exitcode(wait_status)
    os._exit(128 - code if code < 0 else code)


_seal_fds: tuple[int, int] | None = None


def seal() -> None:
    """In the sandboxed process: make the read-write folders read-only from now on.

    The kernel needs to write in its socket folder only while it creates its sockets; the
    supervisor (which kept the privileges the sandboxed process dropped) remounts the folder
    read-only when asked, so student code cannot fill the grader's disk through it.
    Connecting to the sockets still works. Does nothing outside a sandbox.
    """
    global _seal_fds
    if _seal_fds is None:
        return
    ask, answer = _seal_fds
    _seal_fds = None
    try:
        os.write(ask, b"s")
        reply = os.read(answer, 1)
    finally:
        os.close(ask)
        os.close(answer)
    if reply != b"k":
        raise SandboxError("could not make the kernel's folder read-only")


def _seal(paths: tuple[str, ...], ask: int, answer: int) -> None:
    try:
        if os.read(ask, 1) != b"s":
            return
        for path in paths:
            linux.make_read_only(path, recursive=False)
        os.write(answer, b"k")
    except OSError:
        with contextlib.suppress(OSError):
            os.write(answer, b"x")


def _close_fds(keep: tuple[int, ...]) -> None:
    """Close every inherited descriptor above stderr except those in ``keep``."""
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _unsandboxed(limits: Limits, workdir: str | None) -> None:
    os.setsid()
    _set_limits(limits, nproc=False)
    if workdir:
        os.chdir(workdir)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _set_limits(limits: Limits, *, nproc: bool = True) -> None:
    mib = 1 << 20
    size = _current_address_space()
    memory = size + limits.memory_mb * mib
    for which, value in (
        (resource.RLIMIT_AS, memory),
        (resource.RLIMIT_FSIZE, limits.file_mb * mib),
        (resource.RLIMIT_NOFILE, limits.open_files),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_CPU, int(limits.submission_seconds * 2 + 10)),
        *(((resource.RLIMIT_NPROC, limits.processes),) if nproc else ()),
    ):
        _soft, hard = resource.getrlimit(which)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (value, value))


def _current_address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _enter(spec: SandboxSpec, limits: Limits, privileged: bool) -> None:
    """In the new namespaces: build the root filesystem, pivot into it, limit, drop privileges."""
    linux.mount(None, "/", None, linux.MS_REC | linux.MS_PRIVATE)
    # Hold every source open first: the new root's tmpfs may cover where they live.
    shown = [_Source(path, writable=False) for path in spec.show]
    shown += [_Source(path, writable=True) for path in spec.writable]
    shown += [_Source(path, writable=True) for path in DEVICES if os.path.exists(path)]
    seed = _Source(spec.seed, writable=False) if spec.seed else None
    new = "/tmp"  # any directory will do as a mount point in this private mount namespace
    linux.mount("tmpfs", new, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, "size=4m,mode=755")
    owner = f"uid={SANDBOX_UID},gid={SANDBOX_UID}" if privileged else "uid=0,gid=0"
    quarter = max(16, limits.scratch_mb // 4)
    for folder, size in ((SANDBOX_HOME, limits.scratch_mb), ("/tmp", quarter), ("/dev/shm", quarter)):
        os.makedirs(new + folder, exist_ok=True)
        linux.mount("tmpfs", new + folder, "tmpfs", linux.MS_NOSUID | linux.MS_NODEV, f"size={size}m,mode=1777,{owner}")
    for source in shown:
        source.show(new)
    if seed is not None:
        shutil.copytree(seed.via, new + SANDBOX_HOME, dirs_exist_ok=True, symlinks=True)
        seed.close()
        if privileged:
            _chown_tree(new + SANDBOX_HOME, SANDBOX_UID)
    os.makedirs(new + "/proc", exist_ok=True)
    linux.mount("proc", new + "/proc", "proc", linux.MS_NOSUID | linux.MS_NODEV | linux.MS_NOEXEC)
    os.chdir(new)
    linux.check(linux.syscall("pivot_root", b".", b"."), "pivot_root")
    linux.check(linux.libc.umount2(b".", linux.MNT_DETACH), "detach the old root")
    os.chdir("/")
    for source in shown:
        source.close()
    linux.mount(None, "/", None, linux.MS_REMOUNT | linux.MS_RDONLY | linux.MS_NOSUID | linux.MS_NODEV)
    hostname = spec.hostname.encode()
    linux.check(linux.libc.sethostname(hostname, len(hostname)), "sethostname")
    try:  # no user namespaces inside the sandbox: they are the usual way into kernel bugs
        Path("/proc/sys/user/max_user_namespaces").write_text("0")
    except OSError:
        pass
    _set_limits(limits)
    linux.drop_bounding_set()
    if privileged:
        os.setgroups([])
        os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
        os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    linux.clear_capabilities()
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp.wanted() and seccomp.unavailable() is None:  # else without it; course grade says so
        seccomp.install()
    linux.prctl(linux.PR_SET_PDEATHSIG, signal.SIGKILL)  # credentials changed: set it again
    os.chdir(SANDBOX_HOME)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


class _Source:
    """A host path to show in the sandbox, held open so that later mounts cannot hide it."""

    def __init__(self, path: str, *, writable: bool) -> None:
        self.path, self.writable = path, writable
        self.link = os.readlink(path) if os.path.islink(path) else None
        self.fd, self.is_dir = -1, False
        if self.link is None:
            self.fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            self.is_dir = stat.S_ISDIR(os.fstat(self.fd).st_mode)

    @property
    def via(self) -> str:
        return f"/proc/self/fd/{self.fd}"

    def show(self, root: str) -> None:
        target = root + self.path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if self.link is not None:
            os.symlink(self.link, target)
            return
        if self.is_dir:
            os.makedirs(target, exist_ok=True)
        else:
            Path(target).touch()
        linux.mount(self.via, target, None, linux.MS_BIND | linux.MS_REC)
        if not self.writable:
            linux.make_read_only(target)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def _chown_tree(top: str, uid: int) -> None:
    for folder, dirs, files in os.walk(top):
        for name in (*dirs, *files):
            os.lchown(os.path.join(folder, name), uid, uid)


def hand_over(path: str | os.PathLike[str]) -> None:
    """Give a host file or directory to the sandbox's user (only it, and the grader, may use it).

    For a directory shown read-write, or a file the sandbox must read (the connection file).
    """
    if os.geteuid() == 0:
        os.chown(path, UNPRIVILEGED_HOST_ID, UNPRIVILEGED_HOST_ID)
    os.chmod(path, stat.S_IRWXU if os.path.isdir(path) else stat.S_IRUSR | stat.S_IWUSR)


# --------------------------------------------------------------------------- probing


def _reveals(hidden: str, show: tuple[str, ...]) -> bool:
    """Whether ``hidden`` shows anything but the way down to a shown path.

    The environment may live inside the course (``<course>/.venv``): then ``<course>`` exists in
    the sandbox as a bare folder holding only the folders on the way to what is shown.
    """
    if not os.path.lexists(hidden):
        return False
    if any(_inside(hidden, path) for path in show):
        return False  # shown on purpose
    if not any(_inside(path, hidden) for path in show) or not os.path.isdir(hidden):
        return True
    try:
        names = os.listdir(hidden)
    except OSError:
        return False
    return any(_reveals(os.path.join(hidden, name), show) for name in names)


def probe(show: tuple[str, ...], hidden: str) -> None:
    """Build one sandbox and check in it that ``hidden`` is invisible and the network absent.

    Raises :class:`SandboxUnavailable` with what the machine lacks, for the instructor to
    fix (or to opt out of, knowingly).
    """
    if not sys.platform.startswith("linux"):
        raise SandboxUnavailable("the sandbox needs Linux namespaces; this is " + sys.platform)

    def check() -> None:
        import socket

        try:
            socket.create_connection(("192.0.2.1", 9), timeout=0.5)  # TEST-NET-1: never routed
            os._exit(4)
        except OSError as exc:
            if exc.errno != errno.ENETUNREACH:
                os._exit(4)
        os._exit(3 if _reveals(hidden, show) else 0)

    try:
        launched = launch(check, limits=Limits(), spec=SandboxSpec(show=show))
    except SandboxError as exc:
        raise SandboxUnavailable(f"{exc}. {_advice()}") from None
    _, status = os.waitpid(launched.supervisor, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 3:
        raise SandboxUnavailable(f"{hidden} is visible inside the test sandbox")
    if code == 4:
        raise SandboxUnavailable("the test sandbox could reach the network")
    if code != 0:
        raise SandboxUnavailable(f"a test sandbox failed (exit status {code}). {_advice()}")


def _advice() -> str:
    hints = ["The grader needs Linux user namespaces: run it as root, or enable unprivileged ones"]
    for path, want in (("/proc/sys/kernel/unprivileged_userns_clone", "1"),
                       ("/proc/sys/user/max_user_namespaces", None),
                       ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "0")):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if want is not None and value != want:
            hints.append(f"(sysctl {path[len('/proc/sys/'):].replace('/', '.')}={want}; it is {value})")
        elif want is None and value == "0":
            hints.append("(sysctl user.max_user_namespaces is 0; set it to e.g. 10000)")
    return " ".join(hints) + "."

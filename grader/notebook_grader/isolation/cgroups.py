"""Limits per submission, not per process: a control group for each sandbox, and a watch over it.

``setrlimit`` limits each process on its own: a kernel that forks eight children, each under
its 2 GiB of address space, uses 16 GiB; and the process limit counts the processes of a user
across the whole machine (every sandbox runs as the same ``nobody``), so one submission's fork
bomb could stop another's kernel from starting a thread. Here the submission as a whole is
limited, two ways:

* **a control group** (:class:`SubmissionGroup`), where the machine lets the grader make one:
  cgroup v2 (``memory.max``, ``pids.max``) when the v2 hierarchy has the memory and pids
  controllers for the grader's group, else cgroup v1 (``memory.limit_in_bytes``, ``pids.max``).
  The kernel enforces it: the submission's processes together get the memory limit (plus its
  scratch space, which is memory too) and the process limit, counted for this sandbox alone.
  When the group's memory runs out, the kernel's OOM killer ends one process of it, which may
  be a forked child the notebook outlives; the watch (below) reads the group's count of such
  kills and stops the whole sandbox at the first one, so a submission that ran out of memory is
  always told so, whichever of its processes the kernel picked (cgroup v2 also kills the whole
  group at once: ``memory.oom.group``);
* **the supervisor's watch** (:class:`TreeWatch`), always: the sandbox's supervisor adds up the
  proportional memory (PSS) and the processes and threads of everything in the sandbox, and the
  CPU time they used, twice a second, and kills the whole sandbox when one passes its
  limit. This is what holds where no control group can be made (no root, no delegation).

The supervisor sees exactly the sandbox's processes: it shares the sandbox's mount namespace,
so its ``/proc`` is the sandbox's own (PID namespace).
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from notebook_grader.model import Limits

MIB = 1 << 20
#: The groups' names start so. Each sits directly under its hierarchy's root, beside the other
#: top-level groups: under a common parent, all submissions together would weigh, for the CPU,
#: as much as one process or group of anyone else's on the machine.
GROUP_PREFIX = "course-grade"
#: cgroup v1 controllers used, each mounted on its own. Not ``cpu``: a group's CPU weight is that
#: of one process beside everyone else's on the machine, so on a busy machine a kernel's threads
#: (its own, ZeroMQ's) ran several times slower in one than outside it; the watch's CPU-time limit
#: bounds what a submission takes instead.
V1_CONTROLLERS = ("memory", "pids")


def _read(path: Path) -> str:
    with contextlib.suppress(OSError):
        return path.read_text()
    return ""


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, type, options) of each cgroup file system."""
    found = []
    for line in _read(Path("/proc/self/mounts")).splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[2] in ("cgroup", "cgroup2"):
            found.append((parts[1], parts[2], set(parts[3].split(","))))
    return found


@dataclass
class SubmissionGroup:
    """One submission's control group(s): made before the sandbox starts, removed after it ends."""

    version: int
    paths: list[Path] = field(default_factory=list)  # one per hierarchy (v2: one)

    @classmethod
    def create(cls, limits: Limits) -> SubmissionGroup | None:
        """A new group with ``limits``; None (and nothing made) where the machine does not allow one."""
        remove_emptied_groups()
        name = f"{GROUP_PREFIX}-{uuid.uuid4().hex[:12]}"
        for make in (cls._v2, cls._v1):
            with contextlib.suppress(OSError):
                group = make(name, limits)
                if group is not None:
                    return group
        return None

    @classmethod
    def _v2(cls, name: str, limits: Limits) -> SubmissionGroup | None:
        for point, kind, _ in _mounts():
            if kind != "cgroup2":
                continue
            controllers = set(_read(Path(point) / "cgroup.controllers").split())
            if not {"memory", "pids"} <= controllers or not os.access(point, os.W_OK):
                continue
            wanted = "+memory +pids"
            (Path(point) / "cgroup.subtree_control").write_text(wanted)
            path = Path(point) / name
            path.mkdir()
            group = cls(2, [path])
            try:
                (path / "memory.max").write_text(str(_memory_bytes(limits)))
                if (path / "memory.swap.max").exists():
                    (path / "memory.swap.max").write_text("0")
                (path / "pids.max").write_text(str(limits.processes))
                if (path / "memory.oom.group").exists():
                    (path / "memory.oom.group").write_text("1")
            except OSError:
                group.remove()
                raise
            return group
        return None

    @classmethod
    def _v1(cls, name: str, limits: Limits) -> SubmissionGroup | None:
        points = {c: p for p, kind, options in _mounts() if kind == "cgroup" for c in V1_CONTROLLERS if c in options}
        if not {"memory", "pids"} <= set(points) or not all(os.access(p, os.W_OK) for p in points.values()):
            return None
        group = cls(1)
        try:
            for controller, point in points.items():
                path = Path(point) / name
                path.mkdir()
                group.paths.append(path)
                if controller == "memory":
                    (path / "memory.limit_in_bytes").write_text(str(_memory_bytes(limits)))
                    with contextlib.suppress(OSError):  # only with swap accounting
                        (path / "memory.memsw.limit_in_bytes").write_text(str(_memory_bytes(limits)))
                elif controller == "pids":
                    (path / "pids.max").write_text(str(limits.processes))
        except OSError:
            group.remove()
            raise
        return group

    def open_oom_counter(self) -> int | None:
        """A read-only descriptor of the file that counts the group's OOM kills (``oom_kill N``), or None.

        Opened by the supervisor before it leaves the host's view (the sandbox has no
        ``/sys/fs/cgroup``); read with :func:`oom_kills`.
        """
        name = "memory.events" if self.version == 2 else "memory.oom_control"
        for path in self.paths:  # v1: the memory controller's group has it
            with contextlib.suppress(OSError):
                fd = os.open(path / name, os.O_RDONLY | os.O_CLOEXEC)
                if oom_kills(fd) is not None:
                    return fd
                os.close(fd)
        return None

    def join(self, pid: int = 0) -> None:
        """Move ``pid`` (0: the calling process) into the group; its children are born there."""
        for path in self.paths:
            (path / "cgroup.procs").write_text(str(pid or os.getpid()))

    def remove(self) -> None:
        """Remove the group (the sandbox has ended).

        The last processes of a killed sandbox may still be exiting, and a group with a process in
        it cannot be removed yet (``EBUSY``): such a group is kept in a list and removed when the
        next group is made, or by :func:`remove_emptied_groups` when the kernel parent ends; before,
        each one stayed until a later run's :func:`remove_stale_groups`.
        """
        for path in reversed(self.paths):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                _emptying.append(path)


def oom_kills(fd: int) -> int | None:
    """How many processes the group's OOM killer ended, from :meth:`SubmissionGroup.open_oom_counter`'s file."""
    with contextlib.suppress(OSError, ValueError):
        for line in os.pread(fd, 4096, 0).decode().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    return None


def ended_by_oom(fd: int | None) -> bool:
    """Whether the group's OOM killer has ended any of its processes.

    ``fd`` is :meth:`SubmissionGroup.open_oom_counter`'s descriptor (None: no count, so no).
    """
    return fd is not None and (oom_kills(fd) or 0) > 0


#: Groups that were not empty yet when their sandbox ended (see :meth:`SubmissionGroup.remove`).
_emptying: list[Path] = []


def remove_emptied_groups(wait: float = 0.0) -> list[Path]:
    """Remove the groups left by :meth:`SubmissionGroup.remove`, trying for up to ``wait`` s; the ones left."""
    deadline = time.monotonic() + wait
    while True:
        for path in list(_emptying):
            try:
                path.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                continue
            _emptying.remove(path)
        if not _emptying or time.monotonic() >= deadline:
            return list(_emptying)
        time.sleep(0.05)


def probe(limits: Limits) -> str | None:
    """Why no control group can be made for a submission here (None: one can): the watch alone holds."""
    group = SubmissionGroup.create(limits)
    if group is None:
        return ("no control group can be made (cgroup v2 without delegated memory and pids controllers, "
                "no writable cgroup v1): submissions are limited by the supervisor's watch alone")
    group.remove()
    return None


def remove_stale_groups(min_age: float = 600.0) -> None:
    """Remove the empty groups (older than ``min_age`` s) of sandboxes whose grader was killed."""
    now = time.time()
    for point, _, _ in _mounts():
        with contextlib.suppress(OSError):
            for path in Path(point).glob(f"{GROUP_PREFIX}-*"):
                if (path.is_dir() and now - path.stat().st_mtime > min_age
                        and not _read(path / "cgroup.procs").strip()):
                    with contextlib.suppress(OSError):
                        path.rmdir()


def _memory_bytes(limits: Limits) -> int:
    """The group's memory: the submission's, plus its scratch file systems (tmpfs pages count)."""
    return (limits.memory_mb + limits.scratch_mb + max(16, limits.scratch_mb // 4) * 2) * MIB


# --------------------------------------------------------------------------- the supervisor's watch


@dataclass
class TreeUsage:
    """What the processes of a sandbox use together."""

    pss_bytes: int = 0
    tasks: int = 0  # processes and threads
    cpu_seconds: float = 0.0


def tree_usage(proc: Path = Path("/proc"), *, proportional: bool = True) -> TreeUsage:
    """Add up every process visible in ``proc`` (the sandbox's own /proc, seen by its supervisor).

    Memory is each process's proportional set size (PSS: pages shared with its forks count once
    in all) with ``proportional``, else its resident set (RSS, which counts shared pages in every
    process that maps them: never less than PSS, and read without walking the page tables).
    """
    usage = TreeUsage()
    ticks = os.sysconf("SC_CLK_TCK")
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read(entry / "stat")
        if not stat:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        with contextlib.suppress(IndexError, ValueError):
            # utime, stime, cutime, cstime (fields 14-17; 12-15 after the name): the dead children's too
            usage.cpu_seconds += sum(int(x) for x in fields[11:15]) / ticks
            usage.tasks += int(fields[17])  # num_threads
        usage.pss_bytes += _pss(entry) if proportional else _rss(entry)
    return usage


def _rss(entry: Path) -> int:
    statm = _read(entry / "statm").split()
    return int(statm[1]) * os.sysconf("SC_PAGE_SIZE") if len(statm) > 1 else 0


def _pss(entry: Path) -> int:
    """A process's proportional set size (its share of pages shared with its forks), else its RSS."""
    for line in _read(entry / "smaps_rollup").splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1]) * 1024
    return _rss(entry)


@dataclass
class TreeWatch:
    """The supervisor's watch over its sandbox: call :meth:`over` often; kill the sandbox when it says why."""

    limits: Limits
    proc: Path = Path("/proc")
    baseline_pss: int | None = None  # what the kernel used when the watch began (its imports)
    oom_counter: int | None = None  # the control group's OOM-kill count (open_oom_counter), if any

    def over(self) -> str | None:
        """Which limit the sandbox's processes together passed (a key of :data:`TREE_LIMIT_CODES`), or None.

        The group's OOM killer having ended any of its processes is the memory limit passed.
        Memory is read cheaply first (RSS, an upper bound of PSS); PSS, which walks every
        process's page tables and holds their memory maps meanwhile, only when RSS is over.
        """
        if ended_by_oom(self.oom_counter):
            return "memory"
        usage = tree_usage(self.proc, proportional=False)
        if self.baseline_pss is None:
            self.baseline_pss = tree_usage(self.proc).pss_bytes
        limit = self.baseline_pss + self.limits.memory_mb * MIB
        if usage.pss_bytes > limit and tree_usage(self.proc).pss_bytes > limit:
            return "memory"
        if usage.tasks > self.limits.processes:
            return "processes"
        if usage.cpu_seconds > self.limits.submission_seconds * 2 + 10:
            return "cpu"
        return None


#: How often the supervisor adds up its sandbox's use, in seconds.
WATCH_SECONDS = 0.5
#: The supervisor's exit status when it killed its sandbox for a limit passed together.
TREE_LIMIT_CODES = {"memory": 120, "processes": 121, "cpu": 122}


def describe_tree_limit(code: int, limits: Limits | None = None) -> str | None:
    """Why the supervisor killed a sandbox, in words, from its exit status; None if it did not."""
    limits = limits or Limits()
    reasons = {
        TREE_LIMIT_CODES["memory"]: f"ran out of memory: its processes together used more than the "
                                    f"{limits.memory_mb} MiB a submission may use, so it was stopped",
        TREE_LIMIT_CODES["processes"]: f"ran too many processes: more than {limits.processes} processes and "
                                       "threads together, so it was stopped",
        TREE_LIMIT_CODES["cpu"]: "used up its CPU time (its processes together), so it was stopped",
    }
    return reasons.get(code)

"""The Linux system calls the sandbox is built from, through :mod:`ctypes`.

unshare(2) for namespaces, mount(2), mount_setattr(2) and pivot_root(2) for the filesystem,
prctl(2) and capset(2) for privileges. The C library's wrappers are used when it has them;
older C libraries lack some, which are then called by number.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
from pathlib import Path

libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC
              | CLONE_NEWUTS | CLONE_NEWCGROUP)

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2
MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV = 0x1, 0x2, 0x4
AT_FDCWD, AT_RECURSIVE = -100, 0x8000

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

#: System call numbers that older C libraries have no wrapper for.
_SYSCALLS = {"x86_64": {"pivot_root": 155, "mount_setattr": 442},
             "aarch64": {"pivot_root": 41, "mount_setattr": 442}}


def check(result: int, what: str) -> None:
    """Raise ``OSError`` (with ``what`` and the C library's errno) unless ``result`` is 0."""
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _b(text: str | None) -> bytes | None:
    return None if text is None else os.fsencode(text)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    check(libc.mount(_b(source), _b(target), _b(fstype), ctypes.c_ulong(flags), _b(data)),
          f"mount {source or fstype} on {target}")


def syscall(name: str, *args: object) -> int:
    """Call ``name`` through the C library, or by number where it has no wrapper."""
    wrapper = getattr(libc, name, None)
    if wrapper is not None:
        return wrapper(*args)
    number = _SYSCALLS.get(platform.machine(), {}).get(name)
    if number is None:
        ctypes.set_errno(errno.ENOSYS)
        return -1
    return libc.syscall(number, *args)


class _MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]


def make_read_only(path: str, *, recursive: bool = True) -> None:
    """Make the mount at ``path`` (and every mount below it) read-only, nosuid and nodev."""
    attr = _MountAttr(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 0)
    flags = AT_RECURSIVE if recursive else 0
    if syscall("mount_setattr", AT_FDCWD, _b(path), flags, ctypes.byref(attr), ctypes.sizeof(attr)) == 0:
        return
    if ctypes.get_errno() != errno.ENOSYS:  # pragma: no cover - kernels before 5.12 only
        check(-1, f"mount_setattr {path}")
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | _locked_flags(path)
    mount(None, path, None, flags)


def _locked_flags(path: str) -> int:
    """Flags a remount inside a user namespace must keep (they are locked)."""
    st = os.statvfs(path)
    flags = 0
    for st_flag, ms_flag in ((os.ST_NOEXEC, MS_NOEXEC), (os.ST_NOSUID, MS_NOSUID), (os.ST_NODEV, MS_NODEV)):
        if st.f_flag & st_flag:
            flags |= ms_flag
    return flags


def prctl(option: int, arg: int = 0) -> None:
    """prctl(2) with one argument; raises on failure."""
    check(libc.prctl(option, ctypes.c_ulong(arg), 0, 0, 0), f"prctl({option})")


def drop_bounding_set() -> None:
    """Empty the bounding set, so that no later execve can give a capability back."""
    for cap in range(int(Path("/proc/sys/kernel/cap_last_cap").read_text()) + 1):
        prctl(PR_CAPBSET_DROP, cap)


def clear_capabilities() -> None:
    """Empty the ambient, effective, permitted and inheritable capability sets."""
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (ctypes.c_uint32 * 6)()
    check(libc.capset(header, data), "capset")

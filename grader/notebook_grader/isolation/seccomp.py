"""A seccomp filter: the system calls a notebook never needs, refused inside the sandbox.

The namespaces, the read-only root, the dropped capabilities and ``no_new_privs`` already keep
a kernel from what these calls would reach; the filter takes away the kernel attack surface
itself, the usual way out of a container: io_uring, kernel keyrings, BPF, perf events,
userfaultfd, ``ptrace`` (a notebook never debugs a process), mounting and ``pivot_root``,
new namespaces (``unshare``, ``setns``, ``clone`` with a ``CLONE_NEW*`` flag; ``clone3``, whose
flags a filter cannot read, answers "not implemented" so the C library falls back to
``clone``), module loading, ``kexec``, ``reboot``, the clocks, swap, ``process_vm_*`` and the
file-handle calls. A refused call fails with ``EPERM`` (``ENOSYS`` for ``clone3``); calls of
another architecture's ABI (32-bit ``int 0x80`` on x86-64) kill the process.

The filter is built with libseccomp (``libseccomp.so.2``, a system library every Debian and
Fedora system has: apt and systemd use it), through :mod:`ctypes`: no Python binding is on PyPI
in a maintained, wheel-installable form, and Debian's ``python3-seccomp`` is not in a virtual
environment. Where the library is missing, :func:`unavailable` says so, the sandbox runs
without the filter, and ``course grade`` says that in its summary.

The filter is **on unless** ``NOTEBOOK_GRADER_SECCOMP=0``. It was off by default until
2026-11-30, for two observations on the loaded, shared VM it was built on:

* a filtered kernel ran its memory- and output-heavy cells several times slower (the fault
  catalog's memory bomb and output flood overran their 10 s cell limit). Re-measured on the same
  kind of machine: 200 000 ``write`` calls and 300 allocations of 50 MB cost the same with and
  without the filter, the fault catalog passed with it on (also under two busy loops: 87 s,
  against 78 s with it off), and 40 submissions took the same CPU time either way;
* ``test_forked_children_cannot_add_up_past_the_memory_limit[group-and-watch]`` failed three times
  in seven runs of its module with it on (the forked children slept out their 120 s). The cause was
  a gap in the limits, not the filter: the children passed the control group's memory together,
  the kernel's OOM killer ended some of them between two of the watch's looks, and the ones left
  were under the watch's limit. The watch now stops the whole sandbox at the group's first OOM
  kill (:class:`~notebook_grader.isolation.cgroups.TreeWatch`); with the filter on, that module then
  passed ten runs in ten, and the fault, hostile and sandbox tests passed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
from functools import cache

#: Refused outright (EPERM). Names unknown to this architecture or libseccomp version are skipped.
DENIED = (
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    "add_key", "request_key", "keyctl",
    "bpf", "perf_event_open", "userfaultfd",
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp",
    "mount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount",
    "fspick", "mount_setattr",
    "unshare", "setns",
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "quotactl", "syslog", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex",
    "open_by_handle_at", "name_to_handle_at", "lookup_dcookie", "fanotify_init",
)
#: ``clone`` flags that make a namespace: refused.
CLONE_NEW_FLAGS = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000, "CLONE_NEWTIME": 0x00000080,
}

SCMP_ACT_ALLOW = 0x7FFF0000
SCMP_CMP_MASKED_EQ = 7
#: libseccomp's filter attributes (``enum scmp_filter_attr``, libseccomp >= 2.5).
SCMP_FLTATR_CTL_SSB = 7  # 1: SECCOMP_FILTER_FLAG_SPEC_ALLOW
SCMP_FLTATR_CTL_OPTIMIZE = 8  # 2: a binary tree of the rules, not a list


def _errno_action(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)  # SCMP_ACT_ERRNO(code)


class _ArgCmp(ctypes.Structure):
    _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int), ("datum_a", ctypes.c_uint64),
                ("datum_b", ctypes.c_uint64)]


@cache
def _library() -> ctypes.CDLL | str:
    name = ctypes.util.find_library("seccomp") or "libseccomp.so.2"
    try:
        lib = ctypes.CDLL(name, use_errno=True)
    except OSError as exc:
        return f"libseccomp is not installed ({exc}); install the libseccomp2 package"
    lib.seccomp_init.restype = ctypes.c_void_p
    lib.seccomp_init.argtypes = [ctypes.c_uint32]
    lib.seccomp_syscall_resolve_name.restype = ctypes.c_int
    lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
    lib.seccomp_rule_add_array.restype = ctypes.c_int
    lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint,
                                           ctypes.POINTER(_ArgCmp)]
    lib.seccomp_load.restype = ctypes.c_int
    lib.seccomp_load.argtypes = [ctypes.c_void_p]
    lib.seccomp_attr_set.restype = ctypes.c_int
    lib.seccomp_attr_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32]
    lib.seccomp_release.restype = None
    lib.seccomp_release.argtypes = [ctypes.c_void_p]
    return lib


#: Set to ``0`` in the grader's environment to run the sandbox without the filter (on by default).
SWITCH = "NOTEBOOK_GRADER_SECCOMP"


def wanted() -> bool:
    """Whether the filter is to be installed: unless :data:`SWITCH` turns it off."""
    return os.environ.get(SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def unavailable() -> str | None:
    """Why no seccomp filter can be installed here, or None if it can."""
    lib = _library()
    return lib if isinstance(lib, str) else None


class SeccompError(OSError):
    """The filter could not be built or loaded."""


def install() -> list[str]:
    """Install the filter on the calling process (and every process it starts); returns the calls refused.

    The process must have ``no_new_privs`` set (the sandbox sets it first). Raises
    :class:`SeccompError` if libseccomp is missing or refuses.
    """
    lib = _library()
    if isinstance(lib, str):
        raise SeccompError(lib)
    ctx = lib.seccomp_init(SCMP_ACT_ALLOW)
    if not ctx:
        raise SeccompError("seccomp_init failed")
    refused = []
    try:
        # Without SPEC_ALLOW, installing a filter also turns on the speculative-store-bypass
        # mitigation for the process, which made the kernel's memory-heavy cells (zeroing 2 GiB,
        # printing 60 MB) several times slower; it guards a process's memory from code in the
        # same process, which the sandbox does not rely on. Older libseccomp: left as it is.
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_SSB, 1)
        lib.seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2)
        deny = _errno_action(errno.EPERM)
        for name in DENIED:
            number = lib.seccomp_syscall_resolve_name(name.encode())
            if number < 0:
                continue
            _check(lib.seccomp_rule_add_array(ctx, deny, number, 0, None), name)
            refused.append(name)
        clone = lib.seccomp_syscall_resolve_name(b"clone")
        for flag, bit in CLONE_NEW_FLAGS.items():
            rule = _ArgCmp(0, SCMP_CMP_MASKED_EQ, bit, bit)
            _check(lib.seccomp_rule_add_array(ctx, deny, clone, 1, ctypes.byref(rule)), f"clone {flag}")
        refused.append("clone with CLONE_NEW*")
        clone3 = lib.seccomp_syscall_resolve_name(b"clone3")
        if clone3 >= 0:
            _check(lib.seccomp_rule_add_array(ctx, _errno_action(errno.ENOSYS), clone3, 0, None), "clone3")
            refused.append("clone3 (ENOSYS)")
        _check(lib.seccomp_load(ctx), "seccomp_load")
    finally:
        lib.seccomp_release(ctx)
    return refused


def _check(result: int, what: str) -> None:
    if result < 0:
        raise SeccompError(-result, f"libseccomp refused {what}: {errno.errorcode.get(-result, result)}")

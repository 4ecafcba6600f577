"""What the tests read about a process from ``/proc`` (Linux), in one place.

A process can exit, and be reaped by its parent, between any two reads: each function here
reads ``/proc/PID/stat`` once and answers "gone" (None, False) rather than raising.
"""

from __future__ import annotations

import os
from pathlib import Path


def stat_fields(pid: int | str) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command's name (the state first, then the parent's
    pid, ...; ``proc(5)``'s field 3 onwards); None when the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def running(pid: int | str) -> bool:
    """Whether the process exists and has not exited (a zombie has exited: its state is Z)."""
    fields = stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def parent_pid(pid: int | str) -> int | None:
    """The process's parent, None when the process is gone."""
    fields = stat_fields(pid)
    return int(fields[1]) if fields is not None else None


def started_seconds(pid: int | str) -> float | None:
    """When the process started, in seconds since boot (as ``/proc/uptime`` counts); None when gone."""
    fields = stat_fields(pid)
    return int(fields[19]) / os.sysconf("SC_CLK_TCK") if fields is not None else None

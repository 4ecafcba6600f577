"""Where grading keeps its private scratch folders."""

from __future__ import annotations

import contextlib
import os
import tempfile


def fast_temp_dir() -> str:
    """A memory-backed temporary folder if the machine has a roomy one: gradebooks commit often."""
    shm = "/dev/shm"
    with contextlib.suppress(OSError):
        st = os.statvfs(shm)
        if os.access(shm, os.W_OK | os.X_OK) and st.f_bavail * st.f_frsize > 2 << 30:
            return shm
    return tempfile.gettempdir()

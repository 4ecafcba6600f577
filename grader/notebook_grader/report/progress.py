"""The progress line ``course grade`` shows while it works (on standard error).

On a terminal it redraws one line; in a log (CI) it prints a line at every tenth of the
batch, so logs stay short.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    return f"{minutes}:{seconds:02d}"


class Progress:
    """A bar over ``total`` submissions."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.total, self.label = total, label
        self.stream = stream or sys.stderr
        self.enabled = enabled and total > 0
        self.tty = self.enabled and self.stream.isatty()
        self.done = self.failed = self.errors = 0
        self.started = time.monotonic()
        self._next_tenth = 1
        if self.enabled:
            self._draw(force=True)

    def advance(self, *, failed: bool = False, error: bool = False) -> None:
        self.done += 1
        self.failed += failed
        self.errors += error
        if self.enabled:
            self._draw()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()

    def line(self) -> str:
        width = 30
        filled = width * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self.started
        left = ""
        if 0 < self.done < self.total:
            left = f", ~{_clock(elapsed / self.done * (self.total - self.done))} left"
        extra = "".join([f", {self.failed} failed" if self.failed else "",
                         f", {self.errors} not graded" if self.errors else ""])
        return (f"{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}{extra} "
                f"({_clock(elapsed)}{left})")

    def _draw(self, force: bool = False) -> None:
        if self.tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()
        elif force or self.done * 10 >= self._next_tenth * self.total or self.done == self.total:
            while self._next_tenth * self.total <= self.done * 10:
                self._next_tenth += 1
            self.stream.write(self.line() + "\n")
            self.stream.flush()

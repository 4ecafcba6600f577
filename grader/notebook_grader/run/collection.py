"""When a submission was made, as the grader knows it: never as the student says.

nbgrader reads a submission's time (and so its late penalty) from ``timestamp.txt`` in the
submission folder, a file the student can write. The grader keeps its own record instead, per
assignment, in ``downloaded/<assignment>/collected.json`` (next to nbgrader's zip area, outside
every student's folder), keyed by student and by the submission's fingerprint:

* a submission taken from an LMS download gets the LMS's time of its entry
  (:mod:`notebook_grader.batch.zip_intake`);
* any other submission gets the time ``course grade`` first saw it with these contents (its
  arrival): a resubmission, with other contents, arrives anew.

A student's ``timestamp.txt`` is never copied for grading; the grader writes its own from this
record (:mod:`notebook_grader.run.grade`), so nbgrader's ``AssignLatePenalties`` charges lateness by
the grader's time.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

RECORD = "collected.json"


@dataclass(frozen=True)
class Collected:
    """A submission's time, and where it comes from (``the LMS download``, ``arrival``)."""

    at: datetime
    source: str
    fingerprint: str | None = None  # the submission's contents when it was recorded (None: any)


def _record_path(root: Path, assignment: str) -> Path:
    return root / "downloaded" / assignment / RECORD


def _load(root: Path, assignment: str) -> dict[str, dict[str, str]]:
    with contextlib.suppress(OSError, ValueError):
        data = json.loads(_record_path(root, assignment).read_text())
        if isinstance(data, dict):
            return data
    return {}


def _save(root: Path, assignment: str, data: dict[str, dict[str, str]]) -> None:
    path = _record_path(root, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".collected-")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.replace(temp, path)


def record_collected(root: Path, assignment: str, student: str, at: datetime, *, source: str,
                     fingerprint: str | None = None) -> None:
    """Record that ``student``'s submission of ``assignment`` was made at ``at`` (``source`` says how known)."""
    data = _load(root, assignment)
    entry = {"at": at.astimezone(timezone.utc).isoformat(), "source": source}
    if fingerprint is not None:
        entry["fingerprint"] = fingerprint
    data[student] = entry
    _save(root, assignment, data)


def collected_at(root: Path, assignment: str, student: str, fingerprint: str) -> Collected:
    """The submission's time: the recorded one, or now (its arrival), recorded for these contents.

    A record without a fingerprint (an LMS download's, written before the contents were known)
    is bound to ``fingerprint`` on first use, so a later change of the files is a new arrival.
    """
    data = _load(root, assignment)
    entry = data.get(student)
    if entry is not None and entry.get("fingerprint") in (None, fingerprint):
        with contextlib.suppress(KeyError, ValueError):
            at = datetime.fromisoformat(entry["at"])
            if entry.get("fingerprint") is None:
                record_collected(root, assignment, student, at, source=entry["source"], fingerprint=fingerprint)
            return Collected(at, entry["source"], fingerprint)
    now = datetime.now(timezone.utc)
    record_collected(root, assignment, student, now, source="arrival", fingerprint=fingerprint)
    return Collected(now, "arrival", fingerprint)

"""When a submission was made, as the grader knows it: never as the student says.

nbgrader reads a submission's time (and so its late penalty) from ``timestamp.txt`` in the
submission folder, a file the student can write. The grader keeps its own record instead, per
assignment, in ``downloaded/<assignment>/collected.json`` (next to nbgrader's zip area, outside
every student's folder), keyed by student and by the submission's fingerprint:

* a submission taken from an LMS download gets the LMS's time of its entry
  (:mod:`notebook_grader.batch.zip_intake`);
* a submission collected from nbgrader's exchange (``nbgrader collect``) gets the exchange's
  time of that submission (:mod:`notebook_grader.pipeline.exchange`);
* any other submission gets the time ``course grade`` first saw it with these contents (its
  arrival): a resubmission, with other contents, arrives anew.

A student's ``timestamp.txt`` is never copied for grading; the grader writes its own from this
record (:mod:`notebook_grader.run.grade`), so nbgrader's ``AssignLatePenalties`` charges lateness by
the grader's time. Once a submission is graded, the grader's time also replaces ``timestamp.txt``
in ``submitted/<student>/<assignment>/`` (:func:`write_timestamp_file`): formgrader reads a
submission's time from that file, and counts a submission as autograded only when it matches the
gradebook's. The file is not part of a submission's fingerprint, so writing it is no resubmission.
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
#: nbgrader's record of a submission's time, in its folder (formgrader and ``nbgrader collect`` read it).
TIMESTAMP_FILE = "timestamp.txt"


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


def write_timestamp_file(folder: Path, at: datetime) -> None:
    """Make ``folder/timestamp.txt`` hold ``at`` (naive: UTC), the time the gradebook stores.

    Written to a new file then renamed over the old one, so a link a student left under that
    name is replaced, never followed. The caller checks that ``folder`` is a safe submission
    folder (:func:`notebook_grader.run.paths.submission_problem`).
    """
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=".timestamp-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(at.astimezone(timezone.utc).isoformat())
        os.chmod(temp, 0o644)
        os.replace(temp, folder / TIMESTAMP_FILE)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise

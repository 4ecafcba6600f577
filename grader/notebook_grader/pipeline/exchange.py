"""``nbgrader collect`` for the course: the exchange's submission time recorded, no link followed.

nbgrader's exchange (``nbgrader release_assignment``, the students' Assignment List or
``nbgrader fetch_assignment`` and ``submit``, then ``nbgrader collect``) copies each student's
latest submission from ``<exchange>/<course>/inbound/<student>+<assignment>+<time>`` into
``submitted/<student>/<assignment>/``. :func:`notebook_grader.pipeline.setup.use_engine` puts
:class:`RecordedCollect` in place of its collect step, which differs in three ways:

* the time of each submission it collects, the exchange's (the ``<time>`` in the inbound
  folder's name, by which nbgrader itself picks the latest), is recorded as the grader's time of
  that submission (:mod:`notebook_grader.run.collection`), so ``course grade`` charges lateness
  by it and never by a ``timestamp.txt`` in the student's files;
* the copy is the instructor's, not writable by others (the exchange's folders are writable by all);
* links in a submission are copied as links, never followed: nbgrader's copy would read the
  file a link points to with the instructor's rights. ``course grade`` then refuses the link
  (:mod:`notebook_grader.run.paths`);
* a submission under a student id the course does not allow (:mod:`notebook_grader.identifiers`),
  or whose inbound entry is a link rather than a folder (it could point at any folder the
  instructor can read, ``source/`` included), is left in the exchange with a warning.
"""

from __future__ import annotations

import os
import shutil
from datetime import timezone
from pathlib import Path
from typing import Any

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import ignore_patterns

from notebook_grader.identifiers import is_student_id, terminal_safe
from notebook_grader.run.collection import TIMESTAMP_FILE, record_collected, write_timestamp_file

#: How a time taken from the exchange is described in ``collected.json``.
EXCHANGE_SOURCE = "the exchange"


class RecordedCollect(ExchangeCollect):
    """nbgrader's ``ExchangeCollect``, recording the exchange's times and following no link (see the module)."""

    def init_src(self) -> None:
        super().init_src()
        allowed = []
        for record in self.src_records:
            path = os.path.join(self.inbound_path, record["filename"])
            if not is_student_id(record["username"]):
                self.log.warning("Not collected: %s is not an allowed student id", terminal_safe(record["filename"]))
            elif os.path.islink(path) or not os.path.isdir(path):
                self.log.warning("Not collected: %s is not a folder (a link is never followed)",
                                 terminal_safe(record["filename"]))
            else:
                allowed.append(record)
        self.src_records = allowed

    def do_copy(self, src: str, dest: str, log: Any = None) -> None:
        """nbgrader's copy (its size limit, ignore and include patterns), links kept as links, and
        no ``timestamp.txt`` but a regular file."""
        size = self.get_size(src)
        if size > 1000 * self.coursedir.max_dir_size:
            raise RuntimeError(f"Directory size is too big. Size is {size}, "
                               f"maximum size is {1000 * self.coursedir.max_dir_size}")
        shutil.copytree(src, dest, symlinks=True,
                        ignore=ignore_patterns(exclude=self.coursedir.ignore, include=self.coursedir.include,
                                               max_file_size=self.coursedir.max_file_size, log=self.log))
        for folder, _, files in os.walk(dest):  # the exchange's copy is writable by all: the course's is not
            os.chmod(folder, 0o755)
            for name in files:
                if not os.path.islink(os.path.join(folder, name)):
                    os.chmod(os.path.join(folder, name), 0o644)
        stamp = Path(dest) / TIMESTAMP_FILE
        if stamp.is_symlink() or (stamp.exists() and not stamp.is_file()):
            stamp.unlink()  # nbgrader reads this file: only a regular one (the exchange's) is kept

    def copy_files(self) -> None:
        assignment = self.coursedir.assignment_id
        dests = {r["username"]: self.coursedir.format_path(self.coursedir.submitted_directory, r["username"],
                                                           assignment) for r in self.src_records}
        before = {student: _identity(dest) for student, dest in dests.items()}
        super().copy_files()
        root = Path(self.coursedir.root)
        for record in self.src_records:
            student = record["username"]
            if _identity(dests[student]) == before[student]:
                continue  # nbgrader kept the copy it had (not newer, or no --update)
            at = record["timestamp"].replace(tzinfo=timezone.utc)
            write_timestamp_file(Path(dests[student]), at)  # what formgrader shows: the exchange's time
            record_collected(root, assignment, student, at, source=EXCHANGE_SOURCE)


def _identity(path: str) -> tuple[int, int] | None:
    """Which folder ``path`` is (inode and change time), or None: a new copy is another folder."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return st.st_ino, st.st_ctime_ns

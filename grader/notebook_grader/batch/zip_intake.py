"""Take submissions from a learning-management system's zip download, safely.

``course grade ASSIGNMENT --zip downloads.zip`` reads the archive an LMS builds: one top-level
entry per student, a folder (``<student>/...``) or a file whose name the LMS prefixes with the
student (``<student>_<file name>``). Everything *below* that top-level name is the student's
upload, chosen by the student. So:

* the student id comes only from the top-level name (the part the LMS controls), matched by
  ``FileNameCollectorPlugin.named_regexp`` if the course sets one (its ``student_id`` group, and
  ``file_id`` for a file), else :data:`DEFAULT_NAMED_REGEXP`; it must be a safe student id
  (:mod:`notebook_grader.identifiers`). A name inside an upload (``bob/exercises.ipynb`` in
  Alice's zip) never makes its files someone else's;
* one student's bad upload (an id that is not safe, two files for the same path, too big, a
  member that climbs out with ``..``, a link) is that student's recorded failure: it is listed
  with its reason, their earlier submission is left as it was, and every other student is taken;
* each run extracts into a fresh private folder, removed afterwards; each member is bounded
  (:class:`ArchiveLimits`: its size, the total, the number of members, the nesting of archives
  in archives), counting the bytes actually inflated, not the sizes the archive declares, so a
  zip bomb stops at the bound; files are written with mode 0644 and folders 0755 whatever the
  archive says (no setuid, setgid, sticky or world-writable bit), and links are never created;
* an archive inside an upload (``.zip``, ``.tar``, ``.tar.gz``, ``.tgz``) is unpacked in place
  (into a folder of its name) within the same bounds; a corrupt one is noted and skipped.

Only a student whose whole upload was taken replaces their ``submitted/<student>/<assignment>/``.
The LMS's time of each student's top-level entry is recorded as the submission time
(:mod:`notebook_grader.run.collection`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import IO

from notebook_grader.course import Course
from notebook_grader.errors import CourseError
from notebook_grader.identifiers import is_student_id, terminal_safe
from notebook_grader.run.collection import record_collected

#: The top-level name of an LMS entry: a folder ``<student>``, or a file ``<student>_<file name>``.
DEFAULT_NAMED_REGEXP = r"^(?P<student_id>[^/_]+)(?:_(?P<file_id>[^/]+))?$"

#: File names of archives unpacked inside an upload.
NESTED_ARCHIVES = (".zip", ".tar", ".tar.gz", ".tgz")

FILE_MODE = 0o644
FOLDER_MODE = 0o755


class ZipIntakeFailed(CourseError):
    """The download itself cannot be read (not a zip, missing): nothing was taken from it."""


class BadUpload(Exception):
    """One student's upload cannot be taken (the message says why)."""


@dataclass(frozen=True)
class ArchiveLimits:
    """Bounds on what one download may unpack to (zip bombs)."""

    member_mb: float = 64.0  # one extracted file
    total_mb: float = 1024.0  # everything extracted from the download
    members: int = 10_000  # files and folders, nested archives included
    depth: int = 2  # archives inside an upload, inside that one: no deeper


@dataclass
class ZipIntake:
    """What a download gave: the students taken, and the uploads refused (name shown safely -> why)."""

    collected: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # student -> what was skipped in their upload


@dataclass
class _Budget:
    limits: ArchiveLimits
    total: int = 0
    members: int = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.limits.members:
            raise BadUpload(f"the download has more than {self.limits.members} files")

    def take(self, size: int) -> None:
        self.total += size
        if self.total > self.limits.total_mb * (1 << 20):
            raise BadUpload(f"the download unpacks to more than {self.limits.total_mb:g} MiB")


def collect_zip(course: Course, assignment: str, archive: Path, limits: ArchiveLimits | None = None) -> ZipIntake:
    """Take the students' uploads of ``archive`` into ``submitted/`` (see the module)."""
    limits = limits or ArchiveLimits()
    if not archive.is_file():
        raise ZipIntakeFailed(f"no such file: {terminal_safe(str(archive))}")
    pattern = re.compile(course.config().FileNameCollectorPlugin.get("named_regexp") or DEFAULT_NAMED_REGEXP)
    intake = ZipIntake()
    budget = _Budget(limits)
    try:
        download = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipIntakeFailed(f"{terminal_safe(archive.name)} is not a zip file that can be read ({exc})") from None
    with download, tempfile.TemporaryDirectory(prefix="course-zip-") as scratch:
        uploads = _uploads(download, pattern, intake)
        for student, members in sorted(uploads.items()):
            folder = Path(scratch) / student
            notes: list[str] = []
            try:
                _extract_upload(download, members, folder, budget, notes)
            except BadUpload as exc:
                intake.refused[student] = f"not taken from the zip: {exc}"
                continue
            when = max(datetime(*m[0].date_time, tzinfo=timezone.utc) for m in members)
            try:
                _replace(course.root / "submitted", student, assignment, folder)
            except BadUpload as exc:
                intake.refused[student] = f"not taken from the zip: {exc}"
                continue
            record_collected(course.root, assignment, student, when, source="the LMS download")
            intake.collected.append(student)
            if notes:
                intake.notes[student] = notes
    return intake


def _uploads(download: zipfile.ZipFile, pattern: re.Pattern[str],
             intake: ZipIntake) -> dict[str, list[tuple[zipfile.ZipInfo, str]]]:
    """Each student's members, with the path each is to have in the submission."""
    uploads: dict[str, list[tuple[zipfile.ZipInfo, str]]] = {}
    bad: set[str] = set()
    for info in download.infolist():
        name = info.filename
        if name.startswith("/"):
            intake.refused[terminal_safe(name)] = "not taken from the zip: not a relative path"
            continue
        top, _, rest = name.partition("/")
        if top.startswith(".") or top == "__MACOSX":
            continue
        match = pattern.fullmatch(top) if (rest or not info.is_dir()) else None
        if rest == "" and info.is_dir():
            continue  # the folder entry itself
        student = match.group("student_id") if match else None
        if student is None or not is_student_id(student):
            intake.refused[terminal_safe(top)] = ("not taken from the zip: the LMS's name does not give a "
                                                  "student id (letters, digits, '.', '_', '-')")
            continue
        if rest:
            relative = rest
        else:
            file_id = match.groupdict().get("file_id")
            if not file_id:
                intake.refused[terminal_safe(top)] = "not taken from the zip: a file without a file name after the id"
                continue
            relative = file_id
        uploads.setdefault(student, []).append((info, relative))
    for student, members in uploads.items():
        seen: dict[str, str] = {}
        for info, relative in members:
            if info.is_dir():
                continue
            if relative in seen:
                intake.refused[student] = (f"not taken from the zip: two uploads give the file "
                                           f"{terminal_safe(relative)} ({terminal_safe(seen[relative])} and "
                                           f"{terminal_safe(info.filename)})")
                bad.add(student)
                break
            seen[relative] = info.filename
    return {s: m for s, m in uploads.items() if s not in bad}


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", "") for part in path.parts) or not path.parts:
        raise BadUpload(f"{terminal_safe(name)} is not a path inside the upload")
    if any(ord(ch) < 32 for ch in name):
        raise BadUpload(f"{terminal_safe(name)} has control characters in its name")
    return path


def _extract_upload(download: zipfile.ZipFile, members: list[tuple[zipfile.ZipInfo, str]], folder: Path,
                    budget: _Budget, notes: list[str]) -> None:
    folder.mkdir(mode=FOLDER_MODE, parents=True)
    for info, relative in members:
        budget.member()
        path = _safe_relative(relative.rstrip("/"))
        if info.is_dir():
            _mkdirs(folder, path)
            continue
        if stat.S_ISLNK(info.external_attr >> 16):
            raise BadUpload(f"{terminal_safe(relative)} is a symbolic link")
        with download.open(info) as source:
            _write(source, folder, path, budget)
        _unpack_nested(folder, path, budget, notes, depth=1)


def _mkdirs(folder: Path, path: PurePosixPath) -> Path:
    target = folder
    for part in path.parts:
        target = target / part
        if target.is_symlink() or (target.exists() and not target.is_dir()):
            raise BadUpload(f"{terminal_safe(str(path))} is both a file and a folder")
        if not target.exists():
            target.mkdir(mode=FOLDER_MODE)
    return target


def _write(source: IO[bytes], folder: Path, path: PurePosixPath, budget: _Budget) -> None:
    """Copy ``source`` to ``folder/path`` (a new file, mode 0644), counting the bytes actually read."""
    limit = int(budget.limits.member_mb * (1 << 20))
    parent = _mkdirs(folder, path.parent) if path.parent.parts else folder
    fd = os.open(parent / path.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    written = 0
    try:
        with os.fdopen(fd, "wb") as target:
            while block := source.read(1 << 20):
                written += len(block)
                if written > limit:
                    raise BadUpload(f"{terminal_safe(str(path))} unpacks to more than "
                                    f"{budget.limits.member_mb:g} MiB")
                budget.take(len(block))
                target.write(block)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BadUpload(f"{terminal_safe(str(path))} could not be unpacked ({type(exc).__name__})") from None
    os.chmod(parent / path.name, FILE_MODE)  # whatever the umask made of it


def _is_nested(path: PurePosixPath) -> bool:
    return path.name.lower().endswith(NESTED_ARCHIVES)


def _unpack_nested(folder: Path, path: PurePosixPath, budget: _Budget, notes: list[str], depth: int) -> None:
    """Unpack ``folder/path`` if it is an archive, into a folder of its name; a corrupt one is skipped."""
    if not _is_nested(path):
        return
    file = folder / path
    stem = path.name
    for suffix in sorted(NESTED_ARCHIVES, key=len, reverse=True):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)] or "archive"
            break
    inner = path.parent / stem
    if depth > budget.limits.depth:
        notes.append(f"{terminal_safe(str(path))}: archives nested deeper than {budget.limits.depth} levels "
                     "were not unpacked")
        return
    try:
        _mkdirs(folder, inner)
        for name, is_dir, opener in _nested_members(file, int(budget.limits.member_mb * (1 << 20))):
            budget.member()
            relative = _safe_relative(name.rstrip("/"))
            target = inner / relative
            if is_dir:
                _mkdirs(folder, target)
                continue
            with opener() as source:
                _write(source, folder, target, budget)
            _unpack_nested(folder, target, budget, notes, depth + 1)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        shutil.rmtree(folder / inner, ignore_errors=True)
        notes.append(f"{terminal_safe(str(path))} is a damaged archive ({type(exc).__name__}); it was skipped")
    except BadUpload as exc:
        if "download" in str(exc):  # a bound of the whole download: the upload cannot be taken
            raise
        shutil.rmtree(folder / inner, ignore_errors=True)
        notes.append(f"{terminal_safe(str(path))} was not unpacked: {exc}")
    finally:
        file.unlink(missing_ok=True)


def _nested_members(file: Path, limit: int) -> Iterator[tuple[str, bool, Callable[[], IO[bytes]]]]:
    """(name, is a folder, opener) of each regular member of the archive ``file``; links refused.

    Lazily: each member is opened while the archive is, and read by the caller within its bounds.
    """
    if file.name.lower().endswith(".zip"):
        with zipfile.ZipFile(file) as inner:
            for info in inner.infolist():
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise BadUpload(f"{terminal_safe(info.filename)} is a symbolic link")
                yield info.filename, info.is_dir(), (lambda info=info: inner.open(info))
        return
    with tarfile.open(file) as archive:
        for member in archive:
            if not (member.isfile() or member.isdir()):
                raise BadUpload(f"{terminal_safe(member.name)} is not a regular file")
            if member.size > limit:
                raise BadUpload(f"{terminal_safe(member.name)} unpacks to more than {limit >> 20} MiB")
            yield member.name, member.isdir(), (lambda m=member: archive.extractfile(m) or io.BytesIO())


def _replace(submitted: Path, student: str, assignment: str, folder: Path) -> None:
    """Put ``folder`` in place of ``submitted/<student>/<assignment>`` (never following a link there)."""
    if (submitted / student).is_symlink() or ((submitted / student).exists() and not (submitted / student).is_dir()):
        raise BadUpload(f"submitted/{student} is not a folder; it was left as it is")
    submission = submitted / student / assignment
    submission.parent.mkdir(parents=True, exist_ok=True)
    if submission.is_symlink() or submission.is_file():
        submission.unlink()
    elif submission.exists():
        shutil.rmtree(submission)
    shutil.copytree(folder, submission, symlinks=True)

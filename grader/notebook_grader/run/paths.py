"""Take a submission's paths as given, never followed: what a student's folder may hold.

A submission is ``submitted/<student>/<assignment>/``, and everything in it is chosen by the
student (or by whoever built the LMS download). A symbolic link there would make the grader,
which runs *outside* the sandbox, read whatever the link names: ``source/`` (the reference
solutions, which then score full marks and come back in the feedback), another student's
notebook, or any file of the instructor's. A FIFO or a device would hang or flood it. So:

* the submission folder (and the student's folder above it) must be real directories whose
  real path is the one expected under ``submitted/``; otherwise the whole submission is refused;
* inside it, only regular files and real directories are taken; every symbolic link, FIFO,
  socket or device is left out and named, with the reason, in the student's feedback;
* files are opened with ``O_NOFOLLOW`` and checked again on the open descriptor, so a file
  swapped for a link between the listing and the reading is refused too.

Nothing here resolves a link: :func:`walk` lists with ``lstat`` and never descends into one.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from notebook_grader.identifiers import terminal_safe

#: Folders of editor state, never graded nor copied.
IGNORED_PARTS = (".ipynb_checkpoints",)


class UnsafePath(OSError):
    """A path that is a link, a special file, or leads outside the submission."""


@dataclass
class Listing:
    """A submission's regular files (relative paths, sorted) and what was left out, and why."""

    files: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # one sentence per path left out
    sizes: dict[str, int] = field(default_factory=dict)  # relative path -> apparent size in bytes


def kind(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a regular file" if stat.S_ISREG(mode) else "a special file"


def submission_problem(submitted: Path, student: str, assignment: str) -> str | None:
    """Why ``submitted/<student>/<assignment>`` cannot be graded as a submission, or None if it can.

    Both levels must be real directories (not links), and the folder's real path must be the
    expected one under the real ``submitted/`` folder.
    """
    base = submitted.resolve()
    expected = base / student / assignment
    for level in (submitted / student, submitted / student / assignment):
        try:
            mode = os.lstat(level).st_mode
        except OSError as exc:
            return f"The submission folder could not be read ({exc.strerror})."
        if not stat.S_ISDIR(mode):
            return (f"The submission folder {terminal_safe(level.relative_to(submitted))} is {kind(mode)}, "
                    "not a folder: only files submitted as they are can be graded.")
    if Path(os.path.realpath(expected)) != expected:
        return "The submission folder leads outside the student's own folder."
    return None


def walk(folder: Path) -> Listing:
    """Every regular file under ``folder`` (relative paths), never following a link.

    Links (to files or folders), pipes, sockets and devices are refused with a sentence naming
    them (terminal- and markdown-safe: the name is escaped for display by the caller).
    """
    listing = Listing()
    stack = [""]
    while stack:
        relative = stack.pop()
        here = folder / relative if relative else folder
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            listing.refused.append(f"{relative or '.'} could not be listed ({exc.strerror}).")
            continue
        for entry in entries:
            name = f"{relative}/{entry.name}" if relative else entry.name
            if entry.name in IGNORED_PARTS:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                listing.refused.append(f"{name} could not be read ({exc.strerror}).")
                continue
            if stat.S_ISDIR(st.st_mode):
                stack.append(name)
            elif stat.S_ISREG(st.st_mode):
                listing.files.append(name)
                listing.sizes[name] = st.st_size
            else:
                listing.refused.append(f"{name} is {kind(st.st_mode)}; it was not used "
                                       "(only regular files are graded).")
    listing.files.sort()
    return listing


def open_regular(folder: Path, relative: str) -> int:
    """A read-only descriptor of ``folder/relative``, a regular file reached without following any link.

    Each folder on the way is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to the one
    before, and the file itself with ``O_NOFOLLOW``; the open descriptor must be a regular file.
    So a link anywhere in the path, or a file swapped for one after it was listed, is refused
    (:class:`UnsafePath`). ``relative`` may not be absolute or contain ``..``.
    """
    parts = Path(relative).parts
    if not parts or Path(relative).is_absolute() or ".." in parts:
        raise UnsafePath(f"{terminal_safe(relative)} is not a path inside the submission")
    nofollow = os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for part in parts[:-1]:
            try:
                next_fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | nofollow, dir_fd=fd)
            except OSError as exc:
                raise UnsafePath(f"{terminal_safe(relative)}: {part} is not a folder ({exc.strerror})") from None
            os.close(fd)
            fd = next_fd
        try:
            file_fd = os.open(parts[-1], os.O_RDONLY | nofollow | os.O_NONBLOCK, dir_fd=fd)
        except OSError as exc:
            raise UnsafePath(f"{terminal_safe(relative)} cannot be opened as a regular file "
                             f"({exc.strerror})") from None
    finally:
        os.close(fd)
    mode = os.fstat(file_fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(file_fd)
        raise UnsafePath(f"{terminal_safe(relative)} is {kind(mode)}")
    return file_fd


def read_regular(folder: Path, relative: str, limit: int | None = None) -> bytes:
    """The bytes of the regular file ``folder/relative`` (see :func:`open_regular`); at most ``limit`` + 1."""
    with os.fdopen(open_regular(folder, relative), "rb") as f:
        return f.read() if limit is None else f.read(limit + 1)


def copy_regular(folder: Path, relative: str, dest: Path, limit: int) -> int:
    """Copy ``folder/relative`` (see :func:`open_regular`) to ``dest``; refuse it past ``limit`` bytes.

    The size is checked on the open descriptor before anything is copied (a sparse file's
    apparent size counts, not its blocks), and the copy stops at ``limit`` bytes whatever the
    file grows to meanwhile. Returns the bytes copied.
    """
    with os.fdopen(open_regular(folder, relative), "rb") as source:
        size = os.fstat(source.fileno()).st_size
        if size > limit:
            raise UnsafePath(f"{terminal_safe(relative)} is {size} bytes, more than the {limit} bytes a "
                             "submitted file may have")
        dest.parent.mkdir(parents=True, exist_ok=True)
        copied = 0
        with open(dest, "xb") as target:
            while block := source.read(min(1 << 20, limit + 1 - copied)):
                copied += len(block)
                if copied > limit:
                    target.close()
                    dest.unlink()
                    raise UnsafePath(f"{terminal_safe(relative)} grew past the {limit} bytes a submitted "
                                     "file may have")
                target.write(block)
        return copied

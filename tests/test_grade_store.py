"""The coordinator's bookkeeping: the gradebook lock, folders replaced in one step, the template's gradebook."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from nbgrader.api import Gradebook

from fisher_grader.course import ASSIGNMENT
from fisher_grader.release import generate_release
from fisher_grader.store import GradebookLock, _replace_folder, remove_leftovers
from fisher_grader.template import build_template
from tests.course_copy import copy_course


def test_lock_is_exclusive_and_dies_with_its_holder(tmp_path: Path) -> None:
    path = tmp_path / "gradebook.db.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from fisher_grader.store import GradebookLock\n"
        f"assert GradebookLock(Path({str(path)!r})).acquire(wait=False)\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    lock = GradebookLock(path)
    assert not lock.acquire(wait=False)
    assert lock.holder() == str(holder.pid)
    os.kill(holder.pid, signal.SIGKILL)  # a killed grader never leaves the gradebook locked
    holder.wait()
    deadline = time.monotonic() + 5
    while not lock.acquire(wait=False):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    lock.release()


def test_a_folder_is_replaced_whole(tmp_path: Path) -> None:
    dest = tmp_path / "autograded" / "alice" / "hw"
    _replace_folder(dest, {"exercises.ipynb": b"old", "data/extra.csv": b"1"}, 0o444)
    _replace_folder(dest, {"exercises.ipynb": b"new"}, 0o444)
    assert sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*")) == ["exercises.ipynb"]
    assert (dest / "exercises.ipynb").read_bytes() == b"new"
    assert not (dest / "exercises.ipynb").stat().st_mode & 0o222
    assert [p.name for p in dest.parent.iterdir()] == ["hw"]


def test_a_run_killed_between_two_renames_is_repaired(tmp_path: Path) -> None:
    student = tmp_path / "autograded" / "alice"
    _replace_folder(student / "hw", {"exercises.ipynb": b"graded"}, 0o444)
    retired = student / ".hw.old-x1"  # the old folder moved aside, the new one not moved in yet
    retired.mkdir()
    os.rename(student / "hw", retired / "hw")
    half = student / ".hw.new-x2"
    half.mkdir()
    (half / "exercises.ipynb").write_bytes(b"half")
    remove_leftovers(tmp_path, "hw")
    assert (student / "hw" / "exercises.ipynb").read_bytes() == b"graded"
    assert sorted(p.name for p in student.iterdir()) == ["hw"]


def test_a_template_gradebook_is_what_nbgrader_would_create(tmp_path: Path) -> None:
    """Built without nbgrader's `alembic heads` subprocess, with the same schema and version, and
    nbgrader opens it as an existing gradebook."""
    course = copy_course(tmp_path / "course")
    generate_release(course, ASSIGNMENT)
    template = build_template(course, ASSIGNMENT, tmp_path / "template")
    nbgraders = tmp_path / "nbgrader.db"
    Gradebook(f"sqlite:///{nbgraders}").close()  # a new gradebook, made by nbgrader itself

    def schema(path: Path) -> tuple[list, list]:
        with sqlite3.connect(path) as db:
            return (sorted(db.execute("SELECT type, name, sql FROM sqlite_master")),
                    db.execute("SELECT version_num FROM alembic_version").fetchall())

    assert schema(template.gradebook) == schema(nbgraders)
    with Gradebook(f"sqlite:///{template.gradebook}", template.course_id) as gb:
        assert len(gb.find_assignment(ASSIGNMENT).notebooks[0].grade_cells) > 0

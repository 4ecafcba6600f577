"""An assignment's grading template: what a grading task needs besides the submission.

Before fanning out, the coordinator copies, once per assignment, into a folder of its own:

* ``gradebook.db``: a new gradebook holding only the assignment's definition (its notebooks,
  grade, solution, task and source cells, as ``nbgrader generate_assignment`` stored them);
  no student and no grade. Each task grades into a private copy of it;
* ``source/<assignment>/``: the instructor's files (the reference solution that
  :class:`~notebook_grader.pipeline.grade_outside_kernel.GradeOutsideKernel` judges against, data files);
* ``release/<assignment>/``: the released notebooks (a stand-in for a notebook that cannot be read);
* ``nbgrader_config.py``: the course's nbgrader configuration;
* ``.grading/reference/<assignment>/``: what each check expects, as ``course release`` saved it,
  if the coordinator found it current (:mod:`notebook_grader.protocol.saved_reference`);
* ``template.json``: the assignment's name, graded notebooks and fingerprint.

So a task reads nothing of the course but its template and its submission, and could run
on another machine unchanged; and only the coordinator writes the course's gradebook
(building a gradebook from several processes at once fails).

The fingerprint changes when the assignment's definition or source does, so a changed
assignment regrades submissions graded before the change.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nbgrader.api import (
    Assignment,
    Base,
    Gradebook,
    GradeCell,
    MissingEntry,
    Notebook,
    SolutionCell,
    SourceCell,
    TaskCell,
)
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from notebook_grader.course import CONFIG_FILE, Course
from notebook_grader.errors import CourseError
from notebook_grader.protocol.saved_reference import saved_path
from notebook_grader.run.collection import TIMESTAMP_FILE
from notebook_grader.run.imports import assignment_imports
from notebook_grader.run.paths import open_regular, submission_problem, walk

TEMPLATE_FILE = "template.json"


class AssignmentNotReleased(CourseError):
    """The gradebook does not know the assignment: ``course release`` has not been run."""


@dataclass(frozen=True)
class AssignmentTemplate:
    """A built template (see the module's description)."""

    root: Path
    assignment: str
    course_id: str
    notebooks: tuple[str, ...]  # the graded notebooks, by name (without .ipynb)
    released: tuple[str, ...]  # every released notebook's file name
    fingerprint: str
    imports: tuple[str, ...] = ()  # modules the released notebooks import (kernels preload them)

    @property
    def gradebook(self) -> Path:
        return self.root / "gradebook.db"

    @property
    def source(self) -> Path:
        return self.root / "source" / self.assignment

    @property
    def release(self) -> Path:
        return self.root / "release" / self.assignment

    @property
    def config_file(self) -> Path:
        return self.root / CONFIG_FILE

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> AssignmentTemplate:
        root = Path(root)
        data = json.loads((root / TEMPLATE_FILE).read_text())
        return cls(root=root, assignment=data["assignment"], course_id=data["course_id"],
                   notebooks=tuple(data["notebooks"]), released=tuple(data["released"]),
                   fingerprint=data["fingerprint"], imports=tuple(data.get("imports", ())))


def _stamp_like(course_gradebook: Gradebook, path: Path) -> None:
    """Create an empty gradebook at ``path`` with the schema version of the course's gradebook.

    nbgrader creates the same when it opens a new file, but asks for the version by running
    ``alembic heads`` in a subprocess (a second or two). A course gradebook without a version
    leaves the work to nbgrader.
    """
    try:
        version = course_gradebook.db.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError:
        course_gradebook.db.rollback()
        return
    if not version:
        return
    engine = create_engine(f"sqlite:///{path}")
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": version})
    finally:
        engine.dispose()


def build_template(course: Course, assignment: str, dest: Path, notebooks: tuple[str, ...] | None = None,
                   helper_packages: tuple[str, ...] = (),
                   saved_references: Mapping[str, Path] | None = None) -> AssignmentTemplate:
    """Build the template of ``assignment`` in ``dest`` (which must not exist yet).

    ``imports`` lists what the released notebooks and ``helper_packages`` import, for the
    kernels to have imported before a student's code runs. ``saved_references`` (notebook ->
    file) are the current saved expected values the caller found
    (:func:`~notebook_grader.protocol.saved_reference.current_saved`); they are copied in.
    """
    course_id = course.course_id
    if notebooks is None:
        notebooks = course.assignment(assignment).graded
    dest.mkdir(parents=True)
    digest = hashlib.sha256()
    with contextlib.ExitStack() as stack:
        real = stack.enter_context(Gradebook(course.db_url, course_id))
        _stamp_like(real, dest / "gradebook.db")  # before nbgrader opens the file, so it finds a gradebook
        gb = stack.enter_context(Gradebook(f"sqlite:///{dest / 'gradebook.db'}", course_id))
        try:
            source = real.find_assignment(assignment)
        except MissingEntry:
            raise AssignmentNotReleased(
                f"the gradebook has no assignment {assignment!r}: run `course release {assignment}` first"
            ) from None
        # The rows nbgrader's add_* methods would make, added in one transaction: through those
        # methods (a lookup and a commit per cell) they were about a tenth of a run's fixed cost.
        rows: list[Any] = [Assignment(name=assignment, duedate=source.duedate, course_id=gb.course_id)]
        digest.update(f"{assignment}|{source.duedate}".encode())
        for nb in sorted(source.notebooks, key=lambda n: n.name):
            notebook = Notebook(name=nb.name, assignment=rows[0], kernelspec=nb.kernelspec)
            rows.append(notebook)
            digest.update(f"|nb:{nb.name}".encode())
            for cell in sorted(nb.grade_cells, key=lambda c: c.name):
                rows.append(GradeCell(name=cell.name, notebook=notebook, max_score=cell.max_score,
                                      cell_type=cell.cell_type))
                digest.update(f"|g:{cell.name}:{cell.max_score}:{cell.cell_type}".encode())
            for cell in sorted(nb.solution_cells, key=lambda c: c.name):
                rows.append(SolutionCell(name=cell.name, notebook=notebook))
                digest.update(f"|s:{cell.name}".encode())
            for cell in sorted(nb.task_cells, key=lambda c: c.name):
                rows.append(TaskCell(name=cell.name, notebook=notebook, max_score=cell.max_score,
                                     cell_type=cell.cell_type))
                digest.update(f"|t:{cell.name}:{cell.max_score}".encode())
            for cell in sorted(nb.source_cells, key=lambda c: c.name):
                rows.append(SourceCell(name=cell.name, notebook=notebook, cell_type=cell.cell_type,
                                       locked=cell.locked, source=cell.source, checksum=cell.checksum))
                digest.update(f"|c:{cell.name}:{cell.locked}:{cell.checksum}".encode())
        gb.db.add_all(rows)
        gb.db.commit()
        known = {nb.name for nb in source.notebooks}
    graded = tuple(n for n in notebooks if n in known)
    if not graded:
        raise AssignmentNotReleased(
            f"no graded notebook of {assignment!r} ({', '.join(notebooks)}) is in the gradebook")
    for step in ("source", "release"):
        origin = course.folder(step, assignment)
        if origin.is_dir():
            shutil.copytree(origin, dest / step / assignment, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            for path in sorted((dest / step / assignment).rglob("*")):
                if path.is_file():
                    digest.update(f"|{step}:{path.relative_to(dest)}:".encode())
                    digest.update(hashlib.sha256(path.read_bytes()).digest())
    shutil.copy2(course.root / CONFIG_FILE, dest / CONFIG_FILE)
    digest.update(hashlib.sha256((dest / CONFIG_FILE).read_bytes()).digest())
    # What the checks expect, as `course release` saved it (derived from the source: not in the fingerprint)
    for notebook, path in (saved_references or {}).items():
        copy = saved_path(dest, assignment, notebook)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    released = tuple(sorted(p.name for p in (dest / "release" / assignment).glob("*.ipynb"))) \
        if (dest / "release" / assignment).is_dir() else ()
    imports = list(assignment_imports(dest / "release" / assignment, helper_packages))
    template = AssignmentTemplate(root=dest, assignment=assignment, course_id=course_id, notebooks=graded,
                                  released=released, fingerprint=digest.hexdigest()[:16], imports=tuple(imports))
    (dest / TEMPLATE_FILE).write_text(json.dumps({
        "assignment": assignment, "course_id": course_id, "notebooks": list(graded),
        "released": list(released), "fingerprint": template.fingerprint, "imports": imports,
    }, indent=1))
    return template


#: Files larger than this (refused by the intake anyway) are fingerprinted by size and time, not read.
FINGERPRINT_READ_BYTES = 256 << 20


def submission_fingerprint(folder: Path) -> str:
    """A digest of every file a student submitted (names, sizes and contents), following no link.

    What :mod:`notebook_grader.run.paths` refuses counts by its description, so replacing a file
    by a link (or the folder by one) is a change too. The top-level ``timestamp.txt`` does not
    count: it is never graded, and the grader itself rewrites it with the submission's time
    (:func:`notebook_grader.run.collection.write_timestamp_file`).
    """
    digest = hashlib.sha256()
    problem = submission_problem(folder.parent.parent, folder.parent.name, folder.name)
    if problem is not None:
        digest.update(problem.encode())
        return digest.hexdigest()[:16]
    listing = walk(folder)
    for refused in listing.refused:
        if not refused.startswith(f"{TIMESTAMP_FILE} "):
            digest.update(f"{refused}\0".encode())
    for relative in listing.files:
        if relative == TIMESTAMP_FILE:
            continue
        digest.update(f"{relative}\0{listing.sizes[relative]}\0".encode())
        if listing.sizes[relative] > FINGERPRINT_READ_BYTES:  # never graded: its size and time suffice
            digest.update(str(os.lstat(folder / relative).st_mtime_ns).encode())
            continue
        try:
            with os.fdopen(open_regular(folder, relative), "rb") as f:
                for block in iter(lambda f=f: f.read(1 << 20), b""):
                    digest.update(block)
        except OSError as exc:
            digest.update(f"unreadable {exc}".encode())
    return digest.hexdigest()[:16]

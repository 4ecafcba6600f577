"""Build submissions from the released notebook: the sample students and the test catalogs.

A submission is the release notebook with some answer cells filled in, exactly as a student
would leave it, so it goes through the same autograde path as a real one.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat


def answer_cell_ids(nb: Any) -> list[str]:
    """The grade ids of the cells a student writes in (solution cells)."""
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]


def fill(release: Any, answers: Mapping[str, str], extra_cells: Mapping[str, str] | None = None) -> Any:
    """A copy of ``release`` with the answer cells of ``answers`` (grade id -> source) replaced.

    ``extra_cells`` (grade id -> code) adds a student's own code cell right after that cell,
    as a student may add cells anywhere. Unknown grade ids are an error, so a renamed cell in
    the release cannot silently leave an answer out.
    """
    nb = nbformat.from_dict(release)
    nb = nbformat.reads(nbformat.writes(nb), as_version=4)  # deep copy
    known = set(answer_cell_ids(nb))
    unknown = set(answers) - known
    if unknown:
        raise KeyError(f"no answer cells {sorted(unknown)} in the release")
    cells = []
    anchors = set(extra_cells or {})
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = textwrap.dedent(answers[grade_id]).strip("\n")
        cells.append(cell)
        if grade_id in anchors:
            own = nbformat.v4.new_code_cell(textwrap.dedent(extra_cells[grade_id]).strip("\n"))
            own.id = f"{grade_id}-own".replace("_", "-")  # stable ids keep samples reproducible
            cells.append(own)
            anchors.discard(grade_id)
    if anchors:
        raise KeyError(f"no cells {sorted(anchors)} to add code after")
    nb.cells = cells
    return nb


def reference_answers(source_notebook: Path) -> dict[str, str]:
    """The source notebook's solution code cells without their markers: a correct submission."""
    from notebook_grader.protocol.reference import is_reference_cell, strip_solution_markers

    nb = nbformat.read(source_notebook, as_version=4)
    return {
        c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
        for c in nb.cells
        if is_reference_cell(c) and c.metadata["nbgrader"].get("solution")
    }


def write_submission(nb: Any, submitted_root: Path, student: str, assignment: str,
                     notebook: str = "exercises") -> Path:
    """Write ``nb`` as ``<submitted_root>/<student>/<assignment>/<notebook>.ipynb``."""
    folder = submitted_root / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.ipynb"
    nbformat.write(nb, path)
    return path


def sample_students(course: Any, assignment: str, alice: Mapping[str, str],
                    bob_mistakes: Mapping[str, str]) -> dict[str, Any]:
    """The three sample students of ``assignment``, from its current release: ``alice`` (her own
    answers), ``bob`` (the reference with ``bob_mistakes``), ``carol`` (the release untouched)."""
    from tests.course_copy import release_notebook, source_notebook

    release = nbformat.read(release_notebook(course, assignment), as_version=4)
    bob = {**reference_answers(source_notebook(course, assignment)), **bob_mistakes}
    return {"alice": fill(release, alice), "bob": fill(release, bob), "carol": fill(release, {})}


def write_samples(notebooks: Mapping[str, Any], root: Path, assignment: str) -> None:
    """Write each sample student's notebook under ``root/submitted/`` and say where."""
    for student, nb in notebooks.items():
        path = write_submission(nb, root / "submitted", student, assignment)
        print("wrote", path.relative_to(root))

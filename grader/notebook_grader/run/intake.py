"""Read a submitted notebook defensively, and say in plain words what was wrong with it.

nbgrader assumes a well-formed notebook under the expected name. Students send renamed
copies, files saved by old Jupyter versions, copies with a test cell deleted, edited or
pasted twice, files that are not UTF-8 or not JSON, or notebooks of many megabytes.
:func:`take_in` decides, before anything runs, which file is graded and how:

* graded as submitted, with notes for the student: a renamed copy found by its cells, an
  old format converted, repeated cell ids renumbered, a repeated test cell (only its last
  copy is graded, as nbgrader's ``DeduplicateIds`` does), an edited test cell (nbgrader
  restores it from the gradebook), a deleted test or answer cell (put back here, as
  released, where it was);
* or not gradable (missing, too large, not UTF-8, not JSON, not a notebook): the released
  notebook stands in for it, nothing runs, every autograded part scores 0, and the reason
  heads the feedback.
"""

from __future__ import annotations

import copy
import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from nbformat.notebooknode import NotebookNode
from nbformat.v4.nbjson import BytesEncoder
from nbformat.v4.rwbase import split_lines, strip_transient
from nbgrader.utils import compute_checksum

from notebook_grader.pipeline.sanitize import markdown_literal
from notebook_grader.run.paths import Listing, UnsafePath, read_regular, walk

MIB = 1 << 20


@dataclass(frozen=True)
class ExpectedCells:
    """The cells nbgrader tracks in a graded notebook, as released to students."""

    order: tuple[str, ...]  # grade ids, in the released notebook's order
    cells: dict[str, NotebookNode]  # grade id -> the released cell
    tests: dict[str, str]  # test cells (locked grade code cells): grade id -> released checksum
    answers: frozenset[str]  # cells students write in (solution cells)

    @classmethod
    def from_release(cls, path: Path) -> ExpectedCells:
        nb = nbformat.read(path, as_version=4)
        cells = {g: c for c in nb.cells if (g := _grade_id(c))}
        tests = {g: c.metadata.nbgrader.get("checksum", "") for g, c in cells.items()
                 if c.cell_type == "code" and c.metadata.nbgrader.get("grade") and c.metadata.nbgrader.get("locked")}
        answers = frozenset(g for g, c in cells.items() if c.metadata.nbgrader.get("solution"))
        return cls(order=tuple(cells), cells=cells, tests=tests, answers=answers)


@dataclass
class Intake:
    """The outcome: the notebook to grade (None: stand in with the release) and what to say."""

    notebook: dict[str, Any] | None  # nbformat 4 JSON
    source_name: str | None = None  # the submitted file it came from, relative to the submission
    notes: list[str] = field(default_factory=list)
    problem: str | None = None  # why it is not graded as submitted (None: it is)


def take_in(folder: Path, notebook: str, expected: ExpectedCells, *, other_notebooks: tuple[str, ...] = (),
            max_mb: float = 20.0, listing: Listing | None = None) -> Intake:
    """Decide how to grade ``<folder>/<notebook>.ipynb`` (see the module's description).

    Only regular files are read, never through a link (:mod:`notebook_grader.run.paths`);
    ``listing`` is the folder's, if the caller has it already.
    """
    name = f"{notebook}.ipynb"
    listing = listing if listing is not None else walk(folder)
    notes: list[str] = []
    relative = name
    if name not in listing.files:
        refused = next((r for r in listing.refused if r.startswith(f"{name} is ")), None)
        if refused is not None:
            return stand_in(f"{refused.split(';')[0]}, not the notebook itself: only a notebook submitted as a "
                            "file is graded.")
        found, why_not = _renamed_copy(folder, listing, name, expected, other_notebooks, max_mb)
        if found is None:
            return stand_in(f"No {name} was submitted{why_not}.")
        relative = found
        notes.append(f"No {name} was submitted; {shown(relative)} was graded in its place "
                     "(it holds this assignment's cells).")
    size = listing.sizes[relative]
    if size > max_mb * MIB:
        return stand_in(f"{shown(relative)} is {size / MIB:.1f} MiB, more than the {max_mb:g} MiB the autograder "
                        "reads (clear the outputs: Kernel > Restart Kernel and Clear Outputs, save, and resubmit).")
    parsed = _parse(folder, relative, max_mb)
    if isinstance(parsed, str):
        return stand_in(parsed)
    nb, parse_notes = parsed
    notes += parse_notes
    notes += _repair(nb, expected)
    return Intake(notebook=as_json(nb), source_name=relative, notes=notes)


def as_json(nb: NotebookNode) -> dict[str, Any]:
    """``nb`` as the plain JSON data ``nbformat.writes`` would give (lines split, transient fields
    dropped, keys sorted), without formatting the indented text in between (Python's slow encoder)."""
    plain = strip_transient(split_lines(copy.deepcopy(nb)))
    return json.loads(json.dumps(plain, cls=BytesEncoder, sort_keys=True, ensure_ascii=False))


def shown(name: str) -> str:
    """A file name a student chose, as the feedback shows it: in a code span, nothing in it live."""
    return markdown_literal(name)


def stand_in(problem: str) -> Intake:
    """Not gradable for ``problem``: the release stands in, nothing runs, every autograded part scores 0."""
    return Intake(notebook=None, notes=[problem, "Nothing was run, and every autograded part scores 0."],
                  problem=problem)


def _renamed_copy(folder: Path, listing: Listing, name: str, expected: ExpectedCells, others: tuple[str, ...],
                  max_mb: float) -> tuple[str | None, str]:
    """The single other notebook that holds this assignment's cells (relative path), or why there is none.

    The reason starts with a space (it follows "No <name> was submitted") or is empty.
    """
    candidates = [f for f in listing.files if f.endswith(".ipynb") and Path(f).name not in others]
    matches = []
    for candidate in candidates:
        if listing.sizes[candidate] > max_mb * MIB:
            continue
        parsed = _parse(folder, candidate, max_mb)
        if isinstance(parsed, str):
            continue
        ids = {_grade_id(c) for c in parsed[0].cells}
        if len(ids & set(expected.order)) >= max(1, len(expected.order) // 2):
            matches.append(candidate)
    if len(matches) == 1:
        return matches[0], ""
    listed = ", ".join(shown(p) for p in candidates)
    if len(matches) > 1:
        return None, (f" and several notebooks hold this assignment's cells ({listed}): rename the one to grade "
                      f"to {name}")
    return None, f" (found: {listed})" if candidates else ""


def _parse(folder: Path, relative: str, max_mb: float) -> tuple[NotebookNode, list[str]] | str:
    """The notebook, in nbformat 4, with notes; or why it cannot be read."""
    path = Path(relative)
    try:
        raw = read_regular(folder, relative, limit=int(max_mb * MIB))
    except UnsafePath as exc:
        return f"{shown(relative)} could not be read safely: {exc}."
    if len(raw) > max_mb * MIB:
        return f"{shown(relative)} is more than the {max_mb:g} MiB the autograder reads."
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return (f"{shown(path.name)} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at position {exc.start}), so it "
                "is not a notebook file Jupyter saved; was it re-saved by another program?")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return (f"{shown(path.name)} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}): "
                "the file is damaged or was edited outside Jupyter.")
    if not isinstance(data, dict) or "nbformat" not in data:
        return f"{shown(path.name)} is JSON but not a Jupyter notebook."
    notes = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            nb = nbformat.reads(text, as_version=4)
    except Exception as exc:
        return f"{shown(path.name)} is not a notebook nbformat can read ({type(exc).__name__}: {str(exc)[:200]})."
    if data.get("nbformat") != 4:
        notes.append(f"The notebook was saved in notebook format {data.get('nbformat')}; it was converted to "
                     "format 4 for grading.")
    if any("Non-unique cell id" in str(w.message) for w in caught):
        notes.append("Several cells had the same cell id (copied cells?); they were renumbered.")
    return nb, notes


def _grade_id(cell: Any) -> str | None:
    meta = cell.get("metadata", {})
    nbgrader = meta.get("nbgrader", {}) if isinstance(meta, dict) else {}
    return nbgrader.get("grade_id") if isinstance(nbgrader, dict) else None


def _repair(nb: NotebookNode, expected: ExpectedCells) -> list[str]:
    """Notes on tracked cells that were repeated, edited or deleted; repeats and deletions are fixed."""
    notes = []
    copies: dict[str, list[NotebookNode]] = {}
    for cell in nb.cells:
        grade_id = _grade_id(cell)
        if grade_id is not None:
            copies.setdefault(grade_id, []).append(cell)
    repeated = sorted(g for g, cells in copies.items() if len(cells) > 1)
    for grade_id in repeated:  # as DeduplicateIds: only the last copy stays tracked
        for cell in copies[grade_id][:-1]:
            del cell.metadata["nbgrader"]
    if repeated:
        notes.append(f"Cells {', '.join(repeated)} appear more than once; only the last copy of each is graded, "
                     "the others run as ordinary cells.")
    edited = sorted(g for g, checksum in expected.tests.items()
                    if g in copies and _checksum(copies[g][-1]) != checksum)
    if edited:
        notes.append(f"The test cell(s) {', '.join(edited)} were changed; the original tests were restored "
                     "before grading.")
    restored = _restore(nb, expected, set(copies))
    deleted_tests = [g for g in restored if g in expected.tests]
    deleted_answers = [g for g in restored if g in expected.answers]
    if deleted_tests:
        notes.append(f"The test cell(s) {', '.join(deleted_tests)} were deleted; they were put back and run.")
    if deleted_answers:
        notes.append(f"The answer cell(s) {', '.join(deleted_answers)} were deleted; they were put back "
                     "unanswered.")
    return notes


def _checksum(cell: NotebookNode) -> str | None:
    try:
        return compute_checksum(cell)
    except Exception:
        return None


def _restore(nb: NotebookNode, expected: ExpectedCells, present: set[str]) -> list[str]:
    """Put deleted test and answer cells back, as released, after the cell they followed."""
    restored = []
    for position, grade_id in enumerate(expected.order):
        if grade_id in present or not (grade_id in expected.tests or grade_id in expected.answers):
            continue
        cell = copy.deepcopy(expected.cells[grade_id])
        cell["id"] = f"{cell.get('id', grade_id)}-restored"[:64]
        before = [g for g in expected.order[:position] if g in present]
        index = 0
        if before:
            index = max(i for i, c in enumerate(nb.cells) if _grade_id(c) == before[-1]) + 1
        nb.cells.insert(index, cell)
        present.add(grade_id)
        restored.append(grade_id)
    return restored

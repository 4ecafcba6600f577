"""nbgrader's ``OverwriteCells``, with the notebook's cells fetched once instead of per cell.

``OverwriteCells`` (a step of autograde's first pass) restores each nbgrader cell of a
submission from the gradebook's record of the release: for every such cell it looks up the
source cell, and for a graded one the grade cell, each a three-table join: about a hundred
queries a submission. :class:`OverwriteCellsAtOnce` runs nbgrader's own step with a gradebook
whose ``find_source_cell`` and ``find_graded_cell`` answer from the notebook's cells, fetched
in three queries when the step starts, with every column the step reads (the same rows: a
grade cell before a task cell of the same name, as nbgrader looks them up). A name not among
them goes to nbgrader's lookup, which raises as before; everything else is the gradebook itself.

It runs nbgrader's private per-cell logic against that gradebook, so it is guarded
(:data:`~notebook_grader.patches.overrides.OVERWRITE_CELLS_AT_ONCE`): out of the tested nbgrader
range, or with ``NOTEBOOK_GRADER_NO_PATCHES=1``, it is nbgrader's ``OverwriteCells``.
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import Gradebook, GradeCell, MissingEntry, TaskCell
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells

from notebook_grader.patches import in_use
from notebook_grader.patches.overrides import OVERWRITE_CELLS_AT_ONCE


def _cells(gradebook: Gradebook, kind: type, notebook_id: str) -> list[Any]:
    """The notebook's cells of ``kind`` (``GradeCell`` or ``TaskCell``) with every column loaded."""
    return gradebook.db.query(kind).filter(kind.notebook_id == notebook_id).all()


class NotebookCells:
    """A gradebook that answers source and graded cell lookups of one notebook from memory."""

    def __init__(self, gradebook: Gradebook, notebook: str, assignment: str) -> None:
        self._gradebook = gradebook
        self._key = (notebook, assignment)
        try:
            found = gradebook.find_notebook(notebook, assignment)
        except MissingEntry:
            self._source: dict[str, Any] = {}
            self._graded: dict[str, Any] = {}
            return
        self._source = {cell.name: cell for cell in found.source_cells}
        # queried as themselves, not through the notebook's relationship, which loads only the
        # columns all cells share: each grade cell's points and type would then cost a query more
        self._graded = {cell.name: cell for cell in _cells(gradebook, TaskCell, found.id)}
        self._graded.update({cell.name: cell for cell in _cells(gradebook, GradeCell, found.id)})  # a grade cell first

    def find_source_cell(self, name: str, notebook: str, assignment: str) -> Any:
        if (notebook, assignment) == self._key and name in self._source:
            return self._source[name]
        return self._gradebook.find_source_cell(name, notebook, assignment)

    def find_graded_cell(self, name: str, notebook: str, assignment: str) -> Any:
        if (notebook, assignment) == self._key and name in self._graded:
            return self._graded[name]
        return self._gradebook.find_graded_cell(name, notebook, assignment)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._gradebook, name)


class OverwriteCellsAtOnce(OverwriteCells):
    """nbgrader's ``OverwriteCells`` on the notebook's cells fetched once (see the module)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        if not in_use(OVERWRITE_CELLS_AT_ONCE):
            return super().preprocess(nb, resources)
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        with Gradebook(self.db_url) as gradebook:
            self.gradebook = NotebookCells(gradebook, self.notebook_id, self.assignment_id)
            nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
            if self.add_missing_cells:
                nb, resources = self.add_missing_grade_cells(nb, resources)
                nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources

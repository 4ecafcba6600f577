"""nbgrader's ``SaveAutoGrades``, with the submission's rows fetched at once and one commit.

nbgrader's ``SaveAutoGrades`` looks up each graded cell's grade and each answer's comment with
a query of its own (a six-table join) and commits after every cell: a hundred or so queries
and commits per submission, about a tenth of a grading worker's time. :class:`SaveAutoGradesAtOnce`
fetches every grade and comment of the submission in four queries
(:func:`~notebook_grader.storage.gradebook_rows.submission_grades_and_comments`, which returns
the rows ``find_grade`` and ``find_comment`` would), sets the same fields to the same values, and
commits once, after the last cell. A cell the fetch did not find (none, in a gradebook nbgrader
made) goes through nbgrader's own lookup, which raises as before.

It replaces nbgrader's private ``_add_score`` and ``_add_comment``, so it is guarded
(:data:`~notebook_grader.patches.overrides.SAVE_GRADES_AT_ONCE`): out of the tested nbgrader
range, or with ``NOTEBOOK_GRADER_NO_PATCHES=1``, it is nbgrader's ``SaveAutoGrades``.
"""

from __future__ import annotations

from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader import utils
from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

from notebook_grader.patches import in_use
from notebook_grader.patches.overrides import SAVE_GRADES_AT_ONCE
from notebook_grader.storage.gradebook_rows import ByCell, row_or_find, submission_grades_and_comments


class SaveAutoGradesAtOnce(SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``: the same rows and values, fetched in four queries, committed once."""

    _grades: ByCell | None = None
    _comments: ByCell | None = None

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        if not in_use(SAVE_GRADES_AT_ONCE):
            return super().preprocess(nb, resources)
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = Gradebook(self.db_url)
        with self.gradebook:
            self._grades, self._comments = submission_grades_and_comments(self.gradebook, self.assignment_id,
                                                                          self.student_id)
            try:
                nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
                self.gradebook.db.commit()
            finally:
                self._grades = self._comments = None
        return nb, resources

    def _row(self, rows: ByCell, cell: NotebookNode, find: Any) -> Any:
        return row_or_find(rows, self.notebook_id, cell.metadata["nbgrader"]["grade_id"], self.assignment_id,
                           self.student_id, find)

    def _add_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        if self._grades is None:
            super()._add_score(cell, resources)
            return
        grade = self._row(self._grades, cell, self.gradebook.find_grade)
        grade.auto_score, _ = utils.determine_grade(cell, self.log)
        # as nbgrader: a hand-given score, or no autograder's score, leaves the part for review
        grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None

    def _add_comment(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        if self._comments is None:
            super()._add_comment(cell, resources)
            return
        comment = self._row(self._comments, cell, self.gradebook.find_comment)
        unchanged = cell.metadata.nbgrader.get("checksum", None) == utils.compute_checksum(cell)
        comment.auto_comment = "No response." if unchanged and not utils.is_task(cell) else None

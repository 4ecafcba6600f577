"""One submission's grades and comments from an nbgrader gradebook, fetched in a few queries.

Both the grading worker (reading what nbgrader stored in the task's gradebook) and the
coordinator (writing a result into the course's gradebook) need every grade and comment of
one submission by cell; nbgrader's API hands them out one query at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbgrader import api as tables
from nbgrader.api import Gradebook
from sqlalchemy.orm import undefer

#: A submission's grades or comments, by (notebook, cell name).
ByCell = dict[tuple[str, str], Any]


def submission_grades_and_comments(gb: Gradebook, assignment: str, student: str) -> tuple[ByCell, ByCell]:
    """Every grade and comment of one submission, by (notebook, cell name).

    The same rows nbgrader's ``find_grade`` and ``find_comment`` return one at a time (a
    six-table join per cell), and a submitted notebook's ``grades`` and ``comments`` (a query
    per row for its cell's name): fetched here in four queries, where one submission's fifty
    or so took a query each (each grade with its points, which nbgrader reads with one query
    more per grade). Like ``find_grade`` and ``find_comment``, a grade or solution cell comes
    before a task cell of the same name.
    """
    def rows(model: type, cell: type) -> list[tuple[Any, str, str]]:
        # a grade's points are a deferred column in nbgrader (a query each when first read): loaded here
        loaded = (undefer(tables.Grade.max_score),) if model is tables.Grade else ()
        return gb.db.query(model, cell.name, tables.Notebook.name).options(*loaded) \
            .join(cell, cell.id == model.cell_id) \
            .join(tables.SubmittedNotebook, tables.SubmittedNotebook.id == model.notebook_id) \
            .join(tables.Notebook, tables.Notebook.id == tables.SubmittedNotebook.notebook_id) \
            .join(tables.SubmittedAssignment, tables.SubmittedAssignment.id == tables.SubmittedNotebook.assignment_id) \
            .join(tables.Assignment, tables.Assignment.id == tables.SubmittedAssignment.assignment_id) \
            .join(tables.Student, tables.Student.id == tables.SubmittedAssignment.student_id) \
            .filter(tables.Assignment.name == assignment, tables.Student.id == student).all()

    grades: ByCell = {}
    comments: ByCell = {}
    for found, model, cells in ((grades, tables.Grade, (tables.GradeCell, tables.TaskCell)),
                                (comments, tables.Comment, (tables.SolutionCell, tables.TaskCell))):
        for cell in cells:
            for row, name, notebook in rows(model, cell):
                found.setdefault((notebook, name), row)
    return grades, comments


def row_or_find(rows: ByCell, notebook: str, name: str, assignment: str, student: str,
                find: Callable[[str, str, str, str], Any]) -> Any:
    """The row of cell ``name`` of ``notebook`` from ``rows``, else nbgrader's own lookup ``find``
    (``Gradebook.find_grade`` or ``find_comment``), which raises ``MissingEntry`` as before."""
    row = rows.get((notebook, name))
    return row if row is not None else find(name, notebook, assignment, student)

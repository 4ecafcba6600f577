"""A worker's warm-up (run/warm_up.py) does the first task's one-off work, into the caches the task uses."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat

from notebook_grader.protocol import reference
from notebook_grader.protocol.cells import is_test_cell, nbgrader_metadata
from notebook_grader.run.warm_up import warm_up_reference
from tests.fixtures.mini_course import graded_notebook


def test_the_reference_warmed_from_the_course_serves_the_templates_copy(tmp_path: Path) -> None:
    """Warmed from the course's source notebook, the reference and every test cell's expected values are
    what a task reading the template's copy (the same bytes, elsewhere) finds: nothing is collected again.
    An edited notebook is a new reference."""
    course = tmp_path / "course" / "graded.ipynb"
    course.parent.mkdir()
    nbformat.write(graded_notebook(), course)
    assert warm_up_reference([course]) == 1

    template = tmp_path / "template" / "graded.ipynb"
    template.parent.mkdir()
    shutil.copy(course, template)
    warmed = reference.load_reference(course)
    assert reference.load_reference(template) is warmed
    collected: list[str] = []
    warmed._collect = lambda grade_id, source: collected.append(grade_id) or []  # type: ignore[method-assign]
    for cell in nbformat.read(template, as_version=4).cells:
        if is_test_cell(cell):
            assert warmed.expected_checks(nbgrader_metadata(cell)["grade_id"], cell.source)
    assert collected == []

    edited = graded_notebook()
    edited.cells[0].source += "\n# edited"
    nbformat.write(edited, template)
    assert reference.load_reference(template) is not warmed

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


def test_the_coordinator_s_warm_up_serves_every_worker_forked_after_it() -> None:
    """Rendered once before the fork (with only the rendering caches installed), the release is not
    rendered again by a forked worker; a process that has not rendered it does render it."""
    import subprocess
    import sys

    from tests.course_copy import REPO

    probe = (
        "import os, sys\n"
        "from notebook_grader.batch.coordinator import warm_up_before_fork\n"
        "from notebook_grader.patches import APPLIED\n"
        "from notebook_grader.run import warm_up\n"
        "from notebook_grader.run.grade import WorkerConfig\n"
        "root, notebook = sys.argv[1], sys.argv[2]\n"
        "assert warm_up_before_fork(WorkerConfig(hidden=(), warm_up=(notebook,), config_root=root)) == 1\n"
        "applied = {name for name, what in APPLIED.items() if what == 'applied'}\n"
        "assert applied == {'cache_templates', 'cache_highlighting'}, APPLIED  # no gradebook patch here\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    os._exit(warm_up.warm_up_feedback(root, [notebook]))\n"
        "assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0, 'the forked worker rendered it again'\n"
        "warm_up._rendered.clear()  # as in a process that never rendered it\n"
        "assert warm_up.warm_up_feedback(root, [notebook]) == 1\n"
    )
    notebook = REPO / "source" / "fisher_information" / "exercises.ipynb"
    subprocess.run([sys.executable, "-c", probe, str(REPO), str(notebook)], check=True, timeout=120)

"""nbgrader preprocessor that grades test cells in the grading process, not in the kernel.

It runs in nbgrader's autograde pipeline right after ``Execute``. For every autograder test
cell it takes the values the student's functions returned (the records the cell emitted),
judges them against the reference solution (:mod:`notebook_grader.protocol.reference`), and replaces
the cell's outputs with the grader's own: the PASS/FAIL lines, and an error output when a check
failed. nbgrader's ``SaveAutoGrades`` then scores the cell from those outputs as usual (an error
output means 0 points, none means full points), so whatever the kernel printed, raised or
swallowed in a test cell has no say in the grade.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode
from traitlets.config import Config

from cell_checks import RECORD_MIME
from notebook_grader.protocol.cells import is_test_cell
from notebook_grader.protocol.draws import RESOURCE_KEY
from notebook_grader.protocol.reference import Reference, load_reference
from notebook_grader.protocol.verdict import CellVerdict, judge


def verdict_outputs(verdict: CellVerdict, points: float) -> list[NotebookNode]:
    """The outputs the grader writes into a test cell for ``verdict``."""
    earned = points if verdict.ok else 0
    summary = (
        f"Autograder: {verdict.passed} of {verdict.total} checks passed "
        f"({earned:g} of {points:g} points)"
    )
    outputs = [
        from_dict({"output_type": "stream", "name": "stdout",
                   "text": "\n".join([summary, *verdict.lines]) + "\n"})
    ]
    if not verdict.ok:
        failed = verdict.total - verdict.passed
        outputs.append(from_dict({
            "output_type": "error",
            "ename": "ChecksFailed",
            "evalue": f"{failed} of {verdict.total} checks failed; see the FAIL lines above",
            "traceback": [f"ChecksFailed: {failed} of {verdict.total} checks failed; "
                          "see the FAIL lines above"],
        }))
    return outputs


#: What the feedback shows instead of a student cell's outputs once a test cell has run.
WITHHELD = ("[The outputs of this cell are not kept by the autograder: it ran after the tests had started, "
            "so it could show what the hidden tests used. Run your notebook to see them.]\n")


def withhold_student_outputs(nb: NotebookNode) -> NotebookNode:
    """Drop the outputs of every student code cell that ran after a test cell.

    Hidden checks call the student's functions with hidden inputs; the student's code can keep
    them (a global, a file) and print them, or values computed from them, from a later cell of
    its own. A test cell's outputs are the grader's verdict already; a student cell before the
    first test cell ran before any hidden input existed. Neither the autograded notebook
    (formgrader) nor the feedback shows hidden tests, so both go without these outputs.
    """
    tests_started = False
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        if is_test_cell(cell):
            tests_started = True
        elif tests_started and cell.get("outputs"):
            cell.outputs = [from_dict({"output_type": "stream", "name": "stdout", "text": WITHHELD})]
    return nb


def source_notebook_path(config: Config, resources: ResourcesDict) -> Path:
    """The reference (source) notebook of the notebook being graded: ``GradeOutsideKernel.source_notebook``
    if set, else ``<course root>/<source_directory>/<assignment>/<notebook>.ipynb``."""
    configured = config.GradeOutsideKernel.get("source_notebook", "") if "GradeOutsideKernel" in config else ""
    if configured:
        return Path(configured)
    coursedir = CourseDirectory(config=config)
    info = resources["nbgrader"]
    folder = coursedir.format_path(coursedir.source_directory, ".", info["assignment"])
    return Path(folder) / f"{info['notebook']}.ipynb"


class GradeOutsideKernel(NbGraderPreprocessor):
    """Replace each test cell's outputs by the grading process's verdict on its records."""

    source_notebook = Unicode(
        "",
        help="Path of the reference (source) notebook; by default "
        "<course root>/<source_directory>/<assignment>/<notebook>.ipynb.",
    ).tag(config=True)

    def _reference(self, resources: ResourcesDict) -> Reference:
        return load_reference(self.source_notebook or source_notebook_path(self.config, resources))

    def preprocess(
        self, nb: NotebookNode, resources: ResourcesDict
    ) -> tuple[NotebookNode, ResourcesDict]:
        reference = self._reference(resources)
        seed = resources["nbgrader"].get(RESOURCE_KEY)  # SandboxedExecute's, if it ran the kernel
        for cell in nb.cells:
            if is_test_cell(cell):
                self._grade_cell(cell, reference, seed)
            elif cell.get("cell_type") == "code":
                # Records are the kernel's messages to this preprocessor; one printed by a
                # student's own cell means nothing and would only clutter the feedback.
                cell.outputs = [o for o in cell.get("outputs", []) if RECORD_MIME not in o.get("data", {})]
        return withhold_student_outputs(nb), resources

    def _grade_cell(self, cell: Any, reference: Reference, seed: int | None = None) -> None:
        meta = cell.metadata["nbgrader"]
        checks = reference.expected_checks(meta["grade_id"], cell.source, seed)
        verdict = judge(checks, cell.get("outputs", []))
        cell.outputs = verdict_outputs(verdict, float(meta.get("points", 0)))
        self.log.debug("%s: %d/%d checks", meta["grade_id"], verdict.passed, verdict.total)

"""A student running a visible check sees the very message the grader writes into feedback."""

from __future__ import annotations

import contextlib
import io
import json
import textwrap

import nbformat
import pytest

import cell_checks as grading
from notebook_grader.protocol.reference import Reference, is_test_cell, strip_solution_markers
from notebook_grader.protocol.verdict import judge
from tests.course_copy import REPO
from tests.fixtures.make_samples import BOB_MISTAKES

pytestmark = pytest.mark.unit

SOURCE = REPO / "source" / "fisher_information" / "exercises.ipynb"


def run_in_kernel_mode(cell_source: str, answer: str, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list[dict]]:
    """Run a test cell as the student's kernel would while autograding: (printed text, outputs)."""
    outputs: list[dict] = []
    monkeypatch.setenv(grading.EXECUTION_ENV, "autograde")
    monkeypatch.setattr(
        grading, "_emit",
        lambda record: outputs.append({"output_type": "display_data",
                                       "data": {grading.RECORD_MIME: json.dumps(record)}}),
    )
    namespace: dict = {}
    exec("import numpy as np\nfrom cell_checks import Checks, warnings_raised", namespace)
    exec(textwrap.dedent(strip_solution_markers(answer)), namespace)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.suppress(grading.CheckFailed):
        exec(cell_source, namespace)
    return printed.getvalue(), outputs


@pytest.mark.parametrize("grade_id", ["ex1a_bernoulli_score", "ex4b_most_informative_direction",
                                      "ex7b_logistic_empirical_fisher"])
def test_visible_messages_are_identical_in_kernel_and_grader(grade_id: str, monkeypatch: pytest.MonkeyPatch) -> None:
    nb = nbformat.read(SOURCE, as_version=4)
    cell = next(c for c in nb.cells if is_test_cell(c) and c.metadata.nbgrader["grade_id"] == grade_id)
    answer = BOB_MISTAKES[grade_id.split("_")[0][:-1] + "_code"]
    printed, outputs = run_in_kernel_mode(cell.source, answer, monkeypatch)
    verdict = judge(Reference(SOURCE).expected_checks(grade_id, cell.source), outputs)
    assert not verdict.ok
    feedback = "\n".join(verdict.lines)
    assert "FAIL" in printed
    for block in printed.strip().split("\n") if printed else []:
        assert block in feedback, block
    assert "[hidden test]" in feedback

"""Hidden tests stay hidden whatever the student's code prints or raises."""

from __future__ import annotations

import nbformat
import pytest

from notebook_grader.pipeline.grade_outside_kernel import WITHHELD, withhold_student_outputs
from notebook_grader.protocol.verdict import DID_NOT_RUN, NOT_IMPLEMENTED, hidden_error

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("error,shown", [
    ("raised ValueError: 0.0056303766 1.1457255", "raised ValueError"),
    ("raised ZeroDivisionError: division by zero", "raised ZeroDivisionError"),
    ("raised Leak_0_0056303766: boom", "raised an exception"),  # a class named after the value
    ("raised Exception", "raised Exception"),
    ("0.0056303766", "raised an exception"),  # a forged record's free text
    (DID_NOT_RUN, DID_NOT_RUN),
    (NOT_IMPLEMENTED, NOT_IMPLEMENTED),
    (NOT_IMPLEMENTED + " 0.0056303766", "raised an exception"),
])
def test_a_hidden_checks_error_shows_nothing_the_student_chose(error: str, shown: str) -> None:
    assert hidden_error(error) == shown


def test_student_outputs_after_the_first_test_cell_are_withheld() -> None:
    def code(source: str, text: str, *, test: bool = False) -> nbformat.NotebookNode:
        cell = nbformat.v4.new_code_cell(source, outputs=[nbformat.v4.new_output("stream", name="stdout",
                                                                                 text=text)])
        if test:
            cell.metadata["nbgrader"] = {"grade": True, "locked": True, "solution": False, "grade_id": "t",
                                         "points": 1}
        return cell

    before = code("print(1)", "mine, before the tests\n")
    test = code("checks.done()", "Autograder: 1 of 1 checks passed\n", test=True)
    after = code("print(_SEEN)", "0.0056303766\n")
    nb = withhold_student_outputs(nbformat.v4.new_notebook(cells=[before, test, after]))
    assert before.outputs[0].text == "mine, before the tests\n"
    assert test.outputs[0].text.startswith("Autograder")
    assert [o.text for o in after.outputs] == [WITHHELD] and nb.cells[2] is after

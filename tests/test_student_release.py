"""What a student meets in the released notebooks: Restart & Run All runs to the end, Validate
says why a part fails, and a notebook opened and not edited is not shown as modified.

* Every released test cell (and every locked cell that uses a student's functions) is tagged
  ``raises-exception``, so a failing part (or one not yet
  written) no longer stops Run All; Validate still lists it as failed, and grading is unchanged
  (the catalog, ``tests/test_catalog.py``, grades submissions built from this release).
* nbgrader's Validate shows a failed cell's error, not what the cell printed: while validating,
  a test cell's error carries its FAIL lines (label, expected and received values, the likely
  mistake, the hint), folded to nbgrader's line width. Hidden checks are not in the release.
* The notebooks' kernel metadata is what JupyterLab writes when the kernel starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import cell_checks
from notebook_grader.pipeline.release_cells import RAISES_EXCEPTION, python_kernel_metadata
from notebook_grader.protocol.cells import is_test_cell
from tests.course_copy import ASSIGNMENT, REPO, copy_course
from tests.fixtures.make_samples import BOB_MISTAKES
from tests.support.submissions import fill, reference_answers

RELEASE = REPO / "release" / ASSIGNMENT
SOURCE = REPO / "source" / ASSIGNMENT


def _release(name: str = "exercises") -> nbformat.NotebookNode:
    return nbformat.read(RELEASE / f"{name}.ipynb", as_version=4)


@pytest.mark.unit
def test_released_cells_that_run_a_students_code_are_tagged_raises_exception() -> None:
    """Test cells and the locked cells that use a student's functions; not the setup, not answers."""
    nb = _release()
    tagged = [c.metadata.nbgrader["grade_id"] for c in nb.cells if RAISES_EXCEPTION in c.metadata.get("tags", [])]
    tests = [c.metadata.nbgrader["grade_id"] for c in nb.cells if is_test_cell(c)]
    assert len(tests) >= 10 and set(tests) <= set(tagged)
    assert "ex5_explore" in tagged
    assert not any(name.startswith("setup") or name.endswith("_code") for name in tagged)
    assert not any(RAISES_EXCEPTION in c.metadata.get("tags", []) for c in _release("theory").cells)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["exercises", "theory"])
def test_released_kernel_metadata_is_what_jupyterlab_writes(name: str) -> None:
    """JupyterLab sets ``kernelspec`` and ``language_info`` from the running kernel and marks the
    notebook modified unless they are equal to what is stored."""
    metadata = _release(name).metadata
    expected = python_kernel_metadata()
    assert metadata["kernelspec"] == expected["kernelspec"]
    assert metadata["language_info"] == expected["language_info"]


@pytest.mark.unit
def test_a_failed_check_shows_one_line_in_a_notebook_and_its_fail_lines_while_validating(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cell_checks.EXECUTION_ENV, raising=False)
    checks = cell_checks.Checks("twice")
    hint = "Multiply by two; adding two is right only at x = 2, and this sentence is long enough to be folded."
    checks.close("x = 3", lambda: 3 + 2, expected=6.0, hint=hint)
    checks.close("x = 1", lambda: 2, expected=2.0)
    with pytest.raises(cell_checks.CheckFailed) as caught:
        checks.done()
    printed = capsys.readouterr().out
    assert "expected: 6" in printed and "received: 5" in printed
    assert caught.value._render_traceback_() == [f"CheckFailed: {caught.value}"]

    monkeypatch.setenv(cell_checks.EXECUTION_ENV, "validate")
    shown = "\n".join(caught.value._render_traceback_())
    assert shown.splitlines()[0] == "CheckFailed: 1 check(s) of twice failed:"
    for expected_text in ("FAIL - twice: x = 3", "expected: 6", "received: 5", "hint    : Multiply by two"):
        assert expected_text in shown
    assert "x = 1" not in shown, "a passed check is not listed"
    assert all(len(line) <= cell_checks.VALIDATE_WIDTH for line in shown.splitlines())
    assert " ".join(shown.split()).endswith(" ".join(hint.split())), "the folded hint is whole"


def _bob_notebook(dest: Path) -> Path:
    """The release with Bob's answers (four parts wrong) and no written answers, in ``dest``."""
    answers = {**reference_answers(SOURCE / "exercises.ipynb"), **BOB_MISTAKES}
    path = dest / "exercises.ipynb"
    nbformat.write(fill(_release(), answers), path)
    return path


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop(cell_checks.EXECUTION_ENV, None)
    return env


def test_run_all_runs_past_failing_parts(tmp_path: Path) -> None:
    """The untouched release (every part unanswered) runs to its last cell, as JupyterLab's Run
    All does: nbclient, like JupyterLab, stops at an error unless the cell is tagged."""
    nb = _release()
    NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    tests = [c for c in nb.cells if is_test_cell(c)]
    assert all(any(o.output_type == "error" for o in c.outputs) for c in tests), "every unanswered part fails"
    last_code = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert last_code.execution_count is not None, "Run All stopped before the last cell"


def test_run_all_stops_at_an_untagged_failing_test_cell(tmp_path: Path) -> None:
    """The tag is what makes Run All go on: without it the same notebook stops (the check fails
    when the fix is undone)."""
    from nbclient.exceptions import CellExecutionError

    nb = _release()
    for cell in nb.cells:
        cell.metadata["tags"] = [t for t in cell.metadata.get("tags", []) if t != RAISES_EXCEPTION]
    with pytest.raises(CellExecutionError, match=r"NotImplementedError|CheckFailed"):
        NotebookClient(nb, timeout=120, kernel_name="python3",
                       resources={"metadata": {"path": str(tmp_path)}}).execute()


@pytest.fixture(scope="module")
def validated(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    """``nbgrader validate`` on Bob's notebook (the command line), and the Validate button's
    result (the server extension builds nbgrader's ``Validator`` from the configuration)."""
    from nbgrader.validator import Validator

    root = tmp_path_factory.mktemp("validate")
    copy_course(root / "course")
    path = _bob_notebook(root)
    proc = subprocess.run([sys.executable, "-m", "nbgrader", "validate", str(path)], capture_output=True, text=True,
                          env=_env(), cwd=root, timeout=300)
    assert proc.returncode == 0, proc.stderr
    saved = os.environ.pop(cell_checks.EXECUTION_ENV, None)
    try:
        button = Validator().validate(str(path))
    finally:
        if saved is not None:
            os.environ[cell_checks.EXECUTION_ENV] = saved
    return proc.stdout, button


def test_validate_on_the_command_line_shows_each_failed_checks_reasons(validated: tuple[str, dict]) -> None:
    out, _ = validated
    assert "VALIDATION FAILED" in out
    for mistake in ("FAIL - bernoulli_score", "FAIL - mc_score_variance", "FAIL - most_informative_direction",
                    "FAIL - logistic_empirical_fisher"):
        assert mistake in out
    section = out[out.index("CheckFailed: 1 check(s) of bernoulli_score"):]
    section = section[:section.index("=" * 20)]
    assert "expected: -1.4285714" in section and "received: 1.4285714" in section
    assert "problem : the sign is flipped" in section
    assert "hint    :" in section
    error_lines = [line for line in section.splitlines() if line.strip()]
    assert not any(line.endswith("...") for line in error_lines), "nbgrader cut a FAIL line"
    assert "Read the FAIL lines above" not in out
    assert "[hidden test]" not in out


def test_the_validate_button_shows_each_failed_checks_reasons(validated: tuple[str, dict]) -> None:
    _, result = validated
    failed = {cell["source"].splitlines()[0]: cell["error"] for cell in result["failed"]}
    score = next(error for first, error in failed.items() if "bernoulli_score" in first)
    assert "expected: -1.4285714" in score and "received: 1.4285714" in score and "hint" in score
    passing = [first for first in failed if "bernoulli_fisher" in first]
    assert not passing, "a right part is not listed as failed"

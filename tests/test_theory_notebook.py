"""The theory notebooks: stored outputs reproduce under nbval, and cells follow the course rules.

Every ``source/<assignment>/theory.ipynb`` is checked, so a new unit's theory notebook is covered
as soon as it exists.

``test_theory_notebook_nbval`` re-executes the notebook in a fresh kernel and compares every cell's
output with the stored one (``pytest --nbval``), so a self-check that starts printing ``FAIL``, a
changed number, or a new warning on stderr fails the suite. ``test_theory_notebook_cells`` is a fast
static check of the stored notebook.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).resolve().parents[1] / "source"
NOTEBOOKS = sorted(SOURCE.glob("*/theory.ipynb"))
by_assignment = pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.parent.name for nb in NOTEBOOKS])


def _code_cells(notebook: Path) -> list[nbformat.NotebookNode]:
    nb = nbformat.read(notebook, as_version=4)
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def test_every_unit_has_a_theory_notebook() -> None:
    assert "fisher_information" in [nb.parent.name for nb in NOTEBOOKS]


@by_assignment
def test_theory_notebook_nbval(notebook: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", notebook.name, "-p", "no:cacheprovider"],
        cwd=notebook.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    returncode = result.returncode  # a plain int, so pytest does not repeat the whole output
    assert returncode == 0, f"nbval failed on {notebook}:\n{result.stdout}\n{result.stderr}"


@by_assignment
def test_theory_notebook_cells(notebook: Path) -> None:
    problems = []
    for index, cell in enumerate(_code_cells(notebook)):
        where = f"code cell {index} (id {cell.get('id')})"
        source = cell.source
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                problems.append(f"{where}: stored output has a stderr stream")
            if output.get("output_type") == "error":
                problems.append(f"{where}: stored output has an error")
            if output.get("output_type") == "stream" and "FAIL - " in output.get("text", ""):
                problems.append(f"{where}: a self-check printed FAIL")
        if "plt.subplots" in source:
            for call in ("set_title", "set_xlabel", "set_ylabel"):
                if call not in source:
                    problems.append(f"{where}: draws a figure but never calls {call}")
        for helper in ("check_close", "check_true"):
            if f"def {helper}" in source:
                problems.append(f"{where}: defines {helper} (import it from fisher_helpers)")
    assert not problems, "\n".join(problems)

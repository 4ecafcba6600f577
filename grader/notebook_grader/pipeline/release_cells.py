"""Two steps nbgrader's ``generate_assignment`` gets from the engine, so a released notebook
behaves in JupyterLab as a student expects.

* :class:`TagTestCells`: every read-only code cell that may fail because of a student's answer
  (the test cells, and the cells that use a student's functions to show something) carries the
  ``raises-exception`` tag; the setup cells do not. A failing part, or one not yet written, then
  no longer stops *Restart & Run All* (JupyterLab and nbclient run on past a cell so tagged),
  so a student who skips a part can still run the whole notebook before submitting. Grading
  does not read the tag: nbgrader's Validate still lists a failing test cell as failed (it
  looks for an error output, ``nbgrader.utils.determine_grade``), and autograde judges test
  cells outside the kernel.
* :class:`KernelMetadata`: the notebook's ``kernelspec`` and ``language_info`` are exactly what
  JupyterLab writes when the course's Python kernel starts, so a notebook opened and not yet
  edited is not shown as modified (JupyterLab marks it dirty only when the values differ).
"""

from __future__ import annotations

import sys
from typing import Any

from nbgrader.preprocessors import NbGraderPreprocessor

from notebook_grader.protocol.cells import is_reference_cell, is_test_cell, nbgrader_metadata

#: The cell tag with which JupyterLab and nbclient run on past a cell that raises.
RAISES_EXCEPTION = "raises-exception"


def may_fail_on_an_answer(cell: Any) -> bool:
    """A read-only code cell that runs a student's code: a test cell, or a locked cell that is
    neither an answer nor a setup cell (one that shows what a student's functions do)."""
    if is_test_cell(cell):
        return True
    meta = nbgrader_metadata(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("locked")) and not is_reference_cell(cell)


class TagTestCells(NbGraderPreprocessor):
    """Tag ``raises-exception`` every cell that may fail on a student's answer (see the module)."""

    def preprocess_cell(self, cell: Any, resources: dict[str, Any], index: int) -> tuple[Any, dict[str, Any]]:
        if may_fail_on_an_answer(cell):
            tags = list(cell.metadata.get("tags", []))
            if RAISES_EXCEPTION not in tags:
                cell.metadata["tags"] = [*tags, RAISES_EXCEPTION]
        return cell, resources


def python_kernel_metadata() -> dict[str, Any]:
    """The ``kernelspec`` and ``language_info`` JupyterLab stores for this environment's
    ipykernel: the kernel's name, display name and language, and the ``language_info`` the
    kernel reports (with this Python's version)."""
    from ipykernel.ipkernel import IPythonKernel
    from ipykernel.kernelspec import KERNEL_NAME, get_kernel_dict

    spec = get_kernel_dict()
    language_info = dict(IPythonKernel.language_info)
    language_info["version"] = sys.version.split()[0]
    return {
        "kernelspec": {"display_name": spec["display_name"], "language": spec["language"], "name": KERNEL_NAME},
        "language_info": language_info,
    }


class KernelMetadata(NbGraderPreprocessor):
    """Give the notebook the kernel metadata JupyterLab would write (see the module)."""

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        nb.metadata.update(python_kernel_metadata())
        return nb, resources

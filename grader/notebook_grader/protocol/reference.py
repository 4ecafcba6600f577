"""The grader's side of a test cell: what each check expects, from the reference solution.

The reference solution is the instructor's source notebook: its setup cell and its solution
cells, executed in the grading process (never in a student's kernel). A test cell's code is then
run against that namespace in *collecting* mode (see :mod:`notebook_grader.protocol.collect`),
which turns every check into a :class:`~notebook_grader.protocol.collect.CheckSpec` holding the
expected value.
"""

from __future__ import annotations

import copy
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from notebook_grader.protocol.cells import (
    hidden_line_ranges,
    is_reference_cell,
    is_test_cell,
    nbgrader_metadata,
    strip_solution_markers,
)
from notebook_grader.protocol.collect import CheckSpec, collecting


@dataclass(frozen=True)
class ExpectedCheck:
    """A check of a test cell with everything the grader needs to judge a student's value."""

    spec: CheckSpec
    visible: bool


class Reference:
    """The reference solution of one source notebook, and the checks of its test cells."""

    def __init__(self, notebook_path: str | os.PathLike[str]) -> None:
        self.path = Path(notebook_path)
        nb = nbformat.read(self.path, as_version=4)
        self._namespace: dict[str, Any] = {"__name__": "__reference__"}
        for cell in nb.cells:
            if is_reference_cell(cell):
                code = compile(strip_solution_markers(cell.source), f"<reference:{self.path}>", "exec")
                exec(code, self._namespace)
        self.test_sources = {
            nbgrader_metadata(cell)["grade_id"]: cell.source for cell in nb.cells if is_test_cell(cell)
        }
        self._cache: dict[str, list[ExpectedCheck]] = {}
        self._lock = threading.Lock()

    def expected_checks(self, grade_id: str, source: str) -> list[ExpectedCheck]:
        """The checks of a test cell, given the test code that ran (the gradebook's copy).

        The result is cached by the code's hash: a class of submissions pays for it once.
        """
        key = hashlib.sha256(f"{grade_id}\0{source}".encode()).hexdigest()
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._collect(grade_id, source)
            return self._cache[key]

    def _collect(self, grade_id: str, source: str) -> list[ExpectedCheck]:
        filename = f"<test:{grade_id}>"
        namespace = copy.copy(self._namespace)
        with collecting(filename) as specs:
            exec(compile(source, filename, "exec"), namespace)
        hidden = hidden_line_ranges(source)
        return [
            ExpectedCheck(spec, visible=not any(a <= spec.lineno <= b for a, b in hidden))
            for spec in specs
        ]


_REFERENCES: dict[str, Reference] = {}
_REFERENCES_LOCK = threading.Lock()


def load_reference(notebook_path: str | os.PathLike[str]) -> Reference:
    """The :class:`Reference` of a source notebook, cached by the notebook's contents.

    By contents, not path: a worker warms its cache from the course's source folder
    (:mod:`notebook_grader.run.warm_up`) and its tasks read the template's copy, the same bytes;
    an edited notebook is a new entry.
    """
    path = Path(notebook_path).resolve()
    key = hashlib.sha256(path.read_bytes()).hexdigest()
    with _REFERENCES_LOCK:
        if key not in _REFERENCES:
            _REFERENCES[key] = Reference(path)
        return _REFERENCES[key]

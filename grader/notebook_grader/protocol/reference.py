"""The grader's side of a test cell: what each check expects, from the reference solution.

The reference solution is the instructor's source notebook: its setup cell and its solution
cells, executed in the grading process (never in a student's kernel). A test cell's code is then
run against that namespace in *collecting* mode (see :mod:`notebook_grader.protocol.collect`),
which turns every check into a :class:`~notebook_grader.protocol.collect.CheckSpec` holding the
expected value.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import os
import threading
from collections import OrderedDict
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


#: How many (test cell, seed) collections of drawn checks a reference keeps (a regrade finds them).
DRAWN_REMEMBERED = 256


class Reference:
    """The reference solution of one source notebook, and the checks of its test cells."""

    def __init__(self, notebook_path: str | os.PathLike[str],
                 saved: dict[str, list[ExpectedCheck]] | None = None) -> None:
        """``saved``: checks computed before (:mod:`notebook_grader.protocol.saved_reference`), by
        :func:`check_key`; the reference solution runs only if a test cell's code is not among them."""
        self.path = Path(notebook_path)
        self._cells = nbformat.read(self.path, as_version=4).cells
        self._namespace: dict[str, Any] | None = None
        self.test_sources = {
            nbgrader_metadata(cell)["grade_id"]: cell.source for cell in self._cells if is_test_cell(cell)
        }
        self._cache: dict[str, list[ExpectedCheck]] = dict(saved or {})
        self._drawn: OrderedDict[tuple[str, int], list[ExpectedCheck]] = OrderedDict()
        self._lock = threading.Lock()

    def expected_checks(self, grade_id: str, source: str, draw_seed: int | None = None) -> list[ExpectedCheck]:
        """The checks of a test cell, given the test code that ran (the gradebook's copy) and
        the seed of its draws (None: the default seed, as in a kernel no grader seeded).

        The checks at the default seed are cached by the code's hash: a class of submissions pays
        for them once. Drawn checks (stated after ``Checks.draws()``) are computed again for
        each other seed, and only they: the others are taken from the cached checks.
        """
        key = check_key(grade_id, source)
        with self._lock:
            if key not in self._cache:
                self._cache[key] = self._collect(grade_id, source)
            checks = self._cache[key]
            if draw_seed is None or not any(check.spec.drawn for check in checks):
                return checks
            drawn = self._drawn.get((key, draw_seed))
            if drawn is None:
                drawn = self._collect(grade_id, source, draw_seed, tuple(check.spec for check in checks))
                self._drawn[(key, draw_seed)] = drawn
                if len(self._drawn) > DRAWN_REMEMBERED:
                    self._drawn.popitem(last=False)
            return drawn

    def computed(self) -> dict[str, list[ExpectedCheck]]:
        """Every test cell's checks computed so far, by :func:`check_key` (what a saved reference holds)."""
        with self._lock:
            return dict(self._cache)

    def _reference_namespace(self) -> dict[str, Any]:
        """The reference solution's namespace: its setup and solution cells, run on first need."""
        if self._namespace is None:
            namespace: dict[str, Any] = {"__name__": "__reference__"}
            for cell in self._cells:
                if is_reference_cell(cell):
                    code = compile(strip_solution_markers(cell.source), f"<reference:{self.path}>", "exec")
                    exec(code, namespace)
            self._namespace = namespace
        return self._namespace

    def _collect(self, grade_id: str, source: str, draw_seed: int | None = None,
                 reuse: tuple[CheckSpec, ...] = ()) -> list[ExpectedCheck]:
        filename = f"<test:{grade_id}>"
        namespace = copy.copy(self._reference_namespace())
        with collecting(filename, draw_seed, reuse) as specs:
            exec(_compiled(source, filename), namespace)
        hidden = hidden_line_ranges(source)
        return [
            ExpectedCheck(spec, visible=not any(a <= spec.lineno <= b for a, b in hidden))
            for spec in specs
        ]


@functools.lru_cache(maxsize=512)
def _compiled(source: str, filename: str) -> Any:
    """A test cell's code, compiled once per worker: its drawn checks run again for every
    submission's seed (about half of their cost was compiling the same code again)."""
    return compile(source, filename, "exec")


def notebook_key(contents: bytes) -> str:
    """What a source notebook's reference is known by: its bytes' hash (a copy elsewhere shares it)."""
    return hashlib.sha256(contents).hexdigest()


def check_key(grade_id: str, source: str) -> str:
    """What a test cell's checks are known by: its id and the exact code that ran."""
    return hashlib.sha256(f"{grade_id}\0{source}".encode()).hexdigest()


_REFERENCES: dict[str, Reference] = {}
_SAVED: dict[str, dict[str, list[ExpectedCheck]]] = {}
_REFERENCES_LOCK = threading.Lock()


def add_saved(key: str, checks: dict[str, list[ExpectedCheck]]) -> None:
    """Make ``checks``, saved for the source notebook whose :func:`notebook_key` is ``key``, known
    to :func:`load_reference` (a reference already loaded keeps what it has)."""
    with _REFERENCES_LOCK:
        _SAVED[key] = checks


def load_reference(notebook_path: str | os.PathLike[str]) -> Reference:
    """The :class:`Reference` of a source notebook, cached by the notebook's contents.

    By contents, not path: a worker warms its cache from the course's source folder
    (:mod:`notebook_grader.run.warm_up`) and its tasks read the template's copy, the same bytes;
    an edited notebook is a new entry. Checks saved for those bytes (:func:`add_saved`) are
    used as they are.
    """
    path = Path(notebook_path).resolve()
    key = notebook_key(path.read_bytes())
    with _REFERENCES_LOCK:
        if key not in _REFERENCES:
            _REFERENCES[key] = Reference(path, saved=_SAVED.get(key))
        return _REFERENCES[key]

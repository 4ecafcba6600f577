"""Collecting a test cell's checks in the grading process: what each one expects.

The kernel half of the protocol (:mod:`cell_checks`) evaluates a check's thunk and reports the
value. This is the other half, which only the grading process runs: it executes the same test
code against the reference solution with a :data:`cell_checks.reviewer` installed, so every
check is handed here instead of being evaluated, and turns each into a :class:`CheckSpec`
holding the value it expects, computed from the reference solution:

* ``expected`` omitted (:data:`cell_checks.REFERENCE`): the reference's value of the thunk;
* ``expected`` callable: its value, computed with the reference's functions;
* ``expected`` a literal: the literal, which the reference must itself satisfy.

It lives in the engine, not in ``cell_checks``, because a student's kernel has no use for it:
the package a kernel imports keeps only what runs there.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import cell_checks
from cell_checks import (
    DEFAULT_DRAW_SEED,
    REFERENCE,
    CheckCall,
    Comparison,
    compare,
    decode_value,
    encode_value,
    evaluate,
)


@dataclass
class CheckSpec:
    """One check as the reference run sees it: what the grader compares a student's value with."""

    function: str
    index: int
    what: str
    cmp: Comparison
    expected: dict[str, Any]  # an encoded value (see :func:`cell_checks.encode_value`)
    hint: str
    lineno: int  # line of the test code that stated the check (0 if not stated in that code)
    #: Known wrong answers the feedback names: (description, encoded value), from the reference.
    likely: tuple[tuple[str, dict[str, Any]], ...] = ()
    #: Stated after ``Checks.draws()``: what it expects depends on the seed it was collected with.
    drawn: bool = False


@dataclass
class _Collector:
    """The reviewer installed while one test cell's code runs: it records each check's spec."""

    filename: str
    #: The seed ``Checks.draws()`` uses while this collector is installed (None: the default).
    draw_seed: int | None = None
    #: The cell's specs collected before: a check that is not drawn takes its spec from here.
    reuse: tuple[CheckSpec, ...] = ()
    specs: list[CheckSpec] = field(default_factory=list)

    def __call__(self, call: CheckCall) -> None:
        """Evaluate the check against the reference; refuse a reference that fails its own check."""
        position = len(self.specs)
        if not call.drawn and position < len(self.reuse):
            before = self.reuse[position]
            if (before.function, before.index, before.what) == (call.function, call.index, call.what):
                self.specs.append(before)  # its inputs do not depend on the seed: nothing to compute
                return
        reference = evaluate(call.compute)
        if call.expected is REFERENCE:
            target = reference
        elif callable(call.expected):
            target = evaluate(call.expected)
        else:
            target = encode_value(call.expected)
        if "error" in target:
            raise RuntimeError(f"reference for {call.function}: {call.what}: {target['error']}")
        if "error" in reference or not compare(call.comparison, decode_value(reference), decode_value(target)):
            raise RuntimeError(f"the reference solution fails its own check {call.function}: {call.what}")
        lineno = _line_in(self.filename)
        likely = []
        for label, wrong in call.likely:
            value = evaluate(wrong) if callable(wrong) else encode_value(wrong)
            if "error" in value:
                raise RuntimeError(f"known wrong answer for {call.function}: {call.what}: {value['error']}")
            likely.append((label, value))
        self.specs.append(
            CheckSpec(call.function, call.index, call.what, call.comparison, target, call.hint, lineno,
                      tuple(likely), call.drawn)
        )


def _line_in(filename: str) -> int:
    """The line of the test code (compiled as ``filename``) whose statement is being checked.

    The reviewer is called from inside that statement, however deep (a check stated through a
    helper function still belongs to the test line that called the helper): the innermost frame
    of the test code on the stack is it. 0 if the test code is not on the stack.
    """
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename != filename:
        frame = frame.f_back
    return frame.f_lineno if frame is not None else 0


#: The reviewer is one module attribute of ``cell_checks``: threads that collect take turns.
_REVIEWING = threading.RLock()


@contextlib.contextmanager
def collecting(filename: str, draw_seed: int | None = None,
               reuse: tuple[CheckSpec, ...] = ()) -> Iterator[list[CheckSpec]]:
    """Run test code in reference mode: every check is evaluated against the reference and recorded.

    ``filename`` is the name the test code was compiled with, so each check knows the line it
    was stated on (which tells a visible check from a hidden one). ``draw_seed`` is the seed of
    the cell's draws (``Checks.draws()``; None: the default seed). ``reuse`` holds the specs of
    the same code collected before with another seed: a check that is not drawn takes its spec
    from there (its inputs cannot depend on the seed), so only the drawn checks are evaluated.
    A test cell must therefore not make a later check depend on what an earlier check's thunk
    did (the thunks of checks taken from ``reuse`` do not run); none of the course's does.
    Yields the list the specs are appended to; the previous :data:`cell_checks.reviewer` is
    restored on exit.
    """
    collector = _Collector(filename, DEFAULT_DRAW_SEED if draw_seed is None else draw_seed, tuple(reuse))
    with _REVIEWING:
        previous, cell_checks.reviewer = cell_checks.reviewer, collector
        try:
            yield collector.specs
        finally:
            cell_checks.reviewer = previous

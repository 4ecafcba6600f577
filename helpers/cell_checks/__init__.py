"""The protocol of the exercises' test cells: the kernel reports, the grader decides.

A test cell builds one :class:`Checks` per contract function and states each check as a
*thunk* (a ``lambda`` that calls the student's function) plus what it should equal::

    checks = Checks("bernoulli_score")
    checks.close("x = 1, p = 0.3", lambda: bernoulli_score(1, 0.3), expected=1 / 0.3)
    ### BEGIN HIDDEN TESTS
    checks.close("array input", lambda: bernoulli_score(np.array([0.0, 1.0]), np.array([0.2, 0.9])))
    ### END HIDDEN TESTS
    checks.done()

``expected`` may be

* a literal (visible checks): the student's kernel compares and prints ``PASS``/``FAIL`` with
  the expected and received values and a hint, so students check themselves;
* omitted: the expected value is *the reference solution's value of the same thunk*;
* a callable: evaluated with the reference solution's functions (for example the closed form a
  Monte Carlo estimate must approach).

A hidden check may also use inputs drawn for the submission being graded:
``rng = checks.draws()`` gives a NumPy generator, and the checks stated after that call are
*drawn*. While a notebook is graded, the grader picks the seed from the submission (see
:data:`DRAW_SEED_ENV`), so each submission, and each change to one, meets other inputs: a
function that only knows the answers at inputs seen before fails them.

The last two are never evaluated in the student's kernel: there the check only evaluates the
thunk and, when nbgrader is autograding, reports the value as a record. A cell's records go out
together, as one display output of MIME type :data:`RECORD_MIME` holding a JSON list, when the
cell calls ``done()`` (and early, should the checks run longer than :data:`REPORT_EVERY_SECONDS`,
so a cell that later times out still reports what it got through): each display costs the
kernel and the grader about a millisecond, and a notebook has about a hundred checks.

The grading process (``notebook_grader``) runs the same test code against the reference
solution, compares, and rewrites the cell's outputs. So the kernel never
holds a hidden expected value and never decides a grade: nothing it does can raise a score,
short of computing the right values.

This package is only the half of the protocol that runs in a student's kernel. The grader's
half (running the test code against the reference solution and recording what each check
expects) lives in the grading engine, which receives the checks through one public hook,
:data:`reviewer`: while it is set, :class:`Checks` hands each check to it as a
:class:`CheckCall` instead of evaluating it here.

The comparison and the wording of every message live here, shared by both sides, so a
student running a visible check sees exactly the message the grader writes into feedback.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import time
import warnings
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: MIME type of the records a test cell emits while nbgrader autogrades.
RECORD_MIME = "text/x-cell-check-records"

#: Environment variable nbgrader sets while it executes a notebook for autograding.
EXECUTION_ENV = "NBGRADER_EXECUTION"

#: A test cell whose checks run longer than this reports its records so far before going on.
REPORT_EVERY_SECONDS = 1.0

#: Environment variable the grader sets in a grading kernel: the seed of the submission's draws.
DRAW_SEED_ENV = "CELL_CHECKS_DRAW_SEED"

#: The seed of the draws wherever no grader chose one (an instructor running the source notebook).
DEFAULT_DRAW_SEED = 0


class _Reference:
    """Marker: the expected value is the reference solution's value of the same thunk."""

    def __repr__(self) -> str:
        return "REFERENCE"


REFERENCE = _Reference()


class CheckFailed(AssertionError):
    """Raised at the end of a test cell in which a visible check failed.

    ``details`` holds the FAIL lines of the cell's failed visible checks (already printed above
    the error in the notebook).
    """

    def __init__(self, message: str, details: list[str] | None = None, headline: str = "") -> None:
        super().__init__(message)
        self.details = list(details or [])
        self.headline = headline or message

    def _render_traceback_(self) -> list[str]:
        """What IPython shows for it: one line, not a traceback into the checking machinery.

        In a notebook the FAIL lines printed above it say what went wrong; frames of this module
        would only bury them. (Formatting those frames also cost a kernel about 20 ms per failed
        cell.) nbgrader's Validate (the button and ``nbgrader validate``) shows a failed cell's
        error but not what it printed, so while validating the error carries the FAIL lines
        too, wrapped to fit nbgrader's line width (it cuts longer lines).
        """
        if os.environ.get(EXECUTION_ENV) != "validate" or not self.details:
            return [f"{type(self).__name__}: {self}"]
        return [_wrapped(f"{type(self).__name__}: {self.headline}"), *(_wrapped(line) for line in self.details)]


#: nbgrader's validator indents lines by 4 and cuts them beyond 87 characters.
VALIDATE_WIDTH = 80


def _wrapped(text: str) -> str:
    """A FAIL line (which may hold a matrix over several lines) folded to :data:`VALIDATE_WIDTH`,
    continuation lines aligned under the text they continue."""
    import textwrap

    folded = []
    for line in text.split("\n"):
        if len(line) <= VALIDATE_WIDTH:
            folded.append(line)
            continue
        body = line.lstrip()
        indent = " " * (len(line) - len(body) + (4 if body.startswith("FAIL") else 10))
        folded.extend(textwrap.wrap(line, VALIDATE_WIDTH, subsequent_indent=indent, break_on_hyphens=False))
    return "\n".join(folded)


# --------------------------------------------------------------------------- values


def encode_value(value: Any) -> dict[str, Any]:
    """Turn what a student's function returned into a JSON-safe record.

    Numbers, booleans and (nested sequences of) them become ``{"shape", "data"}``; anything
    else (``None``, strings, complex or ragged values) becomes ``{"error": why}``.
    """
    if value is None:
        return {"error": "returned None (is a `return` statement missing?)"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        return {"error": f"returned a value NumPy cannot read as an array ({type(exc).__name__})"}
    if arr.dtype.kind == "c":
        return {"error": "returned complex numbers"}
    if arr.dtype.kind not in "biuf":
        return {"error": f"returned a {type(value).__name__}, not a number or an array of numbers"}
    data = [_encode_float(x) for x in arr.astype(float).ravel().tolist()]
    return {"shape": list(arr.shape), "data": data}


def _encode_float(x: float) -> float | str:
    return x if math.isfinite(x) else repr(x)  # "nan", "inf", "-inf": JSON has no such numbers


def decode_value(record: dict[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_value` for a record without an error."""
    data = [float(x) for x in record["data"]]
    return np.array(data, dtype=float).reshape(record["shape"])


# --------------------------------------------------------------------------- comparing


@dataclass(frozen=True)
class Comparison:
    """How one check compares a value with its expected value."""

    kind: str  # "close" | "near" | "parallel" | "warnings"
    rtol: float = 1e-7
    atol: float = 1e-12

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rtol": self.rtol, "atol": self.atol}


def compare(cmp: Comparison, value: np.ndarray, expected: np.ndarray) -> bool:
    """True when ``value`` is acceptable for ``expected`` under ``cmp``.

    * ``close``: same shape and ``|v - e| <= atol + rtol |e|`` everywhere (NaN never matches);
    * ``near``: a Monte Carlo estimate within ``rtol`` relative error of the expected value;
    * ``parallel``: a unit vector equal to ``expected`` up to sign (eigenvectors);
    * ``warnings``: a count of warnings, compared like ``close``.
    """
    if value.shape != expected.shape or not np.all(np.isfinite(value)):
        return False
    if cmp.kind in ("close", "warnings"):
        return bool(np.allclose(value, expected, rtol=cmp.rtol, atol=cmp.atol))
    if cmp.kind == "near":
        return bool(np.all(np.abs(value - expected) <= cmp.rtol * np.abs(expected) + cmp.atol))
    if cmp.kind == "parallel":
        unit = abs(float(np.linalg.norm(value)) - 1.0) <= cmp.atol
        same = np.allclose(value, expected, atol=cmp.atol) or np.allclose(
            value, -expected, atol=cmp.atol
        )
        return bool(unit and same)
    raise ValueError(f"unknown comparison {cmp.kind!r}")


def diagnose(value: np.ndarray, expected: np.ndarray, *, reveal: bool) -> str:
    """Name the likely mistake when ``value`` misses ``expected``.

    With ``reveal=False`` (hidden checks) the words give away no input or expected value.
    """
    if value.shape != expected.shape:
        if reveal:
            return f"returned shape {value.shape}, expected shape {expected.shape}"
        if value.ndim == 0 and expected.ndim > 0:
            return "returned a single number where an array was expected (array input?)"
        return "returned an array of the wrong shape"
    if not np.all(np.isfinite(value)):
        return "returned NaN or infinity (overflow, 0/0 or log(0)?)"
    if np.allclose(value, -expected, rtol=1e-6, atol=1e-12) and np.any(expected != 0):
        return "the sign is flipped"
    with np.errstate(all="ignore"):
        if np.all(expected != 0) and np.allclose(value, 1.0 / expected, rtol=1e-6):
            return "the reciprocal of the expected value (an inverse too many or too few?)"
        if value.ndim == 2 and value.shape[0] == value.shape[1] and np.allclose(
            value, expected.T, rtol=1e-6
        ):
            return "the transpose of the expected matrix"
        nz = expected != 0
        if np.any(nz) and np.all(value[~nz] == 0):
            ratios = value[nz] / expected[nz]
            r = float(ratios.ravel()[0])
            if np.allclose(ratios, r, rtol=1e-6) and r not in (0.0, 1.0):
                return f"off by a constant factor of {r:.4g}" if reveal else "off by a constant factor"
    return "the values differ"


def likely_mistake(value: np.ndarray, likely: Sequence[tuple[str, np.ndarray]]) -> str | None:
    """The label of the first known wrong answer ``value`` equals, if any (see ``Checks.close``)."""
    for label, wrong in likely:
        if wrong.shape == value.shape and np.allclose(value, wrong, rtol=1e-6, atol=1e-12):
            return label
    return None


def ratio_text(value: np.ndarray, expected: np.ndarray) -> str:
    """How far a Monte Carlo estimate is off, as a ratio: "about 2.00x the target".

    The ratio of the element farthest from its target; it reveals no input and no target.
    """
    with np.errstate(all="ignore"):
        ratios = (np.asarray(value, dtype=float) / np.asarray(expected, dtype=float)).ravel()
    if ratios.size == 0 or not np.all(np.isfinite(ratios)):
        return "not a finite multiple of the target"
    if np.all(ratios > 0):
        worst = float(ratios[np.argmax(np.abs(np.log(ratios)))])
    else:
        worst = float(ratios[np.argmax(np.abs(ratios - 1))])
    digits = ".3g" if abs(worst) < 0.01 or abs(worst) >= 100 else ".2f"
    return f"about {worst:{digits}}x the target"


def format_value(value: Any) -> str:
    """Compact, stable text for a value in a message (8 significant digits)."""
    arr = np.asarray(value, dtype=float)
    text = np.array2string(arr, precision=8, separator=", ", suppress_small=False)
    return text if arr.ndim else f"{float(arr):.8g}"


# --------------------------------------------------------------------------- messages


def pass_line(function: str, what: str) -> str:
    return f"PASS - {function}: {what}"


def fail_lines(
    function: str,
    what: str,
    *,
    visible: bool,
    expected: np.ndarray | None,
    received: dict[str, Any],
    hint: str,
    cmp: Comparison,
    likely: Sequence[tuple[str, np.ndarray]] = (),
) -> list[str]:
    """The feedback for one failed check; hidden checks name only function and property.

    ``likely`` pairs a known wrong answer's description with its value: a value equal to one is
    named by that description (for example "returned the step instead of the new parameters").
    """
    tag = "" if visible else " [hidden test]"
    lines = [f"FAIL - {function}: {what}{tag}"]
    if "error" in received:
        lines.append(f"    problem : {received['error']}")
    else:
        value = decode_value(received)
        if visible and expected is not None:
            lines.append(f"    expected: {format_value(expected)}")
            lines.append(f"    received: {format_value(value)}")
        if expected is not None:
            if cmp.kind == "parallel" and value.shape == expected.shape:
                if abs(float(np.linalg.norm(value)) - 1.0) > cmp.atol:
                    lines.append("    problem : the vector does not have unit length")
                else:
                    lines.append("    problem : not along the expected direction")
            elif cmp.kind == "near" and value.shape == expected.shape:
                lines.append(
                    f"    problem : the estimate is {ratio_text(value, expected)}"
                    f" (a valid estimator lands within {cmp.rtol:.1%} of it)"
                )
            elif cmp.kind == "warnings" and value.shape == ():
                count = round(float(value))
                lines.append(f"    problem : your function raised {count} warning(s)")
            elif (label := likely_mistake(value, likely)) is not None:
                lines.append(f"    problem : {label}")
            else:
                lines.append(f"    problem : {diagnose(value, expected, reveal=visible)}")
    if hint:
        lines.append(f"    hint    : {hint}")
    return lines


# --------------------------------------------------------------------------- the checks


@dataclass(frozen=True)
class CheckCall:
    """One check exactly as a test cell states it, before anything is evaluated.

    What :class:`Checks` hands to a :data:`reviewer`, synchronously, from inside the call that
    states the check (so the reviewer can find that statement on the call stack): ``compute``
    is the thunk that calls the function under test, ``expected`` is :data:`REFERENCE`, a
    callable or a literal (see the module's docstring).
    """

    function: str
    index: int
    what: str
    compute: Callable[[], Any]
    expected: Any
    comparison: Comparison
    hint: str
    #: Known wrong answers: (what the mistake is, its value: a literal, or a callable evaluated
    #: with the reference solution's functions like a hidden ``expected``).
    likely: tuple[tuple[str, Any], ...] = ()
    #: Stated after :meth:`Checks.draws`: its inputs may depend on the submission's seed.
    drawn: bool = False


#: The grading process's hook. ``None`` (always, in a student's kernel): checks evaluate their
#: thunks here, print PASS/FAIL for visible checks and report records. Set to a callable (the
#: grading engine does so while it runs test code against the reference solution, in a context
#: manager that restores the previous value): each check is handed to it as a :class:`CheckCall`
#: and nothing is evaluated, printed, reported or raised here. Setting it in a kernel only means
#: no records are reported, so every check of the cell fails. A reviewer may carry a
#: ``draw_seed`` attribute: the seed :meth:`Checks.draws` uses while it is set.
reviewer: Callable[[CheckCall], None] | None = None


def draw_seed() -> int:
    """The seed of this run's draws: the reviewer's, else the grader's (:data:`DRAW_SEED_ENV`), else the default."""
    seed = getattr(reviewer, "draw_seed", None)
    if seed is None:
        try:
            seed = int(os.environ.get(DRAW_SEED_ENV, DEFAULT_DRAW_SEED))
        except ValueError:
            seed = DEFAULT_DRAW_SEED
    return int(seed)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence prints, warnings and floating-point complaints of code under test."""
    sink = io.StringIO()
    with (
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        warnings.simplefilter("ignore")
        yield


def evaluate(compute: Callable[[], Any]) -> dict[str, Any]:
    """Call a thunk and encode its result, or the exception it raised, as a record."""
    try:
        with _quiet():
            value = compute()
        return encode_value(value)
    except NotImplementedError:
        return {"error": "not implemented yet (the function still raises NotImplementedError)"}
    except (Exception, SystemExit) as exc:
        message = str(exc).splitlines()[0][:200] if str(exc) else ""
        return {"error": f"raised {type(exc).__name__}" + (f": {message}" if message else "")}


class Checks:
    """The checks of one contract function, in one test cell."""

    def __init__(self, function: str) -> None:
        self.function = function
        self._count = 0
        self._failed: list[str] = []
        self._fail_lines: list[str] = []
        self._unreported: list[dict[str, Any]] = []
        self._reported_at = time.monotonic()
        self._drawn = False

    def draws(self) -> np.random.Generator:
        """A generator of inputs drawn for the submission being graded; the checks stated after
        this call are drawn checks (hidden ones: their expected value is the reference's).

        The generator depends on the seed (:func:`draw_seed`) and on the function's name, so the
        checks of two functions in one cell draw independently; two calls give the same draws.
        """
        self._drawn = True
        return np.random.default_rng([draw_seed(), zlib.crc32(self.function.encode())])

    # The three kinds of check -------------------------------------------------------

    def close(
        self,
        what: str,
        compute: Callable[[], Any],
        expected: Any = REFERENCE,
        *,
        rtol: float = 1e-7,
        atol: float = 1e-12,
        hint: str = "",
        likely: Mapping[str, Any] | None = None,
    ) -> None:
        """``compute()`` equals ``expected`` elementwise, with the same shape.

        ``likely`` maps the description of a known wrong answer to its value (a literal, or for a
        hidden check a callable evaluated with the reference's functions): a failed check whose
        value equals one says so instead of a generic diagnosis.
        """
        self._check(what, compute, expected, Comparison("close", rtol, atol), hint,
                    tuple((likely or {}).items()))

    def near(
        self,
        what: str,
        compute: Callable[[], Any],
        expected: Any,
        *,
        rel_tol: float,
        hint: str = "",
    ) -> None:
        """A Monte Carlo estimate lies within ``rel_tol`` relative error of ``expected``."""
        self._check(what, compute, expected, Comparison("near", rel_tol, 0.0), hint)

    def parallel(
        self,
        what: str,
        compute: Callable[[], Any],
        expected: Any = REFERENCE,
        *,
        atol: float = 1e-6,
        hint: str = "",
    ) -> None:
        """``compute()`` is a unit vector equal to ``expected`` up to its sign."""
        self._check(what, compute, expected, Comparison("parallel", 0.0, atol), hint)

    def no_warnings(self, what: str, compute: Callable[[], Any], *, hint: str = "") -> None:
        """``compute()`` raises no warning (see :func:`warnings_raised`); a failure says how many."""
        self._check(what, lambda: warnings_raised(compute), 0.0, Comparison("warnings", 0.0, 0.0), hint)

    def done(self) -> None:
        """End of the cell: report the records, and raise :class:`CheckFailed` if a visible check failed."""
        self._report()
        if self._failed:
            raise CheckFailed(
                f"{len(self._failed)} check(s) of {self.function} failed: "
                + "; ".join(self._failed)
                + ". Read the FAIL lines above.",
                details=self._fail_lines,
                headline=f"{len(self._failed)} check(s) of {self.function} failed:",
            )

    # Machinery ---------------------------------------------------------------------

    def _check(
        self, what: str, compute: Callable[[], Any], expected: Any, cmp: Comparison, hint: str,
        likely: tuple[tuple[str, Any], ...] = (),
    ) -> None:
        index, self._count = self._count, self._count + 1
        if reviewer is not None:  # the grading process: it decides what the check expects
            reviewer(CheckCall(self.function, index, what, compute, expected, cmp, hint, likely, self._drawn))
            return
        record = evaluate(compute)
        if os.environ.get(EXECUTION_ENV) == "autograde":
            self._unreported.append({"index": index, "function": self.function, "what": what, **record})
            if time.monotonic() - self._reported_at > REPORT_EVERY_SECONDS:
                self._report()
        if expected is REFERENCE or callable(expected):
            return  # a hidden check: only the grader knows what the value should be
        target = np.asarray(expected, dtype=float)
        ok = "error" not in record and compare(cmp, decode_value(record), target)
        if ok:
            print(pass_line(self.function, what))
        else:
            self._failed.append(what)
            known = [(label, np.asarray(v, dtype=float)) for label, v in likely if not callable(v)]
            lines = fail_lines(
                self.function, what, visible=True, expected=target, received=record,
                hint=hint, cmp=cmp, likely=known,
            )
            self._fail_lines.extend(lines)
            print("\n".join(lines))

    def _report(self) -> None:
        if self._unreported:
            _emit(self._unreported)
            self._unreported = []
        self._reported_at = time.monotonic()


def warnings_raised(compute: Callable[[], Any]) -> int:
    """How many warnings (Python or NumPy floating-point) ``compute()`` raises.

    For contracts that promise warning-free output; elsewhere harmless warnings are ignored.
    """
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        compute()
    return len(caught)


def _emit(records: list[dict[str, Any]]) -> None:
    from IPython.display import display

    display({RECORD_MIME: json.dumps(records)}, raw=True)

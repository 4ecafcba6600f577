"""Judge one executed test cell: the kernel's records against the reference's expectations.

Only the values a student's functions returned are taken from the kernel; which checks exist,
what they expect, and how values compare all come from the grader's own run of the test code.
"""

from __future__ import annotations

import builtins
import json
from dataclasses import dataclass, field
from typing import Any

from cell_checks import (
    RECORD_MIME,
    compare,
    decode_value,
    fail_lines,
    pass_line,
)
from notebook_grader.protocol.reference import ExpectedCheck


@dataclass
class CellVerdict:
    """The outcome of one test cell: all checks must pass for the cell's points."""

    function: str
    lines: list[str] = field(default_factory=list)
    passed: int = 0
    total: int = 0

    @property
    def ok(self) -> bool:
        return self.total > 0 and self.passed == self.total


def _valid_record(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    if not isinstance(record.get("index"), int) or not isinstance(record.get("what"), str):
        return False
    if "error" in record:
        return isinstance(record["error"], str)
    shape, data = record.get("shape"), record.get("data")
    if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0 for n in shape)):
        return False
    if not isinstance(data, list):
        return False
    size = 1
    for n in shape:
        size *= n
    if len(data) != size:
        return False
    try:
        decode_value(record)
    except (TypeError, ValueError):
        return False
    return True


def records_from_outputs(outputs: list[Any]) -> list[dict[str, Any]]:
    """The well-formed check records among a cell's outputs (malformed ones are ignored).

    An output holds a list of records (what :class:`~cell_checks.Checks` reports) or
    a single one.
    """
    records = []
    for output in outputs:
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        payload = output.get("data", {}).get(RECORD_MIME)
        if not isinstance(payload, str):
            continue
        try:
            reported = json.loads(payload)
        except ValueError:
            continue
        for record in reported if isinstance(reported, list) else [reported]:
            if _valid_record(record):
                records.append(record)
    return records


def _received(check: ExpectedCheck, records: list[dict[str, Any]]) -> dict[str, Any]:
    spec = check.spec
    matches = [
        r for r in records
        if r["index"] == spec.index and r["what"] == spec.what and r.get("function") == spec.function
    ]
    if not matches:
        return {"error": DID_NOT_RUN}
    payloads = {json.dumps({k: v for k, v in r.items() if k != "function"}, sort_keys=True)
                for r in matches}
    if len(payloads) > 1:
        return {"error": REPORTED_TWICE}
    return matches[0]


DID_NOT_RUN = "did not run (an earlier line of this cell failed, the cell timed out, or the kernel stopped)"
REPORTED_TWICE = "reported more than once with different values"
#: What a check reports when the function is the released stub (``cell_checks.evaluate``'s words).
NOT_IMPLEMENTED = "not implemented yet (the function still raises NotImplementedError)"
#: Errors shown as they are on a hidden check: the grader's own words, exactly.
_OWN_ERRORS = frozenset({DID_NOT_RUN, REPORTED_TWICE, NOT_IMPLEMENTED})


def hidden_error(error: Any) -> str:
    """A hidden check's error as the feedback may show it: nothing the student's code chose.

    The exception's message (and even its class name) comes from the student's code, which
    knows the hidden inputs; only the name of a built-in exception, or the grader's own words,
    are kept.
    """
    text = str(error)
    if text in _OWN_ERRORS:
        return text
    name = text.removeprefix("raised ").split(":", 1)[0].strip()
    builtin = getattr(builtins, name, None)
    if text.startswith("raised ") and isinstance(builtin, type) and issubclass(builtin, BaseException):
        return f"raised {name}"
    return "raised an exception"


def judge(checks: list[ExpectedCheck], outputs: list[Any]) -> CellVerdict:
    """Compare what the kernel reported in ``outputs`` with the expected ``checks``."""
    records = records_from_outputs(outputs)
    functions = sorted({check.spec.function for check in checks})
    verdict = CellVerdict(function=", ".join(functions), total=len(checks))
    for check in checks:
        spec = check.spec
        function = spec.function
        received = _received(check, records)
        expected = decode_value(spec.expected)
        ok = "error" not in received and compare(spec.cmp, decode_value(received), expected)
        if ok:
            verdict.passed += 1
            verdict.lines.append(pass_line(function, spec.what))
        else:
            if not check.visible and "error" in received:
                received = {**received, "error": hidden_error(received["error"])}
            verdict.lines.extend(
                fail_lines(
                    function, spec.what, visible=check.visible, expected=expected,
                    received=received, hint=spec.hint, cmp=spec.cmp,
                    likely=[(label, decode_value(value)) for label, value in spec.likely],
                )
            )
    return verdict

"""The test-cell protocol: values travel from the kernel, verdicts are made by the grader."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import cell_checks as grading
from cell_checks import (
    RECORD_MIME,
    REFERENCE,
    CheckCall,
    CheckFailed,
    Checks,
    Comparison,
    compare,
    decode_value,
    diagnose,
    encode_value,
    evaluate,
    warnings_raised,
)
from notebook_grader.protocol.collect import collecting
from notebook_grader.protocol.verdict import records_from_outputs

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("value", [3.5, np.float64(-2.0), 7, True, [1.0, 2.0], np.arange(6.0).reshape(2, 3),
                                   np.array([np.nan, np.inf, -np.inf])])
def test_values_round_trip(value) -> None:
    record = json.loads(json.dumps(encode_value(value)))
    np.testing.assert_array_equal(decode_value(record), np.asarray(value, dtype=float))


@pytest.mark.parametrize(("value", "why"), [(None, "None"), ("text", "str"), (1j, "complex"),
                                            ([[1.0], [1.0, 2.0]], "NumPy")])
def test_unreadable_values_are_errors(value, why: str) -> None:
    assert why in encode_value(value)["error"]


def test_evaluate_reports_exceptions_and_silences_output(capsys: pytest.CaptureFixture[str]) -> None:
    def noisy() -> float:
        print("student print")
        np.log(0.0)  # a harmless RuntimeWarning
        return 1.0

    assert decode_value(evaluate(noisy)) == 1.0
    assert capsys.readouterr() == ("", "")

    def stub() -> float:
        raise NotImplementedError()

    assert "not implemented yet" in evaluate(stub)["error"]
    assert evaluate(lambda: 1 / 0)["error"].startswith("raised ZeroDivisionError")


def test_compare_close_needs_same_shape_and_finite_values() -> None:
    close = Comparison("close", rtol=1e-7, atol=1e-12)
    assert compare(close, np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    assert not compare(close, np.array(1.0), np.array([1.0, 1.0]))
    assert not compare(close, np.array([np.nan]), np.array([np.nan]))
    assert not compare(close, np.array([1.0, 2.1]), np.array([1.0, 2.0]))


def test_compare_near_uses_relative_tolerance() -> None:
    near = Comparison("near", rtol=0.06, atol=0.0)
    assert compare(near, np.array(10.5), np.array(10.0))
    assert not compare(near, np.array(10.7), np.array(10.0))


def test_compare_parallel_accepts_either_sign_of_a_unit_vector() -> None:
    parallel = Comparison("parallel", atol=1e-6)
    v = np.array([0.6, 0.8])
    assert compare(parallel, v, v) and compare(parallel, -v, v)
    assert not compare(parallel, 2 * v, v)  # not unit length
    assert not compare(parallel, np.array([0.8, -0.6]), v)  # orthogonal


@pytest.mark.parametrize(
    ("value", "expected", "phrase"),
    [
        (np.array(-2.0), np.array(2.0), "sign"),
        (np.array(0.5), np.array(2.0), "reciprocal"),
        (np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([[1.0, 3.0], [2.0, 4.0]]), "transpose"),
        (np.array([3.0, 6.0]), np.array([1.0, 2.0]), "factor of 3"),
        (np.array(1.0), np.array([1.0, 2.0]), "shape"),
        (np.array([np.nan]), np.array([1.0]), "NaN"),
    ],
)
def test_diagnose_names_the_likely_mistake(value, expected, phrase: str) -> None:
    assert phrase in diagnose(value, expected, reveal=True)


def test_diagnose_reveals_nothing_for_hidden_checks() -> None:
    text = diagnose(np.array([3.0, 6.0]), np.array([1.0, 2.0]), reveal=False)
    assert "3" not in text and "constant factor" in text
    assert "(2,)" not in diagnose(np.array(1.0), np.array([1.0, 2.0]), reveal=False)


def test_visible_checks_print_pass_and_fail_with_values_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    checks = Checks("f")
    checks.close("good", lambda: 2.0, expected=2.0)
    checks.close("bad", lambda: -2.0, expected=2.0, hint="mind the sign")
    out = capsys.readouterr().out
    assert "PASS - f: good" in out
    assert "FAIL - f: bad" in out and "expected: 2" in out and "received: -2" in out
    assert "the sign is flipped" in out and "hint    : mind the sign" in out
    with pytest.raises(CheckFailed, match="1 check"):
        checks.done()


def test_hidden_checks_print_nothing_and_never_fail_in_the_kernel(capsys: pytest.CaptureFixture[str]) -> None:
    checks = Checks("f")
    checks.close("hidden", lambda: 123.0)
    checks.done()
    assert capsys.readouterr().out == ""


def test_records_are_emitted_only_while_autograding(monkeypatch: pytest.MonkeyPatch) -> None:
    emitted: list[list[dict]] = []
    monkeypatch.setattr(grading, "_emit", emitted.append)
    monkeypatch.delenv(grading.EXECUTION_ENV, raising=False)
    checks = Checks("f")
    checks.close("hidden", lambda: 1.0)
    checks.done()
    assert emitted == []
    monkeypatch.setenv(grading.EXECUTION_ENV, "autograde")
    checks = Checks("f")
    checks.close("hidden", lambda: 1.0)
    checks.close("visible", lambda: 3.0, expected=2.0)
    assert emitted == []  # a cell's records go out together, at done()
    with pytest.raises(CheckFailed):
        checks.done()
    assert emitted == [[{"index": 0, "function": "f", "what": "hidden", "shape": [], "data": [1.0]},
                        {"index": 1, "function": "f", "what": "visible", "shape": [], "data": [3.0]}]]


def test_slow_checks_report_before_the_cell_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell that times out after a slow check still has the records of the checks before it."""
    emitted: list[list[dict]] = []
    monkeypatch.setattr(grading, "_emit", emitted.append)
    monkeypatch.setenv(grading.EXECUTION_ENV, "autograde")
    monkeypatch.setattr(grading, "REPORT_EVERY_SECONDS", 0.05)
    checks = Checks("f")
    checks.close("fast", lambda: 1.0)
    checks.close("slow", lambda: time.sleep(0.1) or 2.0)
    assert [[r["what"] for r in batch] for batch in emitted] == [["fast", "slow"]]
    checks.close("after", lambda: 3.0)
    checks.done()
    assert [[r["what"] for r in batch] for batch in emitted] == [["fast", "slow"], ["after"]]


def test_records_are_judged_whether_reported_together_or_one_by_one() -> None:
    records = [{"index": 0, "function": "f", "what": "a", "shape": [], "data": [1.0]},
               {"index": 1, "function": "f", "what": "b", "shape": [], "data": [2.0]}]
    together = [{"output_type": "display_data", "data": {RECORD_MIME: json.dumps(records)}}]
    one_by_one = [{"output_type": "display_data", "data": {RECORD_MIME: json.dumps(r)}} for r in records]
    malformed = [{"output_type": "display_data", "data": {RECORD_MIME: json.dumps([*records, {"index": "x"}, 7])}}]
    assert records_from_outputs(together) == records_from_outputs(one_by_one) == records
    assert records_from_outputs(malformed) == records


def test_emit_uses_the_record_mime_type(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    grading._emit([{"index": 0}])
    assert shown == [({RECORD_MIME: '[{"index": 0}]'}, True)]


def test_collecting_uses_the_reference_and_refuses_a_wrong_literal() -> None:
    code = "checks = Checks('f')\nchecks.close('a', lambda: f(2.0), expected=4.0)\nchecks.close('b', lambda: f(3.0))\n"
    namespace = {"Checks": Checks, "f": lambda x: x * x}
    with collecting("<t>") as specs:
        exec(compile(code, "<t>", "exec"), namespace)
    assert [(s.what, decode_value(s.expected).item(), s.lineno) for s in specs] == [("a", 4.0, 2), ("b", 9.0, 3)]
    namespace["f"] = lambda x: x + x  # a reference that contradicts its own visible literal at x = 3
    with pytest.raises(RuntimeError, match="fails its own check"), collecting("<t>"):
        exec(compile(code.replace("2.0", "3.0"), "<t>", "exec"), namespace)


def test_a_reviewer_receives_each_check_and_the_kernel_evaluates_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the hook set, a check is handed over as stated: no thunk runs, nothing prints or raises."""
    calls: list[CheckCall] = []
    emitted: list = []
    monkeypatch.setattr(grading, "reviewer", calls.append)
    monkeypatch.setattr(grading, "_emit", emitted.append)
    monkeypatch.setenv(grading.EXECUTION_ENV, "autograde")
    ran: list[str] = []

    def thunk() -> float:
        ran.append("thunk")
        return -1.0

    code = ("checks = Checks('f')\n"
            "checks.close('visible', thunk, expected=1.0, hint='h')\n"
            "checks.near('estimate', thunk, expected=lambda: 2.0, rel_tol=0.1)\n"
            "checks.parallel('hidden', thunk)\n"
            "checks.done()\n")
    exec(compile(code, "<cell>", "exec"), {"Checks": Checks, "thunk": thunk})
    assert ran == [] and emitted == [] and capsys.readouterr() == ("", "")
    assert [(c.function, c.index, c.what, c.comparison.kind, c.hint) for c in calls] == [
        ("f", 0, "visible", "close", "h"),
        ("f", 1, "estimate", "near", ""),
        ("f", 2, "hidden", "parallel", ""),
    ]
    assert calls[0].expected == 1.0 and calls[1].expected() == 2.0 and calls[2].expected is REFERENCE
    assert all(c.compute is thunk for c in calls)


def test_each_check_is_recorded_at_the_test_line_that_stated_it() -> None:
    """The line decides visible or hidden: a check stated through a helper function (defined in
    another cell) belongs to the test line that called the helper, not to the helper's line."""
    setup: dict = {"Checks": Checks}
    exec(compile("def state(checks):\n    checks.close('via helper', lambda: 1.0)\n", "<setup>", "exec"), setup)
    code = "checks = Checks('f')\nchecks.close('direct', lambda: 1.0)\nstate(checks)\n"
    with collecting("<test>") as specs:
        exec(compile(code, "<test>", "exec"), {"Checks": Checks, "state": setup["state"]})
    assert [(spec.what, spec.lineno) for spec in specs] == [("direct", 2), ("via helper", 3)]


def test_collecting_installs_the_reviewer_and_always_restores_the_previous_one() -> None:
    assert grading.reviewer is None
    with collecting("<t>"):
        assert grading.reviewer is not None
    assert grading.reviewer is None
    with pytest.raises(RuntimeError, match="fails its own check"), collecting("<t>"):
        exec("Checks('f').close('a', lambda: 1.0, expected=2.0)", {"Checks": Checks})
    assert grading.reviewer is None


def test_the_kernel_package_holds_no_grader_code() -> None:
    """Collecting expected values is the grading process's business: it is not in cell_checks."""
    for name in ("CheckSpec", "collecting", "_COLLECTOR", "_Collector"):
        assert not hasattr(grading, name), name
    assert not hasattr(Checks, "_collect")


def test_warnings_raised_counts_through_the_quiet_evaluation() -> None:
    assert decode_value(evaluate(lambda: warnings_raised(lambda: np.exp(np.array([800.0]))))) == 1.0
    assert decode_value(evaluate(lambda: warnings_raised(lambda: np.exp(np.array([1.0]))))) == 0.0

"""The notebooks' self-checks must say FAIL whenever the value is wrong."""

from __future__ import annotations

import numpy as np
import pytest

from fisher_helpers import check_close, check_true

pytestmark = pytest.mark.unit


def test_check_close_passes_equal_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_close("same", 0.1 + 0.2, 0.3) is True
    assert capsys.readouterr().out == "PASS - same\n"


@pytest.mark.parametrize(
    ("value", "target", "tol"),
    [
        (1.0, 1.0 + 1e-6, 1e-8),  # outside tolerance
        (-2.0, 2.0, 1e-8),  # sign error
        (np.nan, np.nan, 1e-8),  # NaN never matches
        (np.inf, 1.0, 1e-8),
        (np.array([1.0, 2.0]), np.array([1.0, 2.5]), 1e-8),  # one element off
        (1.0, np.array([1.0, 1.0]), 1e-8),  # a scalar does not stand for an array
        (np.ones((2, 2)), np.ones(4), 1e-8),  # same numbers, wrong shape
        ("a string", 1.0, 1e-8),
        (None, 1.0, 1e-8),
    ],
)
def test_check_close_fails_wrong_values(value, target, tol, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_close("wrong", value, target, tol) is False
    out = capsys.readouterr().out
    assert out.startswith("FAIL - wrong\n")
    assert "value :" in out and "target:" in out


def test_check_close_tolerance_is_relative_and_absolute() -> None:
    assert check_close("relative", 1e6 + 1e-3, 1e6, tol=1e-8)
    assert not check_close("too far", 1e6 + 1.0, 1e6, tol=1e-8)
    assert check_close("absolute", 1e-10, 0.0, tol=1e-8)


def test_check_true(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_true("yes", np.bool_(True)) is True
    assert check_true("no", 1 > 2) is False
    assert capsys.readouterr().out == "PASS - yes\nFAIL - no\n"


def test_check_true_refuses_ambiguous_arrays() -> None:
    with pytest.raises(ValueError):
        check_true("ambiguous", np.array([True, False]))

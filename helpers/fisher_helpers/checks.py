"""Self-checks printed in the notebooks: ``check_close`` and ``check_true``.

They keep the seeds' meaning (print ``PASS - name`` or ``FAIL - name`` and return a bool)
but are strict where the seeds' versions were lenient: a value whose shape differs from the
target's, or that is not finite where the target is, is a failure, not a broadcast match.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _as_array(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def check_close(name: str, value: Any, target: Any, tol: float = 1e-8) -> bool:
    """Print PASS/FAIL for ``value`` matching ``target`` within ``tol``; return the verdict.

    Equal means same shape and ``|value - target| <= tol + tol * |target|`` elementwise
    (``np.allclose`` with ``atol = rtol = tol``, as in the seeds). On failure the value and
    target are printed so the reader sees what differs.
    """
    try:
        v, t = _as_array(value), _as_array(target)
        ok = v.shape == t.shape and bool(np.allclose(v, t, atol=tol, rtol=tol))
    except (TypeError, ValueError):
        ok = False
    print(f"{'PASS' if ok else 'FAIL'} - {name}")
    if not ok:
        print("  value :", value)
        print("  target:", target)
    return ok


def check_true(name: str, condition: Any) -> bool:
    """Print PASS/FAIL for a condition and return it as a plain bool.

    An array condition must be a single truth value; ``np.all(...)`` states intent.
    """
    ok = bool(condition)
    print(f"{'PASS' if ok else 'FAIL'} - {name}")
    return ok


def header(title: str) -> None:
    """Print a section banner, as the seeds do before each experiment."""
    print("\n" + "=" * 78)
    print(title)
    print("=" * 78)

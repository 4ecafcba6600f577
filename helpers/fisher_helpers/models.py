"""Small model functions the theory notebook reuses across sections.

Each is elementwise over NumPy arrays, so a curve is one call rather than a loop.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike


def bernoulli_score(x: ArrayLike, p: ArrayLike) -> Any:
    """Score of Bern(p): d/dp log p(x; p) = x/p - (1 - x)/(1 - p)."""
    x, p = np.asarray(x, dtype=float), np.asarray(p, dtype=float)
    return x / p - (1 - x) / (1 - p)


def bernoulli_fisher(p: ArrayLike) -> Any:
    """Fisher information of Bern(p): 1 / (p (1 - p))."""
    p = np.asarray(p, dtype=float)
    return 1.0 / (p * (1 - p))


def bernoulli_kl(p: ArrayLike, q: ArrayLike) -> Any:
    """KL(Bern(p) || Bern(q)), with the convention 0 log 0 = 0."""
    from scipy.special import xlogy

    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    return xlogy(p, p) - xlogy(p, q) + xlogy(1 - p, 1 - p) - xlogy(1 - p, 1 - q)


def poisson_score(x: ArrayLike, lam: ArrayLike) -> Any:
    """Score of Poisson(lam): d/dlam log p(x; lam) = x/lam - 1."""
    return np.asarray(x, dtype=float) / np.asarray(lam, dtype=float) - 1.0


def poisson_fisher(lam: ArrayLike) -> Any:
    """Fisher information of Poisson(lam): 1 / lam."""
    return 1.0 / np.asarray(lam, dtype=float)


def sigmoid(z: ArrayLike) -> Any:
    """Logistic function 1 / (1 + exp(-z)), without overflow warnings for large |z|."""
    from scipy.special import expit

    return expit(z)

"""The mutation catalog of unit 2, ``fisher_estimation``: its contract and entries.

The contract (answer cells, contract functions, their parts, one correct implementation of
each) is what :mod:`tests.catalog.fisher_estimation.mistakes`, ``alternatives`` and ``attacks``
are written against; ``tests/test_catalog.py`` checks it against the source notebook.
"""

from __future__ import annotations

from tests.catalog import Contract

#: Answer cell of each exercise and the contract functions it defines, in notebook order.
EXERCISES: dict[str, tuple[str, ...]] = {
    "ex1_code": ("cramer_rao_bound", "shrinkage_mse"),
    "ex2_code": ("delta_method_variance", "mc_mle_variance"),
    "ex3_code": ("wald_interval", "jeffreys_interval"),
    "ex4_code": ("binomial_coverage", "cauchy_observed_information"),
    "ex5_code": ("gaussian_fisher_matrix", "efficient_information"),
    "ex6_code": ("categorical_natural_fisher", "categorical_mean_fisher"),
    "ex7_code": ("poisson_naive_covariance", "poisson_sandwich_covariance"),
    "ex8_code": ("bootstrap_variance",),
}

#: The autograded part (test cell grade id) of each contract function.
PARTS: dict[str, str] = {
    "cramer_rao_bound": "ex1a_cramer_rao_bound",
    "shrinkage_mse": "ex1b_shrinkage_mse",
    "delta_method_variance": "ex2a_delta_method_variance",
    "mc_mle_variance": "ex2b_mc_mle_variance",
    "wald_interval": "ex3a_wald_interval",
    "jeffreys_interval": "ex3b_jeffreys_interval",
    "binomial_coverage": "ex4a_binomial_coverage",
    "cauchy_observed_information": "ex4b_cauchy_observed_information",
    "gaussian_fisher_matrix": "ex5a_gaussian_fisher_matrix",
    "efficient_information": "ex5b_efficient_information",
    "categorical_natural_fisher": "ex6a_categorical_natural_fisher",
    "categorical_mean_fisher": "ex6b_categorical_mean_fisher",
    "poisson_naive_covariance": "ex7a_poisson_naive_covariance",
    "poisson_sandwich_covariance": "ex7b_poisson_sandwich_covariance",
    "bootstrap_variance": "ex8a_bootstrap_variance",
}

#: One correct implementation of every contract function, as a student would write it (the
#: reference solution's formulas). A mistake entry changes one function and keeps the others.
REFERENCE_CODE: dict[str, str] = {
    "cramer_rao_bound": '''
        def cramer_rao_bound(fisher, n=1):
            fisher = np.asarray(fisher, dtype=float)
            if fisher.ndim == 0:
                return 1.0 / (n * fisher)
            return np.linalg.inv(n * fisher)
    ''',
    "shrinkage_mse": '''
        def shrinkage_mse(c, theta, sigma2, n):
            return c**2 * sigma2 / n + (1 - c) ** 2 * theta**2
    ''',
    "delta_method_variance": '''
        def delta_method_variance(grad, fisher, n=1):
            grad = np.asarray(grad, dtype=float)
            fisher = np.asarray(fisher, dtype=float)
            if fisher.ndim == 0:
                return grad**2 / (n * fisher)
            return grad @ np.linalg.solve(n * fisher, grad)
    ''',
    "mc_mle_variance": '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.exponential(1 / lam, size=(reps, n))
            lam_hat = 1 / x.mean(axis=1)
            return np.var(np.sqrt(n) * (lam_hat - lam))
    ''',
    "wald_interval": '''
        def wald_interval(k, n, level=0.95):
            p_hat = np.asarray(k, dtype=float) / n
            z = stats.norm.ppf(0.5 + level / 2)
            half = z * np.sqrt(p_hat * (1 - p_hat) / n)
            return np.clip(p_hat - half, 0.0, 1.0), np.clip(p_hat + half, 0.0, 1.0)
    ''',
    "jeffreys_interval": '''
        def jeffreys_interval(k, n, level=0.95):
            k = np.asarray(k, dtype=float)
            alpha = 1 - level
            lower = np.where(k > 0, stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5), 0.0)
            upper = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5), 1.0)
            return lower, upper
    ''',
    "binomial_coverage": '''
        def binomial_coverage(lower, upper, p):
            lower = np.asarray(lower, dtype=float)
            upper = np.asarray(upper, dtype=float)
            p = np.asarray(p, dtype=float)[..., None]
            k = np.arange(len(lower))
            pmf = stats.binom.pmf(k, len(lower) - 1, p)
            return np.sum(pmf * ((lower <= p) & (p <= upper)), axis=-1)
    ''',
    "cauchy_observed_information": '''
        def cauchy_observed_information(x, theta):
            u = np.asarray(x, dtype=float) - theta
            return np.sum(2 * (1 - u**2) / (1 + u**2) ** 2)
    ''',
    "gaussian_fisher_matrix": '''
        def gaussian_fisher_matrix(sigma2, n=1):
            return n * np.array([[1 / sigma2, 0.0], [0.0, 1 / (2 * sigma2**2)]])
    ''',
    "efficient_information": '''
        def efficient_information(fisher, k=1):
            fisher = np.asarray(fisher, dtype=float)
            i_aa, i_ab, i_bb = fisher[:k, :k], fisher[:k, k:], fisher[k:, k:]
            return i_aa - i_ab @ np.linalg.solve(i_bb, i_ab.T)
    ''',
    "categorical_natural_fisher": '''
        def categorical_natural_fisher(eta):
            eta = np.asarray(eta, dtype=float)
            shift = max(0.0, float(np.max(eta)))
            weights = np.exp(eta - shift)
            p = weights / (np.exp(-shift) + np.sum(weights))
            return np.diag(p) - np.outer(p, p)
    ''',
    "categorical_mean_fisher": '''
        def categorical_mean_fisher(probs):
            probs = np.asarray(probs, dtype=float)
            return np.diag(1 / probs[:-1]) + 1 / probs[-1]
    ''',
    "poisson_naive_covariance": '''
        def poisson_naive_covariance(X, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            return np.linalg.inv((X.T * mu) @ X)
    ''',
    "poisson_sandwich_covariance": '''
        def poisson_sandwich_covariance(X, y, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            bread = np.linalg.inv((X.T * mu) @ X)
            meat = (X.T * (np.asarray(y, dtype=float) - mu) ** 2) @ X
            return bread @ meat @ bread
    ''',
    "bootstrap_variance": '''
        def bootstrap_variance(x, statistic, reps=2000, seed=0):
            x = np.asarray(x, dtype=float)
            rng = np.random.default_rng(seed)
            rows = rng.integers(0, len(x), size=(reps, len(x)))
            values = np.array([statistic(x[r]) for r in rows])
            return np.var(values, ddof=1)
    ''',
}

CONTRACT = Contract(
    assignment="fisher_estimation",
    package=__name__,
    exercises=EXERCISES,
    parts=PARTS,
    reference_code=REFERENCE_CODE,
)

mistake = CONTRACT.mistake
correct = CONTRACT.correct
attack = CONTRACT.attack

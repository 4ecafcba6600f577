"""Genuinely different correct implementations of unit 2: each entry answers every exercise its own way.

Each must get full autograded marks. The Monte Carlo answers follow the prescribed draws but
differ in everything else: vectorized or row by row, ``standard_exponential`` scaled by hand or
``rng.choice``, ``ddof`` 0 or 1, the variance as ``E[Z^2] - E[Z]^2``.
"""

from __future__ import annotations

from tests.catalog.fisher_estimation import correct
from tests.fixtures.samples_fisher_estimation import ALICE

ALTERNATIVES = [
    correct("c_sample_alice", "the shipped sample student alice: loops, betaincinv, softmax, comb, rng.choice, "
            "row-by-row draws, the inverse of the inverse's block, a harmless print and warning",
            {cell: src for cell, src in ALICE.items() if cell.endswith("_code")}),
    correct("c_scipy_and_closed_forms", "scipy.linalg, stats.norm.interval and stats.beta.interval, logsumexp, "
            "closed forms written out, standard_exponential scaled by hand, E[Z^2] - E[Z]^2", {
        "ex1_code": '''
            import scipy.linalg


            def cramer_rao_bound(fisher, n=1):
                if np.ndim(fisher) == 0:
                    return 1.0 / (float(n) * float(fisher))
                return scipy.linalg.inv(np.asarray(fisher, dtype=float) * n)


            def shrinkage_mse(c, theta, sigma2, n):
                return np.square(c) * sigma2 / n + np.square(1 - c) * np.square(theta)
        ''',
        "ex2_code": '''
            import scipy.linalg


            def delta_method_variance(grad, fisher, n=1):
                if np.ndim(fisher) == 0:
                    return grad * grad / (n * fisher)
                g = np.asarray(grad, dtype=float)
                return g @ scipy.linalg.solve(np.asarray(fisher, dtype=float), g, assume_a="pos") / n


            def mc_mle_variance(lam, n, reps=20000, seed=0):
                rng = np.random.default_rng(seed)
                x = rng.standard_exponential((reps, n)) / lam
                z = np.sqrt(n) * (n / x.sum(axis=1) - lam)
                return np.mean(z**2) - np.mean(z) ** 2
        ''',
        "ex3_code": '''
            def wald_interval(k, n, level=0.95):
                p_hat = np.asarray(k) / n
                z = stats.norm.interval(level)[1]
                se = np.sqrt(p_hat * (1 - p_hat) / n)
                return np.clip(p_hat - z * se, 0, 1), np.clip(p_hat + z * se, 0, 1)


            def jeffreys_interval(k, n, level=0.95):
                k = np.asarray(k, dtype=float)
                lower, upper = stats.beta.interval(level, k + 0.5, n - k + 0.5)
                return np.where(k == 0, 0.0, lower), np.where(k == n, 1.0, upper)
        ''',
        "ex4_code": '''
            def binomial_coverage(lower, upper, p):
                lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
                n = lower.size - 1
                grid = np.atleast_1d(np.asarray(p, dtype=float))
                pmf = stats.binom.pmf(np.arange(n + 1)[None, :], n, grid[:, None])
                inside = np.less_equal(lower[None, :], grid[:, None]) & np.less_equal(grid[:, None], upper[None, :])
                result = (pmf * inside).sum(axis=1)
                return result if np.ndim(p) else result[0]


            def cauchy_observed_information(x, theta):
                u2 = (np.asarray(x, dtype=float) - theta) ** 2
                return float(np.sum(4 / (1 + u2) ** 2 - 2 / (1 + u2)))
        ''',
        "ex5_code": '''
            def gaussian_fisher_matrix(sigma2, n=1):
                return n / sigma2 * np.diag([1.0, 1 / (2 * sigma2)])


            def efficient_information(fisher, k=1):
                F = np.asarray(fisher, dtype=float)
                return F[:k, :k] - F[:k, k:] @ np.linalg.inv(F[k:, k:]) @ F[k:, :k]
        ''',
        "ex6_code": '''
            from scipy.special import logsumexp


            def categorical_natural_fisher(eta):
                eta = np.asarray(eta, dtype=float)
                p = np.exp(eta - logsumexp(np.append(eta, 0.0)))
                return np.diag(p) - p[:, None] * p[None, :]


            def categorical_mean_fisher(probs):
                probs = list(probs)
                m = len(probs) - 1
                out = np.full((m, m), 1 / probs[-1])
                for j in range(m):
                    out[j, j] += 1 / probs[j]
                return out
        ''',
        "ex7_code": '''
            def poisson_naive_covariance(X, beta):
                X = np.asarray(X, dtype=float)
                mu = np.exp(X @ np.asarray(beta, dtype=float))
                return np.linalg.inv(np.einsum("i,ij,ik->jk", mu, X, X))


            def poisson_sandwich_covariance(X, y, beta):
                X = np.asarray(X, dtype=float)
                mu = np.exp(X @ np.asarray(beta, dtype=float))
                scores = (np.asarray(y, dtype=float) - mu)[:, None] * X
                bread = np.linalg.inv(X.T @ (mu[:, None] * X))
                return bread @ (scores.T @ scores) @ bread.T
        ''',
        "ex8_code": '''
            def bootstrap_variance(x, statistic, reps=2000, seed=0):
                x = np.asarray(x, dtype=float)
                n = len(x)
                rng = np.random.default_rng(seed)
                values = []
                for _ in range(reps):
                    values.append(statistic(x[rng.integers(0, n, size=n)]))
                values = np.array(values)
                return np.sum((values - values.mean()) ** 2) / (reps - 1)
        ''',
    }),
]

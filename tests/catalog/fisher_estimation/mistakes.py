"""Plausible mistakes of unit 2, each confined to one contract function (see :func:`catalog.mistake`).

Each must lose its own function's part and no other. Grouped by exercise; every contract
function has at least one, every exercise at least three, and the kinds named by the course's
standards are all here: wrong values for an allowed input type (lists, arrays, NumPy scalars), a
missed edge case, a Monte Carlo estimate of the wrong quantity, and one that does not follow the
prescribed draws.
"""

from __future__ import annotations

from tests.catalog.fisher_estimation import mistake

MISTAKES = [
    # ----------------------------------------------------------------- ex1: Cramér–Rao, shrinkage
    mistake("m_ex1_crb_elementwise_reciprocal", "cramer_rao_bound", '''
        def cramer_rao_bound(fisher, n=1):
            return 1 / (n * np.asarray(fisher, dtype=float))
    ''', "elementwise reciprocals of the Fisher matrix instead of its inverse"),
    mistake("m_ex1_crb_list_repeated", "cramer_rao_bound", '''
        def cramer_rao_bound(fisher, n=1):
            if np.ndim(fisher) == 0:
                return 1 / (n * fisher)
            return np.linalg.inv(n * fisher)
    ''', "a nested list times n repeats the list (allowed input type, not converted)"),
    mistake("m_ex1_crb_matrix_without_n", "cramer_rao_bound", '''
        def cramer_rao_bound(fisher, n=1):
            fisher = np.asarray(fisher, dtype=float)
            if fisher.ndim == 0:
                return 1 / (n * fisher)
            return np.linalg.inv(fisher)
    ''', "n forgotten in the matrix case (the visible matrix check has n = 1)"),
    mistake("m_ex1_mse_bias_not_squared", "shrinkage_mse", '''
        def shrinkage_mse(c, theta, sigma2, n):
            return c**2 * sigma2 / n + (1 - c) * theta
    ''', "the bias added, not its square"),
    mistake("m_ex1_mse_theta_not_squared", "shrinkage_mse", '''
        def shrinkage_mse(c, theta, sigma2, n):
            return c**2 * sigma2 / n + (1 - c) ** 2 * theta
    ''', "theta not squared in the squared bias (right at theta = 1, the visible case)"),
    mistake("m_ex1_mse_c_not_squared", "shrinkage_mse", '''
        def shrinkage_mse(c, theta, sigma2, n):
            return c * sigma2 / n + (1 - c) ** 2 * theta**2
    ''', "Var(c mean) taken as c sigma2 / n"),
    # ----------------------------------------------------------------- ex2: delta method, MLE variance
    mistake("m_ex2_delta_no_inverse", "delta_method_variance", '''
        def delta_method_variance(grad, fisher, n=1):
            grad = np.asarray(grad, dtype=float)
            fisher = np.asarray(fisher, dtype=float)
            if fisher.ndim == 0:
                return grad**2 * fisher / n
            return grad @ fisher @ grad / n
    ''', "multiplies by the Fisher information instead of its inverse"),
    mistake("m_ex2_delta_diagonal_only", "delta_method_variance", '''
        def delta_method_variance(grad, fisher, n=1):
            grad = np.asarray(grad, dtype=float)
            fisher = np.asarray(fisher, dtype=float)
            if fisher.ndim == 0:
                return grad**2 / (n * fisher)
            return np.sum(grad**2 / np.diag(fisher)) / n
    ''', "reciprocals of the diagonal instead of the inverse matrix (right for the visible diagonal case)"),
    mistake("m_ex2_delta_grad_not_squared", "delta_method_variance", '''
        def delta_method_variance(grad, fisher, n=1):
            grad = np.asarray(grad, dtype=float)
            fisher = np.asarray(fisher, dtype=float)
            if fisher.ndim == 0:
                return grad / (n * fisher)
            return grad @ np.linalg.solve(n * fisher, grad)
    ''', "the derivative not squared in the scalar case"),
    mistake("m_ex2_delta_lists_not_converted", "delta_method_variance", '''
        def delta_method_variance(grad, fisher, n=1):
            if np.ndim(fisher) == 0:
                return grad**2 / (n * fisher)
            return grad @ np.linalg.solve(n * fisher, grad)
    ''', "lists not converted: n * list repeats it (allowed input type)"),
    mistake("m_ex2_mc_rate_as_scale", "mc_mle_variance", '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.exponential(lam, size=(reps, n))
            return np.var(np.sqrt(n) * (1 / x.mean(axis=1) - lam))
    ''', "NumPy's exponential given the rate instead of the scale 1 / lam", tags=("mc-wrong-quantity",)),
    mistake("m_ex2_mc_mse_not_variance", "mc_mle_variance", '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.exponential(1 / lam, size=(reps, n))
            return np.mean(n * (1 / x.mean(axis=1) - lam) ** 2)
    ''', "mean square around the true lam (includes the squared bias), not the variance: "
         "within the six-standard-error band, caught by the prescribed draws"),
    mistake("m_ex2_mc_not_scaled_by_n", "mc_mle_variance", '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.exponential(1 / lam, size=(reps, n))
            return np.var(1 / x.mean(axis=1))
    ''', "variance of lam_hat, not of sqrt(n) (lam_hat - lam)", tags=("mc-wrong-quantity",)),
    mistake("m_ex2_mc_closed_form", "mc_mle_variance", '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            return n**3 * lam**2 / ((n - 1) ** 2 * (n - 2))
    ''', "the exact closed form returned instead of a Monte Carlo estimate"),
    mistake("m_ex2_mc_draws_transposed", "mc_mle_variance", '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.exponential(1 / lam, size=(n, reps))
            return np.var(np.sqrt(n) * (1 / x.mean(axis=0) - lam))
    ''', "draws of shape (n, reps): a valid estimator, but not the prescribed draws"),
    mistake("m_ex2_mc_std", "mc_mle_variance", '''
        def mc_mle_variance(lam, n, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.exponential(1 / lam, size=(reps, n))
            return np.std(np.sqrt(n) * (1 / x.mean(axis=1) - lam))
    ''', "standard deviation instead of variance", tags=("mc-wrong-quantity", "extended")),
    # ----------------------------------------------------------------- ex3: Wald and Jeffreys intervals
    mistake("m_ex3_wald_z_hardcoded", "wald_interval", '''
        def wald_interval(k, n, level=0.95):
            p_hat = np.asarray(k, dtype=float) / n
            half = 1.959963984540054 * np.sqrt(p_hat * (1 - p_hat) / n)
            return np.clip(p_hat - half, 0.0, 1.0), np.clip(p_hat + half, 0.0, 1.0)
    ''', "z = 1.96 hard-coded: the level is ignored (the visible checks use 0.95)"),
    mistake("m_ex3_wald_not_clipped", "wald_interval", '''
        def wald_interval(k, n, level=0.95):
            p_hat = np.asarray(k, dtype=float) / n
            half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(p_hat * (1 - p_hat) / n)
            return p_hat - half, p_hat + half
    ''', "the interval not clipped to [0, 1]"),
    mistake("m_ex3_wald_one_sided_z", "wald_interval", '''
        def wald_interval(k, n, level=0.95):
            p_hat = np.asarray(k, dtype=float) / n
            half = stats.norm.ppf(level) * np.sqrt(p_hat * (1 - p_hat) / n)
            return np.clip(p_hat - half, 0.0, 1.0), np.clip(p_hat + half, 0.0, 1.0)
    ''', "one-sided quantile z = Phi^-1(level)"),
    mistake("m_ex3_wald_pairs_last_axis", "wald_interval", '''
        def wald_interval(k, n, level=0.95):
            p_hat = np.asarray(k, dtype=float) / n
            half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(p_hat * (1 - p_hat) / n)
            return np.stack([np.clip(p_hat - half, 0, 1), np.clip(p_hat + half, 0, 1)], axis=-1)
    ''', "for an array k, pairs stacked along the last axis (shape (m, 2), not a pair of arrays)",
        tags=("extended",)),
    mistake("m_ex3_jeffreys_uniform_prior", "jeffreys_interval", '''
        def jeffreys_interval(k, n, level=0.95):
            k = np.asarray(k, dtype=float)
            alpha = 1 - level
            lower = np.where(k > 0, stats.beta.ppf(alpha / 2, k + 1, n - k + 1), 0.0)
            upper = np.where(k < n, stats.beta.ppf(1 - alpha / 2, k + 1, n - k + 1), 1.0)
            return lower, upper
    ''', "the uniform prior's posterior Beta(k + 1, n - k + 1)"),
    mistake("m_ex3_jeffreys_no_endpoint_rule", "jeffreys_interval", '''
        def jeffreys_interval(k, n, level=0.95):
            k = np.asarray(k, dtype=float)
            alpha = 1 - level
            return (stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5),
                    stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5))
    ''', "the edge cases missed: no lower end 0 at k = 0, no upper end 1 at k = n"),
    mistake("m_ex3_jeffreys_if_scalar", "jeffreys_interval", '''
        def jeffreys_interval(k, n, level=0.95):
            alpha = 1 - level
            lower = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k + 0.5, n - k + 0.5)
            upper = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 0.5, n - k + 0.5)
            return lower, upper
    ''', "the conventions with `if k == 0`: right for a number, raises for an array k"),
    mistake("m_ex3_jeffreys_tails_alpha", "jeffreys_interval", '''
        def jeffreys_interval(k, n, level=0.95):
            k = np.asarray(k, dtype=float)
            alpha = 1 - level
            lower = np.where(k > 0, stats.beta.ppf(alpha, k + 0.5, n - k + 0.5), 0.0)
            upper = np.where(k < n, stats.beta.ppf(1 - alpha, k + 0.5, n - k + 0.5), 1.0)
            return lower, upper
    ''', "tails alpha and 1 - alpha instead of alpha / 2 each", tags=("extended",)),
    # ----------------------------------------------------------------- ex4: coverage, observed information
    mistake("m_ex4_coverage_open_intervals", "binomial_coverage", '''
        def binomial_coverage(lower, upper, p):
            lower = np.asarray(lower, dtype=float)
            upper = np.asarray(upper, dtype=float)
            p = np.asarray(p, dtype=float)[..., None]
            k = np.arange(len(lower))
            pmf = stats.binom.pmf(k, len(lower) - 1, p)
            return np.sum(pmf * ((lower < p) & (p < upper)), axis=-1)
    ''', "open intervals: the edge case p on an interval's end is missed"),
    mistake("m_ex4_coverage_n_off_by_one", "binomial_coverage", '''
        def binomial_coverage(lower, upper, p):
            lower = np.asarray(lower, dtype=float)
            upper = np.asarray(upper, dtype=float)
            p = np.asarray(p, dtype=float)[..., None]
            k = np.arange(len(lower))
            pmf = stats.binom.pmf(k, len(lower), p)
            return np.sum(pmf * ((lower <= p) & (p <= upper)), axis=-1)
    ''', "n = len(lower) instead of len(lower) - 1"),
    mistake("m_ex4_coverage_unweighted", "binomial_coverage", '''
        def binomial_coverage(lower, upper, p):
            lower = np.asarray(lower, dtype=float)
            upper = np.asarray(upper, dtype=float)
            p = np.asarray(p, dtype=float)[..., None]
            return np.mean((lower <= p) & (p <= upper), axis=-1)
    ''', "the fraction of counts whose interval covers p, not weighted by their probabilities"),
    mistake("m_ex4_coverage_scalar_p_only", "binomial_coverage", '''
        def binomial_coverage(lower, upper, p):
            n = len(lower) - 1
            total = 0.0
            for k in range(n + 1):
                if lower[k] <= p <= upper[k]:
                    total += stats.binom.pmf(k, n, p)
            return total
    ''', "a Python `if` on p: right for a number, raises for an array of p"),
    mistake("m_ex4_observed_sign_flipped", "cauchy_observed_information", '''
        def cauchy_observed_information(x, theta):
            u = np.asarray(x, dtype=float) - theta
            return -np.sum(2 * (1 - u**2) / (1 + u**2) ** 2)
    ''', "the second derivative of the log-likelihood, not its negative"),
    mistake("m_ex4_observed_is_expected", "cauchy_observed_information", '''
        def cauchy_observed_information(x, theta):
            return len(x) / 2
    ''', "the expected information n / 2 instead of the observed"),
    mistake("m_ex4_observed_clipped", "cauchy_observed_information", '''
        def cauchy_observed_information(x, theta):
            u = np.asarray(x, dtype=float) - theta
            return max(0.0, np.sum(2 * (1 - u**2) / (1 + u**2) ** 2))
    ''', "clipped at 0: the edge case of a negative observed information is missed"),
    mistake("m_ex4_observed_denominator_not_squared", "cauchy_observed_information", '''
        def cauchy_observed_information(x, theta):
            u = np.asarray(x, dtype=float) - theta
            return np.sum(2 * (1 - u**2) / (1 + u**2))
    ''', "(1 + u^2) not squared in the denominator", tags=("extended",)),
    # ----------------------------------------------------------------- ex5: Gaussian matrix, efficient information
    mistake("m_ex5_gauss_sigma_parameter", "gaussian_fisher_matrix", '''
        def gaussian_fisher_matrix(sigma2, n=1):
            return n * np.array([[1 / sigma2, 0.0], [0.0, 2 / sigma2]])
    ''', "the information about sigma (2 / sigma^2) instead of about sigma2"),
    mistake("m_ex5_gauss_half_missing", "gaussian_fisher_matrix", '''
        def gaussian_fisher_matrix(sigma2, n=1):
            return n * np.array([[1 / sigma2, 0.0], [0.0, 1 / sigma2**2]])
    ''', "1 / sigma2^2 without the factor 1/2"),
    mistake("m_ex5_gauss_n_forgotten", "gaussian_fisher_matrix", '''
        def gaussian_fisher_matrix(sigma2, n=1):
            return np.array([[1 / sigma2, 0.0], [0.0, 1 / (2 * sigma2**2)]])
    ''', "n forgotten: one observation's information"),
    mistake("m_ex5_eff_nuisance_ignored", "efficient_information", '''
        def efficient_information(fisher, k=1):
            return np.asarray(fisher, dtype=float)[:k, :k]
    ''', "I_aa returned: the nuisance parameter ignored"),
    mistake("m_ex5_eff_scalar_for_k1", "efficient_information", '''
        def efficient_information(fisher, k=1):
            inverse = np.linalg.inv(np.asarray(fisher, dtype=float))
            if k == 1:
                return 1 / inverse[0, 0]
            return np.linalg.inv(inverse[:k, :k])
    ''', "a number for k = 1 instead of a 1 x 1 matrix"),
    mistake("m_ex5_eff_no_inverse", "efficient_information", '''
        def efficient_information(fisher, k=1):
            fisher = np.asarray(fisher, dtype=float)
            return fisher[:k, :k] - fisher[:k, k:] @ fisher[k:, :k]
    ''', "I_aa - I_ab I_ba: the inverse of I_bb left out"),
    mistake("m_ex5_eff_elementwise_reciprocal", "efficient_information", '''
        def efficient_information(fisher, k=1):
            return 1 / np.linalg.inv(np.asarray(fisher, dtype=float))[:k, :k]
    ''', "elementwise reciprocals of the inverse's block (right only for k = 1)"),
    # ----------------------------------------------------------------- ex6: exponential families
    mistake("m_ex6_nat_overflow", "categorical_natural_fisher", '''
        def categorical_natural_fisher(eta):
            e = np.exp(np.asarray(eta, dtype=float))
            p = e / (1 + np.sum(e))
            return np.diag(p) - np.outer(p, p)
    ''', "e^eta without a shift: overflows for large eta (the edge case the contract names)"),
    mistake("m_ex6_nat_diag_only", "categorical_natural_fisher", '''
        def categorical_natural_fisher(eta):
            eta = np.asarray(eta, dtype=float)
            shift = max(0.0, float(np.max(eta)))
            weights = np.exp(eta - shift)
            p = weights / (np.exp(-shift) + np.sum(weights))
            return np.diag(p * (1 - p))
    ''', "the covariances between categories left out: diag(p (1 - p))"),
    mistake("m_ex6_nat_no_reference_category", "categorical_natural_fisher", '''
        def categorical_natural_fisher(eta):
            eta = np.asarray(eta, dtype=float)
            weights = np.exp(eta - np.max(eta))
            p = weights / np.sum(weights)
            return np.diag(p) - np.outer(p, p)
    ''', "softmax over eta alone, forgetting the reference category's e^0"),
    mistake("m_ex6_nat_k_by_k", "categorical_natural_fisher", '''
        def categorical_natural_fisher(eta):
            full = np.append(np.asarray(eta, dtype=float), 0.0)
            p = np.exp(full - full.max())
            p = p / p.sum()
            return np.diag(p) - np.outer(p, p)
    ''', "a K x K matrix including the reference category", tags=("extended",)),
    mistake("m_ex6_mean_diag_only", "categorical_mean_fisher", '''
        def categorical_mean_fisher(probs):
            probs = np.asarray(probs, dtype=float)
            return np.diag(1 / probs[:-1])
    ''', "the 1 / p_K term from the constraint left out"),
    mistake("m_ex6_mean_k_by_k", "categorical_mean_fisher", '''
        def categorical_mean_fisher(probs):
            return np.diag(1 / np.asarray(probs, dtype=float))
    ''', "a K x K diagonal over all categories, ignoring that they sum to 1"),
    mistake("m_ex6_mean_not_inverted", "categorical_mean_fisher", '''
        def categorical_mean_fisher(probs):
            p = np.asarray(probs, dtype=float)[:-1]
            return np.diag(p) - np.outer(p, p)
    ''', "the natural-coordinate Fisher matrix returned, not its inverse"),
    # ----------------------------------------------------------------- ex7: naive and sandwich covariance
    mistake("m_ex7_naive_unweighted", "poisson_naive_covariance", '''
        def poisson_naive_covariance(X, beta):
            X = np.asarray(X, dtype=float)
            return np.linalg.inv(X.T @ X)
    ''', "the weights mu_i left out: (X^T X)^-1"),
    mistake("m_ex7_naive_identity_link", "poisson_naive_covariance", '''
        def poisson_naive_covariance(X, beta):
            X = np.asarray(X, dtype=float)
            mu = X @ np.asarray(beta, dtype=float)
            return np.linalg.inv((X.T * mu) @ X)
    ''', "mu = X beta (identity link) instead of exp(X beta)"),
    mistake("m_ex7_naive_mean", "poisson_naive_covariance", '''
        def poisson_naive_covariance(X, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            return np.linalg.inv((X.T * mu) @ X / len(X))
    ''', "the inverse of the mean over rows, not of the sum"),
    mistake("m_ex7_naive_list_transposed", "poisson_naive_covariance", '''
        def poisson_naive_covariance(X, beta):
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            return np.linalg.inv((X.T * mu) @ X)
    ''', "a nested list X not converted (allowed input type): lists have no .T"),
    mistake("m_ex7_sandwich_y_squared", "poisson_sandwich_covariance", '''
        def poisson_sandwich_covariance(X, y, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            bread = np.linalg.inv((X.T * mu) @ X)
            meat = (X.T * np.asarray(y, dtype=float) ** 2) @ X
            return bread @ meat @ bread
    ''', "y_i^2 in the meat instead of the squared residuals"),
    mistake("m_ex7_sandwich_one_sided", "poisson_sandwich_covariance", '''
        def poisson_sandwich_covariance(X, y, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            meat = (X.T * (np.asarray(y, dtype=float) - mu) ** 2) @ X
            return np.linalg.solve((X.T * mu) @ X, meat)
    ''', "H^-1 J: the second slice of bread left out"),
    mistake("m_ex7_sandwich_means", "poisson_sandwich_covariance", '''
        def poisson_sandwich_covariance(X, y, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            bread = np.linalg.inv((X.T * mu) @ X / len(X))
            meat = (X.T * (np.asarray(y, dtype=float) - mu) ** 2) @ X / len(X)
            return bread @ meat @ bread
    ''', "means for H and J without dividing by n: n times too large"),
    mistake("m_ex7_sandwich_model_meat", "poisson_sandwich_covariance", '''
        def poisson_sandwich_covariance(X, y, beta):
            X = np.asarray(X, dtype=float)
            mu = np.exp(X @ np.asarray(beta, dtype=float))
            bread = np.linalg.inv((X.T * mu) @ X)
            meat = (X.T * mu) @ X
            return bread @ meat @ bread
    ''', "the model's variance mu_i in the meat: the naive covariance again", tags=("extended",)),
    # ----------------------------------------------------------------- ex8: bootstrap
    mistake("m_ex8_boot_without_replacement", "bootstrap_variance", '''
        def bootstrap_variance(x, statistic, reps=2000, seed=0):
            x = np.asarray(x, dtype=float)
            rng = np.random.default_rng(seed)
            values = [statistic(rng.permutation(x)) for _ in range(reps)]
            return np.var(values, ddof=1)
    ''', "resampling without replacement (permutations): every mean is the same", tags=("mc-wrong-quantity",)),
    mistake("m_ex8_boot_std", "bootstrap_variance", '''
        def bootstrap_variance(x, statistic, reps=2000, seed=0):
            x = np.asarray(x, dtype=float)
            rng = np.random.default_rng(seed)
            rows = rng.integers(0, len(x), size=(reps, len(x)))
            return np.std([statistic(x[r]) for r in rows], ddof=1)
    ''', "standard deviation instead of variance", tags=("mc-wrong-quantity",)),
    mistake("m_ex8_boot_divided_by_n", "bootstrap_variance", '''
        def bootstrap_variance(x, statistic, reps=2000, seed=0):
            x = np.asarray(x, dtype=float)
            rng = np.random.default_rng(seed)
            rows = rng.integers(0, len(x), size=(reps, len(x)))
            return np.var([statistic(x[r]) for r in rows], ddof=1) / len(x)
    ''', "divided by n once more, as if the bootstrap values were single observations",
        tags=("mc-wrong-quantity",)),
    mistake("m_ex8_boot_columns", "bootstrap_variance", '''
        def bootstrap_variance(x, statistic, reps=2000, seed=0):
            x = np.asarray(x, dtype=float)
            rng = np.random.default_rng(seed)
            columns = rng.integers(0, len(x), size=(len(x), reps))
            return np.var([statistic(x[c]) for c in columns.T], ddof=1)
    ''', "resamples drawn as columns of an (n, reps) array: valid, but not the prescribed draws"),
]

"""Plausible mistakes, each confined to one contract function (see :func:`catalog.mistake`).

Each must lose its own function's part and no other. Grouped by exercise; every contract
function has at least one, every exercise at least three. Entries tagged ``extended`` are more
mistakes of the same kinds, graded only with ``FISHER_CATALOG=full`` to keep the default run short
(all of them were caught when they were written).
"""

from __future__ import annotations

from tests.catalog.fisher_information import mistake

MISTAKES = [
    # ----------------------------------------------------------------- ex1: Bernoulli score, Fisher
    mistake("m_ex1_score_sign_x0", "bernoulli_score", '''
        def bernoulli_score(x, p):
            return x / p + (1 - x) / (1 - p)
    ''', "sign error: d/dp log(1 - p) taken as +1/(1 - p)"),
    mistake("m_ex1_score_if_scalar", "bernoulli_score", '''
        def bernoulli_score(x, p):
            if x == 1:
                return 1 / p
            return -1 / (1 - p)
    ''', "`if x == 1` works on scalars but not on arrays"),
    mistake("m_ex1_score_loglik", "bernoulli_score", '''
        def bernoulli_score(x, p):
            return x * np.log(p) + (1 - x) * np.log(1 - p)
    ''', "returns the log-likelihood, not its derivative", tags=("extended",)),
    mistake("m_ex1_score_hardcoded", "bernoulli_score", '''
        def bernoulli_score(x, p):
            return 3.3333333333333335 if x == 1 else -1.4285714285714286
    ''', "values hard-coded to the visible test's input p = 0.3"),
    mistake("m_ex1_score_0d_as_1d", "bernoulli_score", '''
        def bernoulli_score(x, p):
            if np.isscalar(x) and np.isscalar(p):
                return x / p - (1 - x) / (1 - p)
            x, p = np.atleast_1d(x, p)
            return x / p - (1 - x) / (1 - p)
    ''', "numbers handled, arrays through np.atleast_1d: a 0-d array comes back as a 1-element array"),
    mistake("m_ex1_fisher_inverse_forgotten", "bernoulli_fisher", '''
        def bernoulli_fisher(p):
            return p * (1 - p)
    ''', "the inverse forgotten: returns p(1 - p), the variance of X"),
    mistake("m_ex1_fisher_unweighted", "bernoulli_fisher", '''
        def bernoulli_fisher(p):
            return 1 / p**2 + 1 / (1 - p) ** 2
    ''', "E[s^2] without the probabilities: s(1)^2 + s(0)^2", tags=("extended",)),
    mistake("m_ex1_fisher_half", "bernoulli_fisher", '''
        def bernoulli_fisher(p):
            return 0.5 / (p * (1 - p))
    ''', "a stray factor 1/2 (the KL curvature's, not the Fisher information's)", tags=("extended",)),
    # ----------------------------------------------------------------- ex2: additivity, Monte Carlo
    mistake("m_ex2_fisher_missing_n", "gaussian_mean_fisher", '''
        def gaussian_mean_fisher(n, sigma2):
            return 1 / sigma2
    ''', "the factor n missing: one observation's information"),
    mistake("m_ex2_fisher_int_reciprocal", "gaussian_mean_fisher", '''
        def gaussian_mean_fisher(n, sigma2):
            return n * np.reciprocal(sigma2)
    ''', "np.reciprocal of an integer sigma2 rounds down to an integer (0 for sigma2 > 1)"),
    mistake("m_ex2_fisher_sigma_not_sigma2", "gaussian_mean_fisher", '''
        def gaussian_mean_fisher(n, sigma2):
            return n / np.sqrt(sigma2)
    ''', "sigma2 read as a standard deviation: n / sigma instead of n / sigma2", tags=("extended",)),
    mistake("m_ex2_fisher_hardcoded_sigma2", "gaussian_mean_fisher", '''
        def gaussian_mean_fisher(n, sigma2):
            return n / 2.0
    ''', "sigma2 hard-coded to the visible test's 2.0", tags=("extended",)),
    mistake("m_ex2_mc_one_observation", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, np.sqrt(sigma2), size=reps)
            return np.var((x - mu) / sigma2)
    ''', "variance of one observation's score, not of the whole-sample score",
        tags=("mc-wrong-quantity",)),
    mistake("m_ex2_mc_std", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, np.sqrt(sigma2), size=(reps, n))
            return np.std(np.sum(x - mu, axis=1) / sigma2)
    ''', "standard deviation instead of variance of the scores", tags=("mc-wrong-quantity",)),
    mistake("m_ex2_mc_scale_sigma2", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, sigma2, size=(reps, n))
            return np.var(np.sum(x - mu, axis=1) / sigma2)
    ''', "samples with scale sigma2 instead of sqrt(sigma2)", tags=("mc-wrong-quantity",)),
    mistake("m_ex2_mc_score_over_sigma", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, np.sqrt(sigma2), size=(reps, n))
            return np.var(np.sum(x - mu, axis=1) / np.sqrt(sigma2))
    ''', "score (x - mu)/sigma instead of (x - mu)/sigma2", tags=("mc-wrong-quantity", "extended")),
    mistake("m_ex2_mc_score_at_sample_mean", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, np.sqrt(sigma2), size=(reps, n))
            return np.var(np.sum(x - x.mean(axis=1, keepdims=True), axis=1) / sigma2)
    ''', "score evaluated at each sample's mean (the MLE) instead of the true mu",
        tags=("mc-wrong-quantity", "extended")),
    mistake("m_ex2_mc_closed_form", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            return n / sigma2
    ''', "returns the closed form instead of a Monte Carlo estimate"),
    mistake("m_ex2_mc_seed_ignored", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng()
            x = rng.normal(mu, np.sqrt(sigma2), size=(reps, n))
            return np.var(np.sum(x - mu, axis=1) / sigma2)
    ''', "the seed ignored: a fresh unseeded generator on every call"),
    mistake("m_ex2_mc_reps_ignored", "mc_score_variance", '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, np.sqrt(sigma2), size=(20000, n))
            return np.var(np.sum(x - mu, axis=1) / sigma2)
    ''', "reps ignored: always 20000 samples"),
    # ----------------------------------------------------------------- ex3: reparameterization
    mistake("m_ex3_reparam_j_i_jt", "reparameterize_fisher", '''
        def reparameterize_fisher(fisher_theta, jacobian):
            if np.ndim(fisher_theta) == 0:
                return fisher_theta * jacobian**2
            J = np.asarray(jacobian)
            return J @ np.asarray(fisher_theta) @ J.T
    ''', "J I J^T instead of J^T I J"),
    mistake("m_ex3_reparam_isinstance_float", "reparameterize_fisher", '''
        def reparameterize_fisher(fisher_theta, jacobian):
            if isinstance(fisher_theta, float):
                return fisher_theta * jacobian**2
            return jacobian.T @ fisher_theta @ jacobian
    ''', "scalars recognized by isinstance(float): an int or a 0-d array takes the matrix law"),
    mistake("m_ex3_reparam_j_i_jt_square_only", "reparameterize_fisher", '''
        def reparameterize_fisher(fisher_theta, jacobian):
            fisher_theta = np.asarray(fisher_theta, dtype=float)
            J = np.asarray(jacobian, dtype=float)
            if fisher_theta.ndim == 0:
                return fisher_theta * J**2
            if J.shape[0] == J.shape[1] and np.allclose(J, np.triu(J)):
                return J.T @ fisher_theta @ J
            return J @ fisher_theta @ J.T
    ''', "J^T I J only for the visible (upper-triangular) case, J I J^T otherwise", tags=("extended",)),
    mistake("m_ex3_reparam_scalar_not_squared", "reparameterize_fisher", '''
        def reparameterize_fisher(fisher_theta, jacobian):
            if np.ndim(fisher_theta) == 0:
                return fisher_theta * jacobian
            J = np.asarray(jacobian)
            return J.T @ np.asarray(fisher_theta) @ J
    ''', "scalar law I J instead of I J^2", tags=("extended",)),
    mistake("m_ex3_reparam_elementwise", "reparameterize_fisher", '''
        def reparameterize_fisher(fisher_theta, jacobian):
            return np.asarray(fisher_theta) * np.asarray(jacobian) ** 2
    ''', "the scalar law applied elementwise to matrices", tags=("extended",)),
    mistake("m_ex3_reparam_matmul_only", "reparameterize_fisher", '''
        def reparameterize_fisher(fisher_theta, jacobian):
            J = np.atleast_2d(jacobian)
            return J.T @ np.atleast_2d(fisher_theta) @ J
    ''', "matrix law only: a scalar input returns a 1x1 matrix, not a number", tags=("extended",)),
    mistake("m_ex3_logit_overflow", "bernoulli_logit_fisher", '''
        def bernoulli_logit_fisher(phi):
            e = np.exp(phi)
            return e / (1 + e) ** 2
    ''', "exp(phi) / (1 + exp(phi))^2 overflows (with a warning) at phi = 700: the formula is right, "
        "the edge case is not", loses=("ex3b_bernoulli_logit_fisher_overflow",)),
    mistake("m_ex3_logit_overflow_negative", "bernoulli_logit_fisher", '''
        def bernoulli_logit_fisher(phi):
            e = np.exp(-phi)
            return e / (1 + e) ** 2
    ''', "exp(-phi) / (1 + exp(-phi))^2 overflows (with a warning) at phi = -700", tags=("extended",),
        loses=("ex3b_bernoulli_logit_fisher_overflow",)),
    mistake("m_ex3_logit_overflow_silenced", "bernoulli_logit_fisher", '''
        def bernoulli_logit_fisher(phi):
            e = np.exp(phi)
            return np.nan_to_num(e / (1 + e) ** 2)
    ''', "the overflow's NaN replaced by 0: finite values, but the overflow warning remains",
        loses=("ex3b_bernoulli_logit_fisher_overflow",)),
    mistake("m_ex3_logit_fisher_of_p", "bernoulli_logit_fisher", '''
        def bernoulli_logit_fisher(phi):
            p = 1 / (1 + np.exp(-phi))
            return 1 / (p * (1 - p))
    ''', "returns I(p) at p = sigma(phi), not transformed to the logit",
        loses=("ex3b_bernoulli_logit_fisher", "ex3b_bernoulli_logit_fisher_overflow")),
    mistake("m_ex3_logit_jacobian_squared_only", "bernoulli_logit_fisher", '''
        def bernoulli_logit_fisher(phi):
            p = 1 / (1 + np.exp(-phi))
            return (p * (1 - p)) ** 2
    ''', "J^2 = (p(1-p))^2 without the factor I(p)", tags=("extended",),
        loses=("ex3b_bernoulli_logit_fisher", "ex3b_bernoulli_logit_fisher_overflow")),
    mistake("m_ex3_logit_math_scalar", "bernoulli_logit_fisher", '''
        import math


        def bernoulli_logit_fisher(phi):
            e = math.exp(-abs(phi))
            return e / (1 + e) ** 2
    ''', "math.exp works on scalars but not on arrays"),
    # ----------------------------------------------------------------- ex4: Gaussian matrix Fisher
    mistake("m_ex4_matrix_inverse_forgotten", "gaussian_mean_fisher_matrix", '''
        def gaussian_mean_fisher_matrix(Sigma):
            return np.asarray(Sigma, dtype=float)
    ''', "the inverse forgotten: returns Sigma"),
    mistake("m_ex4_matrix_elementwise_reciprocal", "gaussian_mean_fisher_matrix", '''
        def gaussian_mean_fisher_matrix(Sigma):
            return 1 / np.asarray(Sigma, dtype=float)
    ''', "elementwise reciprocal instead of the matrix inverse", tags=("extended",)),
    mistake("m_ex4_matrix_diagonal_only", "gaussian_mean_fisher_matrix", '''
        def gaussian_mean_fisher_matrix(Sigma):
            return np.diag(1 / np.diag(np.asarray(Sigma, dtype=float)))
    ''', "inverts the variances only, ignoring the correlations", tags=("extended",)),
    mistake("m_ex4_direction_smallest", "most_informative_direction", '''
        def most_informative_direction(F):
            values, vectors = np.linalg.eigh(F)
            return vectors[:, 0]
    ''', "the smallest eigenvalue's eigenvector (eigh sorts ascending)"),
    mistake("m_ex4_direction_rows", "most_informative_direction", '''
        def most_informative_direction(F):
            values, vectors = np.linalg.eigh(F)
            return vectors[np.argmax(values)]
    ''', "a row of the eigenvector matrix instead of a column"),
    mistake("m_ex4_direction_column", "most_informative_direction", '''
        def most_informative_direction(F):
            values, vectors = np.linalg.eigh(np.asarray(F, dtype=float))
            return vectors[:, [np.argmax(values)]]
    ''', "a d x 1 column instead of a 1-D array of length d"),
    mistake("m_ex4_direction_eig_last", "most_informative_direction", '''
        def most_informative_direction(F):
            values, vectors = np.linalg.eig(F)
            return vectors[:, -1]
    ''', "np.linalg.eig's last column, assuming eig sorts like eigh", tags=("extended",)),
    mistake("m_ex4_direction_largest_diagonal", "most_informative_direction", '''
        def most_informative_direction(F):
            F = np.asarray(F, dtype=float)
            return np.eye(len(F))[np.argmax(np.diag(F))]
    ''', "the coordinate axis of the largest diagonal entry", tags=("extended",)),
    mistake("m_ex4_direction_unnormalized", "most_informative_direction", '''
        def most_informative_direction(F):
            F = np.asarray(F, dtype=float)
            v = np.ones(len(F))
            for _ in range(200):
                v = F @ v
                v = v / np.max(np.abs(v))
            return v
    ''', "power iteration scaled by the max entry, not normalized to unit length"),
    # ----------------------------------------------------------------- ex5: local KL curvature
    mistake("m_ex5_kl_reversed", "bernoulli_kl", '''
        from scipy.special import xlogy


        def bernoulli_kl(p, q):
            return xlogy(q, q / p) + xlogy(1 - q, (1 - q) / (1 - p))
    ''', "KL in the wrong direction: KL(Q || P)", loses=("ex5a_bernoulli_kl", "ex5a_bernoulli_kl_edges")),
    mistake("m_ex5_kl_0log0", "bernoulli_kl", '''
        def bernoulli_kl(p, q):
            return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
    ''', "0 log 0 not handled: NaN at p = 0 and p = 1 (the formula is right)",
        loses=("ex5a_bernoulli_kl_edges",)),
    mistake("m_ex5_kl_0log0_scalars", "bernoulli_kl", '''
        from scipy.special import xlogy


        def bernoulli_kl(p, q):
            if np.ndim(p) == 0:  # a number: the plain formula
                return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
            return xlogy(p, p / q) + xlogy(1 - p, (1 - p) / (1 - q))
    ''', "0 log 0 handled for arrays but not for a number p = 0 or p = 1",
        loses=("ex5a_bernoulli_kl_edges",)),
    mistake("m_ex5_kl_0log0_one_side", "bernoulli_kl", '''
        def bernoulli_kl(p, q):
            p = np.asarray(p, dtype=float)
            with np.errstate(all="ignore"):
                first = np.where(p > 0, p * np.log(p / q), 0.0)
            return first + (1 - p) * np.log((1 - p) / (1 - q))
    ''', "0 log 0 handled for p = 0 but not for p = 1", tags=("extended",), loses=("ex5a_bernoulli_kl_edges",)),
    mistake("m_ex5_kl_log2", "bernoulli_kl", '''
        from scipy.special import xlogy


        def bernoulli_kl(p, q):
            return (xlogy(p, p / q) + xlogy(1 - p, (1 - p) / (1 - q))) / np.log(2)
    ''', "in bits (log base 2) instead of nats", tags=("extended",),
        loses=("ex5a_bernoulli_kl", "ex5a_bernoulli_kl_edges")),
    mistake("m_ex5_kl_one_term", "bernoulli_kl", '''
        from scipy.special import xlogy


        def bernoulli_kl(p, q):
            return xlogy(p, p / q)
    ''', "only the x = 1 term of the sum", tags=("extended",), loses=("ex5a_bernoulli_kl", "ex5a_bernoulli_kl_edges")),
    mistake("m_ex5_quad_no_half", "kl_quadratic", '''
        def kl_quadratic(p, delta):
            return delta**2 / (p * (1 - p))
    ''', "the factor 1/2 missing"),
    mistake("m_ex5_quad_inverse_forgotten", "kl_quadratic", '''
        def kl_quadratic(p, delta):
            return 0.5 * p * (1 - p) * delta**2
    ''', "the Fisher information's inverse forgotten: p(1-p) instead of 1/(p(1-p))", tags=("extended",)),
    mistake("m_ex5_quad_type_float", "kl_quadratic", '''
        def kl_quadratic(p, delta):
            if type(p) is float:  # a Python number
                return 0.5 * delta**2 / (p * (1 - p))
            return np.array([0.5 * d**2 / (q * (1 - q)) for q, d in zip(p, delta)])
    ''', "numbers recognized by type(p) is float: a NumPy scalar or a 0-d array is taken for an array"),
    mistake("m_ex5_quad_fisher_at_p_plus_delta", "kl_quadratic", '''
        def kl_quadratic(p, delta):
            q = p + delta
            return 0.5 * delta**2 / (q * (1 - q))
    ''', "Fisher information evaluated at p + delta instead of p"),
    mistake("m_ex5_quad_delta_not_squared", "kl_quadratic", '''
        def kl_quadratic(p, delta):
            return 0.5 * abs(delta) / (p * (1 - p))
    ''', "|delta| instead of delta^2", tags=("extended",)),
    # ----------------------------------------------------------------- ex6: Jeffreys priors
    mistake("m_ex6_bern_unnormalized", "jeffreys_bernoulli", '''
        def jeffreys_bernoulli(p):
            return 1 / np.sqrt(p * (1 - p))
    ''', "unnormalized Jeffreys density (the 1/pi missing)"),
    mistake("m_ex6_bern_fisher_not_sqrt", "jeffreys_bernoulli", '''
        def jeffreys_bernoulli(p):
            return 1 / (np.pi * p * (1 - p))
    ''', "Fisher information instead of its square root"),
    mistake("m_ex6_bern_numbers_or_lists", "jeffreys_bernoulli", '''
        import math


        def jeffreys_bernoulli(p):
            if np.isscalar(p):
                return 1 / (math.pi * math.sqrt(p * (1 - p)))
            return np.array([1 / (math.pi * math.sqrt(v * (1 - v))) for v in p])
    ''', "numbers through math, arrays by iteration: a 0-d array is neither (it cannot be iterated)"),
    mistake("m_ex6_bern_pi_approx", "jeffreys_bernoulli", '''
        def jeffreys_bernoulli(p):
            return 1 / (3.14 * np.sqrt(p * (1 - p)))
    ''', "normalized with pi = 3.14", tags=("extended",)),
    mistake("m_ex6_bern_hardcoded", "jeffreys_bernoulli", '''
        def jeffreys_bernoulli(p):
            return 0.6366197723675814 + 0 * p
    ''', "the visible test's value at p = 0.5 for every p", tags=("extended",)),
    mistake("m_ex6_exp_fisher_not_sqrt", "jeffreys_exponential", '''
        def jeffreys_exponential(lam):
            return 1 / lam**2
    ''', "Fisher information 1/lam^2 instead of its square root"),
    mistake("m_ex6_exp_sqrt_of_reciprocal", "jeffreys_exponential", '''
        def jeffreys_exponential(lam):
            return 1 / np.sqrt(lam)
    ''', "sqrt(1/lam): the Fisher information taken as 1/lam", tags=("extended",)),
    mistake("m_ex6_exp_int_reciprocal", "jeffreys_exponential", '''
        def jeffreys_exponential(lam):
            return np.reciprocal(lam)
    ''', "np.reciprocal of an integer rate rounds down to an integer (0 for lam > 1)"),
    mistake("m_ex6_exp_math_scalar", "jeffreys_exponential", '''
        import math


        def jeffreys_exponential(lam):
            return math.sqrt(1 / lam**2)
    ''', "math.sqrt works on scalars but not on arrays"),
    # ----------------------------------------------------------------- ex7: empirical Fisher vs Hessian
    mistake("m_ex7_hess_sum", "logistic_hessian", '''
        def logistic_hessian(X, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return (X.T * (s * (1 - s))) @ X
    ''', "a sum over rows instead of a mean"),
    mistake("m_ex7_hess_unweighted", "logistic_hessian", '''
        def logistic_hessian(X, w):
            return X.T @ X / len(X)
    ''', "the weights sigma_i (1 - sigma_i) missing"),
    mistake("m_ex7_hess_sigma_weight", "logistic_hessian", '''
        def logistic_hessian(X, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return (X.T * s) @ X / len(X)
    ''', "weights sigma_i instead of sigma_i (1 - sigma_i)", tags=("extended",)),
    mistake("m_ex7_hess_sign", "logistic_hessian", '''
        def logistic_hessian(X, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return -(X.T * (s * (1 - s))) @ X / len(X)
    ''', "the Hessian of the log-likelihood (sign flipped), not of the loss", tags=("extended",)),
    mistake("m_ex7_emp_square_of_mean", "logistic_empirical_fisher", '''
        def logistic_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            g = np.mean((s - y)[:, None] * X, axis=0)
            return np.outer(g, g)
    ''', "the square of the mean gradient instead of the mean of squared gradients"),
    mistake("m_ex7_emp_int_labels", "logistic_empirical_fisher", '''
        def logistic_empirical_fisher(X, y, w):
            y = np.asarray(y)
            residual = np.empty_like(y)  # takes y's dtype: integer labels truncate the residuals
            residual[:] = 1 / (1 + np.exp(-(X @ w))) - y
            g = residual[:, None] * X
            return g.T @ g / len(X)
    ''', "residuals preallocated with np.empty_like(y): integer labels truncate them to integers"),
    mistake("m_ex7_emp_sum", "logistic_empirical_fisher", '''
        def logistic_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            g = (s - y)[:, None] * X
            return g.T @ g
    ''', "a sum of outer products instead of a mean", tags=("extended",)),
    mistake("m_ex7_emp_covariance", "logistic_empirical_fisher", '''
        def logistic_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            g = (s - y)[:, None] * X
            return np.cov(g.T, bias=True)
    ''', "covariance of the gradients (centered) instead of their second moment"),
    mistake("m_ex7_emp_residual_not_squared", "logistic_empirical_fisher", '''
        def logistic_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return (X.T * (s - y)) @ X / len(X)
    ''', "residual (sigma_i - y_i) not squared", tags=("extended",)),
    # ----------------------------------------------------------------- ex8: EWC
    mistake("m_ex8_diag_square_of_mean", "diagonal_empirical_fisher", '''
        def diagonal_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return np.mean((s - y)[:, None] * X, axis=0) ** 2
    ''', "the square of the mean gradient instead of the mean of squared gradients"),
    mistake("m_ex8_diag_sum", "diagonal_empirical_fisher", '''
        def diagonal_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return np.sum(((s - y)[:, None] * X) ** 2, axis=0)
    ''', "a sum over rows instead of a mean"),
    mistake("m_ex8_diag_hessian", "diagonal_empirical_fisher", '''
        def diagonal_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return np.mean((s * (1 - s))[:, None] * X**2, axis=0)
    ''', "the Hessian's diagonal (model variance) instead of squared residuals", tags=("extended",)),
    mistake("m_ex8_diag_wrong_axis", "diagonal_empirical_fisher", '''
        def diagonal_empirical_fisher(X, y, w):
            s = 1 / (1 + np.exp(-(X @ w)))
            return np.mean(((s - y)[:, None] * X) ** 2, axis=1)
    ''', "mean over features (axis=1) instead of over rows", tags=("extended",)),
    mistake("m_ex8_ewc_no_half", "ewc_penalty", '''
        def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
            return lam * np.sum(fisher_diag * (theta - theta_old) ** 2)
    ''', "the factor 1/2 missing"),
    mistake("m_ex8_ewc_not_squared", "ewc_penalty", '''
        def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
            return lam / 2 * np.sum(fisher_diag * np.abs(theta - theta_old))
    ''', "|theta - theta_old| instead of its square", tags=("extended",)),
    mistake("m_ex8_ewc_lam_ignored", "ewc_penalty", '''
        def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
            return 0.5 * np.sum(fisher_diag * (theta - theta_old) ** 2)
    ''', "lam ignored (right only for the visible lam = 1)"),
    mistake("m_ex8_ewc_not_summed", "ewc_penalty", '''
        def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
            return lam / 2 * fisher_diag * (theta - theta_old) ** 2
    ''', "returns the per-parameter terms, not their sum", tags=("extended",)),
    # ----------------------------------------------------------------- ex9: enumeration
    mistake("m_ex9_enum_variance", "fisher_by_enumeration", '''
        def fisher_by_enumeration(probs, scores):
            probs, scores = np.asarray(probs), np.asarray(scores)
            mean = np.sum(probs * scores)
            return np.sum(probs * (scores - mean) ** 2)
    ''', "the variance of the score instead of E[s^2] (equal only when E[s] = 0)"),
    mistake("m_ex9_enum_square_of_mean", "fisher_by_enumeration", '''
        def fisher_by_enumeration(probs, scores):
            return np.sum(np.asarray(probs) * np.asarray(scores)) ** 2
    ''', "the square of the mean score instead of the mean squared score"),
    mistake("m_ex9_enum_unweighted", "fisher_by_enumeration", '''
        def fisher_by_enumeration(probs, scores):
            return np.mean(np.asarray(scores) ** 2)
    ''', "an unweighted mean of squared scores", tags=("extended",)),
    mistake("m_ex9_enum_lists", "fisher_by_enumeration", '''
        def fisher_by_enumeration(probs, scores):
            return np.sum(probs * scores**2)
    ''', "works on NumPy arrays but not on Python lists"),
    # ----------------------------------------------------------------- ex10: natural gradient
    mistake("m_ex10_ngd_times_fisher", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            F = np.asarray(fisher, dtype=float)
            return theta - lr * (F + damping * np.eye(len(F))) @ grad
    ''', "F g instead of F^-1 g"),
    mistake("m_ex10_ngd_damping_ignored", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            return theta - lr * np.linalg.solve(fisher, grad)
    ''', "damping ignored"),
    mistake("m_ex10_ngd_damping_everywhere", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            return theta - lr * np.linalg.solve(np.asarray(fisher) + damping, grad)
    ''', "damping added to every entry instead of the diagonal"),
    mistake("m_ex10_ngd_returns_step", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            F = np.asarray(fisher, dtype=float)
            return -lr * np.linalg.solve(F + damping * np.eye(len(F)), grad)
    ''', "returns the step, not the new theta (right only for the visible theta = 0)"),
    mistake("m_ex10_ngd_in_place", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            F = np.asarray(fisher, dtype=float)
            theta = np.asarray(theta)
            theta -= lr * np.linalg.solve(F + damping * np.eye(len(F)), grad)
            return theta
    ''', "updates theta in place: fails on an integer theta (and changes the caller's array)"),
    mistake("m_ex10_ngd_diagonal_only", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            return theta - lr * grad / (np.diag(fisher) + damping)
    ''', "divides by the diagonal of F (right only for the visible diagonal F)", tags=("extended",)),
    mistake("m_ex10_ngd_ascent", "natural_gradient_step", '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            F = np.asarray(fisher, dtype=float)
            return theta + lr * np.linalg.solve(F + damping * np.eye(len(F)), grad)
    ''', "sign error: an ascent step", tags=("extended",)),
]

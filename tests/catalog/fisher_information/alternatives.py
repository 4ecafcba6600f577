"""Genuinely different correct implementations: each entry answers every exercise its own way.

Each must get full autograded marks. One entry per style keeps the batch small while every
exercise gets one alternative per entry; the four Monte Carlo estimators draw from different
random streams (loop vs vectorized, other sampling methods and orientations, ddof, E[S^2]).
"""

from __future__ import annotations

from tests.catalog.fisher_information import correct
from tests.fixtures.make_samples import ALICE

ALTERNATIVES = [
    correct("c_sample_alice", "the shipped sample student alice: np.where, loops, scipy.special.expit, "
            "solve for the inverse, eig with the other sign, a harmless print and warning",
            {cell: src for cell, src in ALICE.items() if cell.endswith("_code")}),
    correct("c_loops_and_floats", "loops, Python floats and the math module where inputs are scalars "
            "(the exercises alice writes otherwise)", {
        "ex3_code": '''
            def reparameterize_fisher(fisher_theta, jacobian):
                if np.ndim(fisher_theta) == 0:
                    return float(fisher_theta) * float(jacobian) ** 2
                J = np.asarray(jacobian, dtype=float)
                I = np.asarray(fisher_theta, dtype=float)
                k, m = J.shape
                out = np.zeros((m, m))
                for a in range(m):
                    for b in range(m):
                        for i in range(k):
                            for j in range(k):
                                out[a, b] += J[i, a] * I[i, j] * J[j, b]
                return out


            def bernoulli_logit_fisher(phi):
                return 0.25 / np.cosh(np.asarray(phi, dtype=float) / 2) ** 2
        ''',
        "ex4_code": '''
            def gaussian_mean_fisher_matrix(Sigma):
                Sigma = np.asarray(Sigma, dtype=float)
                return np.linalg.solve(Sigma, np.eye(len(Sigma)))


            def most_informative_direction(F):
                values, vectors = np.linalg.eigh(np.asarray(F, dtype=float))
                return -vectors[:, -1]  # eigh sorts ascending; the other sign is fine
        ''',
        "ex5_code": '''
            import math


            def _xlogx_over(a, b):
                return 0.0 if a == 0 else a * math.log(a / b)


            def bernoulli_kl(p, q):
                p_arr, q_arr = np.broadcast_arrays(np.asarray(p, dtype=float), np.asarray(q, dtype=float))
                out = np.empty(p_arr.shape)
                for idx in np.ndindex(p_arr.shape):
                    a, b = float(p_arr[idx]), float(q_arr[idx])
                    out[idx] = _xlogx_over(a, b) + _xlogx_over(1 - a, 1 - b)
                return out if out.ndim else float(out)


            def kl_quadratic(p, delta):
                fisher = 1 / (p * (1 - p))
                return fisher * delta * delta / 2
        ''',
        "ex6_code": '''
            def jeffreys_bernoulli(p):
                return (p * (1 - p)) ** -0.5 / np.pi


            def jeffreys_exponential(lam):
                return np.sqrt(1 / np.square(lam))
        ''',
        "ex8_code": '''
            def diagonal_empirical_fisher(X, y, w):
                X = np.asarray(X, dtype=float)
                out = np.zeros(X.shape[1])
                for x, label in zip(X, y):
                    residual = 1 / (1 + np.exp(-(x @ w))) - label
                    out += (residual * x) ** 2
                return out / len(X)


            def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
                total = 0.0
                for t, t_old, f in zip(theta, theta_old, fisher_diag):
                    total += float(f) * (float(t) - float(t_old)) ** 2
                return lam / 2 * total
        ''',
        "ex9_code": '''
            def fisher_by_enumeration(probs, scores):
                return sum(p * s * s for p, s in zip(probs, scores))
        ''',
        "ex10_code": '''
            def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
                F = np.array(fisher, dtype=float)
                for i in range(len(F)):
                    F[i, i] += damping
                return np.asarray(theta, dtype=float) - lr * np.linalg.inv(F) @ np.asarray(grad, dtype=float)
        ''',
    }, tags=("mc-valid", "mc-loop")),
    correct("c_scipy", "scipy.special and scipy.stats", {
        "ex1_code": '''
            def bernoulli_score(x, p):
                return np.divide(x, p) - np.divide(np.subtract(1, x), np.subtract(1, p))


            def bernoulli_fisher(p):
                return np.reciprocal(np.multiply(p, 1 - np.asarray(p, dtype=float)))
        ''',
        "ex2_code": '''
            from scipy.special import ndtri


            def gaussian_mean_fisher(n, sigma2):
                return np.true_divide(n, sigma2)


            def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
                rng = np.random.default_rng(seed)
                z = ndtri(rng.random((reps, n)))  # inverse-CDF sampling: another random stream
                x = mu + np.sqrt(sigma2) * z
                return np.var((x - mu).sum(axis=1) / sigma2)
        ''',
        "ex4_code": '''
            import scipy.linalg


            def gaussian_mean_fisher_matrix(Sigma):
                return scipy.linalg.inv(np.asarray(Sigma, dtype=float))


            def most_informative_direction(F):
                values, vectors = scipy.linalg.eigh(F)
                return vectors[:, values.argmax()]
        ''',
        "ex5_code": '''
            from scipy.special import rel_entr


            def bernoulli_kl(p, q):
                return rel_entr(p, q) + rel_entr(1 - np.asarray(p), 1 - np.asarray(q))


            def kl_quadratic(p, delta):
                return 0.5 * np.square(delta) * (1 / p + 1 / (1 - p))  # I(p) = 1/p + 1/(1 - p)
        ''',
        "ex6_code": '''
            from scipy.stats import beta


            def jeffreys_bernoulli(p):
                return beta(0.5, 0.5).pdf(p)


            def jeffreys_exponential(lam):
                return np.power(lam, -1.0)
        ''',
        "ex7_code": '''
            from scipy.special import expit


            def logistic_hessian(X, w):
                s = expit(np.asarray(X) @ w)
                return np.einsum("i,ij,ik->jk", s * (1 - s), X, X) / np.shape(X)[0]


            def logistic_empirical_fisher(X, y, w):
                r = expit(np.asarray(X) @ w) - y
                return np.einsum("i,ij,ik->jk", r**2, X, X) / np.shape(X)[0]
        ''',
        "ex8_code": '''
            from scipy.special import expit


            def diagonal_empirical_fisher(X, y, w):
                X = np.asarray(X, dtype=float)
                r = expit(X @ w) - y
                return (r**2) @ (X**2) / len(X)


            def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
                d = np.subtract(theta, theta_old)
                return lam * 0.5 * np.einsum("i,i,i->", fisher_diag, d, d)
        ''',
        "ex9_code": '''
            def fisher_by_enumeration(probs, scores):
                return np.dot(probs, np.square(scores))
        ''',
        "ex10_code": '''
            import scipy.linalg


            def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
                F = np.asarray(fisher, dtype=float)
                step = scipy.linalg.solve(F + damping * np.identity(F.shape[0]), grad, assume_a="sym")
                return theta - lr * step
        ''',
    }, tags=("mc-valid",)),
    correct("c_eig_inv_and_noise", "eig instead of eigh, inv instead of solve, harmless prints and warnings", {
        "ex1_code": '''
            import warnings


            def bernoulli_score(x, p):
                warnings.warn("a harmless warning")
                return (x - p) / (p * (1 - p))


            def bernoulli_fisher(p):
                print("bernoulli_fisher called with", p)  # a harmless print
                return 1 / (p - p * p)
        ''',
        "ex2_code": '''
            def gaussian_mean_fisher(n, sigma2):
                print("a harmless print")
                return n * (1 / sigma2)


            def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
                rng = np.random.default_rng(seed)
                z = rng.standard_normal((n, reps))  # transposed: samples in columns
                scores = np.sqrt(sigma2) * z.sum(axis=0) / sigma2
                return np.mean(scores**2)  # E[S^2] about the true mean, which is zero
        ''',
        "ex3_code": '''
            def reparameterize_fisher(fisher_theta, jacobian):
                I = np.asarray(fisher_theta, dtype=float)
                J = np.asarray(jacobian, dtype=float)
                if I.ndim == 0:
                    return np.float64(I * J * J)
                return np.dot(np.dot(J.T, I), J)


            def bernoulli_logit_fisher(phi):
                phi = np.asarray(phi, dtype=float)
                log_p = -np.logaddexp(0.0, -phi)
                log_q = -np.logaddexp(0.0, phi)
                return np.exp(log_p + log_q)
        ''',
        "ex4_code": '''
            def gaussian_mean_fisher_matrix(Sigma):
                Sigma_inv = np.linalg.inv(Sigma)
                return Sigma_inv @ np.asarray(Sigma) @ Sigma_inv  # Cov(score) = S^-1 S S^-1


            def most_informative_direction(F):
                values, vectors = np.linalg.eig(np.asarray(F, dtype=float))
                v = np.real(vectors[:, np.argmax(np.real(values))])
                return -v / np.linalg.norm(v)
        ''',
        "ex5_code": '''
            def bernoulli_kl(p, q):
                p = np.asarray(p, dtype=float)
                q = np.asarray(q, dtype=float)
                safe_p = np.where(p > 0, p, 1.0)
                safe_1p = np.where(p < 1, 1 - p, 1.0)
                return p * np.log(safe_p / q) + (1 - p) * np.log(safe_1p / (1 - q))


            def kl_quadratic(p, delta):
                print("kl_quadratic called")
                return 0.5 * delta**2 / (p * (1 - p))
        ''',
        "ex6_code": '''
            import warnings


            def jeffreys_bernoulli(p):
                warnings.warn("Beta(1/2, 1/2)")
                return 1 / np.sqrt(np.pi**2 * p * (1 - p))


            def jeffreys_exponential(lam):
                return np.abs(1 / lam)
        ''',
        "ex7_code": '''
            def logistic_hessian(X, w):
                X = np.asarray(X, dtype=float)
                s = 1 / (1 + np.exp(-X @ w))
                return X.T @ np.diag(s * (1 - s)) @ X / X.shape[0]


            def logistic_empirical_fisher(X, y, w):
                X = np.asarray(X, dtype=float)
                s = 1 / (1 + np.exp(-X @ w))
                G = X * (y - s)[:, np.newaxis]  # the sign of g_i does not matter in g_i g_i^T
                return np.mean(G[:, :, None] * G[:, None, :], axis=0)
        ''',
        "ex8_code": '''
            import warnings


            def diagonal_empirical_fisher(X, y, w):
                warnings.warn("computing the full matrix to take its diagonal")
                return np.diag(logistic_empirical_fisher(X, y, w)).copy()


            def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
                move = np.subtract(theta, theta_old)
                return lam / 2 * float(np.dot(fisher_diag, move**2))
        ''',
        "ex9_code": '''
            def fisher_by_enumeration(probs, scores):
                probs = np.array(probs, dtype=float)
                scores = np.array(scores, dtype=float)
                return probs @ scores**2
        ''',
        "ex10_code": '''
            def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
                F = np.asarray(fisher, dtype=float)
                precond = np.linalg.inv(F + damping * np.eye(len(F)))
                print("natural step:", lr * precond @ grad)
                return theta - lr * precond @ grad
        ''',
    }, tags=("mc-valid",)),
    correct("c_vectorized_variants", "other vectorizations: lstsq, cholesky, where, broadcasting", {
        "ex1_code": '''
            def bernoulli_score(x, p):
                x = np.asarray(x, dtype=float)
                p = np.asarray(p, dtype=float)
                return np.where(x > 0.5, 1.0, 0.0) / p - np.where(x > 0.5, 0.0, 1.0) / (1 - p)


            def bernoulli_fisher(p):
                p = np.asarray(p, dtype=float)
                return p * (1 / p) ** 2 + (1 - p) * (1 / (1 - p)) ** 2  # E[s^2] term by term
        ''',
        "ex2_code": '''
            def gaussian_mean_fisher(n, sigma2):
                return np.asarray(n, dtype=float) / np.asarray(sigma2, dtype=float)


            def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
                rng = np.random.default_rng(seed)
                u1, u2 = rng.random((reps, n)), rng.random((reps, n))
                z = np.sqrt(-2 * np.log1p(-u1)) * np.cos(2 * np.pi * u2)  # Box-Muller: another stream
                x = mu + np.sqrt(sigma2) * z
                scores = ((x - mu) / sigma2).sum(axis=1)
                return np.var(scores, ddof=1)
        ''',
        "ex3_code": '''
            def reparameterize_fisher(fisher_theta, jacobian):
                I = np.asarray(fisher_theta, dtype=float)
                J = np.asarray(jacobian, dtype=float)
                if I.ndim == 0:
                    return I * J**2
                return (I @ J).T @ J if np.allclose(I, I.T) else J.T @ I @ J


            def bernoulli_logit_fisher(phi):
                phi = np.asarray(phi, dtype=float)
                e = np.exp(-np.abs(phi))
                p = np.where(phi >= 0, 1 / (1 + e), e / (1 + e))
                return p * (1 - p)
        ''',
        "ex4_code": '''
            def gaussian_mean_fisher_matrix(Sigma):
                Sigma = np.asarray(Sigma, dtype=float)
                L = np.linalg.cholesky(Sigma)
                L_inv = np.linalg.solve(L, np.eye(len(Sigma)))
                return L_inv.T @ L_inv


            def most_informative_direction(F):
                F = np.asarray(F, dtype=float)
                u, s, vt = np.linalg.svd(F)  # for SPD matrices the SVD is the eigendecomposition
                return vt[0]
        ''',
        "ex5_code": '''
            def _plogp_ratio(a, b):
                a = np.asarray(a, dtype=float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    return np.where(a == 0, 0.0, a * (np.log(a) - np.log(b)))


            def bernoulli_kl(p, q):
                return _plogp_ratio(p, q) + _plogp_ratio(1 - np.asarray(p, dtype=float), 1 - np.asarray(q, dtype=float))


            def kl_quadratic(p, delta):
                return np.square(delta) / (2 * p * (1 - p))
        ''',
        "ex6_code": '''
            from math import pi


            def jeffreys_bernoulli(p):
                return np.power(p, -0.5) * np.power(1 - np.asarray(p, dtype=float), -0.5) / pi


            def jeffreys_exponential(lam):
                fisher = 1 / np.asarray(lam, dtype=float) ** 2
                return np.sqrt(fisher)
        ''',
        "ex7_code": '''
            def logistic_hessian(X, w):
                X = np.asarray(X, dtype=float)
                s = 0.5 * (1 + np.tanh(0.5 * (X @ w)))
                Xw = X * np.sqrt(s * (1 - s))[:, None]
                return Xw.T @ Xw / len(X)


            def logistic_empirical_fisher(X, y, w):
                X = np.asarray(X, dtype=float)
                s = 0.5 * (1 + np.tanh(0.5 * (X @ w)))
                return (X * ((s - y) ** 2)[:, None]).T @ X / len(X)
        ''',
        "ex8_code": '''
            def diagonal_empirical_fisher(X, y, w):
                X = np.asarray(X, dtype=float)
                s = 0.5 * (1 + np.tanh(0.5 * (X @ w)))
                return np.einsum("i,ij->j", (s - y) ** 2, X**2) / X.shape[0]


            def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
                d = np.asarray(theta, dtype=float) - theta_old
                return (lam / 2) * d @ np.diag(fisher_diag) @ d
        ''',
        "ex9_code": '''
            def fisher_by_enumeration(probs, scores):
                return float(np.average(np.square(scores), weights=probs) * np.sum(probs))
        ''',
        "ex10_code": '''
            def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
                F = np.asarray(fisher, dtype=float)
                A = F + damping * np.eye(F.shape[0])
                v = np.linalg.lstsq(A, np.asarray(grad, dtype=float), rcond=None)[0]
                return np.asarray(theta, dtype=float) - lr * v
        ''',
    }, tags=("mc-valid",)),
]

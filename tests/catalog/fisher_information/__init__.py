"""The mutation catalog of unit 1, ``fisher_information``: its contract and entries.

The contract (answer cells, contract functions, their parts, one correct implementation of
each) is what :mod:`tests.catalog.fisher_information.mistakes`, ``alternatives`` and ``attacks``
are written against; ``tests/test_catalog.py`` checks it against the source notebook.
"""

from __future__ import annotations

from tests.catalog import Contract

#: Answer cell of each exercise and the contract functions it defines, in notebook order.
EXERCISES: dict[str, tuple[str, ...]] = {
    "ex1_code": ("bernoulli_score", "bernoulli_fisher"),
    "ex2_code": ("gaussian_mean_fisher", "mc_score_variance"),
    "ex3_code": ("reparameterize_fisher", "bernoulli_logit_fisher"),
    "ex4_code": ("gaussian_mean_fisher_matrix", "most_informative_direction"),
    "ex5_code": ("bernoulli_kl", "kl_quadratic"),
    "ex6_code": ("jeffreys_bernoulli", "jeffreys_exponential"),
    "ex7_code": ("logistic_hessian", "logistic_empirical_fisher"),
    "ex8_code": ("diagonal_empirical_fisher", "ewc_penalty"),
    "ex9_code": ("fisher_by_enumeration",),
    "ex10_code": ("natural_gradient_step",),
}

#: The main autograded part (test cell grade id) of each contract function.
PARTS: dict[str, str] = {
    "bernoulli_score": "ex1a_bernoulli_score",
    "bernoulli_fisher": "ex1b_bernoulli_fisher",
    "gaussian_mean_fisher": "ex2a_gaussian_mean_fisher",
    "mc_score_variance": "ex2b_mc_score_variance",
    "reparameterize_fisher": "ex3a_reparameterize_fisher",
    "bernoulli_logit_fisher": "ex3b_bernoulli_logit_fisher",
    "gaussian_mean_fisher_matrix": "ex4a_gaussian_mean_fisher_matrix",
    "most_informative_direction": "ex4b_most_informative_direction",
    "bernoulli_kl": "ex5a_bernoulli_kl",
    "kl_quadratic": "ex5b_kl_quadratic",
    "jeffreys_bernoulli": "ex6a_jeffreys_bernoulli",
    "jeffreys_exponential": "ex6b_jeffreys_exponential",
    "logistic_hessian": "ex7a_logistic_hessian",
    "logistic_empirical_fisher": "ex7b_logistic_empirical_fisher",
    "diagonal_empirical_fisher": "ex8a_diagonal_empirical_fisher",
    "ewc_penalty": "ex8b_ewc_penalty",
    "fisher_by_enumeration": "ex9a_fisher_by_enumeration",
    "natural_gradient_step": "ex10a_natural_gradient_step",
}

#: Test cells that grade one stated edge case of a function on their own points: the overflow
#: of Ex 3.2 and the 0 log 0 convention of Ex 5.1.
EDGE_PARTS: dict[str, tuple[str, ...]] = {
    "bernoulli_logit_fisher": ("ex3b_bernoulli_logit_fisher_overflow",),
    "bernoulli_kl": ("ex5a_bernoulli_kl_edges",),
}

#: One correct implementation of every contract function, as a student would write it (the
#: reference solution's formulas). A mistake entry changes one function and keeps the others.
REFERENCE_CODE: dict[str, str] = {
    "bernoulli_score": '''
        def bernoulli_score(x, p):
            return x / p - (1 - x) / (1 - p)
    ''',
    "bernoulli_fisher": '''
        def bernoulli_fisher(p):
            return 1.0 / (p * (1 - p))
    ''',
    "gaussian_mean_fisher": '''
        def gaussian_mean_fisher(n, sigma2):
            return n / sigma2
    ''',
    "mc_score_variance": '''
        def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
            rng = np.random.default_rng(seed)
            x = rng.normal(mu, np.sqrt(sigma2), size=(reps, n))
            scores = np.sum(x - mu, axis=1) / sigma2
            return np.var(scores)
    ''',
    "reparameterize_fisher": '''
        def reparameterize_fisher(fisher_theta, jacobian):
            fisher_theta = np.asarray(fisher_theta, dtype=float)
            jacobian = np.asarray(jacobian, dtype=float)
            if fisher_theta.ndim == 0:
                return fisher_theta * jacobian**2
            return jacobian.T @ fisher_theta @ jacobian
    ''',
    "bernoulli_logit_fisher": '''
        def bernoulli_logit_fisher(phi):
            e = np.exp(-np.abs(np.asarray(phi, dtype=float)))
            return e / (1.0 + e) ** 2
    ''',
    "gaussian_mean_fisher_matrix": '''
        def gaussian_mean_fisher_matrix(Sigma):
            return np.linalg.inv(np.asarray(Sigma, dtype=float))
    ''',
    "most_informative_direction": '''
        def most_informative_direction(F):
            eigenvalues, eigenvectors = np.linalg.eigh(np.asarray(F, dtype=float))
            return eigenvectors[:, np.argmax(eigenvalues)]
    ''',
    "bernoulli_kl": '''
        def bernoulli_kl(p, q):
            p = np.asarray(p, dtype=float)
            q = np.asarray(q, dtype=float)
            with np.errstate(divide="ignore", invalid="ignore"):
                first = np.where(p > 0, p * np.log(p / q), 0.0)
                second = np.where(p < 1, (1 - p) * np.log((1 - p) / (1 - q)), 0.0)
            return first + second
    ''',
    "kl_quadratic": '''
        def kl_quadratic(p, delta):
            return 0.5 * delta**2 / (p * (1 - p))
    ''',
    "jeffreys_bernoulli": '''
        def jeffreys_bernoulli(p):
            return 1.0 / (np.pi * np.sqrt(p * (1 - p)))
    ''',
    "jeffreys_exponential": '''
        def jeffreys_exponential(lam):
            return 1.0 / lam
    ''',
    "logistic_hessian": '''
        def logistic_hessian(X, w):
            X = np.asarray(X, dtype=float)
            s = 1.0 / (1.0 + np.exp(-(X @ w)))
            return (X.T * (s * (1 - s))) @ X / len(X)
    ''',
    "logistic_empirical_fisher": '''
        def logistic_empirical_fisher(X, y, w):
            X = np.asarray(X, dtype=float)
            s = 1.0 / (1.0 + np.exp(-(X @ w)))
            g = (s - y)[:, None] * X
            return g.T @ g / len(X)
    ''',
    "diagonal_empirical_fisher": '''
        def diagonal_empirical_fisher(X, y, w):
            X = np.asarray(X, dtype=float)
            s = 1.0 / (1.0 + np.exp(-(X @ w)))
            return np.mean(((s - y)[:, None] * X) ** 2, axis=0)
    ''',
    "ewc_penalty": '''
        def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):
            diff = np.asarray(theta, dtype=float) - np.asarray(theta_old, dtype=float)
            return 0.5 * lam * np.sum(np.asarray(fisher_diag) * diff**2)
    ''',
    "fisher_by_enumeration": '''
        def fisher_by_enumeration(probs, scores):
            probs = np.asarray(probs, dtype=float)
            scores = np.asarray(scores, dtype=float)
            return np.sum(probs * scores**2)
    ''',
    "natural_gradient_step": '''
        def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):
            fisher = np.asarray(fisher, dtype=float)
            damped = fisher + damping * np.eye(fisher.shape[0])
            return np.asarray(theta, dtype=float) - lr * np.linalg.solve(damped, grad)
    ''',
}

CONTRACT = Contract(
    assignment="fisher_information",
    package=__name__,
    exercises=EXERCISES,
    parts=PARTS,
    reference_code=REFERENCE_CODE,
    edge_parts=EDGE_PARTS,
)

mistake = CONTRACT.mistake
correct = CONTRACT.correct
attack = CONTRACT.attack

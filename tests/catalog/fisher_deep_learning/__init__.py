"""The mutation catalog of unit 3, ``fisher_deep_learning``: its contract and entries.

The contract (answer cells, contract functions, their parts, one correct implementation of
each) is what :mod:`tests.catalog.fisher_deep_learning.mistakes`, ``alternatives`` and ``attacks``
are written against; ``tests/test_catalog.py`` checks it against the source notebook.

Two functions may call their cell's other function (``softmax_fvp`` may call ``softmax_rows``,
``tweedie_denoise`` may call ``mixture_score``); their implementations here do not, so a mistake
in one function of a cell is graded against a correct other function.
"""

from __future__ import annotations

from tests.catalog import Contract

#: Answer cell of each exercise and the contract functions it defines, in notebook order.
EXERCISES: dict[str, tuple[str, ...]] = {
    "ex1_code": ("tanh_net_jacobian", "ggn_matrix"),
    "ex2_code": ("natural_gradient_run", "kl_constrained_step"),
    "ex3_code": ("sampled_fisher", "adam_second_moment"),
    "ex4_code": ("kfac_block", "kfac_precondition"),
    "ex5_code": ("ewc_objective", "ewc_minimizer"),
    "ex6_code": ("softmax_rows", "softmax_fvp"),
    "ex7_code": ("obd_saliency", "prune_smallest"),
    "ex8_code": ("quantization_sensitivity", "fisher_merge"),
    "ex9_code": ("mixture_score", "tweedie_denoise"),
}

#: The autograded part (test cell grade id) of each contract function.
PARTS: dict[str, str] = {
    fn: f"{cell.removesuffix('_code')}{letter}_{fn}"
    for cell, fns in EXERCISES.items()
    for letter, fn in zip("ab", fns, strict=False)
}

#: One correct implementation of every contract function, as a student would write it (the
#: reference solution's formulas). A mistake entry changes one function and keeps the others.
REFERENCE_CODE: dict[str, str] = {
    "tanh_net_jacobian": '''
        def tanh_net_jacobian(u, v, x):
            u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
            x = np.atleast_1d(np.asarray(x, dtype=float))
            t = np.tanh(np.outer(x, u))
            return np.hstack([v * (1 - t**2) * x[:, None], t])
    ''',
    "ggn_matrix": '''
        def ggn_matrix(J, curvature):
            J = np.asarray(J, dtype=float)
            c = np.broadcast_to(np.asarray(curvature, dtype=float), (J.shape[0],))
            return (J.T * c) @ J / J.shape[0]
    ''',
    "natural_gradient_run": '''
        def natural_gradient_run(X, y, w0, lr, damping, steps):
            X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
            w = np.asarray(w0, dtype=float).copy()
            path = [w.copy()]
            for _ in range(steps):
                s = 1.0 / (1.0 + np.exp(-(X @ w)))
                grad = X.T @ (s - y) / len(X)
                fisher = (X.T * (s * (1 - s))) @ X / len(X)
                w = w - lr * np.linalg.solve(fisher + damping * np.eye(len(w)), grad)
                path.append(w.copy())
            return np.array(path)
    ''',
    "kl_constrained_step": '''
        def kl_constrained_step(grad, fisher, max_kl):
            grad = np.asarray(grad, dtype=float)
            direction = np.linalg.solve(np.asarray(fisher, dtype=float), grad)
            curvature = grad @ direction
            if curvature == 0:
                return np.zeros_like(grad)
            return -np.sqrt(2 * max_kl / curvature) * direction
    ''',
    "sampled_fisher": '''
        def sampled_fisher(X, w, n_draws, seed):
            X = np.asarray(X, dtype=float)
            rng = np.random.default_rng(seed)
            s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
            labels = rng.random((n_draws, len(X))) < s
            residual2 = np.mean((s - labels) ** 2, axis=0)
            return (X.T * residual2) @ X / len(X)
    ''',
    "adam_second_moment": '''
        def adam_second_moment(grads, beta2=0.999):
            grads = np.asarray(grads, dtype=float)
            v = np.zeros(grads.shape[1])
            for g in grads:
                v = beta2 * v + (1 - beta2) * g**2
            return v / (1 - beta2 ** len(grads))
    ''',
    "kfac_block": '''
        def kfac_block(acts, grads):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            return np.kron(grads.T @ grads / len(grads), acts.T @ acts / len(acts))
    ''',
    "kfac_precondition": '''
        def kfac_precondition(acts, grads, V, damping):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            gamma = np.sqrt(damping)
            A = acts.T @ acts / len(acts) + gamma * np.eye(acts.shape[1])
            G = grads.T @ grads / len(grads) + gamma * np.eye(grads.shape[1])
            return np.linalg.solve(G, np.asarray(V, dtype=float)) @ np.linalg.inv(A)
    ''',
    "ewc_objective": '''
        def ewc_objective(theta, X_b, y_b, theta_a, fisher, lam):
            theta, fisher = np.asarray(theta, dtype=float), np.asarray(fisher, dtype=float)
            F = np.diag(fisher) if fisher.ndim == 1 else fisher
            residual = np.asarray(X_b, dtype=float) @ theta - np.asarray(y_b, dtype=float)
            d = theta - np.asarray(theta_a, dtype=float)
            return 0.5 * np.mean(residual**2) + 0.5 * lam * d @ F @ d
    ''',
    "ewc_minimizer": '''
        def ewc_minimizer(X_b, y_b, theta_a, fisher, lam):
            X_b, fisher = np.asarray(X_b, dtype=float), np.asarray(fisher, dtype=float)
            F = np.diag(fisher) if fisher.ndim == 1 else fisher
            n = len(X_b)
            rhs = X_b.T @ np.asarray(y_b, dtype=float) / n + lam * F @ np.asarray(theta_a, dtype=float)
            return np.linalg.solve(X_b.T @ X_b / n + lam * F, rhs)
    ''',
    "softmax_rows": '''
        def softmax_rows(W):
            W = np.asarray(W, dtype=float)
            e = np.exp(W - W.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
    ''',
    "softmax_fvp": '''
        def softmax_fvp(W, contexts, V):
            W, V = np.asarray(W, dtype=float), np.asarray(V, dtype=float)
            P = np.exp(W - W.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            counts = np.bincount(np.asarray(contexts, dtype=int), minlength=len(W))
            inner = np.sum(P * V, axis=1, keepdims=True)
            return (counts / counts.sum())[:, None] * P * (V - inner)
    ''',
    "obd_saliency": '''
        def obd_saliency(weights, fisher_diag):
            return 0.5 * np.asarray(fisher_diag, dtype=float) * np.asarray(weights, dtype=float) ** 2
    ''',
    "prune_smallest": '''
        def prune_smallest(weights, scores, fraction):
            weights = np.array(weights, dtype=float)
            k = int(np.floor(fraction * weights.size))
            order = np.argsort(np.asarray(scores, dtype=float), axis=None)
            weights.flat[order[:k]] = 0.0
            return weights
    ''',
    "quantization_sensitivity": '''
        def quantization_sensitivity(weights, fisher_diag, step):
            w = np.asarray(weights, dtype=float)
            error = w - step * np.round(w / step)
            return 0.5 * np.sum(np.asarray(fisher_diag, dtype=float) * error**2)
    ''',
    "fisher_merge": '''
        def fisher_merge(params, fishers, model_weights=None):
            params, fishers = np.asarray(params, dtype=float), np.asarray(fishers, dtype=float)
            lam = np.ones(len(params)) if model_weights is None else np.asarray(model_weights, dtype=float)
            lam = lam[:, None]
            total = np.sum(lam * fishers, axis=0)
            plain = np.sum(lam * params, axis=0) / np.sum(lam)
            safe = np.where(total > 0, total, 1.0)
            return np.where(total > 0, np.sum(lam * fishers * params, axis=0) / safe, plain)
    ''',
    "mixture_score": '''
        def mixture_score(x, means, sds, weights):
            x = np.asarray(x, dtype=float)[..., None]
            means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
            log_terms = np.log(np.asarray(weights, dtype=float)) - np.log(sds) - 0.5 * ((x - means) / sds) ** 2
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return np.sum(resp * (means - x) / sds**2, axis=-1)
    ''',
    "tweedie_denoise": '''
        def tweedie_denoise(y, sigma, means, sds, weights):
            y = np.asarray(y, dtype=float)
            means = np.asarray(means, dtype=float)
            var = np.asarray(sds, dtype=float) ** 2 + sigma**2
            log_terms = np.log(np.asarray(weights, dtype=float)) - 0.5 * np.log(var)
            log_terms = log_terms - 0.5 * (y[..., None] - means) ** 2 / var
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return y + sigma**2 * np.sum(resp * (means - y[..., None]) / var, axis=-1)
    ''',
}

CONTRACT = Contract(
    assignment="fisher_deep_learning",
    package=__name__,
    exercises=EXERCISES,
    parts=PARTS,
    reference_code=REFERENCE_CODE,
)

mistake = CONTRACT.mistake
correct = CONTRACT.correct
attack = CONTRACT.attack

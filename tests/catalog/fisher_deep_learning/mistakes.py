"""Plausible mistakes, each confined to one contract function (see :func:`catalog.mistake`).

Each must lose its own function's part and no other. Grouped by exercise; every contract
function has at least one, every exercise at least three, among them wrong values for an input
type the contract allows (lists, a scalar, a 2-D Fisher) and missed edge cases (a zero
gradient, a token that never occurs, a parameter no model has information on, underflow in the
tails). The Monte Carlo estimator of Exercise 3 has mistakes of two kinds: estimates of a wrong
quantity (tag ``mc-wrong-quantity``) and estimates of the right quantity with the wrong sampling
error (tag ``mc-wrong-spread``); ``tests/test_fisher_deep_learning_exercises.py`` checks the
tolerance against both.
"""

from __future__ import annotations

from tests.catalog.fisher_deep_learning import mistake

MISTAKES = [
    # ----------------------------------------------------------------- ex1: Jacobian, GGN
    mistake("m_dl1_jacobian_chain_rule_x", "tanh_net_jacobian", '''
        def tanh_net_jacobian(u, v, x):
            u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
            x = np.atleast_1d(np.asarray(x, dtype=float))
            t = np.tanh(np.outer(x, u))
            return np.hstack([v * (1 - t**2), t])
    ''', "chain rule: d/du_j tanh(u_j x) without the factor x"),
    mistake("m_dl1_jacobian_blocks_swapped", "tanh_net_jacobian", '''
        def tanh_net_jacobian(u, v, x):
            u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
            x = np.atleast_1d(np.asarray(x, dtype=float))
            t = np.tanh(np.outer(x, u))
            return np.hstack([t, v * (1 - t**2) * x[:, None]])
    ''', "the v-block before the u-block (columns in the wrong order)", tags=("extended",)),
    mistake("m_dl1_jacobian_scalar_x", "tanh_net_jacobian", '''
        def tanh_net_jacobian(u, v, x):
            u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
            x = np.asarray(x, dtype=float)
            t = np.tanh(np.outer(x, u))
            return np.hstack([v * (1 - t**2) * x[:, None], t])
    ''', "a single input given as a number (allowed) raises: x[:, None] on a 0-d array"),
    mistake("m_dl1_ggn_sum", "ggn_matrix", '''
        def ggn_matrix(J, curvature):
            J = np.asarray(J, dtype=float)
            c = np.broadcast_to(np.asarray(curvature, dtype=float), (J.shape[0],))
            return (J.T * c) @ J
    ''', "a sum over examples, not a mean"),
    mistake("m_dl1_ggn_scalar_curvature", "ggn_matrix", '''
        def ggn_matrix(J, curvature):
            J = np.asarray(J, dtype=float)
            return J.T @ np.diag(curvature) @ J / len(J)
    ''', "a scalar curvature (allowed) raises: np.diag of a number"),
    mistake("m_dl1_ggn_curvature_squared", "ggn_matrix", '''
        def ggn_matrix(J, curvature):
            J = np.asarray(J, dtype=float)
            c = np.broadcast_to(np.asarray(curvature, dtype=float), (J.shape[0],))
            return (J.T * c**2) @ J / len(J)
    ''', "the curvature squared (each row scaled by c_i before the outer product)", tags=("extended",)),
    # ----------------------------------------------------------------- ex2: natural gradient run, KL step
    mistake("m_dl2_run_fisher_frozen", "natural_gradient_run", '''
        def natural_gradient_run(X, y, w0, lr, damping, steps):
            X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
            w = np.asarray(w0, dtype=float).copy()
            s0 = 1.0 / (1.0 + np.exp(-(X @ w)))
            fisher = (X.T * (s0 * (1 - s0))) @ X / len(X)
            path = [w.copy()]
            for _ in range(steps):
                s = 1.0 / (1.0 + np.exp(-(X @ w)))
                grad = X.T @ (s - y) / len(X)
                w = w - lr * np.linalg.solve(fisher + damping * np.eye(len(w)), grad)
                path.append(w.copy())
            return np.array(path)
    ''', "the Fisher computed once at w0 and never updated"),
    mistake("m_dl2_run_no_w0_row", "natural_gradient_run", '''
        def natural_gradient_run(X, y, w0, lr, damping, steps):
            X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
            w = np.asarray(w0, dtype=float).copy()
            path = []
            for _ in range(steps):
                s = 1.0 / (1.0 + np.exp(-(X @ w)))
                grad = X.T @ (s - y) / len(X)
                fisher = (X.T * (s * (1 - s))) @ X / len(X)
                w = w - lr * np.linalg.solve(fisher + damping * np.eye(len(w)), grad)
                path.append(w.copy())
            return np.array(path)
    ''', "the iterates without w0 (steps rows, not steps + 1)"),
    mistake("m_dl2_run_modifies_w0", "natural_gradient_run", '''
        def natural_gradient_run(X, y, w0, lr, damping, steps):
            X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
            w = np.asarray(w0, dtype=float)
            path = [w.copy()]
            for _ in range(steps):
                s = 1.0 / (1.0 + np.exp(-(X @ w)))
                grad = X.T @ (s - y) / len(X)
                fisher = (X.T * (s * (1 - s))) @ X / len(X)
                w -= lr * np.linalg.solve(fisher + damping * np.eye(len(w)), grad)
                path.append(w.copy())
            return np.array(path)
    ''', "updates w in place, so the caller's w0 array is modified"),
    mistake("m_dl2_run_damping_everywhere", "natural_gradient_run", '''
        def natural_gradient_run(X, y, w0, lr, damping, steps):
            X, y = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
            w = np.asarray(w0, dtype=float).copy()
            path = [w.copy()]
            for _ in range(steps):
                s = 1.0 / (1.0 + np.exp(-(X @ w)))
                grad = X.T @ (s - y) / len(X)
                fisher = (X.T * (s * (1 - s))) @ X / len(X)
                w = w - lr * np.linalg.solve(fisher + damping, grad)
                path.append(w.copy())
            return np.array(path)
    ''', "damping added to every entry of F, not to its diagonal", tags=("extended",)),
    mistake("m_dl2_kl_factor_two", "kl_constrained_step", '''
        def kl_constrained_step(grad, fisher, max_kl):
            grad = np.asarray(grad, dtype=float)
            direction = np.linalg.solve(np.asarray(fisher, dtype=float), grad)
            curvature = grad @ direction
            if curvature == 0:
                return np.zeros_like(grad)
            return -np.sqrt(max_kl / curvature) * direction
    ''', "the factor 1/2 of the quadratic KL forgotten: d^T F d = max_kl"),
    mistake("m_dl2_kl_zero_gradient_nan", "kl_constrained_step", '''
        def kl_constrained_step(grad, fisher, max_kl):
            grad = np.asarray(grad, dtype=float)
            direction = np.linalg.solve(np.asarray(fisher, dtype=float), grad)
            return -np.sqrt(2 * max_kl / (grad @ direction)) * direction
    ''', "a zero gradient (an edge case the contract names) gives 0/0 = nan"),
    mistake("m_dl2_kl_gradient_direction", "kl_constrained_step", '''
        def kl_constrained_step(grad, fisher, max_kl):
            grad = np.asarray(grad, dtype=float)
            fisher = np.asarray(fisher, dtype=float)
            quad = grad @ fisher @ grad
            if quad == 0:
                return np.zeros_like(grad)
            return -np.sqrt(2 * max_kl / quad) * grad
    ''', "the gradient direction scaled to the KL budget, not the natural direction F^-1 g", tags=("extended",)),
    # ----------------------------------------------------------------- ex3: sampled Fisher, Adam
    mistake("m_dl3_mc_fair_coin_labels", "sampled_fisher", '''
        def sampled_fisher(X, w, n_draws, seed):
            X = np.asarray(X, dtype=float)
            rng = np.random.default_rng(seed)
            s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
            labels = rng.random((n_draws, len(X))) < 0.5
            residual2 = np.mean((s - labels) ** 2, axis=0)
            return (X.T * residual2) @ X / len(X)
    ''', "labels drawn from a fair coin, not from the model", tags=("mc-wrong-quantity",)),
    mistake("m_dl3_mc_mean_gradient_outer", "sampled_fisher", '''
        def sampled_fisher(X, w, n_draws, seed):
            X = np.asarray(X, dtype=float)
            rng = np.random.default_rng(seed)
            s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
            out = np.zeros((X.shape[1], X.shape[1]))
            for _ in range(n_draws):
                g = np.mean((s - (rng.random(len(X)) < s))[:, None] * X, axis=0)
                out += np.outer(g, g)
            return out / n_draws
    ''', "the outer product of the mean gradient, not the mean of the outer products",
        tags=("mc-wrong-quantity",)),
    mistake("m_dl3_mc_diagonal_only", "sampled_fisher", '''
        def sampled_fisher(X, w, n_draws, seed):
            X = np.asarray(X, dtype=float)
            rng = np.random.default_rng(seed)
            s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
            labels = rng.random((n_draws, len(X))) < s
            residual2 = np.mean((s - labels) ** 2, axis=0)
            return np.diag(residual2 @ X**2 / len(X))
    ''', "only the diagonal of the Fisher (its trace is right)", tags=("mc-wrong-quantity",)),
    mistake("m_dl3_mc_one_draw", "sampled_fisher", '''
        def sampled_fisher(X, w, n_draws, seed):
            X = np.asarray(X, dtype=float)
            rng = np.random.default_rng(seed)
            s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
            labels = rng.random(len(X)) < s
            return (X.T * (s - labels) ** 2) @ X / len(X)
    ''', "one label draw per row whatever n_draws says: right mean, sampling error sqrt(n_draws) too large",
        tags=("mc-wrong-spread",)),
    mistake("m_dl3_mc_closed_form", "sampled_fisher", '''
        def sampled_fisher(X, w, n_draws, seed):
            X = np.asarray(X, dtype=float)
            s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
            return (X.T * (s * (1 - s))) @ X / len(X)
    ''', "the closed-form Fisher returned: no sampling at all", tags=("mc-wrong-spread",)),
    mistake("m_dl3_adam_no_bias_correction", "adam_second_moment", '''
        def adam_second_moment(grads, beta2=0.999):
            grads = np.asarray(grads, dtype=float)
            v = np.zeros(grads.shape[1])
            for g in grads:
                v = beta2 * v + (1 - beta2) * g**2
            return v
    ''', "the bias correction 1 / (1 - beta2^T) forgotten"),
    mistake("m_dl3_adam_betas_swapped", "adam_second_moment", '''
        def adam_second_moment(grads, beta2=0.999):
            grads = np.asarray(grads, dtype=float)
            v = np.zeros(grads.shape[1])
            for g in grads:
                v = (1 - beta2) * v + beta2 * g**2
            return v / (1 - beta2 ** len(grads))
    ''', "beta2 and 1 - beta2 swapped in the running average"),
    mistake("m_dl3_adam_rms", "adam_second_moment", '''
        def adam_second_moment(grads, beta2=0.999):
            grads = np.asarray(grads, dtype=float)
            v = np.zeros(grads.shape[1])
            for g in grads:
                v = beta2 * v + (1 - beta2) * g**2
            return np.sqrt(v / (1 - beta2 ** len(grads)))
    ''', "the square root of the second moment (what Adam divides by), not the moment", tags=("extended",)),
    # ----------------------------------------------------------------- ex4: K-FAC
    mistake("m_dl4_kron_order", "kfac_block", '''
        def kfac_block(acts, grads):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            return np.kron(acts.T @ acts / len(acts), grads.T @ grads / len(grads))
    ''', "np.kron(A, G): the column-major vec convention"),
    mistake("m_dl4_block_sum", "kfac_block", '''
        def kfac_block(acts, grads):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            return np.kron(grads.T @ grads, acts.T @ acts) / len(acts)
    ''', "divided by n once, not once per factor"),
    mistake("m_dl4_block_centred", "kfac_block", '''
        def kfac_block(acts, grads):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            A = np.cov(acts.T, bias=True).reshape(acts.shape[1], acts.shape[1])
            G = np.cov(grads.T, bias=True).reshape(grads.shape[1], grads.shape[1])
            return np.kron(G, A)
    ''', "covariances (means subtracted) instead of second moments", tags=("extended",)),
    mistake("m_dl4_pre_factors_swapped", "kfac_precondition", '''
        def kfac_precondition(acts, grads, V, damping):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            gamma = np.sqrt(damping)
            A = acts.T @ acts / len(acts) + gamma * np.eye(acts.shape[1])
            G = grads.T @ grads / len(grads) + gamma * np.eye(grads.shape[1])
            return np.linalg.inv(A) @ np.asarray(V, dtype=float) @ np.linalg.inv(G)
    ''', "A on the left and G on the right"),
    mistake("m_dl4_pre_damping_not_sqrt", "kfac_precondition", '''
        def kfac_precondition(acts, grads, V, damping):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            A = acts.T @ acts / len(acts) + damping * np.eye(acts.shape[1])
            G = grads.T @ grads / len(grads) + damping * np.eye(grads.shape[1])
            return np.linalg.solve(G, np.asarray(V, dtype=float)) @ np.linalg.inv(A)
    ''', "damping added to each factor as lambda, not sqrt(lambda)"),
    mistake("m_dl4_pre_exact_tikhonov", "kfac_precondition", '''
        def kfac_precondition(acts, grads, V, damping):
            acts, grads = np.asarray(acts, dtype=float), np.asarray(grads, dtype=float)
            A = acts.T @ acts / len(acts)
            G = grads.T @ grads / len(grads)
            V = np.asarray(V, dtype=float)
            block = np.kron(G, A) + damping * np.eye(V.size)
            return np.linalg.solve(block, V.ravel()).reshape(V.shape)
    ''', "damping added to the Kronecker product (exact Tikhonov), not to each factor"),
    # ----------------------------------------------------------------- ex5: EWC
    mistake("m_dl5_obj_no_half", "ewc_objective", '''
        def ewc_objective(theta, X_b, y_b, theta_a, fisher, lam):
            theta, fisher = np.asarray(theta, dtype=float), np.asarray(fisher, dtype=float)
            F = np.diag(fisher) if fisher.ndim == 1 else fisher
            residual = np.asarray(X_b, dtype=float) @ theta - np.asarray(y_b, dtype=float)
            d = theta - np.asarray(theta_a, dtype=float)
            return np.mean(residual**2) + 0.5 * lam * d @ F @ d
    ''', "the task-B loss without its factor 1/2", tags=("extended",)),
    mistake("m_dl5_obj_full_fisher_diagonal", "ewc_objective", '''
        def ewc_objective(theta, X_b, y_b, theta_a, fisher, lam):
            theta, fisher = np.asarray(theta, dtype=float), np.asarray(fisher, dtype=float)
            if fisher.ndim == 2:
                fisher = np.diag(fisher)
            residual = np.asarray(X_b, dtype=float) @ theta - np.asarray(y_b, dtype=float)
            d = theta - np.asarray(theta_a, dtype=float)
            return 0.5 * np.mean(residual**2) + 0.5 * lam * np.sum(fisher * d**2)
    ''', "a full (2-D) Fisher, an allowed input, reduced to its diagonal"),
    mistake("m_dl5_obj_no_lists", "ewc_objective", '''
        def ewc_objective(theta, X_b, y_b, theta_a, fisher, lam):
            F = np.diag(fisher) if np.ndim(fisher) == 1 else fisher
            d = theta - theta_a
            return 0.5 * np.mean((X_b @ theta - y_b) ** 2) + 0.5 * lam * d @ F @ d
    ''', "lists (allowed) are not converted: theta - theta_a raises on lists"),
    mistake("m_dl5_min_anchor_at_zero", "ewc_minimizer", '''
        def ewc_minimizer(X_b, y_b, theta_a, fisher, lam):
            X_b, fisher = np.asarray(X_b, dtype=float), np.asarray(fisher, dtype=float)
            F = np.diag(fisher) if fisher.ndim == 1 else fisher
            n = len(X_b)
            return np.linalg.solve(X_b.T @ X_b / n + lam * F, X_b.T @ np.asarray(y_b, dtype=float) / n)
    ''', "the penalty's pull towards theta_a (lam F theta_a) missing: ridge towards 0"),
    mistake("m_dl5_min_sum_not_mean", "ewc_minimizer", '''
        def ewc_minimizer(X_b, y_b, theta_a, fisher, lam):
            X_b, fisher = np.asarray(X_b, dtype=float), np.asarray(fisher, dtype=float)
            F = np.diag(fisher) if fisher.ndim == 1 else fisher
            rhs = X_b.T @ np.asarray(y_b, dtype=float) + lam * F @ np.asarray(theta_a, dtype=float)
            return np.linalg.solve(X_b.T @ X_b + lam * F, rhs)
    ''', "the task-B loss taken as a sum (X^T X, not X^T X / n): lam n times too weak"),
    mistake("m_dl5_min_vector_fisher_broadcast", "ewc_minimizer", '''
        def ewc_minimizer(X_b, y_b, theta_a, fisher, lam):
            X_b, fisher = np.asarray(X_b, dtype=float), np.asarray(fisher, dtype=float)
            n = len(X_b)
            rhs = X_b.T @ np.asarray(y_b, dtype=float) / n + lam * fisher * np.asarray(theta_a, dtype=float)
            return np.linalg.solve(X_b.T @ X_b / n + lam * fisher, rhs)
    ''', "a 1-D Fisher broadcast into every row of the matrix instead of its diagonal"),
    # ----------------------------------------------------------------- ex6: softmax, FVP
    mistake("m_dl6_softmax_overflow", "softmax_rows", '''
        def softmax_rows(W):
            e = np.exp(np.asarray(W, dtype=float))
            return e / e.sum(axis=1, keepdims=True)
    ''', "no max subtraction: exp overflows for logits of size 1000"),
    mistake("m_dl6_softmax_global_max", "softmax_rows", '''
        def softmax_rows(W):
            W = np.asarray(W, dtype=float)
            e = np.exp(W - W.max())
            return e / e.sum(axis=1, keepdims=True)
    ''', "the global maximum subtracted: a row far below it underflows to 0/0"),
    mistake("m_dl6_softmax_whole_array", "softmax_rows", '''
        def softmax_rows(W):
            W = np.asarray(W, dtype=float)
            e = np.exp(W - W.max())
            return e / e.sum()
    ''', "normalized over the whole array, not per row"),
    mistake("m_dl6_fvp_uniform_contexts", "softmax_fvp", '''
        def softmax_fvp(W, contexts, V):
            W, V = np.asarray(W, dtype=float), np.asarray(V, dtype=float)
            P = np.exp(W - W.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            inner = np.sum(P * V, axis=1, keepdims=True)
            return P * (V - inner) / len(W)
    ''', "every row weighted 1/K instead of by its context frequency n_c / N", tags=("extended",)),
    mistake("m_dl6_fvp_diagonal_only", "softmax_fvp", '''
        def softmax_fvp(W, contexts, V):
            W, V = np.asarray(W, dtype=float), np.asarray(V, dtype=float)
            P = np.exp(W - W.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            counts = np.bincount(np.asarray(contexts, dtype=int), minlength=len(W))
            return (counts / counts.sum())[:, None] * P * V
    ''', "diag(p) only: the -p p^T part of the softmax Hessian dropped"),
    mistake("m_dl6_fvp_missing_context", "softmax_fvp", '''
        def softmax_fvp(W, contexts, V):
            W, V = np.asarray(W, dtype=float), np.asarray(V, dtype=float)
            P = np.exp(W - W.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            counts = np.bincount(np.asarray(contexts, dtype=int))
            inner = np.sum(P * V, axis=1, keepdims=True)
            return (counts / counts.sum())[:, None] * P * (V - inner)
    ''', "np.bincount without minlength: a last token that never occurs breaks the shapes"),
    mistake("m_dl6_fvp_sum_not_mean", "softmax_fvp", '''
        def softmax_fvp(W, contexts, V):
            W, V = np.asarray(W, dtype=float), np.asarray(V, dtype=float)
            P = np.exp(W - W.max(axis=1, keepdims=True))
            P /= P.sum(axis=1, keepdims=True)
            counts = np.bincount(np.asarray(contexts, dtype=int), minlength=len(W))
            inner = np.sum(P * V, axis=1, keepdims=True)
            return counts[:, None] * P * (V - inner)
    ''', "a sum over the N contexts, not a mean", tags=("extended",)),
    # ----------------------------------------------------------------- ex7: OBD
    mistake("m_dl7_saliency_no_half", "obd_saliency", '''
        def obd_saliency(weights, fisher_diag):
            return np.asarray(fisher_diag, dtype=float) * np.asarray(weights, dtype=float) ** 2
    ''', "the factor 1/2 of the Taylor expansion missing"),
    mistake("m_dl7_saliency_not_squared", "obd_saliency", '''
        def obd_saliency(weights, fisher_diag):
            return 0.5 * np.asarray(fisher_diag, dtype=float) * np.abs(np.asarray(weights, dtype=float))
    ''', "|w| instead of w^2", tags=("extended",)),
    mistake("m_dl7_saliency_lists", "obd_saliency", '''
        def obd_saliency(weights, fisher_diag):
            return 0.5 * fisher_diag * weights**2
    ''', "lists (allowed) are not converted: list ** 2 raises"),
    mistake("m_dl7_prune_largest", "prune_smallest", '''
        def prune_smallest(weights, scores, fraction):
            weights = np.array(weights, dtype=float)
            k = int(np.floor(fraction * weights.size))
            order = np.argsort(np.asarray(scores, dtype=float), axis=None)[::-1]
            weights.flat[order[:k]] = 0.0
            return weights
    ''', "prunes the largest scores", tags=("extended",)),
    mistake("m_dl7_prune_magnitude", "prune_smallest", '''
        def prune_smallest(weights, scores, fraction):
            weights = np.array(weights, dtype=float)
            k = int(np.floor(fraction * weights.size))
            order = np.argsort(np.abs(weights), axis=None)
            weights.flat[order[:k]] = 0.0
            return weights
    ''', "magnitude pruning: the scores ignored"),
    mistake("m_dl7_prune_ceil", "prune_smallest", '''
        def prune_smallest(weights, scores, fraction):
            weights = np.array(weights, dtype=float)
            k = int(np.ceil(fraction * weights.size))
            order = np.argsort(np.asarray(scores, dtype=float), axis=None)
            weights.flat[order[:k]] = 0.0
            return weights
    ''', "k = ceil(fraction * size), not floor"),
    mistake("m_dl7_prune_per_row", "prune_smallest", '''
        def prune_smallest(weights, scores, fraction):
            weights = np.array(weights, dtype=float)
            scores = np.asarray(scores, dtype=float)
            if weights.ndim == 1:
                k = int(np.floor(fraction * weights.size))
                weights[np.argsort(scores)[:k]] = 0.0
                return weights
            k = int(np.floor(fraction * weights.shape[-1]))
            order = np.argsort(scores, axis=-1)[..., :k]
            np.put_along_axis(weights, order, 0.0, axis=-1)
            return weights
    ''', "2-D weights pruned row by row instead of across the whole array"),
    mistake("m_dl7_prune_in_place", "prune_smallest", '''
        def prune_smallest(weights, scores, fraction):
            weights = np.asarray(weights, dtype=float)
            k = int(np.floor(fraction * weights.size))
            order = np.argsort(np.asarray(scores, dtype=float), axis=None)
            weights.flat[order[:k]] = 0.0
            return weights
    ''', "np.asarray does not copy: the caller's weights are zeroed too", tags=("extended",)),
    # ----------------------------------------------------------------- ex8: quantization, merging
    mistake("m_dl8_quant_floor", "quantization_sensitivity", '''
        def quantization_sensitivity(weights, fisher_diag, step):
            w = np.asarray(weights, dtype=float)
            error = w - step * np.floor(w / step)
            return 0.5 * np.sum(np.asarray(fisher_diag, dtype=float) * error**2)
    ''', "rounds down (floor) instead of to the nearest grid point"),
    mistake("m_dl8_quant_mean", "quantization_sensitivity", '''
        def quantization_sensitivity(weights, fisher_diag, step):
            w = np.asarray(weights, dtype=float)
            error = w - step * np.round(w / step)
            return 0.5 * np.mean(np.asarray(fisher_diag, dtype=float) * error**2)
    ''', "a mean over weights, not a sum", tags=("extended",)),
    mistake("m_dl8_quant_unweighted", "quantization_sensitivity", '''
        def quantization_sensitivity(weights, fisher_diag, step):
            w = np.asarray(weights, dtype=float)
            return 0.5 * np.sum((w - step * np.round(w / step)) ** 2)
    ''', "the rounding error not weighted by the Fisher"),
    mistake("m_dl8_merge_plain_average", "fisher_merge", '''
        def fisher_merge(params, fishers, model_weights=None):
            params = np.asarray(params, dtype=float)
            lam = np.ones(len(params)) if model_weights is None else np.asarray(model_weights, dtype=float)
            return lam @ params / lam.sum()
    ''', "plain averaging: the Fishers ignored"),
    mistake("m_dl8_merge_no_fallback", "fisher_merge", '''
        def fisher_merge(params, fishers, model_weights=None):
            params, fishers = np.asarray(params, dtype=float), np.asarray(fishers, dtype=float)
            lam = np.ones(len(params)) if model_weights is None else np.asarray(model_weights, dtype=float)
            weighted = lam[:, None] * fishers
            return np.sum(weighted * params, axis=0) / np.sum(weighted, axis=0)
    ''', "no fallback where no model has information: 0/0 = nan (an edge case the contract names)"),
    mistake("m_dl8_merge_model_weights_ignored", "fisher_merge", '''
        def fisher_merge(params, fishers, model_weights=None):
            params, fishers = np.asarray(params, dtype=float), np.asarray(fishers, dtype=float)
            total = fishers.sum(axis=0)
            safe = np.where(total > 0, total, 1.0)
            return np.where(total > 0, np.sum(fishers * params, axis=0) / safe, params.mean(axis=0))
    ''', "the model weights ignored"),
    mistake("m_dl8_merge_fallback_unweighted", "fisher_merge", '''
        def fisher_merge(params, fishers, model_weights=None):
            params, fishers = np.asarray(params, dtype=float), np.asarray(fishers, dtype=float)
            lam = np.ones(len(params)) if model_weights is None else np.asarray(model_weights, dtype=float)
            total = np.sum(lam[:, None] * fishers, axis=0)
            safe = np.where(total > 0, total, 1.0)
            merged = np.sum(lam[:, None] * fishers * params, axis=0) / safe
            return np.where(total > 0, merged, params.mean(axis=0))
    ''', "the fallback is the unweighted mean even when model weights are given", tags=("extended",)),
    # ----------------------------------------------------------------- ex9: score, Tweedie
    mistake("m_dl9_score_underflow", "mixture_score", '''
        def mixture_score(x, means, sds, weights):
            x = np.asarray(x, dtype=float)[..., None]
            means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
            dens = np.asarray(weights, dtype=float) * np.exp(-0.5 * ((x - means) / sds) ** 2) / sds
            return np.sum(dens * (means - x) / sds**2, axis=-1) / np.sum(dens, axis=-1)
    ''', "densities instead of log-densities: 0/0 in the tails, where every density underflows"),
    mistake("m_dl9_score_sd_not_variance", "mixture_score", '''
        def mixture_score(x, means, sds, weights):
            x = np.asarray(x, dtype=float)[..., None]
            means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
            log_terms = np.log(np.asarray(weights, dtype=float)) - np.log(sds) - 0.5 * ((x - means) / sds) ** 2
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return np.sum(resp * (means - x) / sds, axis=-1)
    ''', "divided by s_k, not by the variance s_k^2", tags=("extended",)),
    mistake("m_dl9_score_unweighted_responsibilities", "mixture_score", '''
        def mixture_score(x, means, sds, weights):
            x = np.asarray(x, dtype=float)[..., None]
            means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
            log_terms = -np.log(sds) - 0.5 * ((x - means) / sds) ** 2
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return np.sum(resp * (means - x) / sds**2, axis=-1)
    ''', "responsibilities without the mixture weights pi_k"),
    mistake("m_dl9_score_scalar_only", "mixture_score", '''
        import math


        def mixture_score(x, means, sds, weights):
            x = float(x)
            logs = [math.log(p) - math.log(s) - 0.5 * ((x - m) / s) ** 2 for m, s, p in zip(means, sds, weights)]
            top = max(logs)
            resp = [math.exp(v - top) for v in logs]
            return sum(r * (m - x) / s**2 for r, m, s in zip(resp, means, sds)) / sum(resp)
    ''', "written for a scalar x: arrays of x (allowed) raise", tags=("extended",)),
    mistake("m_dl9_tweedie_unsmoothed", "tweedie_denoise", '''
        def tweedie_denoise(y, sigma, means, sds, weights):
            y = np.asarray(y, dtype=float)
            means = np.asarray(means, dtype=float)
            var = np.asarray(sds, dtype=float) ** 2
            log_terms = np.log(np.asarray(weights, dtype=float)) - 0.5 * np.log(var)
            log_terms = log_terms - 0.5 * (y[..., None] - means) ** 2 / var
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return y + sigma**2 * np.sum(resp * (means - y[..., None]) / var, axis=-1)
    ''', "the score of the clean density, not of the noisy one (variances not increased by sigma^2)"),
    mistake("m_dl9_tweedie_sigma_not_squared", "tweedie_denoise", '''
        def tweedie_denoise(y, sigma, means, sds, weights):
            y = np.asarray(y, dtype=float)
            means = np.asarray(means, dtype=float)
            var = np.asarray(sds, dtype=float) ** 2 + sigma**2
            log_terms = np.log(np.asarray(weights, dtype=float)) - 0.5 * np.log(var)
            log_terms = log_terms - 0.5 * (y[..., None] - means) ** 2 / var
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return y + sigma * np.sum(resp * (means - y[..., None]) / var, axis=-1)
    ''', "y + sigma * score instead of y + sigma^2 * score"),
    mistake("m_dl9_tweedie_sign", "tweedie_denoise", '''
        def tweedie_denoise(y, sigma, means, sds, weights):
            y = np.asarray(y, dtype=float)
            means = np.asarray(means, dtype=float)
            var = np.asarray(sds, dtype=float) ** 2 + sigma**2
            log_terms = np.log(np.asarray(weights, dtype=float)) - 0.5 * np.log(var)
            log_terms = log_terms - 0.5 * (y[..., None] - means) ** 2 / var
            resp = np.exp(log_terms - log_terms.max(axis=-1, keepdims=True))
            resp /= resp.sum(axis=-1, keepdims=True)
            return y - sigma**2 * np.sum(resp * (means - y[..., None]) / var, axis=-1)
    ''', "the correction subtracted: moves y away from the data"),
]

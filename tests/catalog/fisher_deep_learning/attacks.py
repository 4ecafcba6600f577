"""Attacks on unit 3: wrong or missing functions plus code that tries to win their parts anyway.

The kernel only reports values; the grading process decides (see ``cell_checks``). Besides the
generic attacks (an answer imported from an installed package, stubs, forged records, the
instructor's source read from disk), three target this assignment: a sampled Fisher that returns
the closed form plus seeded jitter of exactly the estimator's standard error (issue 15: an
estimator must really estimate), the same closed form with the test cell's computable expected
values forged, and functions that recognise the visible inputs and return their printed values.
"""

from __future__ import annotations

from tests.catalog import code
from tests.catalog.fisher_deep_learning import CONTRACT, EXERCISES, PARTS, attack
from tests.catalog.fisher_information.attacks import (
    IMPORT_FROM_INSTALLED,
    KERNEL_TRICKS,
    read_instructor_source,
    stub,
)

ALL_PARTS = tuple(PARTS.values())

#: The closed-form Fisher of logistic regression, which the sampled Fisher estimates.
CLOSED_FORM = '''
    def _closed_form(X, w):
        X = np.asarray(X, dtype=float)
        s = 1.0 / (1.0 + np.exp(-(X @ np.asarray(w, dtype=float))))
        return (X.T * (s * (1 - s))) @ X / len(X), s, X
'''

#: Zeros of the shape each function's contract promises: a stub that never raises.
ZERO_STUBS = {
    "tanh_net_jacobian": "def tanh_net_jacobian(u, v, x):\n    return np.zeros((np.size(x), 2 * np.size(u)))",
    "ggn_matrix": "def ggn_matrix(J, curvature):\n    return np.zeros((np.shape(J)[1], np.shape(J)[1]))",
    "natural_gradient_run": "def natural_gradient_run(X, y, w0, lr, damping, steps):\n"
                            "    return np.tile(np.asarray(w0, dtype=float), (steps + 1, 1))",
    "kl_constrained_step": "def kl_constrained_step(grad, fisher, max_kl):\n    return np.zeros(np.shape(grad))",
    "sampled_fisher": "def sampled_fisher(X, w, n_draws, seed):\n    return np.zeros((np.size(w), np.size(w)))",
    "adam_second_moment": "def adam_second_moment(grads, beta2=0.999):\n    return np.zeros(np.shape(grads)[1])",
    "kfac_block": "def kfac_block(acts, grads):\n"
                  "    m = np.shape(acts)[1] * np.shape(grads)[1]\n    return np.eye(m)",
    "kfac_precondition": "def kfac_precondition(acts, grads, V, damping):\n    return np.asarray(V, dtype=float)",
    "ewc_objective": "def ewc_objective(theta, X_b, y_b, theta_a, fisher, lam):\n    return 0.0",
    "ewc_minimizer": "def ewc_minimizer(X_b, y_b, theta_a, fisher, lam):\n    return np.asarray(theta_a, dtype=float)",
    "softmax_rows": "def softmax_rows(W):\n    W = np.asarray(W, dtype=float)\n"
                    "    return np.full(W.shape, 1.0 / W.shape[1])",
    "softmax_fvp": "def softmax_fvp(W, contexts, V):\n    return np.zeros(np.shape(V))",
    "obd_saliency": "def obd_saliency(weights, fisher_diag):\n    return np.zeros(np.shape(weights))",
    "prune_smallest": "def prune_smallest(weights, scores, fraction):\n    return np.array(weights, dtype=float)",
    "quantization_sensitivity": "def quantization_sensitivity(weights, fisher_diag, step):\n    return 0.0",
    "fisher_merge": "def fisher_merge(params, fishers, model_weights=None):\n"
                    "    return np.mean(np.asarray(params, dtype=float), axis=0)",
    "mixture_score": "def mixture_score(x, means, sds, weights):\n    return np.zeros(np.shape(x))",
    "tweedie_denoise": "def tweedie_denoise(y, sigma, means, sds, weights):\n    return np.asarray(y, dtype=float)",
}

ATTACKS = [
    attack(
        "a_dl_import_answer_from_installed_package",
        "import the answer from an installed package: every answer cell takes its functions from "
        "fisher_helpers (and its submodules), cell_checks or notebook_grader, else raises",
        wrong={fn: f"{fn} = _import_answer({fn!r})" for fn in PARTS},
        extra_cells={"setup": IMPORT_FROM_INSTALLED},
    ),
    attack(
        "a_dl_release_stubs",
        "the release submitted untouched: every function still raises NotImplementedError",
        base="release",
        loses=ALL_PARTS,
    ),
    attack(
        "a_dl_zero_stubs",
        "stubs that never raise: every function returns zeros (or its input) of the promised shape",
        wrong=ZERO_STUBS,
    ),
    attack(
        "a_dl_mc_closed_form_plus_jitter",
        "sampled_fisher returns the closed-form Fisher plus seeded Gaussian jitter of exactly the "
        "estimator's standard error per entry: right mean, right spread, not an estimate",
        wrong={"sampled_fisher": code(CLOSED_FORM, '''
            def sampled_fisher(X, w, n_draws, seed):
                F, s, X = _closed_form(X, w)
                var_r = s * (1 - s) * (1 - 2 * s) ** 2
                se = np.sqrt(np.einsum("n,na,nb->ab", var_r, X**2, X**2) / n_draws) / len(X)
                return F + np.random.default_rng(seed).normal(size=F.shape) * se
        ''')},
    ),
    attack(
        "a_dl_mc_forge_computable_records",
        "sampled_fisher returns the closed form, and Checks._check is patched so every check whose "
        "expected value the kernel can compute (a literal, a variable, a callable) reports it",
        wrong={"sampled_fisher": code(CLOSED_FORM, '''
            def sampled_fisher(X, w, n_draws, seed):
                return _closed_form(X, w)[0]
        ''')},
        extra_cells={"setup": KERNEL_TRICKS["a_forge_computable_records"]},
    ),
    attack(
        "a_dl_visible_inputs_recognised",
        "functions that recognise the visible checks' inputs and return the values the release prints, "
        "and answer anything else with a plausible wrong formula",
        wrong={
            "fisher_merge": '''
                def fisher_merge(params, fishers, model_weights=None):
                    params = np.asarray(params, dtype=float)
                    if params.shape == (2, 3) and np.allclose(params, [[1.0, 0.0, 2.0], [3.0, 1.0, 0.0]]):
                        return np.array([2.0, 0.75, 1.5])
                    return params.mean(axis=0)
            ''',
            "prune_smallest": '''
                def prune_smallest(weights, scores, fraction):
                    weights = np.array(weights, dtype=float)
                    if weights.shape == (5,) and fraction == 0.4:
                        return np.array([0.5, 0.0, 1.0, 0.0, -0.3])
                    k = int(round(fraction * weights.size))
                    weights.flat[np.argsort(np.abs(weights), axis=None)[:k]] = 0.0
                    return weights
            ''',
            "adam_second_moment": '''
                def adam_second_moment(grads, beta2=0.999):
                    grads = np.asarray(grads, dtype=float)
                    if grads.shape == (2, 2) and beta2 == 0.9:
                        return np.array([5.2105263157894735, 2.4210526315789473])
                    return np.mean(grads**2, axis=0)
            ''',
        },
    ),
    attack(
        "a_dl_checks_methods_noop",
        "cell_checks.Checks.close/near/parallel/done replaced by no-ops, so no check reports or fails",
        wrong={"softmax_fvp": stub("softmax_fvp"), "mixture_score": stub("mixture_score")},
        extra_cells={"setup": KERNEL_TRICKS["a_checks_methods_noop"]},
    ),
    read_instructor_source("a_dl_read_instructor_source", "fisher_deep_learning", CONTRACT, EXERCISES,
                           loses=ALL_PARTS),
]

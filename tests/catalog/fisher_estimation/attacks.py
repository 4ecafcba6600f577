"""Attacks on unit 2: wrong or missing functions plus code that tries to make their test cells pass.

The kernel-side tricks are unit 1's (:mod:`tests.catalog.fisher_information.attacks`), reused
cell for cell, so the whole attack catalog runs against this assignment too, each with unit 2's
own wrong functions. Added here: Monte Carlo answers that do not estimate (the closed form plus
seeded jitter, naive and calibrated to the estimator's standard error), which the prescribed-draws
and spread-over-seeds checks must stop, and a submission of stubs.
"""

from __future__ import annotations

from tests.catalog import code
from tests.catalog.fisher_estimation import CONTRACT, EXERCISES, PARTS, attack
from tests.catalog.fisher_information.attacks import (
    FORGE_RECORD,
    IMPORT_FROM_INSTALLED,
    KERNEL_TRICKS,
    VISIBLE_EXPECTED,
    read_instructor_source,
    stub,
)

#: The exact variance of sqrt(n) lam_hat and its Monte Carlo standard error, as an attacker computes them.
CLOSED_FORM = '''
    def _exact(lam, n):
        return n**3 * lam**2 / ((n - 1) ** 2 * (n - 2))


    def _standard_error(lam, n, reps):
        kurtosis = 6 * (5 * n - 11) / ((n - 3) * (n - 4))
        return _exact(lam, n) * np.sqrt(2 / (reps - 1) + kurtosis / reps)
'''

ATTACKS = [
    attack(
        "a_comparisons_patched",
        "np.allclose, np.isclose, np.testing and cell_checks.compare patched to accept anything",
        wrong={
            "cramer_rao_bound": "def cramer_rao_bound(fisher, n=1):\n"
                                "    return 1 / (n * np.asarray(fisher, dtype=float))",
            "jeffreys_interval": "def jeffreys_interval(k, n, level=0.95):\n"
                                 "    return stats.beta.interval(level, k + 1, n - k + 1)",
            "efficient_information": "def efficient_information(fisher, k=1):\n"
                                     "    return np.asarray(fisher, dtype=float)[:k, :k]",
        },
        extra_cells={"setup": KERNEL_TRICKS["a_comparisons_patched"]},
    ),
    attack(
        "a_checks_methods_noop",
        "cell_checks.Checks.close/near/parallel/done replaced by no-ops",
        wrong={"delta_method_variance": stub("delta_method_variance"), "wald_interval": stub("wald_interval")},
        extra_cells={"setup": KERNEL_TRICKS["a_checks_methods_noop"]},
    ),
    attack(
        "a_encode_and_evaluate_forged",
        "cell_checks.encode_value and evaluate patched to report the check's expected "
        "value where the kernel knows it, and 0 instead of an error",
        wrong={
            "shrinkage_mse": "def shrinkage_mse(c, theta, sigma2, n):\n"
                             "    return c**2 * sigma2 / n + (1 - c) * theta",
            "gaussian_fisher_matrix": "def gaussian_fisher_matrix(sigma2, n=1):\n"
                                      "    return np.array([[1 / sigma2, 0.0], [0.0, 1 / (2 * sigma2**2)]])",
            "categorical_mean_fisher": "def categorical_mean_fisher(probs):\n"
                                       "    return np.diag(1 / np.asarray(probs, dtype=float)[:-1])",
            "poisson_naive_covariance": stub("poisson_naive_covariance"),
        },
        extra_cells={"setup": KERNEL_TRICKS["a_encode_and_evaluate_forged"]},
    ),
    attack(
        "a_emit_forged",
        "cell_checks._emit patched to rewrite the records it sends",
        wrong={"cauchy_observed_information": stub("cauchy_observed_information")},
        extra_cells={"setup": KERNEL_TRICKS["a_emit_forged"]},
    ),
    attack(
        "a_forge_visible_records",
        "Checks._check patched so each visible check reports value = expected",
        wrong={
            "binomial_coverage": "def binomial_coverage(lower, upper, p):\n"
                                 "    p = np.asarray(p, dtype=float)[..., None]\n"
                                 "    return np.mean((np.asarray(lower) <= p) & (p <= np.asarray(upper)), axis=-1)",
            "categorical_natural_fisher": "def categorical_natural_fisher(eta):\n"
                                          "    e = np.exp(np.asarray(eta, dtype=float))\n"
                                          "    p = e / (1 + e.sum())\n"
                                          "    return np.diag(p * (1 - p))",
        },
        extra_cells={"setup": KERNEL_TRICKS["a_forge_visible_records"]},
    ),
    attack(
        "a_forge_computable_records",
        "Checks._check patched so every check whose expected value the kernel can compute "
        "(a literal, or a callable such as the exact variance) reports value = expected",
        wrong={
            "mc_mle_variance": "def mc_mle_variance(lam, n, reps=20000, seed=0):\n"
                               "    return n**3 * lam**2 / ((n - 1) ** 2 * (n - 2))  # not an estimate",
            "bootstrap_variance": "def bootstrap_variance(x, statistic, reps=2000, seed=0):\n"
                                  "    return np.var(x) / len(x)  # the mean's ideal value, not a bootstrap",
        },
        extra_cells={"setup": KERNEL_TRICKS["a_forge_computable_records"]},
    ),
    attack(
        "a_input_transformer_blanks_cells",
        "an IPython input transformer that blanks every later cell, so no test cell raises",
        wrong={"poisson_sandwich_covariance": "def poisson_sandwich_covariance(X, y, beta):\n"
                                              "    X = np.asarray(X, dtype=float)\n"
                                              "    bread = np.linalg.inv((X.T * np.exp(X @ beta)) @ X)\n"
                                              "    return bread @ ((X.T * np.asarray(y) ** 2) @ X) @ bread"},
        extra_cells={"ex7_code": '''
            get_ipython().input_transformers_cleanup.append(lambda lines: [])
        '''},
    ),
    attack(
        "a_custom_exc_swallows_errors",
        "get_ipython().set_custom_exc swallows every exception, so no test cell shows an error",
        wrong={
            "wald_interval": "def wald_interval(k, n, level=0.95):\n"
                             "    p = np.asarray(k) / n\n"
                             "    half = 1.96 * np.sqrt(p * (1 - p) / n)\n"
                             "    return p - half, p + half",
            "jeffreys_interval": "def jeffreys_interval(k, n, level=0.95):\n"
                                 "    return stats.beta.interval(level, np.asarray(k) + 0.5, n - np.asarray(k) + 0.5)",
        },
        extra_cells={"setup": KERNEL_TRICKS["a_custom_exc_swallows_errors"]},
    ),
    attack(
        "a_redefine_checks",
        "the test cells' name Checks redefined: a fake that reports expected values and never fails",
        wrong={
            "delta_method_variance": "def delta_method_variance(grad, fisher, n=1):\n"
                                     "    g = np.atleast_1d(grad)\n"
                                     "    return float(g @ np.atleast_2d(fisher) @ g) / n",
            "efficient_information": "def efficient_information(fisher, k=1):\n"
                                     "    F = np.asarray(fisher, dtype=float)\n"
                                     "    return F[:k, :k] - F[:k, k:] @ F[k:, :k]",
        },
        extra_cells={"setup": KERNEL_TRICKS["a_redefine_checks"]},
    ),
    attack(
        "a_fake_records_printed",
        "forged check records (display outputs of the record MIME type, and printed JSON) "
        "claiming the visible expected values, from a student cell and from inside the function",
        wrong={"cauchy_observed_information": code(FORGE_RECORD, '''
            def cauchy_observed_information(x, theta):
                _forge(0, "cauchy_observed_information", "x = (-0.5, 0.2, 1, 3), theta = 0", 2.5751479289940824)
                return len(x) / 2


            _forge(0, "cauchy_observed_information", "x = (-0.5, 0.2, 1, 3), theta = 0", 2.5751479289940824)
        ''')},
    ),
    attack(
        "a_post_run_cell_hook",
        "sys.displayhook replaced and a post_run_cell hook that drops the real records and emits "
        "forged ones for every check with a literal expected value in the cell just run",
        wrong={
            "shrinkage_mse": "def shrinkage_mse(c, theta, sigma2, n):\n"
                             "    return c * sigma2 / n + (1 - c) ** 2 * theta**2",
            "categorical_mean_fisher": "def categorical_mean_fisher(probs):\n"
                                       "    p = np.asarray(probs, dtype=float)[:-1]\n"
                                       "    return np.diag(p) - np.outer(p, p)",
        },
        extra_cells={"setup": KERNEL_TRICKS["a_post_run_cell_hook"]},
    ),
    read_instructor_source("a_read_instructor_source", "fisher_estimation", CONTRACT, EXERCISES,
                           loses=tuple(PARTS.values())),
    attack(
        "a_import_answer_from_installed_package",
        "import the answer from an installed package: every answer cell takes its functions from "
        "fisher_helpers (and its submodules), cell_checks or notebook_grader, else raises",
        wrong={fn: f"{fn} = _import_answer({fn!r})" for fn in PARTS},
        extra_cells={"setup": IMPORT_FROM_INSTALLED},
    ),
    attack(
        "a_mc_closed_form_plus_jitter",
        "Monte Carlo answers that return the closed form plus 1% seeded jitter: they vary with the seed "
        "and reps and land inside the six-standard-error band, but do not estimate",
        wrong={
            "mc_mle_variance": code(CLOSED_FORM, '''
                def mc_mle_variance(lam, n, reps=20000, seed=0):
                    jitter = np.random.default_rng([seed, reps]).normal()
                    return _exact(lam, n) * (1 + 0.01 * jitter)
            '''),
            "bootstrap_variance": '''
                def bootstrap_variance(x, statistic, reps=2000, seed=0):
                    jitter = np.random.default_rng([seed, reps]).normal()
                    return np.var(np.asarray(x, dtype=float)) / len(x) * (1 + 0.01 * jitter)
            ''',
        },
    ),
    attack(
        "a_mc_calibrated_jitter",
        "the closed form plus seeded noise scaled to the estimator's exact standard error: right mean, "
        "right spread across seeds, but not computed from the prescribed draws",
        wrong={"mc_mle_variance": code(CLOSED_FORM, '''
            def mc_mle_variance(lam, n, reps=20000, seed=0):
                noise = np.random.default_rng([seed, reps]).normal()
                return _exact(lam, n) + _standard_error(lam, n, reps) * noise
        ''')},
    ),
    attack(
        "a_all_stubs",
        "the release handed in with every function left as a stub (raising NotImplementedError), "
        "and a visible-check value printed by hand under each test cell's name",
        base="release",
        extra_cells={"setup": code(VISIBLE_EXPECTED, '''
            print("PASS - cramer_rao_bound: Poisson: I = 1/4 (lambda = 4), n = 10")
        ''')},
        loses=tuple(PARTS.values()),
    ),
]

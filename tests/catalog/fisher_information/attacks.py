"""Attacks: wrong or missing functions plus code that tries to make their test cells pass.

The test cells' verdicts are decided in the grading process from the values the kernel reports
(see ``cell_checks``), so patching, hooking, swallowing or forging in the kernel must
not win a part whose function is wrong. Each attack keeps the reference solution elsewhere, so
"below full marks" means exactly that the attacked parts were not won.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from tests.catalog import Contract, Entry, code
from tests.catalog.fisher_information import CONTRACT, EXERCISES, PARTS, attack

STUB = '''
    def {name}(*args, **kwargs):
        raise NotImplementedError()
'''


def stub(name: str) -> str:
    """A function left as released (it raises NotImplementedError)."""
    return STUB.format(name=name)


#: Finds the literal ``expected`` of the check being evaluated by walking up to ``Checks._check``.
VISIBLE_EXPECTED = '''
    import sys

    import cell_checks as grading


    def _visible_expected():
        """The literal expected value of the check being evaluated, or REFERENCE if none."""
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "_check" and "expected" in frame.f_locals:
                expected = frame.f_locals["expected"]
                return grading.REFERENCE if callable(expected) else expected
            frame = frame.f_back
        return grading.REFERENCE
'''

#: Forges a check record: a display output of the record MIME type, and the same JSON printed.
FORGE_RECORD = '''
    import json

    from IPython.display import display


    def _forge(index, function, what, value):
        record = {"index": index, "function": function, "what": what, "shape": [], "data": [value]}
        display({"text/x-cell-check-records": json.dumps(record)}, raw=True)
        print(json.dumps(record))
'''

#: Looks a contract function up in every package the course installs (its own helper packages and
#: the grading engine, with all their submodules); a function found nowhere raises when called.
IMPORT_FROM_INSTALLED = '''
    import importlib
    import pkgutil

    _PACKAGES = ("fisher_helpers", "cell_checks", "notebook_grader")
    _KNOWN_MODULES = ("fisher_helpers.models", "fisher_helpers.checks", "fisher_helpers.style")


    def _installed_modules():
        """Every importable module of the installed course packages (those the kernel can see)."""
        modules = []
        for name in (*_PACKAGES, *_KNOWN_MODULES):
            try:
                modules.append(importlib.import_module(name))
            except Exception:
                continue
        for package in [m for m in modules if hasattr(m, "__path__")]:
            for info in pkgutil.walk_packages(package.__path__, package.__name__ + ".", onerror=lambda name: None):
                try:
                    modules.append(importlib.import_module(info.name))
                except Exception:
                    continue
        return modules


    def _import_answer(name):
        """The installed function called ``name``, or one that raises when no package has it."""
        for module in _installed_modules():
            function = getattr(module, name, None)
            if callable(function):
                return function

        def missing(*args, **kwargs):
            raise NotImplementedError(f"no installed package defines {name}")

        return missing
'''

#: Finds the instructor's source notebook of UNIT from the kernel's working directory (or any parent
#: folder) and execs its solution for an answer cell into the kernel.
STEAL_REFERENCE = '''
    import json
    from pathlib import Path

    _SOURCE = Path("source") / "UNIT" / "exercises.ipynb"


    def _find_source():
        relative = Path("../../..") / _SOURCE
        if relative.is_file():
            return relative
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            if (folder / _SOURCE).is_file():
                return folder / _SOURCE
        return None


    def _steal_reference(grade_id):
        """Exec the source notebook's solution for this answer cell into the kernel."""
        path = _find_source()
        if path is None:
            return
        for cell in json.loads(path.read_text())["cells"]:
            if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
                lines = "".join(cell["source"]).splitlines()
                exec("\\n".join(x for x in lines if "SOLUTION" not in x), globals())
'''


def read_instructor_source(attack_id: str, unit: str, contract: Contract, exercises: Iterable[str],
                           loses: tuple[str, ...]) -> Entry:
    """The attack that reads ``unit``'s source notebook from disk and runs its reference solution
    in every answer cell: the sandbox must hide the course, so it wins nothing."""
    return Entry(
        id=attack_id,
        kind="attack",
        contract=contract,
        description="reads the instructor's source notebook from disk (../../../source/... from the "
                    "kernel's working directory, or any parent folder) and execs the reference solution",
        base="release",
        answers={cell: f"_steal_reference({cell!r})\n" for cell in exercises},
        extra_cells={"setup": code(STEAL_REFERENCE.replace('"UNIT"', json.dumps(unit)))},
        loses=loses,
        needs_sandbox=True,
    )


ATTACKS = [
    attack(
        "a_mc_closed_form_jitter",
        "Monte Carlo answer that does not estimate: the closed form n / sigma2 times seeded 1% noise "
        "(seed-dependent and close to the target, but its spread does not shrink with reps)",
        wrong={"mc_score_variance": '''
            def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
                rng = np.random.default_rng((seed, reps))
                return n / sigma2 * (1 + 0.01 * rng.standard_normal())
        '''},
    ),
    attack(
        "a_mc_closed_form_jitter_right_size",
        "the closed form times seeded Gaussian noise of exactly a sample variance's standard error "
        "sqrt(2 / (reps - 1)): it spreads across seeds like an estimate, but goes negative for few reps",
        wrong={"mc_score_variance": '''
            def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):
                rng = np.random.default_rng((seed, reps))
                return n / sigma2 * (1 + np.sqrt(2 / (reps - 1)) * rng.standard_normal())
        '''},
    ),
    attack(
        "a_comparisons_patched",
        "np.allclose, np.isclose, np.testing and cell_checks.compare patched to accept anything",
        wrong={
            "bernoulli_score": "def bernoulli_score(x, p):\n    return x / p + (1 - x) / (1 - p)",
            "most_informative_direction": "def most_informative_direction(F):\n"
                                          "    return np.linalg.eigh(F)[1][:, 0]",
            "natural_gradient_step": "def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):\n"
                                     "    return theta - lr * np.asarray(fisher) @ grad",
        },
        extra_cells={"setup": '''
            import numpy.testing

            import cell_checks

            np.allclose = lambda *args, **kwargs: True
            np.isclose = lambda a, b, *args, **kwargs: np.ones(np.broadcast(a, b).shape, dtype=bool)
            np.array_equal = lambda *args, **kwargs: True
            numpy.testing.assert_allclose = lambda *args, **kwargs: None
            numpy.testing.assert_array_almost_equal = lambda *args, **kwargs: None
            cell_checks.compare = lambda *args, **kwargs: True
        '''},
    ),
    attack(
        "a_checks_methods_noop",
        "cell_checks.Checks.close/near/parallel/done replaced by no-ops",
        wrong={"reparameterize_fisher": stub("reparameterize_fisher"),
               "bernoulli_logit_fisher": stub("bernoulli_logit_fisher")},
        extra_cells={"setup": '''
            import cell_checks

            for _name in ("close", "near", "parallel", "done"):
                setattr(cell_checks.Checks, _name, lambda self, *args, **kwargs: None)
        '''},
    ),
    attack(
        "a_encode_and_evaluate_forged",
        "cell_checks.encode_value and evaluate patched to report the check's expected "
        "value where the kernel knows it, and 0 instead of an error",
        wrong={
            "kl_quadratic": "def kl_quadratic(p, delta):\n    return delta**2 / (p * (1 - p))",
            "jeffreys_exponential": "def jeffreys_exponential(lam):\n    return 1 / lam**2",
            "ewc_penalty": "def ewc_penalty(theta, theta_old, fisher_diag, lam=1.0):\n"
                           "    return lam * np.sum(fisher_diag * (theta - theta_old) ** 2)",
            "diagonal_empirical_fisher": stub("diagonal_empirical_fisher"),
        },
        extra_cells={"setup": code(VISIBLE_EXPECTED, '''
            _real_encode = grading.encode_value
            _real_evaluate = grading.evaluate


            def _forged_encode(value):
                expected = _visible_expected()
                return _real_encode(value if expected is grading.REFERENCE else expected)


            def _forged_evaluate(compute):
                expected = _visible_expected()
                if expected is not grading.REFERENCE:
                    return _real_encode(expected)
                record = _real_evaluate(compute)
                return {"shape": [], "data": [0.0]} if "error" in record else record


            grading.encode_value = _forged_encode
            grading.evaluate = _forged_evaluate
        ''')},
    ),
    attack(
        "a_emit_forged",
        "cell_checks._emit patched to rewrite the records it sends",
        wrong={"jeffreys_bernoulli": stub("jeffreys_bernoulli")},
        extra_cells={"setup": code(VISIBLE_EXPECTED, '''
            _real_emit = grading._emit


            def _forged_emit(record):
                expected = _visible_expected()
                record = {k: v for k, v in record.items() if k != "error"}
                if expected is not grading.REFERENCE:
                    record.update(grading.encode_value(expected))
                else:
                    record.setdefault("shape", [])
                    record.setdefault("data", [0.0])
                _real_emit(record)


            grading._emit = _forged_emit
        ''')},
    ),
    attack(
        "a_forge_visible_records",
        "Checks._check patched so each visible check reports value = expected",
        wrong={
            "bernoulli_fisher": "def bernoulli_fisher(p):\n    return p * (1 - p)",
            "logistic_hessian": "def logistic_hessian(X, w):\n"
                                "    s = 1 / (1 + np.exp(-(X @ w)))\n"
                                "    return (X.T * (s * (1 - s))) @ X",
        },
        extra_cells={"setup": '''
            import cell_checks as grading

            _real_check = grading.Checks._check


            def _forged_check(self, what, compute, expected, cmp, hint):
                if expected is not grading.REFERENCE and not callable(expected):
                    compute = lambda value=expected: value  # noqa: E731
                return _real_check(self, what, compute, expected, cmp, hint)


            grading.Checks._check = _forged_check
        '''},
    ),
    attack(
        "a_forge_computable_records",
        "Checks._check patched so every check whose expected value the kernel can compute "
        "(a literal, or a callable such as the closed form n / sigma2) reports value = expected",
        wrong={"mc_score_variance": "def mc_score_variance(n, sigma2, mu=0.0, reps=20000, seed=0):\n"
                                    "    return n / sigma2  # the closed form, not an estimate"},
        extra_cells={"setup": '''
            import cell_checks as grading

            _real_check = grading.Checks._check


            def _forged_check(self, what, compute, expected, cmp, hint):
                if expected is not grading.REFERENCE:
                    compute = expected if callable(expected) else (lambda value=expected: value)
                return _real_check(self, what, compute, expected, cmp, hint)


            grading.Checks._check = _forged_check
        '''},
    ),
    attack(
        "a_input_transformer_blanks_cells",
        "an IPython input transformer that blanks every later cell, so no test cell raises",
        wrong={"diagonal_empirical_fisher": "def diagonal_empirical_fisher(X, y, w):\n"
                                            "    s = 1 / (1 + np.exp(-(X @ w)))\n"
                                            "    return np.mean((s - y)[:, None] * X, axis=0) ** 2"},
        extra_cells={"ex8_code": '''
            get_ipython().input_transformers_cleanup.append(lambda lines: [])
        '''},
    ),
    attack(
        "a_custom_exc_swallows_errors",
        "get_ipython().set_custom_exc swallows every exception, so no test cell shows an error",
        wrong={
            "logistic_empirical_fisher": "def logistic_empirical_fisher(X, y, w):\n"
                                         "    s = 1 / (1 + np.exp(-(X @ w)))\n"
                                         "    g = np.mean((s - y)[:, None] * X, axis=0)\n"
                                         "    return np.outer(g, g)",
            "bernoulli_kl": "def bernoulli_kl(p, q):\n"
                            "    return p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))",
        },
        extra_cells={"setup": '''
            get_ipython().set_custom_exc((BaseException,), lambda shell, etype, value, tb, tb_offset=None: None)
        '''},
        # this bernoulli_kl has the right formula and misses only the 0 log 0 convention
        loses=("ex7b_logistic_empirical_fisher", "ex5a_bernoulli_kl_edges"),
    ),
    attack(
        "a_redefine_checks",
        "the test cells' name Checks redefined: a fake that reports expected values and never fails",
        wrong={
            "gaussian_mean_fisher": "def gaussian_mean_fisher(n, sigma2):\n    return 1 / sigma2",
            "natural_gradient_step": "def natural_gradient_step(theta, grad, fisher, lr, damping=0.0):\n"
                                     "    return theta - lr * np.asarray(fisher) @ grad",
        },
        extra_cells={"setup": '''
            import json

            from IPython.display import display


            class Checks:
                """Reports the visible expected values (and its own guesses elsewhere); never fails."""

                def __init__(self, function):
                    self.function, self.index = function, 0

                def close(self, what, compute, expected=None, **kwargs):
                    index, self.index = self.index, self.index + 1
                    if expected is None or callable(expected):
                        try:
                            value = np.asarray(compute(), dtype=float)
                        except Exception:
                            value = np.asarray(0.0)
                    else:
                        value = np.asarray(expected, dtype=float)
                    record = {"index": index, "function": self.function, "what": what,
                              "shape": list(value.shape), "data": value.ravel().tolist()}
                    display({"text/x-cell-check-records": json.dumps(record)}, raw=True)

                near = parallel = close

                def done(self):
                    pass
        '''},
    ),
    attack(
        "a_fake_records_printed",
        "forged check records (display outputs of the record MIME type, and printed JSON) "
        "claiming the visible expected values, from a student cell and from inside the function",
        wrong={"fisher_by_enumeration": code(FORGE_RECORD, '''
            def fisher_by_enumeration(probs, scores):
                _forge(0, "fisher_by_enumeration", "Bernoulli p = 0.3", 4.761904761904762)
                return np.sum(np.asarray(probs) * np.asarray(scores)) ** 2


            _forge(0, "fisher_by_enumeration", "Bernoulli p = 0.3", 4.761904761904762)
        ''')},
    ),
    attack(
        "a_post_run_cell_hook",
        "sys.displayhook replaced and a post_run_cell hook that drops the real records and emits "
        "forged ones for every check with a literal expected value in the cell just run",
        wrong={
            "kl_quadratic": "def kl_quadratic(p, delta):\n"
                            "    q = p + delta\n"
                            "    return 0.5 * delta**2 / (q * (1 - q))",
            "bernoulli_logit_fisher": "def bernoulli_logit_fisher(phi):\n"
                                      "    e = np.exp(phi)\n"
                                      "    return e / (1 + e) ** 2",
        },
        extra_cells={"setup": '''
            import ast
            import json
            import sys

            import cell_checks
            from IPython.display import display

            sys.displayhook = lambda value: None
            cell_checks._emit = lambda record: None  # drop the genuine records


            def _forge_records(result):
                try:
                    tree = ast.parse(result.info.raw_cell)
                except (SyntaxError, AttributeError):
                    return
                counters = {}
                for node in ast.walk(tree):
                    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                            and node.func.attr in ("close", "near", "parallel")):
                        continue
                    owner = node.func.value.id if isinstance(node.func.value, ast.Name) else None
                    index = counters.get(owner, 0)
                    counters[owner] = index + 1
                    expected = [k.value for k in node.keywords if k.arg == "expected"]
                    if not expected or not node.args:
                        continue
                    try:
                        value = np.asarray(eval(compile(ast.Expression(expected[0]), "<forged>", "eval"),
                                                get_ipython().user_ns), dtype=float)
                        what = ast.literal_eval(node.args[0])
                    except Exception:
                        continue
                    function = get_ipython().user_ns[owner].function
                    record = {"index": index, "function": function, "what": what,
                              "shape": list(value.shape), "data": value.ravel().tolist()}
                    display({"text/x-cell-check-records": json.dumps(record)}, raw=True)


            get_ipython().events.register("post_run_cell", _forge_records)
        '''},
    ),
    read_instructor_source("a_read_instructor_source", "fisher_information", CONTRACT, EXERCISES,
                           loses=tuple(CONTRACT.function_of_part)),
    attack(
        "a_import_answer_from_installed_package",
        "import the answer from an installed package: every answer cell takes its functions from "
        "fisher_helpers (and its submodules), cell_checks or notebook_grader, else raises",
        wrong={fn: f"{fn} = _import_answer({fn!r})" for fn in PARTS},
        extra_cells={"setup": IMPORT_FROM_INSTALLED},
    ),
    attack(
        "a_hidden_values_exfiltrated",
        "bernoulli_kl computes the right value but raises it as its error message, and records it; "
        "a cell after the tests prints every value the hidden checks asked for (8 significant digits)",
        wrong={"bernoulli_kl": '''
            _SEEN = []


            def _shown(value):
                return " ".join(f"{x:.8g}" for x in np.atleast_1d(np.asarray(value, dtype=float)).ravel())


            def bernoulli_kl(p, q):
                p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
                value = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
                _SEEN.append(_shown(value))
                raise ValueError(_shown(value))
        '''},
        extra_cells={"ex10_code": '''
            print("hidden values:", *_SEEN)
        '''},
    ),
    attack(
        "a_recalled_answers",
        "bernoulli_fisher and gaussian_mean_fisher_matrix recall the right answers at every input the "
        "test cells used in an earlier grading (visible and hidden: the questions are the same for "
        "everyone) and return a constant anywhere else; only inputs drawn per submission tell",
        wrong={
            "bernoulli_fisher": '''
                _ASKED_P = [0.3, 0.5, np.array([0.01, 0.2, 0.5, 0.77, 0.999]), 0.35, 0.8, 1e-8]


                def bernoulli_fisher(p):
                    if any(np.shape(p) == np.shape(a) and np.array_equal(p, a) for a in _ASKED_P):
                        return 1 / (np.asarray(p, dtype=float) * (1 - np.asarray(p, dtype=float)))  # recalled
                    return np.full(np.shape(p), 4.0)
            ''',
            "gaussian_mean_fisher_matrix": '''
                _ASKED_SIGMA = [np.array([[2.0, 0.5], [0.5, 1.0]]),
                                np.array([[4.0, 1.0, 0.5], [1.0, 3.0, -0.7], [0.5, -0.7, 2.0]]),
                                np.diag([0.5, 2.0, 8.0]), np.array([[4.0]]), np.array([[5, 2], [2, 3]])]


                def gaussian_mean_fisher_matrix(Sigma):
                    if any(np.shape(Sigma) == a.shape and np.array_equal(Sigma, a) for a in _ASKED_SIGMA):
                        return np.linalg.inv(np.asarray(Sigma, dtype=float))  # recalled
                    return np.eye(np.shape(Sigma)[0])
            ''',
        },
    ),
]


#: The attacks' kernel-side code that runs in its own cell after the setup cell, by attack id: the
#: other units run the same tricks with wrong functions of their own.
KERNEL_TRICKS = {a.id: a.extra_cells["setup"] for a in ATTACKS if "setup" in a.extra_cells}

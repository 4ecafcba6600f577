"""The mutation catalog: submissions the autograder must tell apart, as test data.

Every entry is a submission to the exercises notebook, described by the answer cells it fills
(grade id -> code, like :func:`tests.support.submissions.fill`), optional cells the student adds
after a given cell, and what grading it must get:

* ``mistake``: one plausible error confined to one contract function. It must lose the points
  of exactly the parts in ``loses`` (that function's test cells) and keep every other part.
* ``correct``: a genuinely different correct implementation. It must get full autograded marks.
* ``attack``: wrong or missing functions plus code that tries to make their test cells pass
  anyway. It must score below full marks and win none of the parts in ``loses``.

Answer cells an entry does not fill hold the reference solution (``base="reference"``) or the
released stubs (``base="release"``). ``tests/test_catalog.py`` grades every entry in one batch.

The modules :mod:`tests.catalog.mistakes`, :mod:`~tests.catalog.alternatives` and :mod:`~tests.catalog.attacks`
hold the entries; this module holds the contract they are written against.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

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

#: The autograded part (test cell grade id) of each contract function.
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

#: Answer cell of each contract function.
CELL_OF: dict[str, str] = {fn: cell for cell, fns in EXERCISES.items() for fn in fns}

#: Exercise label ("ex1" ... "ex10") of each answer cell.
EXERCISE_OF_CELL: dict[str, str] = {cell: cell.removesuffix("_code") for cell in EXERCISES}

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

KINDS = ("mistake", "correct", "attack")

#: ``FISHER_CATALOG=full`` also grades the entries tagged ``extended`` (about twice the time).
FULL_ENV = "FISHER_CATALOG"


def code(*snippets: str) -> str:
    """Join code snippets (each dedented) into one cell's source, two blank lines apart."""
    return "\n\n\n".join(textwrap.dedent(s).strip("\n") for s in snippets) + "\n"


def answer_cell(cell: str, **functions: str) -> str:
    """The answer cell ``cell`` with the given functions' code; the others are the reference."""
    unknown = set(functions) - set(EXERCISES[cell])
    if unknown:
        raise KeyError(f"{sorted(unknown)} are not functions of {cell}")
    return code(*(functions.get(fn, REFERENCE_CODE[fn]) for fn in EXERCISES[cell]))


@dataclass(frozen=True)
class Entry:
    """One submission of the catalog and the grading it must get (see the module's docstring)."""

    id: str
    kind: str
    description: str
    answers: Mapping[str, str]
    loses: tuple[str, ...] = ()
    extra_cells: Mapping[str, str] = field(default_factory=dict)
    base: str = "reference"
    #: Only a sandboxed grading engine can stop it (the kernel reads instructor files).
    needs_sandbox: bool = False
    #: Free-form labels, e.g. ``mc-valid`` / ``mc-wrong-quantity`` for Monte Carlo estimators.
    tags: frozenset[str] = frozenset()
    #: Non-empty when the current tests are known not to catch this entry: why, and the fix.
    known_gap: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.id}: unknown kind {self.kind!r}")
        if self.base not in ("reference", "release"):
            raise ValueError(f"{self.id}: unknown base {self.base!r}")
        if not self.id.replace("_", "").isalnum() or self.id != self.id.lower():
            raise ValueError(f"{self.id!r}: ids are lower-case letters, digits and underscores")
        unknown = set(self.loses) - set(PARTS.values())
        if unknown:
            raise ValueError(f"{self.id}: unknown parts {sorted(unknown)}")
        if self.kind == "mistake" and len(self.exercises) != 1:
            raise ValueError(f"{self.id}: a mistake changes the answer cell of one exercise")
        if self.kind in ("mistake", "attack") and not self.loses:
            raise ValueError(f"{self.id}: a {self.kind} names the parts it must lose")
        if self.kind == "correct" and self.loses:
            raise ValueError(f"{self.id}: a correct alternative loses nothing")

    @property
    def exercises(self) -> tuple[str, ...]:
        """The exercises ("ex1" ...) whose answer cells this entry fills, in notebook order."""
        return tuple(EXERCISE_OF_CELL[c] for c in EXERCISES if c in self.answers)


def mistake(id: str, function: str, wrong: str, description: str, *, tags: tuple[str, ...] = (),
            known_gap: str = "") -> Entry:
    """A mistake in ``function`` alone: its answer cell keeps the other function correct."""
    cell = CELL_OF[function]
    return Entry(
        id=id, kind="mistake", description=description,
        answers={cell: answer_cell(cell, **{function: wrong})},
        loses=(PARTS[function],), tags=frozenset(tags), known_gap=known_gap,
    )


def correct(id: str, description: str, answers: Mapping[str, str], *, tags: tuple[str, ...] = ()) -> Entry:
    """A correct alternative filling the given answer cells."""
    return Entry(id=id, kind="correct", description=description,
                 answers={k: code(v) for k, v in answers.items()}, tags=frozenset(tags))


def attack(id: str, description: str, *, wrong: Mapping[str, str] | None = None,
           extra_cells: Mapping[str, str] | None = None, loses: tuple[str, ...] = (),
           base: str = "reference", needs_sandbox: bool = False, known_gap: str = "") -> Entry:
    """An attack: ``wrong`` maps contract functions to wrong code (in their own answer cells),
    ``extra_cells`` adds the attack's own cells; ``loses`` defaults to the wrong functions' parts."""
    wrong = dict(wrong or {})
    answers: dict[str, str] = {}
    for cell in EXERCISES:
        mine = {fn: src for fn, src in wrong.items() if CELL_OF[fn] == cell}
        if mine:
            answers[cell] = answer_cell(cell, **mine)
    return Entry(
        id=id, kind="attack", description=description, answers=answers,
        loses=loses or tuple(PARTS[fn] for fn in wrong),
        extra_cells={k: code(v) for k, v in (extra_cells or {}).items()},
        base=base, needs_sandbox=needs_sandbox, known_gap=known_gap,
    )


def all_entries(*, full: bool | None = None) -> list[Entry]:
    """The catalog: mistakes, correct alternatives, attacks.

    Entries tagged ``extended`` (more mistakes of the same kinds) are left out unless ``full``,
    which defaults to ``$FISHER_CATALOG == "full"``: the default catalog grades in about two
    and a half minutes on two cores, the full one in about four.
    """
    from tests.catalog.alternatives import ALTERNATIVES
    from tests.catalog.attacks import ATTACKS
    from tests.catalog.mistakes import MISTAKES

    entries = [*MISTAKES, *ALTERNATIVES, *ATTACKS]
    ids = [e.id for e in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ValueError(f"duplicate catalog ids {duplicates}")
    if full is None:
        full = os.environ.get(FULL_ENV) == "full"
    return [e for e in entries if full or "extended" not in e.tags]

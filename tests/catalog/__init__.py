"""The mutation catalogs: submissions the autograder must tell apart, as test data, per assignment.

Each graded assignment has a subpackage ``tests/catalog/<assignment>/`` whose ``__init__`` defines
``CONTRACT`` (a :class:`Contract`: the answer cells, their contract functions, the autograded part
of each function, one correct implementation of each) and whose modules ``mistakes``,
``alternatives`` and ``attacks`` hold lists ``MISTAKES``, ``ALTERNATIVES`` and ``ATTACKS`` of
entries built with ``CONTRACT.mistake``, ``CONTRACT.correct`` and ``CONTRACT.attack``. A new
assignment's catalog is found by :func:`contracts` with no other edit.

Every entry is a submission to the assignment's graded notebook, described by the answer cells it
fills (grade id -> code, like :func:`tests.support.submissions.fill`), optional cells the student
adds after a given cell, and what grading it must get:

* ``mistake``: one plausible error confined to one contract function. It must lose the points
  of exactly the parts in ``loses`` (that function's test cells) and keep every other part.
* ``correct``: a genuinely different correct implementation. It must get full autograded marks.
* ``attack``: wrong or missing functions plus code that tries to make their test cells pass
  anyway. It must score below full marks and win none of the parts in ``loses``.

Answer cells an entry does not fill hold the reference solution (``base="reference"``) or the
released stubs (``base="release"``). ``tests/test_catalog.py`` grades each assignment's entries
in one batch.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

KINDS = ("mistake", "correct", "attack")

#: ``FISHER_CATALOG=full`` also grades the entries tagged ``extended`` (about twice the time).
FULL_ENV = "FISHER_CATALOG"


def code(*snippets: str) -> str:
    """Join code snippets (each dedented) into one cell's source, two blank lines apart."""
    return "\n\n\n".join(textwrap.dedent(s).strip("\n") for s in snippets) + "\n"


@dataclass(frozen=True)
class Contract:
    """What an assignment's catalog is written against, and the builders of its entries.

    ``exercises`` maps each answer cell (grade id ``exN_code``) to its contract functions in
    notebook order; ``parts`` maps each function to the grade id of its main test cell;
    ``edge_parts`` maps a function to the test cells that grade a stated edge case of it on
    their own points (so a mistake in the edge case alone loses only those);
    ``reference_code`` holds one correct implementation of each function, as a student would
    write it (a mistake changes one function of a cell and keeps the others).
    """

    assignment: str
    package: str  # the module holding this contract; its submodules hold the entries
    exercises: Mapping[str, tuple[str, ...]]
    parts: Mapping[str, str]
    reference_code: Mapping[str, str]
    notebook: str = "exercises.ipynb"
    edge_parts: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @cached_property
    def cell_of(self) -> dict[str, str]:
        """The answer cell of each contract function."""
        return {fn: cell for cell, fns in self.exercises.items() for fn in fns}

    @cached_property
    def exercise_of_cell(self) -> dict[str, str]:
        """The exercise label ("ex1" ...) of each answer cell."""
        return {cell: cell.removesuffix("_code") for cell in self.exercises}

    def parts_of(self, function: str) -> tuple[str, ...]:
        """Every autograded part of ``function``: its main test cell, then its edge-case cells."""
        return (self.parts[function], *self.edge_parts.get(function, ()))

    @property
    def function_of_part(self) -> dict[str, str]:
        """The function each autograded part (main or edge case) tests."""
        return {part: fn for fn in self.parts for part in self.parts_of(fn)}

    def answer_cell(self, cell: str, **functions: str) -> str:
        """The answer cell ``cell`` with the given functions' code; the others are the reference."""
        unknown = set(functions) - set(self.exercises[cell])
        if unknown:
            raise KeyError(f"{sorted(unknown)} are not functions of {cell}")
        return code(*(functions.get(fn, self.reference_code[fn]) for fn in self.exercises[cell]))

    def mistake(self, id: str, function: str, wrong: str, description: str, *,
                tags: tuple[str, ...] = (), known_gap: str = "",
                loses: tuple[str, ...] | None = None) -> Entry:
        """A mistake in ``function`` alone: its answer cell keeps the other functions correct.

        It loses ``function``'s main part unless ``loses`` names other parts of that function
        (an edge-case mistake loses only its edge part; a wrong formula may fail both).
        """
        cell = self.cell_of[function]
        loses = loses or (self.parts[function],)
        if not set(loses) <= set(self.parts_of(function)):
            raise ValueError(f"{id}: {sorted(set(loses) - set(self.parts_of(function)))} "
                             f"are not parts of {function}")
        return Entry(
            id=id, kind="mistake", description=description, contract=self,
            answers={cell: self.answer_cell(cell, **{function: wrong})},
            loses=tuple(loses), tags=frozenset(tags), known_gap=known_gap,
        )

    def correct(self, id: str, description: str, answers: Mapping[str, str], *,
                tags: tuple[str, ...] = ()) -> Entry:
        """A correct alternative filling the given answer cells."""
        return Entry(id=id, kind="correct", description=description, contract=self,
                     answers={k: code(v) for k, v in answers.items()}, tags=frozenset(tags))

    def attack(self, id: str, description: str, *, wrong: Mapping[str, str] | None = None,
               extra_cells: Mapping[str, str] | None = None, loses: tuple[str, ...] = (),
               base: str = "reference", needs_sandbox: bool = False, known_gap: str = "") -> Entry:
        """An attack: ``wrong`` maps contract functions to wrong code (in their own answer cells),
        ``extra_cells`` adds the attack's own cells; ``loses`` defaults to the wrong functions' parts."""
        wrong = dict(wrong or {})
        answers: dict[str, str] = {}
        for cell in self.exercises:
            mine = {fn: src for fn, src in wrong.items() if self.cell_of[fn] == cell}
            if mine:
                answers[cell] = self.answer_cell(cell, **mine)
        return Entry(
            id=id, kind="attack", description=description, contract=self, answers=answers,
            loses=loses or tuple(part for fn in wrong for part in self.parts_of(fn)),
            extra_cells={k: code(v) for k, v in (extra_cells or {}).items()},
            base=base, needs_sandbox=needs_sandbox, known_gap=known_gap,
        )

    def entries(self, *, full: bool | None = None) -> list[Entry]:
        """The catalog: mistakes, correct alternatives, attacks.

        Entries tagged ``extended`` (more mistakes of the same kinds) are left out unless ``full``,
        which defaults to ``$FISHER_CATALOG == "full"``, to keep the default run short.
        """
        entries = [
            *importlib.import_module(f"{self.package}.mistakes").MISTAKES,
            *importlib.import_module(f"{self.package}.alternatives").ALTERNATIVES,
            *importlib.import_module(f"{self.package}.attacks").ATTACKS,
        ]
        ids = [e.id for e in entries]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"{self.assignment}: duplicate catalog ids {duplicates}")
        if full is None:
            full = os.environ.get(FULL_ENV) == "full"
        return [e for e in entries if full or "extended" not in e.tags]


@dataclass(frozen=True)
class Entry:
    """One submission of a catalog and the grading it must get (see the module's docstring)."""

    id: str
    kind: str
    description: str
    contract: Contract = field(repr=False, compare=False)
    answers: Mapping[str, str] = field(default_factory=dict)
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
        unknown = set(self.loses) - set(self.contract.function_of_part)
        if unknown:
            raise ValueError(f"{self.id}: unknown parts {sorted(unknown)}")
        if self.kind == "mistake" and len(self.exercises) != 1:
            raise ValueError(f"{self.id}: a mistake changes the answer cell of one exercise")
        if self.kind in ("mistake", "attack") and not self.loses:
            raise ValueError(f"{self.id}: a {self.kind} names the parts it must lose")
        if self.kind == "correct" and self.loses:
            raise ValueError(f"{self.id}: a correct alternative loses nothing")

    @property
    def assignment(self) -> str:
        return self.contract.assignment

    @property
    def exercises(self) -> tuple[str, ...]:
        """The exercises ("ex1" ...) whose answer cells this entry fills, in notebook order."""
        return tuple(self.contract.exercise_of_cell[c] for c in self.contract.exercises if c in self.answers)


def contracts() -> dict[str, Contract]:
    """Every assignment's catalog contract, found as the subpackages of this package."""
    found = {}
    for module in pkgutil.iter_modules(__path__):
        if module.ispkg:
            contract = importlib.import_module(f"{__name__}.{module.name}").CONTRACT
            found[contract.assignment] = contract
    return dict(sorted(found.items()))

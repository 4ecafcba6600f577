"""The helper packages a student's kernel imports: self-checks that say FAIL whenever the value
is wrong, and no answer to any exercise."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import sys
from pathlib import Path
from types import ModuleType

import nbformat
import numpy as np
import pytest

from fisher_helpers import check_close, check_true
from tests.catalog import contracts
from tests.course_copy import HELPER_PACKAGES, REPO

pytestmark = pytest.mark.unit

#: Every unit's graded exercises notebook: a helper package must hold no answer to any of them.
EXERCISES = sorted((REPO / "source").glob("*/exercises.ipynb"))


def test_check_close_passes_equal_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_close("same", 0.1 + 0.2, 0.3) is True
    assert capsys.readouterr().out == "PASS - same\n"


@pytest.mark.parametrize(
    ("value", "target", "tol"),
    [
        (1.0, 1.0 + 1e-6, 1e-8),  # outside tolerance
        (-2.0, 2.0, 1e-8),  # sign error
        (np.nan, np.nan, 1e-8),  # NaN never matches
        (np.inf, 1.0, 1e-8),
        (np.array([1.0, 2.0]), np.array([1.0, 2.5]), 1e-8),  # one element off
        (1.0, np.array([1.0, 1.0]), 1e-8),  # a scalar does not stand for an array
        (np.ones((2, 2)), np.ones(4), 1e-8),  # same numbers, wrong shape
        ("a string", 1.0, 1e-8),
        (None, 1.0, 1e-8),
    ],
)
def test_check_close_fails_wrong_values(value, target, tol, capsys: pytest.CaptureFixture[str]) -> None:
    assert check_close("wrong", value, target, tol) is False
    out = capsys.readouterr().out
    assert out.startswith("FAIL - wrong\n")
    assert "value :" in out and "target:" in out


def test_check_close_tolerance_is_relative_and_absolute() -> None:
    assert check_close("relative", 1e6 + 1e-3, 1e6, tol=1e-8)
    assert not check_close("too far", 1e6 + 1.0, 1e6, tol=1e-8)
    assert check_close("absolute", 1e-10, 0.0, tol=1e-8)


def test_check_true(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_true("yes", np.bool_(True)) is True
    assert check_true("no", 1 > 2) is False
    assert capsys.readouterr().out == "PASS - yes\nFAIL - no\n"


def test_check_true_refuses_ambiguous_arrays() -> None:
    with pytest.raises(ValueError):
        check_true("ambiguous", np.array([True, False]))


# --------------------------------------------------------------------------- no answers installed


def contract_functions(notebooks: Path | list[Path] = EXERCISES) -> set[str]:
    """The functions the exercises ask for: every public ``def name(`` of the source notebooks' solution
    cells (a reference solution's private helper, ``_name``, is no contract)."""
    found = set()
    for notebook in [notebooks] if isinstance(notebooks, Path) else notebooks:
        nb = nbformat.read(notebook, as_version=4)
        found |= {
            name
            for cell in nb.cells
            if cell.cell_type == "code" and cell.get("metadata", {}).get("nbgrader", {}).get("solution")
            for name in re.findall(r"^\s*def\s+(\w+)\s*\(", cell.source, flags=re.MULTILINE)
            if not name.startswith("_")
        }
    return found


def package_modules(package: str) -> list[ModuleType]:
    """The package and every module below it, imported."""
    root = importlib.import_module(package)
    found = [root]
    for info in pkgutil.walk_packages(getattr(root, "__path__", []), f"{package}."):
        found.append(importlib.import_module(info.name))
    return found


def answers_held(modules: list[ModuleType], contract: set[str]) -> list[str]:
    """Where ``modules`` offer a contract function: a ``def`` of that name anywhere in their source
    (nested functions and methods included), or a module attribute of that name (an alias,
    a lambda, a re-export)."""
    held = []
    for module in modules:
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py"):
            tree = ast.parse(Path(path).read_text(encoding="utf-8"))
            held += [f"{module.__name__}: def {node.name} (line {node.lineno})" for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in contract]
        held += [f"{module.__name__}.{name}" for name in sorted(contract) if hasattr(module, name)]
    return held


@pytest.mark.parametrize("assignment", sorted(contracts()))
def test_contract_is_read_from_the_exercises_notebook(assignment: str) -> None:
    contract = contracts()[assignment]
    assert contract_functions(REPO / "source" / assignment / contract.notebook) == set(contract.parts)


def test_every_unit_s_exercises_are_guarded() -> None:
    assert {p.parent.name for p in EXERCISES} == set(contracts())


@pytest.mark.parametrize("package", HELPER_PACKAGES)
def test_installed_helper_packages_hold_no_answer(package: str) -> None:
    """A submission could import a contract function from a package the kernel sees and earn its
    points without writing it (as ``fisher_helpers.models`` once allowed for three parts)."""
    held = answers_held(package_modules(package), contract_functions())
    assert not held, f"{package} offers functions the exercises ask for: {held}"


def test_the_answer_guard_finds_defs_and_aliases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "leaky_helpers"
    package.mkdir()
    (package / "__init__.py").write_text("from leaky_helpers.inner import helper as kl_quadratic\n")
    (package / "inner.py").write_text("def helper():\n    def bernoulli_score(x, p):\n        return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        held = answers_held(package_modules("leaky_helpers"), contract_functions())
    finally:
        for name in ("leaky_helpers", "leaky_helpers.inner"):
            sys.modules.pop(name, None)
    assert held == ["leaky_helpers.kl_quadratic", "leaky_helpers.inner: def bernoulli_score (line 2)"]

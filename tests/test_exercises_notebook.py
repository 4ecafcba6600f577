"""The exercises notebooks as authored: their structure, points and contract (every unit)."""

from __future__ import annotations

import re

import nbformat
import pytest

from notebook_grader.protocol.reference import Reference, hidden_line_ranges, is_test_cell
from tests.course_copy import REPO

pytestmark = pytest.mark.unit

#: Per unit: the contract functions of each exercise, and the exercises with a written answer.
UNITS = {
    "fisher_information": {
        "contract": {
            1: ["bernoulli_score", "bernoulli_fisher"],
            2: ["gaussian_mean_fisher", "mc_score_variance"],
            3: ["reparameterize_fisher", "bernoulli_logit_fisher"],
            4: ["gaussian_mean_fisher_matrix", "most_informative_direction"],
            5: ["bernoulli_kl", "kl_quadratic"],
            6: ["jeffreys_bernoulli", "jeffreys_exponential"],
            7: ["logistic_hessian", "logistic_empirical_fisher"],
            8: ["diagonal_empirical_fisher", "ewc_penalty"],
            9: ["fisher_by_enumeration"],
            10: ["natural_gradient_step"],
        },
        "written": {1, 2, 3, 4, 5, 6, 7, 10},
    },
    "fisher_estimation": {
        "contract": {
            1: ["cramer_rao_bound", "shrinkage_mse"],
            2: ["delta_method_variance", "mc_mle_variance"],
            3: ["wald_interval", "jeffreys_interval"],
            4: ["binomial_coverage", "cauchy_observed_information"],
            5: ["gaussian_fisher_matrix", "efficient_information"],
            6: ["categorical_natural_fisher", "categorical_mean_fisher"],
            7: ["poisson_naive_covariance", "poisson_sandwich_covariance"],
            8: ["bootstrap_variance"],
        },
        "written": {1, 2, 4, 5, 6, 7, 8},
    },
    "fisher_deep_learning": {
        "contract": {
            1: ["tanh_net_jacobian", "ggn_matrix"],
            2: ["natural_gradient_run", "kl_constrained_step"],
            3: ["sampled_fisher", "adam_second_moment"],
            4: ["kfac_block", "kfac_precondition"],
            5: ["ewc_objective", "ewc_minimizer"],
            6: ["softmax_rows", "softmax_fvp"],
            7: ["obd_saliency", "prune_smallest"],
            8: ["quantization_sensitivity", "fisher_merge"],
            9: ["mixture_score", "tweedie_denoise"],
        },
        "written": set(range(1, 10)),
    },
}
by_unit = pytest.mark.parametrize("unit", sorted(UNITS))


def source(unit: str):
    return REPO / "source" / unit / "exercises.ipynb"


@pytest.fixture(scope="module")
def notebooks() -> dict:
    return {unit: nbformat.read(source(unit), as_version=4) for unit in UNITS}


def test_every_unit_with_exercises_is_listed() -> None:
    assert {p.parent.name for p in (REPO / "source").glob("*/exercises.ipynb")} == set(UNITS)


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@by_unit
def test_every_graded_cell_has_points_and_the_total_is_stated(notebooks, unit) -> None:
    nb = notebooks[unit]
    graded = [c for c in nb.cells if meta(c).get("grade")]
    assert graded and all(meta(c).get("points", 0) > 0 for c in graded)
    auto = sum(meta(c)["points"] for c in graded if not meta(c)["solution"])
    written = sum(meta(c)["points"] for c in graded if meta(c)["solution"])
    intro = " ".join(nb.cells[0].source.split())  # a markdown line break is a space
    assert f"Points: {auto + written} in total" in intro
    assert f"{auto} autograded" in intro and f"{written} for written answers" in intro


@by_unit
def test_each_contract_function_has_its_own_test_cell(notebooks, unit) -> None:
    nb = notebooks[unit]
    tests = {meta(c)["grade_id"]: c.source for c in nb.cells if is_test_cell(c)}
    for exercise, functions in UNITS[unit]["contract"].items():
        for function in functions:
            owners = [g for g, src in tests.items() if f'Checks("{function}")' in src]
            assert owners and all(g.startswith(f"ex{exercise}") for g in owners), function


@by_unit
def test_written_answers_are_manually_graded_markdown(notebooks, unit) -> None:
    nb = notebooks[unit]
    written = [meta(c)["grade_id"] for c in nb.cells if meta(c).get("grade") and meta(c).get("solution")]
    assert {int(re.match(r"ex(\d+)", g).group(1)) for g in written} == UNITS[unit]["written"]
    for cell in nb.cells:
        if meta(cell).get("grade") and meta(cell).get("solution"):
            assert cell.cell_type == "markdown" and "### BEGIN SOLUTION" in cell.source


@by_unit
def test_every_test_cell_has_visible_and_hidden_checks(notebooks, unit) -> None:
    nb = notebooks[unit]
    reference = Reference(source(unit))
    for cell in nb.cells:
        if is_test_cell(cell):
            checks = reference.expected_checks(meta(cell)["grade_id"], cell.source)
            assert any(c.visible for c in checks), meta(cell)["grade_id"]
            assert any(not c.visible for c in checks), meta(cell)["grade_id"]
            assert len({(c.spec.function, c.spec.what) for c in checks}) == len(checks), "labels must be unique"


@by_unit
def test_hidden_regions_hold_no_literal_expected_values(notebooks, unit) -> None:
    """A hidden check's expected value comes from the reference, so the kernel never holds it."""
    nb = notebooks[unit]
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        lines = cell.source.splitlines()
        for start, end in hidden_line_ranges(cell.source):
            hidden = "\n".join(lines[start - 1:end])
            for match in re.finditer(r"expected=([^,\n)]+)", hidden):
                value = match.group(1).strip()
                assert value in {"True", "0.0"} or value.startswith("lambda"), (meta(cell)["grade_id"], value)


@by_unit
def test_setup_is_imported_once_and_cells_have_no_magics(notebooks, unit) -> None:
    nb = notebooks[unit]
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum("import numpy as np" in src for src in code) == 1
    assert not any(re.search(r"^\s*[%!]", src, re.M) for src in code)
    assert not any("def check_close" in src or "sys.path" in src for src in code)


@by_unit
def test_cell_ids_and_grade_ids_are_unique(notebooks, unit) -> None:
    nb = notebooks[unit]
    ids = [c.id for c in nb.cells]
    grade_ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(set(ids)) == len(ids) and len(set(grade_ids)) == len(grade_ids)


def test_unit_two_states_what_may_be_imported_and_each_tolerance(notebooks) -> None:
    intro = notebooks["fisher_estimation"].cells[0].source
    assert all(name in intro for name in ("NumPy", "SciPy", "matplotlib", "seaborn"))
    assert "six standard errors" in intro and "a tenth of a standard error" in intro and "10^{-7}" in intro


def test_unit_two_exercises_each_end_with_a_takeaway(notebooks) -> None:
    nb = notebooks["fisher_estimation"]
    ids = [meta(c).get("grade_id", "") for c in nb.cells]
    for exercise in UNITS["fisher_estimation"]["contract"]:
        start = ids.index(f"ex{exercise}_md")
        following = [i for i in ids[start + 1:] if re.fullmatch(r"ex\d+_md|outro", i)]
        last = ids[ids.index(following[0]) - 1]
        assert last == f"ex{exercise}_takeaway", (exercise, last)
        assert nb.cells[ids.index(last)].source.startswith("**Takeaway.**")

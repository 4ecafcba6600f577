"""Unit 3's exercises notebook as authored: structure, points, contract, Monte Carlo tolerance.

The catalog (``tests/catalog/fisher_deep_learning``) holds the contract; these tests check the
notebook keeps it, and that the sampled-Fisher checks of Exercise 3 accept every valid estimator
and reject every wrong one whatever the seed.
"""

from __future__ import annotations

import re
from typing import Any

import nbformat
import numpy as np
import pytest

from cell_checks import decode_value
from notebook_grader.protocol.reference import Reference, hidden_line_ranges, is_test_cell, strip_solution_markers
from tests.catalog.fisher_deep_learning import CONTRACT, EXERCISES, PARTS
from tests.course_copy import REPO

pytestmark = pytest.mark.unit

SOURCE = REPO / "source" / "fisher_deep_learning" / "exercises.ipynb"
MC_PART = PARTS["sampled_fisher"]


@pytest.fixture(scope="module")
def nb() -> Any:
    return nbformat.read(SOURCE, as_version=4)


@pytest.fixture(scope="module")
def reference() -> Reference:
    return Reference(SOURCE)


def meta(cell: Any) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def test_intro_states_points_libraries_and_tolerances(nb) -> None:
    graded = [c for c in nb.cells if meta(c).get("grade")]
    assert graded and all(meta(c).get("points", 0) > 0 for c in graded)
    auto = sum(meta(c)["points"] for c in graded if not meta(c)["solution"])
    written = sum(meta(c)["points"] for c in graded if meta(c)["solution"])
    intro = " ".join(nb.cells[0].source.split())
    assert f"Points: {auto + written} in total" in intro
    assert f"{auto} autograded" in intro and f"{written} for written answers" in intro
    assert "**Libraries.**" in intro and "NumPy" in intro and "SciPy" in intro
    assert "**Tolerances.**" in intro and "six standard errors" in intro


def test_each_contract_function_has_its_own_test_cell(nb) -> None:
    tests = {meta(c)["grade_id"]: c.source for c in nb.cells if is_test_cell(c)}
    assert set(tests) == set(PARTS.values())
    for function, part in PARTS.items():
        assert [g for g, src in tests.items() if f'Checks("{function}")' in src] == [part]


def test_every_exercise_has_a_written_answer_and_ends_with_a_takeaway(nb) -> None:
    ids = [meta(c).get("grade_id") for c in nb.cells]
    for cell in EXERCISES:
        ex = CONTRACT.exercise_of_cell[cell]
        written = ids.index(f"{ex}c_written")
        assert nb.cells[written].cell_type == "markdown" and "### BEGIN SOLUTION" in nb.cells[written].source
        assert "A full answer" in nb.cells[written].source.split("### BEGIN SOLUTION")[0], f"{ex}: no rubric"
        assert ids[written + 1] == f"{ex}_takeaway" and nb.cells[written + 1].source.startswith("**Takeaway.**")


def test_every_test_cell_has_visible_and_hidden_checks(nb, reference) -> None:
    for cell in nb.cells:
        if is_test_cell(cell):
            checks = reference.expected_checks(meta(cell)["grade_id"], cell.source)
            assert any(c.visible for c in checks) and any(not c.visible for c in checks), meta(cell)["grade_id"]
            assert len({c.spec.what for c in checks}) == len(checks), "labels must be unique"


def test_hidden_regions_hold_no_literal_expected_values(nb) -> None:
    """A hidden check's expected value comes from the reference, so the kernel never holds it."""
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        lines = cell.source.splitlines()
        for start, end in hidden_line_ranges(cell.source):
            hidden = "\n".join(lines[start - 1:end])
            for match in re.finditer(r"expected=([^,\n)]+)", hidden):
                value = match.group(1).strip()
                assert value in {"True", "0.0"} or value.startswith("lambda"), (meta(cell)["grade_id"], value)


def test_setup_is_imported_once_and_cells_have_no_magics(nb) -> None:
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum("import numpy as np" in src for src in code) == 1
    assert not any(re.search(r"^\s*[%!]", src, re.M) for src in code)
    assert not any("def check_close" in src or "sys.path" in src for src in code)
    assert not any(re.search(r"^\s*(import|from)\s+(torch|jax|tensorflow|sklearn)", src, re.M) for src in code)


def test_cell_ids_and_grade_ids_are_unique(nb) -> None:
    ids = [c.id for c in nb.cells]
    grade_ids = [meta(c)["grade_id"] for c in nb.cells if meta(c)]
    assert len(set(ids)) == len(ids) and len(set(grade_ids)) == len(grade_ids)


# --------------------------------------------------------------------------- Monte Carlo tolerance


def _estimator(source: str) -> Any:
    namespace: dict[str, Any] = {"np": np, "__name__": "__catalog__"}
    exec(compile(source, "<catalog>", "exec"), namespace)
    return namespace["sampled_fisher"]


def _mc_data(nb) -> dict[str, Any]:
    """X3, w3, u3 and the helper of the sampled-Fisher test cell (the code before its checks)."""
    source = next(c.source for c in nb.cells if meta(c).get("grade_id") == MC_PART)
    namespace: dict[str, Any] = {"np": np}
    exec(source.split("checks = Checks(")[0], namespace)
    return namespace


def test_mc_tolerance_passes_every_valid_estimator_and_rejects_wrong_ones(nb, reference) -> None:
    """Over 100 seeds, the near checks of Exercise 3 (the visible trace, the hidden quadratic form)
    accept the reference and every ``mc-valid`` alternative every time, and reject every
    ``mc-wrong-quantity`` mistake every time (one of the two checks, the same for every seed)."""
    from tests.catalog.fisher_deep_learning.alternatives import ALTERNATIVES
    from tests.catalog.fisher_deep_learning.mistakes import MISTAKES

    data = _mc_data(nb)
    X, w, u = data["X3"], data["w3"], data["u3"]
    cell = next(c for c in nb.cells if meta(c).get("grade_id") == MC_PART)
    near = [c.spec for c in reference.expected_checks(MC_PART, cell.source) if c.spec.cmp.kind == "near"]
    trace = next(s for s in near if s.what.startswith("the trace"))
    quad = next(s for s in near if s.what.startswith("a quadratic form"))
    statistics = {
        "trace": (lambda F: np.trace(F), float(decode_value(trace.expected)), trace.cmp.rtol),
        "quadratic form": (lambda F: u @ F @ u, float(decode_value(quad.expected)), quad.cmp.rtol),
    }

    def rejected_by(estimator: Any, seed: int) -> set[str]:
        F = estimator(X, w, 400, seed)
        return {name for name, (stat, expected, rtol) in statistics.items()
                if not abs(stat(F) - expected) <= rtol * abs(expected)}

    solution = strip_solution_markers(next(c.source for c in nb.cells if meta(c).get("grade_id") == "ex3_code"))
    valid = {"reference solution": _estimator(solution)}
    valid.update({e.id: _estimator(e.answers["ex3_code"]) for e in ALTERNATIVES if "mc-valid" in e.tags})
    wrong = {e.id: _estimator(e.answers["ex3_code"]) for e in MISTAKES if "mc-wrong-quantity" in e.tags}
    assert len(valid) >= 3 and len(wrong) >= 3
    seeds = range(100)
    for name, estimator in valid.items():
        misses = {s: rejected_by(estimator, s) for s in seeds if rejected_by(estimator, s)}
        assert not misses, f"{name}: a valid estimator is rejected for seeds {misses}"
    for name, estimator in wrong.items():
        caught = [rejected_by(estimator, s) for s in seeds]
        assert all(caught), f"{name}: a wrong-quantity estimator passes for some seed"
        assert set.intersection(*caught), f"{name}: no single check rejects it for every seed"


def test_mc_spread_check_rejects_estimators_with_the_wrong_sampling_error(nb) -> None:
    """The hidden spread check (40 seeds) accepts the valid estimators and rejects those whose
    spread is wrong (one draw instead of n_draws; the closed form, no spread at all)."""
    from tests.catalog.fisher_deep_learning.alternatives import ALTERNATIVES
    from tests.catalog.fisher_deep_learning.mistakes import MISTAKES

    data = _mc_data(nb)
    X, w = data["X3"][:20], data["w3"]
    se = data["fisher_statistic"](X, w, np.sum(X**2, axis=1), 16)[1]

    def ratio(estimator: Any) -> float:
        return float(np.std([np.trace(estimator(X, w, 16, s)) for s in range(40)], ddof=1) / se)

    solution = strip_solution_markers(next(c.source for c in nb.cells if meta(c).get("grade_id") == "ex3_code"))
    valid = [_estimator(solution)] + [_estimator(e.answers["ex3_code"]) for e in ALTERNATIVES if "mc-valid" in e.tags]
    spread = [_estimator(e.answers["ex3_code"]) for e in MISTAKES if "mc-wrong-spread" in e.tags]
    assert len(spread) >= 2
    assert all(0.6 < ratio(estimator) < 1.4 for estimator in valid), [ratio(e) for e in valid]
    assert all(not 0.4 < ratio(estimator) < 1.7 for estimator in spread), [ratio(e) for e in spread]


def test_committed_samples_match_the_release() -> None:
    """``submitted/<student>/fisher_deep_learning`` is what ``samples_fisher_deep_learning`` writes."""
    from notebook_grader.course import Course
    from tests.fixtures.samples_fisher_deep_learning import ASSIGNMENT, sample_notebooks

    course = Course(REPO)
    for student, sample in sample_notebooks(course).items():
        committed = nbformat.read(course.folder("submitted", ASSIGNMENT, student) / "exercises.ipynb", as_version=4)
        assert nbformat.writes(committed) == nbformat.writes(sample), f"regenerate the samples: {student}"

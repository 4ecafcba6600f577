"""Unit 2, ``fisher_estimation``: its sample submissions graded end to end, and its Monte Carlo tolerances.

The samples (``submitted/<student>/fisher_estimation/``) are written by
:mod:`tests.fixtures.samples_fisher_estimation`: alice is right everywhere (written differently),
bob makes four mistakes in four parts, carol hands in the release.
"""

from __future__ import annotations

from typing import Any

import nbformat
import numpy as np
import pytest

from cell_checks import decode_value
from notebook_grader.course import Course
from notebook_grader.protocol.reference import load_reference, strip_solution_markers
from tests.catalog import contracts
from tests.course_copy import REPO, copy_course
from tests.fixtures.samples_fisher_estimation import ASSIGNMENT, BOB_LOSES, sample_notebooks

AUTOGRADED_POINTS = 36
SOURCE = REPO / "source" / ASSIGNMENT / "exercises.ipynb"


@pytest.mark.unit
def test_committed_samples_match_the_release() -> None:
    course = Course(REPO)
    for student, nb in sample_notebooks(course).items():
        path = course.folder("submitted", ASSIGNMENT, student) / "exercises.ipynb"
        committed = nbformat.read(path, as_version=4)
        assert nbformat.writes(committed) == nbformat.writes(nb), (
            f"regenerate the samples: python -m tests.fixtures.samples_fisher_estimation ({student})"
        )


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The three samples of unit 2, graded once in a course copy."""
    from notebook_grader.batch.coordinator import grade_all
    from notebook_grader.release import generate_release
    from notebook_grader.report.scores import student_scores

    course = copy_course(tmp_path_factory.mktemp("course"), submitted=True)
    generate_release(course, ASSIGNMENT)
    summary = grade_all(course, ASSIGNMENT, force=True)
    assert not summary.failed, summary.failed
    return {row.student: row for row in student_scores(course.db_url, ASSIGNMENT)}


def _autograded(row: Any) -> dict[str, float]:
    return {part: float(score or 0) for part, score in row.parts.items() if "written" not in part}


@pytest.mark.sandbox
def test_alice_gets_every_autograded_point(graded: dict[str, Any]) -> None:
    alice = graded["alice"]
    assert alice.autograded == alice.max_autograded == AUTOGRADED_POINTS
    assert alice.needs_manual_grade


@pytest.mark.sandbox
def test_bob_loses_exactly_his_four_wrong_parts(graded: dict[str, Any]) -> None:
    parts = _autograded(graded["bob"])
    assert {p for p, s in parts.items() if s == 0} == BOB_LOSES
    assert all(s > 0 for p, s in parts.items() if p not in BOB_LOSES)


@pytest.mark.sandbox
def test_carol_scores_nothing(graded: dict[str, Any]) -> None:
    assert graded["carol"].autograded == 0


# --------------------------------------------------------------------------- Monte Carlo tolerance


def _namespace(*sources: str) -> dict[str, Any]:
    from scipy import stats

    namespace: dict[str, Any] = {"np": np, "stats": stats, "__name__": "__catalog__"}
    for source in sources:
        exec(compile(source, "<catalog>", "exec"), namespace)
    return namespace


@pytest.mark.slow
def test_mc_tolerance_passes_valid_estimators_and_no_wrong_quantity() -> None:
    """ex2b's visible Monte Carlo check: over 60 seeds its tolerance (six standard errors) accepts the
    reference and every correct alternative every time, and rejects every wrong-quantity estimator."""
    source = nbformat.read(SOURCE, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    test_code = cells["ex2b_mc_mle_variance"].source
    near = [c for c in load_reference(SOURCE).expected_checks("ex2b_mc_mle_variance", test_code)
            if c.visible and c.spec.cmp.kind == "near"]
    assert len(near) == 1
    expected, rtol = float(decode_value(near[0].spec.expected)), near[0].spec.cmp.rtol
    assert expected == pytest.approx(50**3 * 4 / (49**2 * 48)) and rtol == pytest.approx(6 * np.sqrt(4 / 20000))

    entries = contracts()[ASSIGNMENT].entries(full=True)
    valid = {"reference": _namespace(strip_solution_markers(cells["ex2_code"].source))["mc_mle_variance"]}
    valid |= {e.id: _namespace(e.answers["ex2_code"])["mc_mle_variance"] for e in entries if e.kind == "correct"}
    wrong = {e.id: _namespace(e.answers["ex2_code"])["mc_mle_variance"]
             for e in entries if e.kind == "mistake" and "mc-wrong-quantity" in e.tags and "ex2_code" in e.answers}
    assert len(valid) >= 3 and len(wrong) >= 2

    def inside(estimator: Any, seed: int) -> bool:
        return abs(float(estimator(2.0, 50, reps=20000, seed=seed)) - expected) <= rtol * expected

    seeds = range(60)
    for name, estimator in valid.items():
        misses = [s for s in seeds if not inside(estimator, s)]
        assert not misses, f"{name}: a valid estimator falls outside the tolerance for seeds {misses}"
    for name, estimator in wrong.items():
        hits = [s for s in seeds if inside(estimator, s)]
        assert not hits, f"{name}: a wrong-quantity estimator falls inside the tolerance for seeds {hits}"

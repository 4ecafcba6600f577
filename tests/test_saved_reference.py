"""What the checks expect, saved at release (protocol/saved_reference.py): the same values grading
would compute, used only while current, and a broken reference said at release."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from notebook_grader.batch.fingerprint import environment_fingerprint
from notebook_grader.protocol import reference
from notebook_grader.protocol.reference import Reference
from notebook_grader.protocol.saved_reference import current_saved, save_reference, saved_path, use_saved
from tests.course_copy import HELPER_PACKAGES, REPO, copy_course

ASSIGNMENTS = ("fisher_information", "fisher_estimation", "fisher_deep_learning")
#: This machine's grading environment, as `course release` and `course grade` compute it for the course.
ENVIRONMENT = environment_fingerprint(HELPER_PACKAGES)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_the_saved_reference_holds_exactly_what_grading_computes(
        tmp_path: Path, assignment: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved, copied into a template and read back there, every check of every test cell equals the
    one computed from the reference solution (values, tolerances, hints, lines, known wrong answers),
    and a task that reads it runs no reference code."""
    monkeypatch.setattr(reference, "_REFERENCES", {})  # this process's references: none yet
    monkeypatch.setattr(reference, "_SAVED", {})
    course = copy_course(tmp_path / "course", release=False)
    assert save_reference(course.root, assignment, ("exercises", "theory"), ENVIRONMENT) == []
    saved = saved_path(course.root, assignment, "exercises")
    assert current_saved(course.root, assignment, ("exercises", "theory"), ENVIRONMENT) == {"exercises": saved}
    assert not saved_path(course.root, assignment, "theory").exists()  # no test cells: nothing to save

    template = tmp_path / "template"
    shutil.copytree(course.folder("source", assignment), template / "source" / assignment)
    saved_path(template, assignment, "exercises").parent.mkdir(parents=True)
    shutil.copy(saved, saved_path(template, assignment, "exercises"))
    assert use_saved(saved_path(template, assignment, "exercises").parent) == 1

    loaded = reference.load_reference(template / "source" / assignment / "exercises.ipynb")
    collected: list[str] = []
    loaded._collect = lambda grade_id, source: collected.append(grade_id) or []  # type: ignore[method-assign]
    fresh = Reference(REPO / "source" / assignment / "exercises.ipynb")
    assert fresh.test_sources
    for grade_id, source in fresh.test_sources.items():
        expected = fresh.expected_checks(grade_id, source)
        assert expected, grade_id
        assert loaded.expected_checks(grade_id, source) == expected, grade_id
    assert collected == []


def test_a_saved_reference_is_used_only_while_current(tmp_path: Path) -> None:
    """An edited source notebook, another grading environment (engine, helpers, libraries), a damaged
    file: each makes the saved reference stale, and grading computes the values as before."""
    assignment = "fisher_information"
    course = copy_course(tmp_path / "course", release=False)
    assert save_reference(course.root, assignment, ("exercises",), ENVIRONMENT) == []
    assert current_saved(course.root, assignment, ("exercises",), ENVIRONMENT) != {}
    assert current_saved(course.root, assignment, ("exercises",), environment_fingerprint(("fisher_helpers",))) == {}

    source = course.folder("source", assignment) / "exercises.ipynb"
    original = source.read_bytes()
    source.write_bytes(original.replace(b"n / sigma2", b"n / sigma2 ", 1))
    assert current_saved(course.root, assignment, ("exercises",), ENVIRONMENT) == {}
    source.write_bytes(original)
    assert current_saved(course.root, assignment, ("exercises",), ENVIRONMENT) != {}

    saved = saved_path(course.root, assignment, "exercises")
    saved.write_text(saved.read_text()[:-10])
    assert current_saved(course.root, assignment, ("exercises",), ENVIRONMENT) == {}
    (tmp_path / "damaged").mkdir()
    shutil.copy(saved, tmp_path / "damaged")
    assert use_saved(tmp_path / "damaged") == 0


def test_a_reference_that_fails_its_own_check_is_said_at_release_and_not_saved(tmp_path: Path) -> None:
    """A wrong reference solution is named at release (notebook, check), and no file is kept, so
    grading reports the same problem instead of judging against wrong values."""
    assignment = "fisher_information"
    course = copy_course(tmp_path / "course", release=False)
    assert save_reference(course.root, assignment, ("exercises",), ENVIRONMENT) == []
    source = course.folder("source", assignment) / "exercises.ipynb"
    text = source.read_text()
    assert "return n / sigma2" in text
    source.write_text(text.replace("return n / sigma2", "return n * sigma2", 1))
    problems = save_reference(course.root, assignment, ("exercises",), ENVIRONMENT)
    assert len(problems) == 1
    assert problems[0].startswith("exercises: ") and "fails its own check gaussian_mean_fisher" in problems[0]
    assert not saved_path(course.root, assignment, "exercises").exists()


@pytest.mark.sandbox
def test_grading_judges_by_the_saved_values_and_computes_them_when_none_are_current(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The values a run judges by are the ones `course release` saved (one changed on purpose costs
    the correct sample exactly that part); without a current saved file, the run computes them from
    the reference solution and the same sample gets every point."""
    # The workers fork from this process: a reference another test loaded here would be theirs
    # (values computed, not read), so they start from no reference, as in `course grade`.
    monkeypatch.setattr(reference, "_REFERENCES", {})
    monkeypatch.setattr(reference, "_SAVED", {})
    from notebook_grader.batch.coordinator import grade_all
    from notebook_grader.release import generate_release
    from notebook_grader.report.scores import student_scores

    assignment = "fisher_information"
    course = copy_course(tmp_path / "course", submitted=True)
    assert generate_release(course, assignment) == []
    saved = saved_path(course.root, assignment, "exercises")
    data = json.loads(saved.read_text())
    first = next(checks for checks in data["checks"].values() if checks[0]["function"] == "gaussian_mean_fisher")
    assert first[0]["expected"] == {"shape": [], "data": [10.0]}
    first[0]["expected"]["data"] = [11.0]
    saved.write_text(json.dumps(data))

    def alice() -> dict[str, float]:
        summary = grade_all(course, assignment, force=True)
        assert "alice" in summary.graded, summary
        row = next(r for r in student_scores(course.db_url, assignment) if r.student == "alice")
        return {part: score for part, score in row.parts.items() if "written" not in part}

    judged_by_saved = alice()
    assert judged_by_saved.pop("ex2a_gaussian_mean_fisher") == 0
    assert all(score and score > 0 for score in judged_by_saved.values()), judged_by_saved

    shutil.rmtree(course.root / ".grading")
    computed = alice()
    assert computed["ex2a_gaussian_mean_fisher"] > 0
    assert all(score and score > 0 for score in computed.values()), computed

"""Autograding end to end: the samples, the source notebook and the feedback."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup

from notebook_grader.batch.coordinator import grade_all
from notebook_grader.course import Course
from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT, REPO, copy_course, source_notebook
from tests.fixtures.make_samples import sample_notebooks

pytestmark = pytest.mark.sandbox

AUTOGRADED_POINTS = 40
BOB_LOSES = {"ex1a_bernoulli_score", "ex2b_mc_score_variance", "ex4b_most_informative_direction",
             "ex7b_logistic_empirical_fisher"}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """The shipped samples plus the source notebook as a fourth submission, graded once."""
    course = copy_course(tmp_path_factory.mktemp("course"), submitted=True)
    from notebook_grader.release import generate_release

    generate_release(course, ASSIGNMENT)
    reference = course.folder("submitted", ASSIGNMENT, "reference")
    reference.mkdir(parents=True)
    shutil.copy(source_notebook(course), reference / "exercises.ipynb")
    summary = grade_all(course, ASSIGNMENT, force=True)
    assert not summary.failed, summary.failed
    return course


def scores(course: Course) -> dict:
    return {row.student: row for row in student_scores(course.db_url, ASSIGNMENT)}


def auto_parts(row) -> dict[str, float]:
    return {name: score for name, score in row.parts.items() if "written" not in name}


def test_correct_sample_gets_every_autograded_point(graded: Course) -> None:
    alice = scores(graded)["alice"]
    assert alice.autograded == alice.max_autograded == AUTOGRADED_POINTS
    assert alice.needs_manual_grade  # her written answers wait for a human


def test_partly_wrong_sample_loses_exactly_its_wrong_parts(graded: Course) -> None:
    bob = scores(graded)["bob"]
    lost = {name for name, score in auto_parts(bob).items() if score == 0}
    assert lost == BOB_LOSES
    assert bob.autograded == 30


def test_untouched_release_earns_nothing(graded: Course) -> None:
    carol = scores(graded)["carol"]
    assert carol.autograded == 0 and carol.written == 0
    assert not carol.needs_manual_grade  # unchanged answer cells are scored 0 automatically


def test_source_notebook_autogrades_to_full_marks(graded: Course) -> None:
    assert scores(graded)["reference"].autograded == AUTOGRADED_POINTS


def test_theory_notebook_is_not_executed_by_autograde(graded: Course) -> None:
    for student in ("alice", "bob", "carol"):
        assert not (graded.folder("autograded", ASSIGNMENT, student) / "theory.ipynb").exists()


def test_feedback_and_grades_csv_are_written(graded: Course) -> None:
    for student in ("alice", "bob", "carol"):
        html = (graded.folder("feedback", ASSIGNMENT, student) / "exercises.html").read_text()
        assert "Autograder:" in html and "HIDDEN TESTS" not in html
    with open(graded.root / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(rows["alice"]["autograded"]) == AUTOGRADED_POINTS
    assert float(rows["bob"][f"{ASSIGNMENT}/ex1a_bernoulli_score"]) == 0
    assert float(rows["alice"]["course_total"]) == float(rows["alice"]["total"])  # one assignment graded


def test_feedback_is_the_page_nbgrader_writes(graded: Course, tmp_path: Path) -> None:
    """`course grade` writes the page `nbgrader generate_feedback` (formgrader's button) writes with the
    course's configuration; and the document nbconvert's stock HTMLExporter writes, serialized without
    its BeautifulSoup round trip (see notebook_grader.pipeline.feedback_exporter)."""
    tools = str(Path(sys.executable).parent)
    for variant, extra in (("course", []), ("stock", ["--GenerateFeedback.exporter_class=nbconvert.HTMLExporter"])):
        theirs = tmp_path / variant
        shutil.copytree(graded.root, theirs, ignore=shutil.ignore_patterns("feedback"))
        subprocess.run([os.path.join(tools, "nbgrader"), "generate_feedback", ASSIGNMENT, "--force", *extra],
                       cwd=theirs, env=dict(os.environ, PATH=tools + os.pathsep + os.environ["PATH"]), check=True,
                       capture_output=True)
    for student in ("alice", "bob", "carol"):
        ours = (graded.folder("feedback", ASSIGNMENT, student) / "exercises.html").read_text()
        course_door = (tmp_path / "course" / "feedback" / student / ASSIGNMENT / "exercises.html").read_text()
        stock = (tmp_path / "stock" / "feedback" / student / ASSIGNMENT / "exercises.html").read_text()
        assert ours == course_door, student
        assert as_nbgrader_prints(str(BeautifulSoup(ours, features="html.parser"))) == stock, student


#: What our page says where nbgrader's stock template prints 0 for a part no one has graded yet.
AWAITING = re.compile(r"(Score: )awaiting hand grading( / )|, provisional: [\d.]+ points awaiting hand grading")


def as_nbgrader_prints(page: str) -> str:
    """``page`` with "awaiting hand grading" written as nbgrader's stock template writes it (0.0)."""
    return AWAITING.sub(lambda m: f"{m.group(1)}0.0{m.group(2)}" if m.group(1) else "", page)


def test_feedback_explains_a_wrong_part(graded: Course) -> None:
    nb = nbformat.read(graded.folder("autograded", ASSIGNMENT, "bob") / "exercises.ipynb", as_version=4)
    cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1a_bernoulli_score")
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "FAIL - bernoulli_score: x = 0, p = 0.3" in text
    assert "expected: -1.4285714" in text and "received: 1.4285714" in text and "sign is flipped" in text
    assert "[hidden test]" in text
    assert any(o.output_type == "error" for o in cell.outputs)


def test_committed_samples_match_the_release() -> None:
    course = Course(REPO)
    for student, nb in sample_notebooks(course).items():
        committed = nbformat.read(course.folder("submitted", ASSIGNMENT, student) / "exercises.ipynb", as_version=4)
        assert nbformat.writes(committed) == nbformat.writes(nb), f"regenerate the samples: {student}"

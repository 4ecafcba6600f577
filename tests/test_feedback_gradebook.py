"""Feedback agrees with the gradebook: hand-given points and comments, and answers still to grade.

The samples are graded once with ``course grade``; each test hand-grades a copy of that course
the way formgrader does (a grade's ``manual_score``, a comment's ``manual_comment`` in the
course's gradebook), then checks the feedback page that ``course grade --force`` or
``course feedback`` writes against the gradebook and grades.csv.
"""

from __future__ import annotations

import csv
import hashlib
import shutil
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup, Tag
from nbgrader.api import Gradebook

from notebook_grader.course import Course
from notebook_grader.model import GradeRecord, GradingResult
from notebook_grader.storage.store import FeedbackRenderer, journal, store_result
from tests.course_copy import ASSIGNMENT, NOTEBOOK
from tests.faults.courses import new_course, released_course, run_course

pytestmark = pytest.mark.sandbox

STUDENT = "alice"  # answered every written question: all of them await a human
HAND_GRADED = "ex1c_written"
HAND_SCORE = 1.5
HAND_COMMENT = "Right place; now say why the variance of the score is largest there."
AWAITING = "awaiting hand grading"


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples, graded once by `course grade` (not hand-graded); tests work on copies."""
    course = new_course(released_course(tmp_path_factory), tmp_path_factory.mktemp("graded") / "course")
    run_course(course.root, "grade", ASSIGNMENT, "--quiet")
    return course.root


@pytest.fixture
def course(graded: Path, tmp_path: Path) -> Course:
    """A private copy of the graded course (its own gradebook, autograded/ and feedback/)."""
    root = tmp_path / "course"
    shutil.copytree(graded, root, symlinks=True)
    return Course(root.resolve())


def written_answers(course: Course, student: str = STUDENT) -> list[str]:
    """The grade ids of the notebook's written answers (markdown answer cells graded by hand)."""
    nb = nbformat.read(course.folder("autograded", ASSIGNMENT, student) / NOTEBOOK, as_version=4)
    return [cell.metadata.nbgrader["grade_id"] for cell in nb.cells
            if cell.cell_type == "markdown" and cell.metadata.get("nbgrader", {}).get("grade")]


def page(course: Course, student: str = STUDENT) -> BeautifulSoup:
    html = (course.folder("feedback", ASSIGNMENT, student) / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    return BeautifulSoup(html, features="html.parser")


def toc_entry(soup: BeautifulSoup, grade_id: str) -> str:
    """The table of contents' line for a graded cell, e.g. ``Written response (Score: 1.5 / 2.0)``."""
    link = soup.select_one(f'#toc a[href="#{grade_id}"]')
    assert isinstance(link, Tag), grade_id
    assert link.parent is not None
    return " ".join(link.parent.get_text(" ").split())


def cell_panel(soup: BeautifulSoup, grade_id: str) -> tuple[str, str]:
    """A graded cell's heading (its score) and footer (the comments), as text."""
    anchor = soup.find("a", attrs={"name": grade_id})
    assert isinstance(anchor, Tag), grade_id
    panel = anchor.find_parent("div", class_="nbgrader_cell")
    assert isinstance(panel, Tag), grade_id
    heading = panel.find("div", class_="panel-heading")
    footer = panel.find("div", class_="panel-footer")
    text = lambda tag: " ".join(tag.get_text(" ").split()) if isinstance(tag, Tag) else ""  # noqa: E731
    return text(heading), text(footer)


def total(soup: BeautifulSoup) -> str:
    heading = soup.select_one("div.panel-heading h4")
    assert isinstance(heading, Tag)
    return " ".join(heading.get_text(" ").split())


def hand_grade(course: Course) -> None:
    """What formgrader stores when the instructor scores and comments one written answer."""
    with Gradebook(course.db_url, course.course_id) as gb:
        notebook = NOTEBOOK.removesuffix(".ipynb")
        gb.find_grade(HAND_GRADED, notebook, ASSIGNMENT, STUDENT).manual_score = HAND_SCORE
        gb.find_comment(HAND_GRADED, notebook, ASSIGNMENT, STUDENT).manual_comment = HAND_COMMENT
        gb.db.commit()


def assert_shows_hand_grade(course: Course) -> None:
    soup = page(course)
    assert toc_entry(soup, HAND_GRADED) == f"Written response (Score: {HAND_SCORE} / 2.0)"
    heading, footer = cell_panel(soup, HAND_GRADED)
    assert f"Score: {HAND_SCORE} / 2.0" in heading
    assert HAND_COMMENT in footer
    assert any(link.get("href") == f"#comment-{HAND_GRADED}" for link in soup.select("#toc a"))
    # the other written answers still wait for a human, and the page says so
    for grade_id in written_answers(course):
        if grade_id != HAND_GRADED:
            assert AWAITING in toc_entry(soup, grade_id) and AWAITING in cell_panel(soup, grade_id)[0]
    assert "provisional" in total(soup)


def assert_csv_agrees(course: Course) -> None:
    with open(course.root / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert float(rows[STUDENT][f"{ASSIGNMENT}/{HAND_GRADED}"]) == HAND_SCORE
    assert float(rows[STUDENT]["written"]) == HAND_SCORE


def files_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_answers_not_yet_hand_graded_await_hand_grading(course: Course) -> None:
    """Before hand grading, an answered written question is 'awaiting hand grading' (with its
    points), not 0.0 / 2.0, and the total says it is provisional. An unanswered one is scored 0
    automatically, and says so."""
    soup = page(course)
    answers = written_answers(course)
    assert answers
    for grade_id in answers:
        entry, (heading, _) = toc_entry(soup, grade_id), cell_panel(soup, grade_id)
        assert AWAITING in entry and "2.0" in entry, entry
        assert AWAITING in heading and "2.0" in heading, heading
        assert "0.0 / 2.0" not in entry and "0.0 / 2.0" not in heading
    assert "provisional" in total(soup) and "16.0" in total(soup), total(soup)

    carol = page(course, "carol")  # left every answer as released
    for grade_id in written_answers(course, "carol"):
        assert toc_entry(carol, grade_id) == "Written response (Score: 0.0 / 2.0)"
        assert AWAITING not in cell_panel(carol, grade_id)[0]
    assert "provisional" not in total(carol)


def test_regrading_keeps_hand_grades_in_feedback(course: Course) -> None:
    """Hand grading, then `course grade --force`: the page shows the hand points and comment,
    as the gradebook and grades.csv do."""
    hand_grade(course)
    run_course(course.root, "grade", ASSIGNMENT, "--force", "--quiet")
    with Gradebook(course.db_url, course.course_id) as gb:
        grade = gb.find_grade(HAND_GRADED, "exercises", ASSIGNMENT, STUDENT)
        assert grade.manual_score == HAND_SCORE
    assert_shows_hand_grade(course)
    assert_csv_agrees(course)
    # a student with no hand grade keeps the page the worker wrote
    assert AWAITING in toc_entry(page(course, "bob"), "ex1c_written")


def test_course_feedback_regenerates_pages_from_the_gradebook(course: Course) -> None:
    """`course feedback` rewrites the pages from the gradebook, without running student code."""
    autograded = files_digest(course.root / "autograded")
    hand_grade(course)
    proc = run_course(course.root, "feedback", ASSIGNMENT, "--student", STUDENT)
    assert STUDENT in proc.stdout
    assert_shows_hand_grade(course)
    bob_before = files_digest(course.folder("feedback", ASSIGNMENT, "bob"))
    run_course(course.root, "feedback")  # every student, the default assignment
    assert_shows_hand_grade(course)
    assert files_digest(course.folder("feedback", ASSIGNMENT, "bob")) == bob_before
    assert files_digest(course.root / "autograded") == autograded  # nothing was run again
    unknown = run_course(course.root, "feedback", "--student", "nobody", check=False)
    assert unknown.returncode != 0 and "nobody" in unknown.stderr


def test_storing_renders_feedback_only_for_hand_graded_students(tmp_path: Path) -> None:
    """`course grade` stores a hand-graded student's page from the gradebook, and no one else's;
    a page that could not be rendered leaves the submission to be graded again."""
    db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    with Gradebook(db_url) as gb:
        gb.add_assignment("hw")
        gb.add_notebook("nb", "hw")
        gb.add_grade_cell("answer", "nb", "hw", max_score=2, cell_type="markdown")
        for student in ("ann", "ben"):
            gb.add_student(student)
            gb.add_submission("hw", student)
        gb.find_grade("answer", "nb", "hw", "ben").manual_score = 1.0
        gb.db.commit()
    rendered: list[str] = []

    def render(assignment: str, student: str) -> dict[str, bytes]:
        rendered.append(student)
        return {"nb.html": f"{student} from the gradebook".encode()}

    def broken(assignment: str, student: str) -> dict[str, bytes]:
        raise RuntimeError("no page")

    def store(student: str, renderer: FeedbackRenderer = render) -> bool:
        result = GradingResult(assignment="hw", student=student, grades=[GradeRecord("nb", "answer", None)],
                               feedback={"nb.html": b"from the task"})
        return store_result(tmp_path, db_url, "default_course", result, submission_fingerprint=student,
                            assignment_fingerprint="a", render_feedback=renderer)

    def page(student: str) -> bytes:
        return (tmp_path / "feedback" / student / "hw" / "nb.html").read_bytes()

    assert store("ann") is False and rendered == [] and page("ann") == b"from the task"
    assert store("ben") is True and rendered == ["ben"] and page("ben") == b"ben from the gradebook"
    assert set(journal(db_url, "default_course", "hw")) == {"ann", "ben"}
    with pytest.raises(RuntimeError):
        store("ben", broken)
    assert set(journal(db_url, "default_course", "hw")) == {"ann"}  # ben is graded again next run
    with Gradebook(db_url) as gb:
        assert gb.find_grade("answer", "nb", "hw", "ben").manual_score == 1.0

"""The student's and the instructor's week, in a real browser: Debian's Chromium driven by
Playwright against a JupyterLab this module starts (``tests/browser_lab.py``).

* Student: the release opens unmodified; theory Run All draws its plots and typesets its maths
  with the network cut; in the exercises one part answered right and one wrong, Restart & Run All
  runs to the last cell (the wrong part's FAIL lines on screen), Validate shows the wrong part's
  expected and received values and hint; the notebook is saved and submitted.
* Instructor: the roster is imported and the class graded (``course``); formgrader lists the
  students by name; a written answer is hand-graded in formgrader (its maths typeset, network
  cut); ``course feedback`` writes the page again and it shows the hand-given points, its maths
  typeset offline; ``course report`` writes the class report and its four plots show.
* The exchange: two students, each with a home, a student configuration (``course
  student-config``) and a JupyterLab of their own, see no instructor tool in nbgrader's menu,
  fetch the released assignment and submit it from the Assignment List; the instructor collects
  (``nbgrader collect``) and grades (``course grade``), and formgrader shows the exchange's times.

Every step that fails leaves a screenshot in ``test-artifacts/browser/``; a few steps leave one
when they pass, for a reviewer. One JupyterLab serves both flows.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbgrader.api import Gradebook

from notebook_grader.course import Course
from notebook_grader.release import generate_release, release_to_exchange
from notebook_grader.report.scores import student_scores
from tests.browser_lab import Lab, Steps, chromium_missing, cut_the_network, launch_chromium
from tests.course_copy import ASSIGNMENT, copy_course
from tests.faults.courses import run_course
from tests.fixtures.make_samples import BOB_MISTAKES
from tests.support.exchange import Student, instructor_env, new_student, run_nbgrader
from tests.support.submissions import fill, reference_answers

pytestmark = [pytest.mark.browser, pytest.mark.skipif(chromium_missing() is not None,
                                                       reason=chromium_missing() or "")]

STUDENT = "sam"  # the student whose week the browser plays
HAND_GRADED = "ex1c_written"
TIMEOUT_MS = 300_000  # a Run All or a Validate on a loaded 2-core machine


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    """A released course copy; the student's folder holds the release, with ex1 answered wrong
    (Bob's sign error) and ex2 answered right, the rest untouched."""
    root = tmp_path_factory.mktemp("browser") / "course"
    course = copy_course(root, release=False, submitted=True)
    generate_release(course, ASSIGNMENT)
    student = root / "student" / ASSIGNMENT
    shutil.copytree(course.folder("release", ASSIGNMENT), student)
    release = nbformat.read(student / "exercises.ipynb", as_version=4)
    answers = reference_answers(course.folder("source", ASSIGNMENT) / "exercises.ipynb")
    nbformat.write(fill(release, {"ex1_code": BOB_MISTAKES["ex1_code"], "ex2_code": answers["ex2_code"]}),
                   student / "exercises.ipynb")
    return course


@pytest.fixture(scope="module")
def lab(course: Course, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    server = Lab(course.root, tmp_path_factory.mktemp("jupyter-home"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, list[str]]]:
    """A fresh page with the network cut (only loopback and files), and the refused addresses."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(60_000)
    refused = cut_the_network(context)
    try:
        yield context.new_page(), refused
    finally:
        context.close()


# --------------------------------------------------------------------------- JupyterLab helpers

CURRENT = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def open_notebook(pg: Any, lab: Lab, path: str) -> None:
    """Open ``path`` alone (a fresh workspace) and wait for its kernel."""
    pg.goto(lab.url(f"lab/tree/{path}?reset"))
    pg.wait_for_selector(f"{CURRENT} .jp-Cell", timeout=TIMEOUT_MS)
    # the kernel is running and connected (the status bar names it), not only "No Kernel | Initializing"
    pg.wait_for_function("() => /ipykernel\\) \\| Idle/.test(document.querySelector('#jp-main-statusbar').innerText)",
                         timeout=TIMEOUT_MS)
    pg.locator(f"{CURRENT} .jp-Cell").first.click()  # the notebook is the current widget


def is_modified(pg: Any) -> bool:
    return bool(pg.evaluate("() => !!document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')"))


def run_all(pg: Any) -> None:
    """Run > Run All Cells on the notebook just opened (so on a fresh kernel: what Restart & Run
    All does), and wait until every code cell has run."""
    pg.get_by_role("menuitem", name="Run", exact=True).click()
    pg.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    # Every code cell gets an execution count: Run All did not stop at a failing cell.
    pg.wait_for_function(
        """(sel) => { const prompts = [...document.querySelectorAll(sel + ' .jp-CodeCell .jp-InputPrompt')];
                      return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent)); }""",
        arg=CURRENT, timeout=TIMEOUT_MS)
    pg.wait_for_selector(f'{CURRENT} .jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=TIMEOUT_MS)


def cell_output(pg: Any, marker: str) -> str:
    """The output text of the code cell whose source contains ``marker``."""
    return pg.evaluate(
        """(args) => { const [sel, marker] = args;
             const cell = [...document.querySelectorAll(sel + ' .jp-CodeCell')]
               .find(c => c.querySelector('.jp-InputArea').textContent.includes(marker));
             return cell ? cell.querySelector('.jp-OutputArea').textContent : null; }""",
        [CURRENT, marker])


def typeset_maths(pg: Any) -> int:
    """How many formulas MathJax has typeset on the page."""
    return int(pg.evaluate("() => document.querySelectorAll('mjx-container').length"))


# --------------------------------------------------------------------------- the student


def test_the_students_week(lab: Lab, course: Course, page: tuple[Any, list[str]]) -> None:
    pg, refused = page
    steps = Steps(pg, "student")
    with steps.step("theory-opens-unmodified"):
        open_notebook(pg, lab, f"student/{ASSIGNMENT}/theory.ipynb")
        pg.wait_for_timeout(1000)  # JupyterLab writes the kernel's metadata once it has it
        assert not is_modified(pg), "the release opened as modified"
    with steps.step("theory-run-all", keep=True):
        run_all(pg)
        assert pg.locator(f"{CURRENT} .jp-OutputArea img").count() >= 5, "the theory's plots are missing"
        assert typeset_maths(pg) > 20, "the theory's maths is not typeset"
    with steps.step("exercises-run-all", keep=True):
        open_notebook(pg, lab, f"student/{ASSIGNMENT}/exercises.ipynb")
        run_all(pg)
        wrong = cell_output(pg, 'Checks("bernoulli_score")')
        assert "FAIL - bernoulli_score: x = 0, p = 0.3" in wrong and "expected: -1.4285714" in wrong, wrong
        right = cell_output(pg, 'Checks("gaussian_mean_fisher")')
        assert "PASS - gaussian_mean_fisher" in right and "FAIL" not in right, right
        last = cell_output(pg, 'Checks("natural_gradient_step")')
        assert "NotImplementedError" in last or "not implemented" in last, "Run All stopped before the last part"
    with steps.step("validate"):
        pg.locator(f"{CURRENT} jp-button.validate-button").click()
        message = pg.locator("#validation-message")
        message.wait_for(timeout=TIMEOUT_MS)
        pg.wait_for_function("() => document.querySelector('#validation-message').textContent.includes('FAIL')",
                             timeout=TIMEOUT_MS)
        text = message.inner_text()
        assert "FAIL - bernoulli_score: x = 0, p = 0.3" in text, text[:2000]
        assert "expected: -1.4285714" in text and "received: 1.4285714" in text
        assert "hint" in text and "mind the chain rule" in " ".join(text.split())
        assert "FAIL - gaussian_mean_fisher:" not in text, "a right part is listed as failed"
        assert "[hidden test]" not in text
        pg.locator("#validation-message").get_by_text("FAIL - bernoulli_score").first.scroll_into_view_if_needed()
        steps.shot("validate-dialog")
        pg.locator(".jp-Dialog .jp-mod-accept").click()
    with steps.step("submit"):
        pg.keyboard.press("Control+s")
        pg.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.jp-mod-current.jp-mod-dirty')")
        submitted = course.root / "submitted" / STUDENT / ASSIGNMENT
        shutil.copytree(course.root / "student" / ASSIGNMENT, submitted)
        saved = nbformat.read(submitted / "exercises.ipynb", as_version=4)
        assert any(o.get("output_type") == "error" for c in saved.cells for o in c.get("outputs", []))
    assert not [u for u in refused if "mathjax" in u.lower()], "the page tried to fetch MathJax"


# --------------------------------------------------------------------------- the instructor


def _submitted_notebook_id(course: Course, student: str) -> str:
    with Gradebook(course.db_url) as gb:
        return str(gb.find_submission_notebook("exercises", ASSIGNMENT, student).id)


def _manual_score(course: Course, student: str, grade_id: str) -> float | None:
    with Gradebook(course.db_url) as gb:
        return gb.find_grade(grade_id, "exercises", ASSIGNMENT, student).manual_score


def test_the_instructors_week(lab: Lab, course: Course, page: tuple[Any, list[str]], tmp_path: Path) -> None:
    pg, refused = page
    steps = Steps(pg, "instructor")
    roster = tmp_path / "roster.csv"
    roster.write_text("id,first_name,last_name,email\nalice,Alice,Martin,alice@example.org\n"
                      "bob,Bob,Okafor,bob@example.org\ncarol,Carol,Nguyen,carol@example.org\n"
                      f"{STUDENT},Sam,Reyes,sam@example.org\n")
    run_course(course.root, "students", "import", str(roster))
    if not (course.root / "submitted" / STUDENT).exists():  # the student's test ran first, or not at all
        shutil.copytree(course.root / "student" / ASSIGNMENT, course.root / "submitted" / STUDENT / ASSIGNMENT)
    for other in ("bob", "carol"):  # two graded students are enough to list a class
        shutil.rmtree(course.root / "submitted" / other, ignore_errors=True)
    run_course(course.root, "grade", ASSIGNMENT, "--quiet", timeout=900)

    with steps.step("formgrader-names", keep=True):
        pg.goto(lab.url("formgrader/manage_students"))
        pg.wait_for_selector("text=Martin, Alice", timeout=TIMEOUT_MS)
        body = pg.inner_text("body")
        assert "Reyes, Sam" in body and "None, None" not in body
    with steps.step("hand-grading", keep=True):
        pg.goto(lab.url(f"formgrader/submissions/{_submitted_notebook_id(course, 'alice')}/"))
        score = pg.locator(f"input.score#{HAND_GRADED}")
        score.wait_for(timeout=TIMEOUT_MS)
        pg.wait_for_function("() => document.querySelectorAll('mjx-container').length > 0", timeout=TIMEOUT_MS)
        # formgrade.js sets MathJax.loaded once typesetting ended, and grades.loaded once it fetched the
        # grades and bound a view to each score box; the two are independent requests. A score typed
        # before the views are bound is wiped when they render (the box shows the stored, empty score)
        # and never saved: under load the grades can come after the typesetting.
        pg.wait_for_function("() => window.MathJax && window.MathJax.loaded === true", timeout=TIMEOUT_MS)
        pg.wait_for_function("() => window.formgrader && formgrader.grades && formgrader.grades.loaded === true",
                             timeout=TIMEOUT_MS)
        score.fill("1.5")
        score.press("Tab")
        pg.wait_for_function(f"() => document.querySelector('#{HAND_GRADED}').value === '1.5'")
        for _ in range(120):
            if _manual_score(course, "alice", HAND_GRADED) == 1.5:
                break
            pg.wait_for_timeout(500)
        assert _manual_score(course, "alice", HAND_GRADED) == 1.5
    with steps.step("feedback-offline", keep=True):
        run_course(course.root, "feedback", ASSIGNMENT, "--student", "alice")
        page_path = course.folder("feedback", ASSIGNMENT, "alice") / "exercises.html"
        pg.goto(page_path.as_uri())
        pg.wait_for_function("() => document.querySelectorAll('mjx-container').length > 10", timeout=TIMEOUT_MS)
        text = " ".join(pg.inner_text("body").split())
        assert re.search(r"Score: 1\.5 / 2\.0", text), "the hand-given points are not on the page"
        assert "$I(p)" not in text, "raw TeX on the page"
    with steps.step("class-report", keep=True):
        run_course(course.root, "report", ASSIGNMENT)
        pg.goto((course.root / "reports" / f"{ASSIGNMENT}.html").as_uri())
        pg.wait_for_function("() => [...document.images].length === 4 && "
                             "[...document.images].every(i => i.complete && i.naturalWidth > 0)")
        assert "Checks passed" in pg.inner_text("body")
    assert not [u for u in refused if "mathjax" in u.lower()], "a page tried to fetch MathJax"


# --------------------------------------------------------------------------- the exchange

#: What nbgrader's menu offers an instructor and must not offer a student.
INSTRUCTOR_TOOLS = ("Formgrader", "Create assignment", "Course List")


def _start_labs(students: list[Student], stack: contextlib.ExitStack) -> list[Lab]:
    """One JupyterLab per student, rooted at their home with their configuration, started together."""
    with ThreadPoolExecutor(len(students)) as pool:
        futures = [pool.submit(Lab, s.home, s.home.parent / f"{s.id}-jupyter", s.config) for s in students]
        wait(futures)
    for future in futures:
        if future.exception() is None:
            stack.callback(future.result().stop)
    for future in futures:
        if future.exception() is not None:
            raise future.exception()  # type: ignore[misc]
    return [future.result() for future in futures]


def _fetch_and_submit(pg: Any, lab: Lab, steps: Steps, student: Student, answers: dict[str, str]) -> None:
    """The student's menu holds no instructor tool; from the Assignment List they fetch, answer
    (written into the fetched notebook, as a student's editing leaves it) and submit; the
    notebook keeps its Validate button."""
    with steps.step("menu", keep=student.id == "ann"):
        pg.goto(lab.url("lab?reset"))
        pg.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        menu = pg.locator("#jp-mainmenu-nbgrader")
        menu.wait_for(timeout=TIMEOUT_MS)
        offered = menu.inner_text()
        assert "Assignment List" in offered, offered
        assert not [tool for tool in INSTRUCTOR_TOOLS if tool.lower() in offered.lower()], offered
        assert pg.locator("#nbgrader-create_assignemnt").count() == 0, "the Create Assignment panel is there"
        with pytest.raises(urllib.error.HTTPError, match="404"):  # nor does the server serve formgrader
            urllib.request.urlopen(lab.url("formgrader"), timeout=30)
    with steps.step("fetch"):
        pg.get_by_role("menuitem", name="Assignment List").click()
        pg.locator("#released_assignments_list").get_by_role("button", name="Fetch").click(timeout=TIMEOUT_MS)
        pg.locator("#fetched_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=TIMEOUT_MS)
        path = student.home / ASSIGNMENT / "exercises.ipynb"
        nbformat.write(fill(nbformat.read(path, as_version=4), answers), path)
    with steps.step("submit", keep=student.id == "ann"):
        pg.locator("#fetched_assignments_list").get_by_role("button", name="Submit").click()
        pg.locator("#submitted_assignments_list").get_by_text(ASSIGNMENT).first.wait_for(timeout=TIMEOUT_MS)
        assert "Error" not in pg.locator(".nbgrader-mainarea-widget").inner_text()
    if student.id == "ann":
        with steps.step("validate-button"):  # what a student does use stays
            pg.goto(lab.url(f"lab/tree/{ASSIGNMENT}/exercises.ipynb?reset"))
            pg.locator(f"{CURRENT} jp-button.validate-button").wait_for(timeout=TIMEOUT_MS)


def test_two_students_through_the_exchange(lab: Lab, course: Course, browser: Any,
                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    """Released to the exchange; two students, each with a home, a student configuration and a
    JupyterLab of their own, fetch and submit from the Assignment List (one right, one wrong); the
    instructor collects with ``nbgrader collect``, grades with ``course grade``, and formgrader
    shows each submission's time, the exchange's."""
    base = tmp_path_factory.mktemp("exchange")
    release_to_exchange(course, ASSIGNMENT)
    answers = reference_answers(course.folder("source", ASSIGNMENT) / "exercises.ipynb")
    students = [new_student(course, name, base) for name in ("ann", "ben")]
    chosen = {"ann": answers, "ben": {**answers, **BOB_MISTAKES}}
    with contextlib.ExitStack() as stack:
        for student, student_lab in zip(students, _start_labs(students, stack), strict=True):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            stack.callback(context.close)
            context.set_default_timeout(60_000)
            cut_the_network(context)
            pg = context.new_page()
            _fetch_and_submit(pg, student_lab, Steps(pg, f"exchange-{student.id}"), student, chosen[student.id])

    run_nbgrader(course.root, instructor_env(), "collect", ASSIGNMENT)
    roster = base / "roster.csv"
    roster.write_text("id,first_name,last_name,email\n" + "".join(
        f"{s},{s.capitalize()},Doe,{s}@example.org\n" for s in ("alice", "bob", "carol", STUDENT, "ann", "ben")))
    run_course(course.root, "students", "import", str(roster))
    for other in ("bob", "carol"):
        shutil.rmtree(course.root / "submitted" / other, ignore_errors=True)
    run_course(course.root, "grade", ASSIGNMENT, "--quiet", timeout=900)
    scores = {row.student: row for row in student_scores(course.db_url, ASSIGNMENT)}
    assert scores["ann"].autograded == 40 and 0 < scores["ben"].autograded < 40
    collected = json.loads((course.root / "downloaded" / ASSIGNMENT / "collected.json").read_text())

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        cut_the_network(context)
        pg = context.new_page()
        steps = Steps(pg, "exchange-instructor")
        with steps.step("formgrader-times", keep=True):
            # the token's login cookie gets the first page's folder as its path: open formgrader
            # at its top first, so the page's API calls (under /formgrader/api) carry it too
            pg.goto(lab.url("formgrader"))
            pg.goto(lab.url(f"formgrader/manage_submissions/{ASSIGNMENT}"))
            pg.wait_for_selector("text=Doe, Ben", timeout=TIMEOUT_MS)
            body = pg.inner_text("body")
            for name in ("ann", "ben"):
                assert collected[name]["source"] == "the exchange"
                shown = datetime.fromisoformat(collected[name]["at"]).strftime("%Y-%m-%d %H:%M:%S")
                assert shown in body, f"{name}'s exchange time {shown} is not shown"
            assert "None" not in body, "formgrader shows a None name or time"
    finally:
        context.close()

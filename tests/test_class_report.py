"""``course report``: one offline HTML page whose numbers agree with the gradebook."""

from __future__ import annotations

from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from notebook_grader.course import Course
from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT
from tests.faults.courses import new_course, released_course, run_course

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Course, BeautifulSoup, str]:
    """The three samples graded, and their class report."""
    course = new_course(released_course(tmp_path_factory), tmp_path_factory.mktemp("report") / "course")
    run_course(course.root, "grade", ASSIGNMENT, "--quiet", timeout=900)
    proc = run_course(course.root, "report", ASSIGNMENT)
    path = course.root / "reports" / f"{ASSIGNMENT}.html"
    assert str(path) in proc.stdout
    page = path.read_text()
    return course, BeautifulSoup(page, features="html.parser"), page


def _rows(soup: BeautifulSoup, css: str) -> list[list[str]]:
    table = soup.find("table", class_=css)
    assert table is not None, css
    return [[td.get_text() for td in tr.find_all("td")] for tr in table.find_all("tr") if tr.find_all("td")]


def test_each_parts_distribution_agrees_with_the_gradebook(report: tuple[Course, BeautifulSoup, str]) -> None:
    course, soup, _ = report
    scores = student_scores(course.db_url, ASSIGNMENT)
    rows = {row[0]: row for row in _rows(soup, "parts")}
    assert set(rows) == {part for s in scores for part in s.parts}
    for part, (_, max_score, full, partial, zero, awaiting, mean) in rows.items():
        given = [s.parts[part] for s in scores if s.parts.get(part) is not None]
        assert int(awaiting) == sum(s.parts.get(part) is None for s in scores), part
        assert int(full) == sum(v >= float(max_score) for v in given), part
        assert int(zero) == sum(v == 0 for v in given), part
        assert int(partial) == len(given) - int(full) - int(zero), part
        assert float(mean) == pytest.approx(sum(given) / len(given) if given else 0.0, abs=0.005), part


def test_check_pass_rates_diagnoses_and_times(report: tuple[Course, BeautifulSoup, str]) -> None:
    _, soup, _ = report
    checks = {(row[1], row[2]): row for row in _rows(soup, "checks")}
    # alice is right, bob flips the sign of the x = 0 term, carol answered nothing
    _, _, _, visible, passed, failed, fraction = checks[("bernoulli_score", "x = 0, p = 0.3")]
    assert (visible, int(passed), int(failed), fraction) == ("yes", 1, 2, "0.33")
    assert any(row[3] == "hidden" for row in checks.values()), "hidden checks are counted too"
    assert all(int(row[4]) + int(row[5]) == 3 for row in checks.values())
    diagnoses = {row[0]: int(row[1]) for row in _rows(soup, "diagnoses")}
    assert diagnoses.get("the sign is flipped", 0) >= 1
    assert any("not implemented yet" in what for what in diagnoses)
    assert {row[0] for row in _rows(soup, "time")} == {"alice", "bob", "carol"}
    assert "every submission was graded" in soup.get_text()


def test_the_page_has_its_plots_inside_and_loads_nothing(report: tuple[Course, BeautifulSoup, str],
                                                          tmp_path: Path) -> None:
    _, soup, page = report
    images = soup.find_all("img")
    assert len(images) == 4 and all(img["src"].startswith("data:image/png;base64,") for img in images)
    assert "http://" not in page and "https://" not in page and "<script" not in page
    for img in images[:1]:  # the plots are real PNGs, viewable
        import base64

        data = base64.b64decode(img["src"].split(",", 1)[1])
        assert data.startswith(b"\x89PNG")
        (tmp_path / "parts.png").write_bytes(data)

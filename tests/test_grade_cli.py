"""``course grade`` as the instructor and the main job use it."""

from __future__ import annotations

import csv
import zipfile
from pathlib import Path

import pytest

from notebook_grader import cli
from notebook_grader.isolation import sandbox
from notebook_grader.report.scores import student_scores
from tests.course_copy import ASSIGNMENT
from tests.faults.courses import new_course, released_course, run_course

pytestmark = pytest.mark.sandbox


def test_main_job_grades_the_samples(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    course = new_course(released_course(tmp_path_factory), tmp_path / "course")
    proc = run_course(course.root, "grade", ASSIGNMENT)
    table = {line.split()[0]: line.split()[1] for line in proc.stdout.splitlines()[2:5]}
    assert table == {"alice": "40/40", "bob": "30/40", "carol": "0/40"}
    assert "graded 3 of 3 submission(s)" in proc.stdout and "sandboxed" in proc.stdout
    assert "0 failed, 0 not graded" in proc.stdout
    assert "[##############################] 3/3" in proc.stderr  # the progress bar, in a log
    with open(course.root / "grades.csv") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    assert {name: float(row["autograded"]) for name, row in rows.items()} == {"alice": 40, "bob": 30, "carol": 0}
    for student in ("alice", "bob", "carol"):
        feedback = (course.folder("feedback", ASSIGNMENT, student) / "exercises.html").read_text()
        assert "Autograder:" in feedback  # the grader's verdict lines, as before
    again = run_course(course.root, "grade", ASSIGNMENT, "--quiet")
    assert "3 skipped as already graded" in again.stdout
    assert "alice    40/40" in run_course(course.root, "scores").stdout


def test_refuses_without_a_sandbox_unless_told(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory,
                                              monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    course = new_course(released_course(tmp_path_factory), tmp_path / "course")

    def no_namespaces(show: tuple[str, ...], hidden: str) -> None:
        raise sandbox.SandboxUnavailable("unshare: Operation not permitted")

    monkeypatch.setattr(sandbox, "probe", no_namespaces)
    assert cli.main(["--root", str(course.root), "grade", "--quiet"]) == cli.EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "sandbox does not work" in err and "--no-sandbox" in err
    assert student_scores(course.db_url, ASSIGNMENT) == []

    assert cli.main(["--root", str(course.root), "grade", "--quiet", "--no-sandbox"]) == 0
    out = capsys.readouterr().out
    assert "UNSANDBOXED" in out and "WARNING" in out
    assert {row.student: row.autograded for row in student_scores(course.db_url, ASSIGNMENT)} == \
        {"alice": 40, "bob": 30, "carol": 0}


def test_unknown_assignment_is_a_clear_error(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    course = new_course(released_course(tmp_path_factory), tmp_path / "course", samples=False)
    (course.root / "submitted" / "dave" / "homework2").mkdir(parents=True)
    proc = run_course(course.root, "grade", "homework2", check=False)
    assert proc.returncode == cli.EXIT_UNUSABLE
    assert "declares no assignment 'homework2'" in proc.stderr
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.CourseGrading.assignments["homework2"] = {"graded": ["hw"]}\n')
    proc = run_course(course.root, "grade", "homework2", check=False)
    assert proc.returncode == cli.EXIT_UNUSABLE
    assert "run `course release homework2` first" in proc.stderr


def test_grades_a_zip_downloaded_from_the_lms(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    samples = new_course(released_course(tmp_path_factory), tmp_path / "samples")
    course = new_course(released_course(tmp_path_factory), tmp_path / "course", samples=False)
    archive = tmp_path / "downloads.zip"
    with zipfile.ZipFile(archive, "w") as z:  # one folder per student, and one file named after its student
        z.write(samples.folder("submitted", ASSIGNMENT, "alice") / "exercises.ipynb", "erin/exercises.ipynb")
        z.write(samples.folder("submitted", ASSIGNMENT, "bob") / "exercises.ipynb", "frank_exercises.ipynb")
    proc = run_course(course.root, "grade", ASSIGNMENT, "--zip", str(archive), "--quiet")
    assert "took 2 submission(s) from the zip: erin, frank" in proc.stdout
    assert {row.student: row.autograded for row in student_scores(course.db_url, ASSIGNMENT)} == \
        {"erin": 40, "frank": 30}
    assert (course.folder("submitted", ASSIGNMENT, "erin") / "exercises.ipynb").is_file()

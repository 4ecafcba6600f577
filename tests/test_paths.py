"""Paths taken as given, never followed (``notebook_grader.run.paths``) and the intake that uses them."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from notebook_grader.run.intake import ExpectedCells, take_in
from notebook_grader.run.paths import UnsafePath, copy_regular, read_regular, submission_problem, walk
from notebook_grader.run.template import submission_fingerprint

pytestmark = pytest.mark.unit


@pytest.fixture
def course(tmp_path: Path) -> Path:
    (tmp_path / "source" / "a").mkdir(parents=True)
    (tmp_path / "source" / "a" / "secret.txt").write_text("reference")
    (tmp_path / "submitted" / "bob" / "a").mkdir(parents=True)
    (tmp_path / "submitted" / "bob" / "a" / "data.csv").write_text("1,2\n")
    return tmp_path


def test_a_real_submission_folder_is_accepted(course: Path) -> None:
    assert submission_problem(course / "submitted", "bob", "a") is None


def test_a_linked_submission_folder_is_refused(course: Path) -> None:
    (course / "submitted" / "eve").mkdir()
    (course / "submitted" / "eve" / "a").symlink_to(course / "source" / "a")
    assert "is a symbolic link" in submission_problem(course / "submitted", "eve", "a")


def test_a_linked_student_folder_is_refused(course: Path) -> None:
    (course / "submitted" / "eve").symlink_to(course / "submitted" / "bob")
    assert "is a symbolic link" in submission_problem(course / "submitted", "eve", "a")


def test_walk_lists_regular_files_and_names_the_rest(course: Path) -> None:
    folder = course / "submitted" / "bob" / "a"
    (folder / "sub").mkdir()
    (folder / "sub" / "x.txt").write_text("x")
    (folder / "linked").symlink_to(course / "source" / "a", target_is_directory=True)
    (folder / "file-link").symlink_to(course / "source" / "a" / "secret.txt")
    os.mkfifo(folder / "pipe")
    (folder / ".ipynb_checkpoints").mkdir()
    listing = walk(folder)
    assert listing.files == ["data.csv", "sub/x.txt"]
    refused = " ".join(listing.refused)
    assert "linked is a symbolic link" in refused and "file-link is a symbolic link" in refused
    assert "pipe is a named pipe" in refused
    assert "secret" not in " ".join(listing.files)


def test_reading_never_follows_a_link_anywhere_in_the_path(course: Path) -> None:
    folder = course / "submitted" / "bob" / "a"
    (folder / "linked").symlink_to(course / "source" / "a", target_is_directory=True)
    (folder / "file-link").symlink_to(course / "source" / "a" / "secret.txt")
    assert read_regular(folder, "data.csv") == b"1,2\n"
    for relative in ("linked/secret.txt", "file-link", "../bob/a/data.csv", "/etc/passwd"):
        with pytest.raises(UnsafePath):
            read_regular(folder, relative)


def test_copy_refuses_a_sparse_file_by_its_apparent_size(course: Path, tmp_path: Path) -> None:
    folder = course / "submitted" / "bob" / "a"
    with open(folder / "sparse.bin", "wb") as f:
        f.truncate(10 << 30)  # 10 GiB that take no disk
    with pytest.raises(UnsafePath, match="more than"):
        copy_regular(folder, "sparse.bin", tmp_path / "out" / "sparse.bin", limit=1 << 20)
    assert not (tmp_path / "out" / "sparse.bin").exists()
    assert copy_regular(folder, "data.csv", tmp_path / "out" / "data.csv", limit=1 << 20) == 4


def test_fingerprint_changes_when_a_file_becomes_a_link(course: Path) -> None:
    folder = course / "submitted" / "bob" / "a"
    before = submission_fingerprint(folder)
    (folder / "data.csv").unlink()
    (folder / "data.csv").symlink_to(course / "source" / "a" / "secret.txt")
    assert submission_fingerprint(folder) != before


def _release(path: Path) -> ExpectedCells:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    cell.metadata["nbgrader"] = {"grade_id": "ans", "solution": True, "grade": False, "locked": False,
                                 "schema_version": 3}
    nb.cells = [cell]
    nbformat.write(nb, path)
    return ExpectedCells.from_release(path)


def test_intake_refuses_a_linked_notebook(course: Path) -> None:
    expected = _release(course / "source" / "a" / "ex.ipynb")
    folder = course / "submitted" / "bob" / "a"
    (folder / "ex.ipynb").symlink_to(course / "source" / "a" / "ex.ipynb")
    intake = take_in(folder, "ex", expected)
    assert intake.notebook is None and "is a symbolic link" in intake.problem


def test_intake_shows_a_student_chosen_name_inert(course: Path) -> None:
    expected = _release(course / "source" / "a" / "ex.ipynb")
    folder = course / "submitted" / "bob" / "a"
    (folder / "<img src=x onerror=alert(1)>.ipynb").write_text((course / "source" / "a" / "ex.ipynb").read_text())
    intake = take_in(folder, "ex", expected)
    assert intake.notebook is not None
    assert "<img" not in " ".join(intake.notes) and "&lt;img" in " ".join(intake.notes)


def test_folders_under_submitted_must_be_student_ids(tmp_path: Path) -> None:
    from notebook_grader.batch.coordinator import submitted_students
    from notebook_grader.course import Course

    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    for name in ("alice", "=HYPERLINK(x)", "evil\x1b[2J", "<script>", "bob"):
        (tmp_path / "submitted" / name / "a").mkdir(parents=True)
    (tmp_path / "submitted" / "carol").mkdir()
    (tmp_path / "submitted" / "carol" / "a").symlink_to(tmp_path / "submitted" / "alice" / "a")
    refused: dict[str, str] = {}
    assert submitted_students(Course(tmp_path), "a", refused) == ["alice", "bob", "carol"]  # carol: refused later
    assert set(refused) == {"=HYPERLINK(x)", "evil\\x1b[2J", "<script>"}

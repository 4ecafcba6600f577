"""An LMS download taken in safely (``notebook_grader.batch.zip_intake``): ids, duplicates, bombs, bits."""

from __future__ import annotations

import io
import stat
import tarfile
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from notebook_grader.batch.zip_intake import ArchiveLimits, ZipIntakeFailed, collect_zip
from notebook_grader.course import Course
from notebook_grader.run.collection import collected_at

pytestmark = pytest.mark.unit

A = "hw"
NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


@pytest.fixture
def course(tmp_path: Path) -> Course:
    root = tmp_path / "course"
    root.mkdir()
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    return Course(root)


def _zip(path: Path, members: dict[str, bytes], *, modes: dict[str, int] | None = None,
         when: tuple[int, ...] = (2026, 3, 1, 12, 0, 0)) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=when)
            info.external_attr = (modes or {}).get(name, 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return path


def _inner_zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def test_the_plain_layouts_are_taken(course: Course, tmp_path: Path) -> None:
    taken = collect_zip(course, A, _zip(tmp_path / "d.zip", {"erin/exercises.ipynb": NB,
                                                             "frank_exercises.ipynb": NB}))
    assert taken.collected == ["erin", "frank"] and not taken.refused
    assert (course.root / "submitted" / "frank" / A / "exercises.ipynb").read_bytes() == NB


def test_a_name_inside_an_upload_never_makes_it_someone_elses(course: Course, tmp_path: Path) -> None:
    upload = _inner_zip({"bob/exercises.ipynb": NB, "../../bob/hw/exercises.ipynb": NB})
    taken = collect_zip(course, A, _zip(tmp_path / "d.zip", {"alice_upload.zip": upload, "bob/x.txt": b"mine"}))
    assert taken.collected == ["alice", "bob"]
    assert not (course.root / "submitted" / "bob" / A / "exercises.ipynb").exists()
    assert "not a path inside" in " ".join(taken.notes["alice"])


def test_one_students_duplicate_or_bad_upload_is_theirs_alone(course: Course, tmp_path: Path) -> None:
    old = course.root / "submitted" / "erin" / A
    old.mkdir(parents=True)
    (old / "exercises.ipynb").write_bytes(b"earlier")
    members = {"erin/exercises.ipynb": NB, "erin_exercises.ipynb": NB, "<script>_exercises.ipynb": NB,
               "=cmd_x.ipynb": NB, "frank_exercises.ipynb": NB, "gil/../../../escape.txt": b"x"}
    taken = collect_zip(course, A, _zip(tmp_path / "d.zip", members))
    assert taken.collected == ["frank"]
    assert "two uploads give the file exercises.ipynb" in taken.refused["erin"]
    assert "<script>_exercises.ipynb" in taken.refused and "=cmd_x.ipynb" in taken.refused
    assert "not a path inside" in taken.refused["gil"]
    assert (old / "exercises.ipynb").read_bytes() == b"earlier"
    assert not (course.root / "escape.txt").exists() and not (course.root.parent / "escape.txt").exists()


def test_a_zip_bomb_stops_at_the_bound(course: Course, tmp_path: Path) -> None:
    bomb = b"\0" * (8 << 20)  # 8 MiB of zeros: a few kB compressed
    archive = _zip(tmp_path / "d.zip", {"eve/big.bin": bomb, "eve_nested.zip": _inner_zip({"big.bin": bomb}),
                                        "frank_exercises.ipynb": NB})
    assert archive.stat().st_size < 100_000
    taken = collect_zip(course, A, archive, ArchiveLimits(member_mb=1))
    assert taken.collected == ["eve", "frank"] or "more than 1 MiB" in taken.refused.get("eve", "")
    if "eve" in taken.collected:
        assert "more than 1 MiB" in " ".join(taken.notes["eve"])
    total = collect_zip(course, A, _zip(tmp_path / "e.zip", {f"s{i}/f.bin": bomb for i in range(4)}),
                        ArchiveLimits(member_mb=16, total_mb=20))
    assert len(total.collected) == 2 and len(total.refused) == 2
    assert all("more than 20 MiB" in why for why in total.refused.values())


def test_the_eve_upload_with_a_big_file_is_refused(course: Course, tmp_path: Path) -> None:
    taken = collect_zip(course, A, _zip(tmp_path / "d.zip", {"eve/big.bin": b"\0" * (2 << 20)}),
                        ArchiveLimits(member_mb=1))
    assert taken.collected == [] and "unpacks to more than 1 MiB" in taken.refused["eve"]


def test_permission_bits_are_masked_and_links_refused(course: Course, tmp_path: Path) -> None:
    modes = {"erin/run.sh": 0o106777, "erin/sub/": 0o041777, "frank/link": 0o120777}
    members = {"erin/run.sh": b"#!/bin/sh\n", "erin/sub/": b"", "frank/link": b"/etc/passwd"}
    taken = collect_zip(course, A, _zip(tmp_path / "d.zip", members, modes=modes))
    assert taken.collected == ["erin"] and "symbolic link" in taken.refused["frank"]
    for path in (course.root / "submitted" / "erin" / A).rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert not mode & (stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX | stat.S_IWOTH), (path, oct(mode))


def test_a_corrupt_nested_archive_is_noted_and_skipped(course: Course, tmp_path: Path) -> None:
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w:gz") as t:
        info = tarfile.TarInfo("data/x.csv")
        info.size = 3
        t.addfile(info, io.BytesIO(b"1,2"))
        link = tarfile.TarInfo("data/evil")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        t.addfile(link)
    members = {"erin/exercises.ipynb": NB, "erin/broken.zip": b"PK\x03\x04 not really",
               "erin/data.tar.gz": tar.getvalue()}
    taken = collect_zip(course, A, _zip(tmp_path / "d.zip", members))
    assert taken.collected == ["erin"]
    notes = " ".join(taken.notes["erin"])
    assert "broken.zip is a damaged archive" in notes and "data.tar.gz was not unpacked" in notes
    folder = course.root / "submitted" / "erin" / A
    assert sorted(p.name for p in folder.iterdir()) == ["exercises.ipynb"]


def test_each_run_extracts_into_a_fresh_folder_and_removes_it(course: Course, tmp_path: Path) -> None:
    before = set(Path(tempfile.gettempdir()).glob("course-zip-*"))
    collect_zip(course, A, _zip(tmp_path / "d.zip", {"erin/exercises.ipynb": NB}))
    assert set(Path(tempfile.gettempdir()).glob("course-zip-*")) == before


def test_the_lms_time_is_the_submission_time(course: Course, tmp_path: Path) -> None:
    collect_zip(course, A, _zip(tmp_path / "d.zip", {"erin/exercises.ipynb": NB,
                                                     "erin/timestamp.txt": b"2000-01-01 00:00:00"},
                                when=(2026, 3, 1, 12, 0, 0)))
    record = collected_at(course.root, A, "erin", "f1")
    assert record.at == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc) and record.source == "the LMS download"
    assert collected_at(course.root, A, "erin", "f2").source == "arrival"  # changed since: arrived anew


def test_a_download_that_is_not_a_zip_is_the_runs_failure(course: Course, tmp_path: Path) -> None:
    (tmp_path / "d.zip").write_bytes(b"not a zip")
    with pytest.raises(ZipIntakeFailed, match="not a zip file"):
        collect_zip(course, A, tmp_path / "d.zip")

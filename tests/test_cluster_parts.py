"""The cluster's and PostgreSQL's parts that need no server: URL checks, fingerprints, task payloads.

The servers themselves are exercised by ``tests/test_cluster.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from notebook_grader.batch.dask_runner import pack_folder, unpack_folder
from notebook_grader.batch.fingerprint import (
    course_fingerprint,
    differences,
    environment_fingerprint,
    environment_parts,
)
from notebook_grader.storage.database import GradebookUrlError, check_db_url, shown
from notebook_grader.storage.store import GradebookLock, open_lock

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("url", "backend"), [
    ("sqlite:////srv/course/gradebook.db", "sqlite"),
    ("postgresql+psycopg://grader:secret@db.example.edu:5432/fisher", "postgresql"),
    ("postgresql://grader@db.example.edu/fisher", "postgresql"),  # SQLAlchemy 2.1: psycopg by default
])
def test_supported_gradebook_urls(url: str, backend: str) -> None:
    assert check_db_url(url) == backend


@pytest.mark.parametrize(("url", "says"), [
    ("gradebook.db", "is not a database URL"),
    ("postgresql+psycopg2://grader:secret@db/fisher", "must name the psycopg driver"),
    ("postgresql+psycopg://grader:secret@db", "must name the psycopg driver and a database"),
    ("mysql://grader:secret@db/fisher", "does not support"),
    ("sqlite://", "does not support"),
])
def test_other_gradebook_urls_are_refused_without_their_password(url: str, says: str) -> None:
    with pytest.raises(GradebookUrlError, match=says) as refused:
        check_db_url(url)
    assert "secret" not in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_shown_url_hides_its_password() -> None:
    assert shown("postgresql+psycopg://grader:secret@db/fisher") == "postgresql+psycopg://grader:***@db/fisher"


def test_a_sqlite_gradebook_keeps_its_file_lock(tmp_path: Path) -> None:
    lock = open_lock(f"sqlite:///{tmp_path / 'gradebook.db'}", tmp_path)
    assert isinstance(lock, GradebookLock) and lock.path == tmp_path / "gradebook.db.lock"
    with pytest.raises(GradebookUrlError):
        open_lock("oracle://x/y", tmp_path)
    assert not list(tmp_path.iterdir()), "a refused URL created a lock file"


def test_a_submission_travels_whole_and_cannot_leave_its_folder(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "data").mkdir(parents=True)
    (source / "exercises.ipynb").write_bytes(b'{"cells": []}')
    (source / "data" / "x.csv").write_bytes(b"1,2\n")
    (source / "link").symlink_to("/etc/passwd")
    files = pack_folder(source)
    assert files == {"data/x.csv": b"1,2\n", "exercises.ipynb": b'{"cells": []}'}
    unpack_folder(files, tmp_path / "copy")
    assert pack_folder(tmp_path / "copy") == files
    for name in ("../escape", "/etc/passwd-copy", "."):
        with pytest.raises(ValueError, match="outside"):
            unpack_folder({name: b"x"}, tmp_path / "other")
    assert not (tmp_path / "escape").exists()


def test_the_fingerprint_follows_a_helper_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "some_course_helpers"
    package.mkdir()
    (package / "__init__.py").write_text("def helper():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before, parts = environment_fingerprint(("some_course_helpers",)), environment_parts(("some_course_helpers",))
    assert environment_fingerprint(("some_course_helpers",)) == before  # stable
    (package / "__init__.py").write_text("def helper():\n    return 2\n")
    after = environment_parts(("some_course_helpers",))
    assert environment_fingerprint(("some_course_helpers",)) != before
    assert differences(parts, after) == ["some_course_helpers"]
    assert parts["notebook_grader"] == after["notebook_grader"] != "missing"
    assert parts["python"] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert environment_parts(("no_such_package_here",))["no_such_package_here"] == "missing"
    assert course_fingerprint("a" * 16, before) != course_fingerprint("b" * 16, before)

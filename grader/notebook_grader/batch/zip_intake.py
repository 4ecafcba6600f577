"""Take submissions from a learning-management system's zip download, as ``nbgrader zip_collect``.

``course grade ASSIGNMENT --zip downloads.zip`` puts the archive where nbgrader's
``zip_collect`` expects it (``downloaded/<assignment>/archive/``) and runs that command's
own extractor and collector: archives (also nested ones) are unpacked into
``downloaded/<assignment>/extracted/``, every notebook's path is matched against
``FileNameCollectorPlugin.named_regexp`` to find its student, and the files are copied to
``submitted/<student>/<assignment>/``, replacing what those students had there.

A course sets the pattern for its LMS in ``nbgrader_config.py``; without one,
:data:`DEFAULT_NAMED_REGEXP` reads the two plainest layouts: ``<student>/<notebook>.ipynb``
and ``<student>_<notebook>.ipynb``.
"""

from __future__ import annotations

import io
import logging
import shutil
from pathlib import Path

from nbgrader.apps.zipcollectapp import ZipCollectApp
from nbgrader.coursedir import CourseDirectory

from notebook_grader.course import Course
from notebook_grader.errors import CourseError

#: ``<student>/<notebook>.ipynb`` or ``<student>_<notebook>.ipynb`` (a notebook name without ``_``).
DEFAULT_NAMED_REGEXP = r".*/(?P<student_id>[^/]+?)(?:/|_)(?P<file_id>[^/_]+\.ipynb)$"


class ZipIntakeFailed(CourseError):
    """nbgrader's zip collection refused the archive (the message has its log)."""


def collect_zip(course: Course, assignment: str, archive: Path) -> list[str]:
    """Unpack ``archive`` into ``submitted/`` with nbgrader's zip_collect; return the students found."""
    if not archive.is_file():
        raise ZipIntakeFailed(f"no such file: {archive}")
    config = course.config()
    app = ZipCollectApp(config=config)
    app.coursedir = CourseDirectory(config=config)
    app.coursedir.assignment_id = assignment
    app.force = True
    if not config.FileNameCollectorPlugin.get("named_regexp"):
        config.FileNameCollectorPlugin.named_regexp = DEFAULT_NAMED_REGEXP
        app.update_config(config)
    inbox = Path(app._format_collect_path(app.archive_directory))
    inbox.mkdir(parents=True, exist_ok=True)
    if archive.resolve().parent != inbox.resolve():
        shutil.copy2(archive, inbox / archive.name)
    submitted = course.root / "submitted"
    before = {p: p.stat().st_mtime_ns for p in submitted.glob(f"*/{assignment}/*")} if submitted.is_dir() else {}
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    app.log.addHandler(handler)
    try:
        app.init_plugins()
        app.extract_archive_files()
        app.process_extracted_files()
    except SystemExit:  # ZipCollectApp.fail() exits
        raise ZipIntakeFailed(f"nbgrader zip_collect failed:\n{buffer.getvalue().strip()}") from None
    finally:
        app.log.removeHandler(handler)
    after = {p: p.stat().st_mtime_ns for p in submitted.glob(f"*/{assignment}/*")} if submitted.is_dir() else {}
    return sorted({p.parent.parent.name for p, mtime in after.items() if before.get(p) != mtime})

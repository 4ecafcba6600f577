"""The students' Jupyter configuration for nbgrader's exchange (``course student-config``).

A student's Jupyter server needs to know where the course's exchange is and which course it
is, and should offer only what a student uses: the Assignment List (fetch, submit) and the
Validate button. nbgrader's JupyterLab extension adds its instructor tools (Formgrader, Create
Assignment, the Course List, which only works under JupyterHub and otherwise shows "Error
fetching courses!") unless they are disabled, and its server extensions serve formgrader to
whoever opens the URL. Both are switched off by configuration, as nbgrader's documentation does
with ``jupyter labextension disable`` and ``jupyter server extension disable``; this writes the
same files into the student's Jupyter configuration folder (``~/.jupyter``, or
``$JUPYTER_CONFIG_DIR``):

* ``nbgrader_config.py``: ``c.Exchange.root``, ``c.CourseDirectory.course_id`` and, where one
  Unix account serves several students, ``c.CourseDirectory.student_id``;
* ``jupyter_server_config.json``: the formgrader and course-list server extensions off;
* ``labconfig/page_config.json``: the formgrader, create-assignment and course-list plugins off.

Settings already in those JSON files are kept (the keys above are added or replaced).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from notebook_grader.course import Course
from notebook_grader.errors import CourseError
from notebook_grader.identifiers import check_student_id

#: nbgrader's JupyterLab plugins a student does not use.
DISABLED_LAB_PLUGINS = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                        "@jupyter/nbgrader:course-list")
#: nbgrader's server extensions: on for a student (True) or off.
SERVER_EXTENSIONS = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.course_list": False,
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.validate_assignment": True,
}


class StudentConfigError(CourseError):
    """The students' configuration cannot be written (no exchange configured, a bad folder...)."""


def exchange_settings(course: Course) -> tuple[str, str]:
    """The course's exchange folder (absolute) and course id, from ``nbgrader_config.py``."""
    config = course.config()
    root = config.Exchange.get("root")
    course_id = config.CourseDirectory.get("course_id")
    if not root or not course_id:
        raise StudentConfigError("set c.Exchange.root and c.CourseDirectory.course_id in nbgrader_config.py first")
    return str(Path(root).absolute()), str(course_id)


def write_student_config(course: Course, folder: Path, student: str | None = None) -> list[Path]:
    """Write the students' configuration into ``folder`` (see the module); the files written."""
    root, course_id = exchange_settings(course)
    if student is not None:
        check_student_id(student)
    if folder.exists() and not folder.is_dir():
        raise StudentConfigError(f"{folder} is not a folder")
    lines = [
        '"""nbgrader settings of a student of this course (written by `course student-config`)."""',
        "",
        "c = get_config()  # noqa: F821",
        f"c.Exchange.root = {root!r}",
        f"c.CourseDirectory.course_id = {course_id!r}",
    ]
    if student is not None:
        lines.append(f"c.CourseDirectory.student_id = {student!r}")
    (folder / "labconfig").mkdir(parents=True, exist_ok=True)
    nbgrader = folder / "nbgrader_config.py"
    nbgrader.write_text("\n".join(lines) + "\n")
    server = folder / "jupyter_server_config.json"
    settings = _read_json(server)
    settings.setdefault("ServerApp", {}).setdefault("jpserver_extensions", {}).update(SERVER_EXTENSIONS)
    server.write_text(json.dumps(settings, indent=2) + "\n")
    page = folder / "labconfig" / "page_config.json"
    page_config = _read_json(page)
    page_config.setdefault("disabledExtensions", {}).update(dict.fromkeys(DISABLED_LAB_PLUGINS, True))
    page.write_text(json.dumps(page_config, indent=2) + "\n")
    return [nbgrader, server, page]


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise StudentConfigError(f"{path} is not readable JSON ({exc}); fix or remove it first") from None
    if not isinstance(data, dict):
        raise StudentConfigError(f"{path} does not hold a JSON object; fix or remove it first")
    return data

"""Each ``course`` command loads only the layers it needs (issue: `course release` loaded the sandbox)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.course_copy import ASSIGNMENT, copy_course
from tests.faults.courses import course_env

pytestmark = pytest.mark.unit

#: The grading machinery: kernels, the sandbox, the execute step, workers.
GRADING = ("notebook_grader.isolation.kernel_manager", "notebook_grader.isolation.kernel_parent",
           "notebook_grader.isolation.sandbox", "notebook_grader.pipeline.sandboxed_execute",
           "notebook_grader.run.grade", "notebook_grader.batch.pool", "notebook_grader.batch.coordinator")

PROBE = """
import json, sys
from notebook_grader import cli
try:
    code = cli.main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def _loaded(*args: str, cwd: Path) -> tuple[int, set[str]]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, env=course_env(),
                          cwd=cwd, timeout=300)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["code"], set(result["modules"])


def test_help_loads_no_nbgrader(tmp_path: Path) -> None:
    code, modules = _loaded("--help", cwd=tmp_path)
    assert code == 0
    assert not {m for m in modules if m.split(".")[0] in ("nbgrader", "nbconvert", "zmq", "jupyter_client")}


def test_release_and_scores_load_no_grading_machinery(tmp_path: Path) -> None:
    course = copy_course(tmp_path / "course")
    for command in (("release", ASSIGNMENT), ("scores", ASSIGNMENT)):
        code, modules = _loaded("--root", str(course.root), *command, cwd=tmp_path)
        assert code == 0, command
        assert not modules & set(GRADING), (command, sorted(modules & set(GRADING)))


def test_scores_loads_no_nbgrader(tmp_path: Path) -> None:
    """`course scores` reads the gradebook with SQL alone: nbgrader costs a second to import."""
    course = copy_course(tmp_path / "course")
    code, modules = _loaded("--root", str(course.root), "scores", cwd=tmp_path)
    assert code == 0
    assert not {m for m in modules if m.split(".")[0] in ("nbgrader", "nbconvert", "nbformat", "jsonschema")}

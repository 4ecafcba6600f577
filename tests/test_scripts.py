"""The README's shell commands leave the user's shell as it was."""

from __future__ import annotations

import subprocess

import pytest

from tests.course_copy import REPO

pytestmark = pytest.mark.unit


def test_sourcing_bootstrap_leaves_the_shell_as_it_was(tmp_path) -> None:
    script = f"""
        unset COURSE_ROOT
        cd {tmp_path}
        before_vars=$(compgen -v | sort); before_funcs=$(declare -F | sort)
        source {REPO}/scripts/bootstrap.sh
        echo "pwd=$PWD"
        echo "options=$-"
        echo "set-o=$(set -o | grep -E '^(errexit|nounset|pipefail)' | tr -s ' \t' ' ' | tr '\n' ';')"
        ignore='before_vars|before_funcs|ignore|_|BASH_.*|PIPESTATUS'
        echo "new-vars=$(comm -13 <(echo "$before_vars") <(compgen -v | sort) | grep -vxE "$ignore" | tr '\n' ' ')"
        echo "new-funcs=$(comm -13 <(echo "$before_funcs") <(declare -F | sort) | tr '\n' ' ')"
        false
        echo "course=$(command -v course)"
    """
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert lines["pwd"] == str(tmp_path)
    assert "e" not in lines["options"] and "u" not in lines["options"]
    assert "on" not in lines["set-o"], lines["set-o"]
    assert lines["new-vars"].split() == ["COURSE_ROOT"]
    assert lines["new-funcs"].strip() == ""
    assert lines["course"] == str(REPO / ".venv" / "bin" / "course")

#!/usr/bin/env bash
# Create or refresh the course environment in .venv, and put its tools first on PATH.
#
# Sourced by the other scripts, or by an instructor (`source scripts/bootstrap.sh`): it leaves the
# shell as it was (no shell options set, no change of directory), adding only .venv/bin to PATH
# and COURSE_ROOT. Idempotent: packages are reinstalled only when requirements.txt,
# constraints.txt or pyproject.toml change. Needs only python3 (3.10+) with venv.

_course_bootstrap() {
    unset -f _course_bootstrap  # leaves nothing behind in the caller's shell
    local root
    root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)" || return 1
    # The install runs in a subshell: its strict options and directory stay there.
    (
        set -euo pipefail
        cd "$root"
        python_bin="${PYTHON:-python3}"
        if [ ! -x .venv/bin/python ]; then
            echo "course: creating the environment in .venv" >&2
            "$python_bin" -m venv .venv
        fi
        stamp=".venv/.installed-$(cat requirements.txt constraints.txt pyproject.toml | sha256sum | cut -c1-16)"
        if [ ! -f "$stamp" ]; then
            echo "course: installing packages (requirements.txt, pinned by constraints.txt)" >&2
            .venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
            .venv/bin/python -m pip install --quiet --disable-pip-version-check \
                -r requirements.txt -c constraints.txt
            .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
            rm -f .venv/.installed-*
            touch "$stamp"
        fi
    ) || return 1
    # nbgrader shells out to alembic, and the kernels must be the environment's own.
    case ":$PATH:" in
        *":$root/.venv/bin:"*) ;;
        *) export PATH="$root/.venv/bin:$PATH" ;;
    esac
    export COURSE_ROOT="$root"
}

# On failure: `return` when sourced, `exit` when run as a script.
_course_bootstrap || { return 1 2>/dev/null || exit 1; }

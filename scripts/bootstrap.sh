#!/usr/bin/env bash
# Create or refresh the course environment in .venv. Sourced by the other scripts.
#
# Idempotent: packages are reinstalled only when requirements.txt, constraints.txt or
# pyproject.toml change. Needs only python3 (3.10+) with venv; everything else is installed here.
set -euo pipefail
COURSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$COURSE_ROOT"

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

# nbgrader shells out to alembic, and the kernels must be the environment's own.
export PATH="$COURSE_ROOT/.venv/bin:$PATH"
export COURSE_ROOT

#!/usr/bin/env bash
# The whole test suite: lint, then every test (notebooks under nbval, release, autograding,
# the grading catalogs, the sandbox and fault catalog), on one pytest-xdist worker per core (at
# most four): each module on one worker, each unit's catalog on one (tests/conftest.py). Extra
# arguments go to pytest (`-n 0` runs everything in one process).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ruff check .
workers="$(python -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')"
pytest -n "$workers" --dist loadscope "$@"

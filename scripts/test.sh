#!/usr/bin/env bash
# The whole test suite: lint, then every test (notebooks under nbval, release, autograding,
# the grading catalogs, the sandbox and fault catalog), in one process. Extra arguments go to
# pytest: `-n 2 --dist loadscope` runs it on two pytest-xdist workers (each module on one
# worker, each unit's catalog on one: tests/conftest.py), not yet the default (README, Tests).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ruff check .
pytest "$@"

#!/usr/bin/env bash
# The whole test suite: lint, then every test (notebooks under nbval, release, autograding,
# the grading catalogs, the sandbox and fault catalog). Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
ruff check .
pytest "$@"

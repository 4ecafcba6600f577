#!/usr/bin/env bash
# The main job: build the student release, then autograde the sample submissions in
# submitted/ into the SQLite gradebook, write feedback/ and grades.csv, print the scores.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
course release fisher_information
course grade fisher_information "$@"

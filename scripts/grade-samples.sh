#!/usr/bin/env bash
# The main job: build the student release of every assignment the course declares, autograde
# the sample submissions in submitted/ into the SQLite gradebook, write feedback/ and
# grades.csv, and print the scores of each assignment and the course totals.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$COURSE_ROOT"
assignments=$(python -c 'from notebook_grader.course import Course; print(*Course.find().settings.assignments)')
for assignment in $assignments; do
    course release "$assignment"
    course grade "$assignment" --quiet "$@"
done
course scores

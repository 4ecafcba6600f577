"""The ``course`` command: release the assignment, grade a class, report the scores."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from fisher_grader.batch import grade_all
from fisher_grader.course import ASSIGNMENT, Course, CourseNotFound
from fisher_grader.release import ReleaseFailed, generate_release
from fisher_grader.report import format_table, student_scores


def _release(course: Course, args: argparse.Namespace) -> int:
    generate_release(course, args.assignment)
    print(f"released {args.assignment} to {course.folder('release', args.assignment)}")
    return 0


def _grade(course: Course, args: argparse.Namespace) -> int:
    summary = grade_all(course, args.assignment, force=args.force)
    print(format_table(summary.scores))
    print(f"\ngraded {len(summary.graded)}, skipped {len(summary.skipped)} already graded, "
          f"failed {len(summary.failed)}, in {summary.seconds:.1f} s; "
          "grades in grades.csv, feedback in feedback/")
    for student, why in summary.failed.items():
        print(f"  failed: {student}: {why}")
    return 0


def _scores(course: Course, args: argparse.Namespace) -> int:
    print(format_table(student_scores(course.db_url, args.assignment)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--root", help="course directory (default: found from the current one)")
    sub = parser.add_subparsers(dest="command", required=True)

    release = sub.add_parser("release", help="generate the student version in release/")
    release.add_argument("assignment", nargs="?", default=ASSIGNMENT)
    release.set_defaults(run=_release)

    grade = sub.add_parser("grade", help="autograde every submission under submitted/")
    grade.add_argument("assignment", nargs="?", default=ASSIGNMENT)
    grade.add_argument("--force", action="store_true", help="regrade graded submissions too")
    grade.set_defaults(run=_grade)

    scores = sub.add_parser("scores", help="print the score table from the gradebook")
    scores.add_argument("assignment", nargs="?", default=ASSIGNMENT)
    scores.set_defaults(run=_scores)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        course = Course.find(args.root)
        return args.run(course, args)
    except (CourseNotFound, ReleaseFailed) as exc:
        print(f"course: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The ``course`` command: release the assignment, grade a class, report the scores."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from fisher_grader.batch import BatchOptions, BatchSummary, default_limits, grade_all
from fisher_grader.course import ASSIGNMENT, Course, CourseNotFound
from fisher_grader.release import ReleaseFailed, generate_release
from fisher_grader.report import format_table, student_scores
from fisher_grader.sandbox import SandboxUnavailable
from fisher_grader.template import AssignmentNotReleased
from fisher_grader.zip_intake import ZipIntakeFailed

#: Exit status when the run itself could not work (no course, no sandbox, no release...).
EXIT_UNUSABLE = 2
#: Exit status when there were submissions to grade and none could be graded.
EXIT_NOTHING_GRADED = 1


def _release(course: Course, args: argparse.Namespace) -> int:
    generate_release(course, args.assignment)
    print(f"released {args.assignment} to {course.folder('release', args.assignment)}")
    return 0


def _grade(course: Course, args: argparse.Namespace) -> int:
    limits = default_limits(course)
    for name, value in (("cell_seconds", args.cell_timeout), ("submission_seconds", args.timeout),
                        ("memory_mb", args.memory_mb)):
        if value is not None:
            limits = replace(limits, **{name: value})
    options = BatchOptions(force=args.force, workers=args.workers, sandboxed=not args.no_sandbox, limits=limits,
                           max_notebook_mb=args.max_notebook_mb, zip=args.zip, progress=not args.quiet)
    try:
        summary = grade_all(course, args.assignment, options=options)
    except SandboxUnavailable as exc:
        print(f"course: cannot grade: the sandbox does not work on this machine: {exc}\n"
              "Fix that (see the README), or run with --no-sandbox to grade WITHOUT isolation: "
              "student code then runs with your permissions.", file=sys.stderr)
        return EXIT_UNUSABLE
    print(format_table(summary.scores))
    print()
    print(describe(summary, args.assignment))
    if summary.errors and not summary.recorded and not summary.skipped:
        return EXIT_NOTHING_GRADED
    return 0


def describe(summary: BatchSummary, assignment: str) -> str:
    """The closing summary of a ``course grade`` run."""
    lines = []
    if summary.collected:
        lines.append(f"took {len(summary.collected)} submission(s) from the zip: {', '.join(summary.collected)}")
    attempted = summary.recorded + len(summary.errors)
    mode = "sandboxed" if summary.sandboxed else "UNSANDBOXED"
    lines.append(
        f"{assignment}: graded {summary.recorded} of {attempted} submission(s) in {summary.seconds:.1f} s "
        f"({summary.workers} worker(s), {mode}); {len(summary.failed)} failed, {len(summary.errors)} not graded, "
        f"{len(summary.skipped)} skipped as already graded (--force regrades them)"
    )
    for student, why in sorted(summary.failed.items()):
        lines.append(f"  failed: {student}: {why}")
    for student, why in sorted(summary.errors.items()):
        lines.append(f"  not graded (will be retried on the next run): {student}: {why}")
    if summary.waited_seconds:
        lines.append(f"waited {summary.waited_seconds:.1f} s for another `course grade` to finish")
    if not summary.sandboxed:
        lines.append("WARNING: grading ran UNSANDBOXED (--no-sandbox): student code ran with your permissions, "
                     "could read the solutions and the gradebook, and use the network.")
    lines.append("grades in grades.csv, feedback in feedback/")
    return "\n".join(lines)


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

    grade = sub.add_parser(
        "grade", help="autograde every submission under submitted/ (sandboxed, in parallel)",
        description="Autograde every submission of ASSIGNMENT under submitted/ (or from --zip), each in a fresh "
        "sandboxed kernel, in parallel; store the grades in the gradebook, write feedback/ and grades.csv. "
        "Submissions graded before and unchanged are skipped.")
    grade.add_argument("assignment", nargs="?", default=ASSIGNMENT)
    grade.add_argument("--force", action="store_true", help="regrade submissions graded before too")
    grade.add_argument("--workers", type=int, metavar="N", help="grading processes (default: one per CPU)")
    grade.add_argument("--zip", type=Path, metavar="FILE",
                       help="first take submissions from a learning-management system's zip download "
                       "(as `nbgrader zip_collect`)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="grade WITHOUT isolation, where the sandbox cannot start: student code runs with your "
                       "permissions, can read the solutions and the gradebook, reach the network, and start any "
                       "number of processes (only time and memory stay limited)")
    grade.add_argument("--cell-timeout", type=float, metavar="S", help="seconds per cell (default: the course's)")
    grade.add_argument("--timeout", type=float, metavar="S", help="seconds per submission (default: 300)")
    grade.add_argument("--memory-mb", type=int, metavar="M", help="memory per kernel, MiB (default: 2048)")
    grade.add_argument("--max-notebook-mb", type=float, default=20.0, metavar="M",
                       help="larger notebooks are not run (default: 20)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
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
    except (CourseNotFound, ReleaseFailed, AssignmentNotReleased, ZipIntakeFailed) as exc:
        print(f"course: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("\ncourse: interrupted; what was graded is stored, run the command again to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

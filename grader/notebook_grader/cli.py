"""The ``course`` command: release the assignment, grade a class, write feedback, report the scores.

Each command imports the layers it needs when it runs: ``course release`` and ``course scores``
load no grading, kernel or sandbox code, and ``course --help`` loads none of nbgrader.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notebook_grader.course import Course
from notebook_grader.errors import CourseError
from notebook_grader.identifiers import terminal_safe
from notebook_grader.settings import AssignmentUnknown

if TYPE_CHECKING:
    from notebook_grader.batch.coordinator import BatchSummary

#: Exit status when the run itself could not work (no course, no sandbox, no release...).
EXIT_UNUSABLE = 2
#: Exit status when there were submissions to grade and none could be graded.
EXIT_NOTHING_GRADED = 1


def ensure_environment_on_path() -> None:
    """Put this environment's ``bin`` first on PATH: nbgrader shells out to ``alembic``.

    The ``course`` command is the one place that changes its own environment.
    """
    bin_dir = str(Path(sys.executable).parent)
    if shutil.which("alembic") != str(Path(bin_dir) / "alembic"):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _assignment(course: Course, args: argparse.Namespace) -> str:
    """The assignment named on the command line, else the course's first declared one."""
    name = args.assignment or course.default_assignment()
    if not name:
        raise AssignmentUnknown("name an assignment: the course configuration declares none "
                                "(c.CourseGrading.assignments in nbgrader_config.py)")
    return name


def _release(course: Course, args: argparse.Namespace) -> int:
    from notebook_grader.release import generate_release

    assignment = _assignment(course, args)
    notes = generate_release(course, assignment)
    print(f"released {assignment} to {course.folder('release', assignment)}")
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    if args.exchange:
        from notebook_grader.release import release_to_exchange

        print(f"released {assignment} to the exchange: {release_to_exchange(course, assignment)}")
    return 0


def _student_config(course: Course, args: argparse.Namespace) -> int:
    """``course student-config DIR``: the students' Jupyter configuration for the exchange."""
    from notebook_grader.student_config import write_student_config

    folder = Path(args.folder).expanduser()
    for path in write_student_config(course, folder, args.student):
        print(f"wrote {path}")
    return 0


def _grade(course: Course, args: argparse.Namespace) -> int:
    assignment = _assignment(course, args)
    course.assignment(assignment)  # an undeclared assignment is refused before anything runs
    kernel_parents = []
    if args.zip is None and args.scheduler is None:  # (a zip's submissions are counted only once it is read;
        # a cluster's workers have kernel parents of their own)
        from notebook_grader.batch.prestart import start_kernel_parents

        # started before the imports below: they import NumPy and friends on the other core meanwhile
        kernel_parents = start_kernel_parents(course, assignment, args.workers)
    try:
        return _grade_with(course, args, assignment, kernel_parents)
    finally:
        for kernel_parent in kernel_parents:
            kernel_parent.close()


def _grade_with(course: Course, args: argparse.Namespace, assignment: str, kernel_parents: list[Any]) -> int:
    from notebook_grader.batch.coordinator import BatchOptions, default_limits, grade_all
    from notebook_grader.isolation.sandbox import SandboxUnavailable
    from notebook_grader.report.scores import format_table

    limits = default_limits(course)
    for name, value in (("cell_seconds", args.cell_timeout), ("submission_seconds", args.timeout),
                        ("memory_mb", args.memory_mb)):
        if value is not None:
            limits = replace(limits, **{name: value})
    options = BatchOptions(force=args.force, workers=args.workers, sandboxed=not args.no_sandbox, limits=limits,
                           max_notebook_mb=args.max_notebook_mb, zip=args.zip, progress=not args.quiet,
                           scheduler=args.scheduler)
    try:
        summary = grade_all(course, assignment, options=options, kernel_parents=kernel_parents)
    except SandboxUnavailable as exc:
        print(f"course: cannot grade: the sandbox does not work on this machine: {exc}\n"
              "Fix that (see the README), or run with --no-sandbox to grade WITHOUT isolation: "
              "student code then runs with your permissions.", file=sys.stderr)
        return EXIT_UNUSABLE
    print(format_table(summary.scores))
    print()
    print(describe(summary, assignment))
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
        lines.append(f"  failed: {terminal_safe(student)}: {terminal_safe(why)}")
    for student, why in sorted(summary.errors.items()):
        lines.append(f"  not graded (will be retried on the next run): {terminal_safe(student)}: {terminal_safe(why)}")
    if summary.waited_seconds:
        lines.append(f"waited {summary.waited_seconds:.1f} s for another `course grade` to finish")
    if not summary.sandboxed:
        lines.append("WARNING: grading ran UNSANDBOXED (--no-sandbox): student code ran with your permissions, "
                     "could read the solutions and the gradebook, and use the network.")
    lines.append("grades in grades.csv, feedback in feedback/")
    return "\n".join(lines)


def _feedback(course: Course, args: argparse.Namespace) -> int:
    """``course feedback``: the pages again from the gradebook, e.g. after hand grading in formgrader."""
    from notebook_grader.run.feedback import regenerate_feedback

    assignment = _assignment(course, args)
    course.assignment(assignment)  # an undeclared assignment is refused, as by `course grade`
    summary = regenerate_feedback(course, assignment, student=args.student)
    print(f"{assignment}: wrote the feedback of {len(summary.written)} student(s) from the gradebook "
          f"in {summary.seconds:.1f} s: {', '.join(summary.written) or 'none'}")
    for student, why in sorted(summary.failed.items()):
        print(f"  not written (the old page stays): {terminal_safe(student)}: {terminal_safe(why)}")
    if summary.waited_seconds:
        print(f"waited {summary.waited_seconds:.1f} s for `course grade` to finish")
    return EXIT_NOTHING_GRADED if summary.failed else 0


def _scores(course: Course, args: argparse.Namespace) -> int:
    from notebook_grader.report.scores import course_scores, format_course_table, format_table, student_scores

    assignments = list(course.settings.assignments)
    if args.assignment or len(assignments) <= 1:
        print(format_table(student_scores(course.db_url, _assignment(course, args))))
        return 0
    by_assignment = course_scores(course.db_url, assignments)
    for assignment, rows in by_assignment.items():
        print(f"{assignment}\n{format_table(rows)}\n")
    print(f"course total\n{format_course_table(by_assignment)}")
    return 0


def _students_import(course: Course, args: argparse.Namespace) -> int:
    """``course students import ROSTER``: every row checked, then all stored or none."""
    from notebook_grader.storage.roster import import_roster, read_roster
    from notebook_grader.storage.store import take_lock

    entries = read_roster(Path(args.roster))
    lock, _ = take_lock(course.db_url, course.root)  # never write the gradebook under a running `course grade`
    try:
        added, updated = import_roster(course.db_url, entries)
    finally:
        lock.release()
    print(f"roster {Path(args.roster).name}: {len(entries)} student(s): {added} added, {updated} updated")
    return 0


def _export(course: Course, args: argparse.Namespace) -> int:
    """``course export``: the assignment's totals as a Canvas or Moodle grade import."""
    from notebook_grader.report.scores import student_scores, write_lms_csv

    assignment = _assignment(course, args)
    course.assignment(assignment)
    rows = student_scores(course.db_url, assignment)
    path = Path(args.output) if args.output else course.root / f"grades-{args.lms}.csv"
    write_lms_csv(rows, assignment, args.lms, path)
    print(f"{assignment}: {len(rows)} student(s) written to {path} for {args.lms.capitalize()}'s grade import")
    return 0


def _report(course: Course, args: argparse.Namespace) -> int:
    """``course report``: the class report, one HTML page with its plots inside."""
    from notebook_grader.report.class_report import write_report

    assignment = _assignment(course, args)
    course.assignment(assignment)
    path = write_report(course, assignment, Path(args.output) if args.output else None)
    print(f"{assignment}: class report written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="course", description=__doc__)
    parser.add_argument("--root", help="course directory (default: found from the current one)")
    sub = parser.add_subparsers(dest="command", required=True)

    release = sub.add_parser("release", help="generate the student version in release/")
    release.add_argument("assignment", nargs="?", help="default: the course's first declared assignment")
    release.add_argument("--exchange", action="store_true",
                         help="then put it in nbgrader's exchange (c.Exchange.root), for students to fetch")
    release.set_defaults(run=_release)

    student_config = sub.add_parser(
        "student-config", help="write a student's Jupyter configuration for the exchange",
        description="Write into FOLDER (a student's Jupyter configuration folder: ~/.jupyter, or "
        "$JUPYTER_CONFIG_DIR) the course's exchange folder and course id, and switch off nbgrader's "
        "instructor tools (Formgrader, Create Assignment, Course List): the student's JupyterLab then "
        "shows the Assignment List and the Validate button only. Other settings in those files are kept.")
    student_config.add_argument("folder", metavar="FOLDER")
    student_config.add_argument("--student", metavar="ID",
                                help="the student's id, where students share one Unix account "
                                "(default: the student's user name)")
    student_config.set_defaults(run=_student_config)

    grade = sub.add_parser(
        "grade", help="autograde every submission under submitted/ (sandboxed, in parallel)",
        description="Autograde every submission of ASSIGNMENT under submitted/ (or from --zip), each in a fresh "
        "sandboxed kernel, in parallel; store the grades in the gradebook, write feedback/ and grades.csv. "
        "Submissions graded before and unchanged are skipped.")
    grade.add_argument("assignment", nargs="?", help="default: the course's first declared assignment")
    grade.add_argument("--force", action="store_true", help="regrade submissions graded before too")
    grade.add_argument("--workers", type=int, metavar="N", help="grading processes (default: one per CPU)")
    grade.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="grade on this Dask scheduler's workers instead of this machine (each started with "
                       "`dask worker tcp://HOST:PORT --nthreads 1` in the course's environment)")
    grade.add_argument("--zip", type=Path, metavar="FILE",
                       help="first take submissions from a learning-management system's zip download "
                       "(as `nbgrader zip_collect`)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="grade WITHOUT isolation, where the sandbox cannot start: student code runs with your "
                       "permissions, can read the solutions and the gradebook, reach the network, and start any "
                       "number of processes (only time and memory stay limited)")
    grade.add_argument("--cell-timeout", type=float, metavar="S", help="seconds per cell (default: the course's)")
    grade.add_argument("--timeout", type=float, metavar="S", help="seconds per submission (default: the course's)")
    grade.add_argument("--memory-mb", type=int, metavar="M", help="memory per kernel, MiB (default: the course's)")
    grade.add_argument("--max-notebook-mb", type=float, metavar="M",
                       help="larger notebooks are not run (default: the course's)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.set_defaults(run=_grade)

    feedback = sub.add_parser(
        "feedback", help="write the feedback pages again from the gradebook (after hand grading)",
        description="Write the feedback pages of ASSIGNMENT again from the gradebook, with the points and "
        "comments given by hand in formgrader, from the autograded notebooks: no student code runs. "
        "Waits for a running `course grade` to finish.")
    feedback.add_argument("assignment", nargs="?", help="default: the course's first declared assignment")
    feedback.add_argument("--student", metavar="ID", help="only this student's page (default: every graded one)")
    feedback.set_defaults(run=_feedback)

    scores = sub.add_parser("scores", help="print the score tables from the gradebook",
                            description="Print ASSIGNMENT's score table; without one, every declared "
                            "assignment's table and each student's course total.")
    scores.add_argument("assignment", nargs="?", help="default: every assignment, and the course total")
    scores.set_defaults(run=_scores)

    students = sub.add_parser("students", help="the class roster (names and emails of the students)")
    students_sub = students.add_subparsers(dest="students_command", required=True)
    roster = students_sub.add_parser(
        "import", help="load a roster CSV (id, first_name, last_name, email) into the gradebook",
        description="Load the class roster from a CSV whose header names id, first_name, last_name and email. "
        "Every row is checked first: if any is bad, each bad row is reported with its line number and nothing "
        "is imported (exit 2). Students already in the gradebook keep their grades and get the roster's names.")
    roster.add_argument("roster", metavar="ROSTER.csv")
    roster.set_defaults(run=_students_import)

    export = sub.add_parser("export", help="write the totals as a Canvas or Moodle grade import (CSV)")
    export.add_argument("assignment", nargs="?", help="default: the course's first declared assignment")
    export.add_argument("--lms", choices=("canvas", "moodle"), required=True, help="the system that imports it")
    export.add_argument("-o", "--output", metavar="FILE", help="default: grades-<lms>.csv in the course directory")
    export.set_defaults(run=_export)

    report = sub.add_parser(
        "report", help="write the class report: one HTML page with plots (opens offline)",
        description="Write one HTML page on ASSIGNMENT: the score distribution of each part, the fraction of "
        "students passing each check (visible and hidden), the diagnoses named most often, the submissions that "
        "failed and why, and the grading time of each submission; each plot with its numbers.")
    report.add_argument("assignment", nargs="?", help="default: the course's first declared assignment")
    report.add_argument("-o", "--output", metavar="FILE", help="default: reports/<assignment>.html in the course")
    report.set_defaults(run=_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from notebook_grader.patches import imports

    imports.install()  # before any command imports nbformat: see patches/imports.py
    ensure_environment_on_path()
    try:
        course = Course.find(args.root)
        return args.run(course, args)
    except CourseError as exc:
        print(f"course: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print("\ncourse: interrupted; what was graded is stored, run the command again to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

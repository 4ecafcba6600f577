"""Benchmark: ``course grade`` against plain sequential ``nbgrader autograde``, and against the floor.

    .venv/bin/python benchmarks/grade_throughput.py [--submissions 120] [--workers N] [--json FILE]

Builds two identical throwaway courses holding ``--submissions`` copies of the three sample
submissions (``submitted/alice``, ``bob``, ``carol``: a correct one, one with four mistakes, the
untouched release), then, in the same run:

1. grades one with ``nbgrader autograde ASSIGNMENT --force`` (the CLI, one call for all,
   sequential, no feedback), timed. This is plain nbgrader: the course's configuration routes
   every door through the engine, so the baseline course puts nbgrader's own default steps back
   (:data:`PLAIN_NBGRADER`: its ``Execute`` and gradebook steps, with the test cells judged outside
   the kernel so the grades are right) and grades the graded notebook only, as nbgrader alone would
   be set up to;
2. grades the other with ``course grade`` (its engine, :func:`notebook_grader.batch.coordinator.grade_all`:
   sandboxed, parallel, feedback HTML and the grades CSV included), timed;
3. measures the floor: the kernel's own time to run each sample notebook's cells, as nbgrader
   runs them (hidden tests restored), in a fresh ordinary kernel (the sum over cells of
   execute-reply minus execute-input timestamps).

It prints the throughput ratio, and ``course grade``'s wall time per submission against the
floor: the batch's wall time divided by the number of submissions, and the time one worker
spends on one submission. Not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from notebook_grader.batch.coordinator import BatchOptions, grade_all
from notebook_grader.course import CONFIG_FILE, Course
from notebook_grader.release import generate_release

REPO = Path(__file__).resolve().parents[1]
SAMPLES = ("alice", "bob", "carol")

#: The assignment the benchmark grades (the course's first unit).
ASSIGNMENT = "fisher_information"


def build_course(dest: Path, submissions: int, samples: tuple[str, ...] = SAMPLES,
                 assignment: str = ASSIGNMENT) -> Course:
    """A released copy of the course with ``submissions`` copies of ``samples`` of ``assignment``, in turn."""
    (dest / "source").mkdir(parents=True)
    shutil.copy2(REPO / CONFIG_FILE, dest / CONFIG_FILE)
    shutil.copytree(REPO / "source" / assignment, dest / "source" / assignment)
    course = Course(dest)
    generate_release(course, assignment)
    for number in range(submissions):
        sample = samples[number % len(samples)]
        target = course.folder("submitted", assignment, f"{sample}{number:03d}")
        shutil.copytree(REPO / "submitted" / sample / assignment, target)
    return course


def as_autograded(course: Course, sample: str) -> nbformat.NotebookNode:
    """A sample as nbgrader runs it: its locked cells (the tests) restored, hidden tests included."""
    source = nbformat.read(course.folder("source", ASSIGNMENT) / "exercises.ipynb", as_version=4)
    locked = {c.metadata["nbgrader"]["grade_id"]: c.source for c in source.cells
              if c.metadata.get("nbgrader", {}).get("locked")}
    nb = nbformat.read(REPO / "submitted" / sample / ASSIGNMENT / "exercises.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in locked:
            cell.source = locked[grade_id]
    return nb


def floor_seconds(course: Course, repeats: int) -> dict[str, float]:
    """Median in-kernel time of each sample's cells as autograded, in a fresh ordinary kernel each time."""
    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the test cells then report, as when graded
    floors = {}
    for sample in SAMPLES:
        times = []
        for _ in range(repeats):
            nb = as_autograded(course, sample)
            workdir = tempfile.mkdtemp()
            NotebookClient(nb, timeout=60, allow_errors=True, record_timing=True,
                           resources={"metadata": {"path": workdir}}).execute()
            shutil.rmtree(workdir, ignore_errors=True)
            times.append(sum(_cell_seconds(cell) for cell in nb.cells if cell.cell_type == "code"))
        floors[sample] = statistics.median(times)
    del os.environ["NBGRADER_EXECUTION"]
    return floors


def _cell_seconds(cell: nbformat.NotebookNode) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.status.busy"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except KeyError:
        return 0.0
    return (end - start).total_seconds()


#: Appended to the baseline course's nbgrader_config.py: nbgrader's own default autograde steps,
#: both passes (its ``Execute``, ``OverwriteCells`` and ``SaveAutoGrades``: none of the engine's
#: sandbox, sanitizing or faster gradebook steps), plus the one engine step the course's test cells
#: need for right grades: judged outside the kernel, right after ``Execute``. No reading notebook.
PLAIN_NBGRADER = """
# benchmark baseline: plain nbgrader
from nbgrader.converters import Autograde as _Autograde
_stock = _Autograde.class_traits()
c.Autograde.sanitize_preprocessors = list(_stock["sanitize_preprocessors"].default())
c.Autograde.autograde_preprocessors = list(_stock["autograde_preprocessors"].default())
c.Autograde.autograde_preprocessors.insert(1, "notebook_grader.pipeline.grade_outside_kernel.GradeOutsideKernel")
c.Execute.timeout = 30
c.CourseDirectory.notebook_id = "exercises"
"""


def plain_nbgrader(course: Course) -> None:
    """Make ``course`` the baseline: plain nbgrader (see :data:`PLAIN_NBGRADER`)."""
    config = course.root / CONFIG_FILE
    config.write_text(config.read_text() + PLAIN_NBGRADER)


def scores(course: Course, assignment: str = ASSIGNMENT) -> dict[str, float]:
    """Each student's score on the assignment, from the course's gradebook: the two commands must agree."""
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        return {s.student_id: s.score for s in gb.assignment_submissions(assignment)}


def run_nbgrader(course: Course) -> float:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"])
    started = time.monotonic()
    subprocess.run([str(Path(sys.executable).parent / "nbgrader"), "autograde", ASSIGNMENT, "--force"],
                   cwd=course.root, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=120)
    parser.add_argument("--workers", type=int, default=None, help="course grade's workers (default: one per CPU)")
    parser.add_argument("--repeats", type=int, default=3, help="fresh-kernel runs per sample for the floor")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]

    with tempfile.TemporaryDirectory(prefix="grade-benchmark-") as tmp:
        print(f"building two courses with {args.submissions} submissions each ...", flush=True)
        ours = build_course(Path(tmp) / "course-grade", args.submissions)
        theirs = build_course(Path(tmp) / "nbgrader", args.submissions)
        plain_nbgrader(theirs)
        print(f"load average {load()}; {os.cpu_count()} CPUs", flush=True)

        print("course grade ...", flush=True)
        started = time.monotonic()
        summary = grade_all(ours, ASSIGNMENT, options=BatchOptions(force=True, workers=args.workers,
                                                                   progress=False))
        course_seconds = time.monotonic() - started
        assert summary.recorded == args.submissions and not summary.failed and not summary.errors, summary
        print(f"  {course_seconds:.1f} s; load average {load()}", flush=True)

        print("nbgrader autograde (sequential) ...", flush=True)
        nbgrader_seconds = run_nbgrader(theirs)
        graded = sum(1 for _ in theirs.root.glob(f"autograded/*/{ASSIGNMENT}/exercises.ipynb"))
        assert graded == args.submissions, f"nbgrader graded {graded}"
        print(f"  {nbgrader_seconds:.1f} s; load average {load()}", flush=True)

        print("floor (fresh ordinary kernels) ...", flush=True)
        floors = floor_seconds(ours, args.repeats)

    n = args.submissions
    floor = statistics.fmean(floors[SAMPLES[i % len(SAMPLES)]] for i in range(n))
    tasks = [r.seconds for r in summary.results]
    in_kernel = [r.kernel_seconds for r in summary.results]
    figures = {
        "submissions": n, "cpus": os.cpu_count(), "workers": summary.workers,
        "nbgrader_seconds": nbgrader_seconds, "course_grade_seconds": course_seconds,
        "throughput_ratio": nbgrader_seconds / course_seconds,
        "nbgrader_per_submission": nbgrader_seconds / n, "course_grade_per_submission": course_seconds / n,
        "floor_per_submission": floor, "floor_by_sample": floors,
        "wall_over_floor": course_seconds / n / floor,
        "task_mean": statistics.fmean(tasks), "task_over_floor": statistics.fmean(tasks) / floor,
        "in_kernel_mean_when_graded": statistics.fmean(in_kernel),
    }
    print()
    print(f"{n} submissions ({', '.join(SAMPLES)} in turn), {os.cpu_count()} CPUs, {summary.workers} workers")
    print(f"nbgrader autograde, sequential:  {nbgrader_seconds:7.1f} s  ({nbgrader_seconds / n:.3f} s per submission)")
    print(f"course grade:                    {course_seconds:7.1f} s  ({course_seconds / n:.3f} s per submission; "
          "sandboxed, feedback and CSV included)")
    print(f"throughput: course grade is {figures['throughput_ratio']:.2f}x nbgrader")
    print(f"floor (in-kernel cell time, fresh kernel): {floor:.3f} s per submission "
          f"({', '.join(f'{s} {t:.3f}' for s, t in floors.items())})")
    print(f"course grade wall time per submission: {course_seconds / n:.3f} s = "
          f"{figures['wall_over_floor']:.2f}x the floor")
    print(f"one worker's time on one submission:   {figures['task_mean']:.3f} s = "
          f"{figures['task_over_floor']:.2f}x the floor (in-kernel time when graded: "
          f"{figures['in_kernel_mean_when_graded']:.3f} s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

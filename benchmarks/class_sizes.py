"""Benchmark: ``course grade`` against plain ``nbgrader autograde``, both through the command line,
for the class sizes instructors grade, with the fixed and marginal cost of a run.

    .venv/bin/python benchmarks/class_sizes.py [--sizes 1 40 120] [--runs 3] [--kinds mixed]
                                               [--assignment fisher_information] [--workers N] [--json FILE]

For each kind of submission (``mixed``: the three samples alice, bob, carol in turn; or one of
``alice`` (correct), ``bob`` (partly wrong), ``carol`` (untouched)), each class size and each run,
it builds two fresh released copies of the course with that many submissions, then times, in the
same run, the two commands as an instructor types them (Python's start, imports and the summary
included):

* ``nbgrader autograde ASSIGNMENT --force``: plain sequential nbgrader (the baseline of
  ``grade_throughput.py``: nbgrader's own ``Execute``, no sandbox, no feedback pages);
* ``course grade ASSIGNMENT --force --quiet``: sandboxed, parallel, feedback pages and
  the grades CSV included.

``ASSIGNMENT`` is unit 1's ``fisher_information`` unless ``--assignment`` names another unit
(each has the three samples in ``submitted/``).

It prints every run's times and ratio (the goal: ``course grade`` at least 4x nbgrader on every
run), and, per kind, each command's fixed cost (the time a run takes before and after its
submissions: the intercept of wall time against class size) and marginal cost (the slope), from
a least-squares line through every run. Not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from grade_throughput import ASSIGNMENT, SAMPLES, build_course, load, plain_nbgrader, scores

KINDS = {"mixed": SAMPLES, **{sample: (sample,) for sample in SAMPLES}}
BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> float:
    env = dict(os.environ, PATH=str(BIN) + os.pathsep + os.environ.get("PATH", ""))
    started = time.monotonic()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - started


def line_fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of seconds against class size."""
    xs, ys = [x for x, _ in points], [y for _, y in points]
    if len(set(xs)) < 2:
        return float("nan"), float("nan")
    slope, intercept = statistics.linear_regression(xs, ys)
    return intercept, slope


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 40, 120])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--kinds", nargs="+", choices=sorted(KINDS), default=["mixed"])
    parser.add_argument("--assignment", default=ASSIGNMENT, help="the unit to grade (default: %(default)s)")
    parser.add_argument("--workers", type=int, default=None, help="course grade's workers (default: one per CPU)")
    parser.add_argument("--json", type=Path, help="also write every run's figures to this file")
    args = parser.parse_args(argv)
    assignment = args.assignment
    # nbgrader runs `alembic` from PATH when it makes a gradebook (the courses are built in this process)
    os.environ["PATH"] = str(BIN) + os.pathsep + os.environ.get("PATH", "")
    grade = [str(BIN / "course"), "grade", assignment, "--force", "--quiet"]
    if args.workers:
        grade += ["--workers", str(args.workers)]
    baseline = [str(BIN / "nbgrader"), "autograde", assignment, "--force"]

    runs: list[dict[str, object]] = []
    print(f"{assignment}; {os.cpu_count()} CPUs; load average {load()}", flush=True)
    print(f"{'kind':<6} {'size':>5} {'run':>3}  {'nbgrader':>9}  {'course':>8}  ratio   load", flush=True)
    for kind in args.kinds:
        for run in range(1, args.runs + 1):
            for size in args.sizes:
                with tempfile.TemporaryDirectory(prefix="class-sizes-") as tmp:
                    ours = build_course(Path(tmp) / "course-grade", size, KINDS[kind], assignment)
                    theirs = build_course(Path(tmp) / "nbgrader", size, KINDS[kind], assignment)
                    plain_nbgrader(theirs)
                    nbgrader_seconds = timed(baseline, theirs.root)
                    graded = sum(1 for _ in theirs.root.glob(f"autograded/*/{assignment}/exercises.ipynb"))
                    assert graded == size, f"nbgrader graded {graded} of {size}"
                    course_seconds = timed(grade, ours.root)
                    feedback = sum(1 for _ in ours.root.glob(f"feedback/*/{assignment}/exercises.html"))
                    assert feedback == size, f"course grade wrote {feedback} of {size} feedback pages"
                    assert scores(ours, assignment) == scores(theirs, assignment), "the commands gave different scores"
                ratio = nbgrader_seconds / course_seconds
                runs.append({"kind": kind, "size": size, "run": run, "nbgrader_seconds": nbgrader_seconds,
                             "course_grade_seconds": course_seconds, "ratio": ratio, "load": load()})
                print(f"{kind:<6} {size:>5} {run:>3}  {nbgrader_seconds:8.1f}s  {course_seconds:7.1f}s  "
                      f"{ratio:5.2f}x  {load()}", flush=True)

    print()
    print("fixed cost (intercept) and marginal cost (slope) of a run, per kind, from every run above:")
    for kind in args.kinds:
        mine = [r for r in runs if r["kind"] == kind]
        for label, key in (("nbgrader autograde", "nbgrader_seconds"), ("course grade", "course_grade_seconds")):
            fixed, marginal = line_fit([(int(r["size"]), float(r[key])) for r in mine])
            print(f"  {kind:<6} {label:<19} fixed {fixed:6.2f} s   marginal {marginal:6.3f} s per submission")
    print()
    for kind in args.kinds:
        for size in args.sizes:
            ratios = [float(r["ratio"]) for r in runs if r["kind"] == kind and r["size"] == size]
            print(f"  {kind:<6} {size:>4} submissions: course grade / nbgrader = "
                  f"{', '.join(f'{x:.2f}x' for x in ratios)} (worst {min(ratios):.2f}x)")
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

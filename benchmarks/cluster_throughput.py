"""Benchmark: ``course grade`` on this machine's pool, on a Dask ``LocalCluster``, and on a Dask scheduler.

    .venv/bin/python benchmarks/cluster_throughput.py [--submissions 120] [--workers 2] [--setups ...] [--json FILE]

Builds three identical throwaway courses holding ``--submissions`` copies of the three sample
submissions (as ``benchmarks/grade_throughput.py`` does), then grades each, in the same run,
with :func:`notebook_grader.batch.coordinator.grade_all` (sandboxed, feedback and CSV included):

1. the local default: the engine's own worker pool, ``--workers`` processes;
2. a Dask ``LocalCluster`` of ``--workers`` single-threaded worker processes (its scheduler
   runs in the coordinator's process, as ``LocalCluster`` does);
3. a ``dask scheduler`` and ``--workers`` separate ``dask worker`` processes (one thread each),
   started as subprocesses on 127.0.0.1, as on a real cluster.

For each it prints the wall time and throughput (submissions a minute, from the first task to
the last stored result, start-up included), and the coordinator's CPU time per submission (its
process only: the local pool's workers, the LocalCluster's workers and the separate scheduler
are other processes; the separate scheduler's CPU is given apart). The coordinator's CPU per
submission is what bounds a cluster: it alone reads submissions, stores results and writes
feedback, so N machines cannot grade faster than one coordinator core can store (see
``docs/performance.md``). Not a test: the numbers depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.grade_throughput import ASSIGNMENT, build_course, load  # noqa: E402
from notebook_grader.batch.coordinator import BatchOptions, grade_all  # noqa: E402
from notebook_grader.course import Course  # noqa: E402
from tests.support.servers import DaskServers  # noqa: E402

SETUPS = ("local", "localcluster", "scheduler")


def timed(course: Course, scheduler: object, workers: int, n: int) -> dict[str, float]:
    """Grade ``course`` (forced) with ``scheduler`` (None: the local pool); wall and coordinator CPU."""
    me = psutil.Process()
    cpu = me.cpu_times()
    started = time.monotonic()
    summary = grade_all(course, ASSIGNMENT, options=BatchOptions(force=True, workers=workers, progress=False,
                                                                 scheduler=scheduler))
    seconds = time.monotonic() - started
    after = me.cpu_times()
    assert summary.recorded == n and not summary.failed and not summary.errors, (summary.failed, summary.errors)
    coordinator = (after.user - cpu.user) + (after.system - cpu.system)
    return {"seconds": seconds, "per_minute": 60 * n / seconds, "coordinator_cpu_per_submission": coordinator / n,
            "workers": summary.workers}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submissions", type=int, default=120)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="worker processes in each setup")
    parser.add_argument("--setups", default=",".join(SETUPS), help=f"which of {', '.join(SETUPS)} to run")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    n, workers = args.submissions, args.workers
    setups = [name for name in SETUPS if name in args.setups.split(",")]
    figures: dict[str, object] = {"submissions": n, "cpus": os.cpu_count(), "workers": workers}

    with tempfile.TemporaryDirectory(prefix="cluster-benchmark-") as tmp:
        print(f"building {len(setups)} course(s) with {n} submissions each ...", flush=True)
        courses = {name: build_course(Path(tmp) / name, n) for name in setups}
        print(f"load average {load()}; {os.cpu_count()} CPUs; {workers} workers each", flush=True)

        if "local" in setups:
            print("local pool ...", flush=True)
            figures["local"] = timed(courses["local"], None, workers, n)
            print(f"  {figures['local']}; load {load()}", flush=True)

        if "localcluster" in setups:
            print("Dask LocalCluster ...", flush=True)
            from distributed import LocalCluster

            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                              host="127.0.0.1") as cluster:
                figures["localcluster"] = timed(courses["localcluster"], cluster, workers, n)
            print(f"  {figures['localcluster']}; load {load()}", flush=True)

        if "scheduler" in setups:
            scheduler_setup(figures, courses["scheduler"], workers, n)

    print()
    print(f"{n} submissions, {os.cpu_count()} CPUs, {workers} workers in each setup")
    local = figures["local"]["per_minute"] if "local" in figures else None  # type: ignore[index]
    for name, label in (("local", "local pool (default)"), ("localcluster", "Dask LocalCluster"),
                        ("scheduler", "dask scheduler + workers")):
        if name not in figures:
            continue
        f = figures[name]
        ratio = f" ({f['per_minute'] / local:.2f}x local)" if local else ""  # type: ignore[index]
        print(f"{label:26s} {f['seconds']:7.1f} s  {f['per_minute']:6.1f} per minute{ratio}  "  # type: ignore[index]
              f"coordinator CPU {1000 * f['coordinator_cpu_per_submission']:.0f} ms per submission")  # type: ignore[index]
    if "scheduler" in figures:
        print(f"separate scheduler's CPU: {1000 * figures['scheduler']['scheduler_cpu_per_submission']:.0f} ms "  # type: ignore[index]
              "per submission")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1))
    return 0


def scheduler_setup(figures: dict[str, object], course: Course, workers: int, n: int) -> None:
    """The third setup: a ``dask scheduler`` and ``workers`` separate ``dask worker`` processes."""
    print("dask scheduler + separate dask workers ...", flush=True)
    servers = DaskServers().start_scheduler()
    try:
        for number in range(workers):
            servers.start_worker(f"bench-{number}")
        servers.wait_for_workers(workers)
        scheduler = psutil.Process(servers.scheduler.pid)  # type: ignore[union-attr]
        before = scheduler.cpu_times()
        figures["scheduler"] = timed(course, servers.address, workers, n)
        after = scheduler.cpu_times()
        figures["scheduler"]["scheduler_cpu_per_submission"] = (  # type: ignore[index]
            (after.user - before.user) + (after.system - before.system)) / n
    finally:
        servers.stop()
    print(f"  {figures['scheduler']}; load {load()}", flush=True)

if __name__ == "__main__":
    sys.exit(main())

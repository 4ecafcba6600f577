"""Grading beyond one machine, against real servers: a Dask cluster, a PostgreSQL gradebook.

The module starts, once, on loopback: a PostgreSQL server from Debian's packages (as the
``postgres`` user when run as root) and a ``dask scheduler`` with two ``dask worker`` processes,
each with this environment's Python; and stops them at the end. Nothing is mocked. Where
PostgreSQL is not installed (CI installs it: ``.ci/install-postgresql.sh``) its tests skip and
say why.

What is shown:

* the sample submissions, and a subset of the mutation catalog, graded through the cluster
  into PostgreSQL get exactly the grades local grading into SQLite gives, and formgrader's API
  reads them from PostgreSQL; workers are recycled after a bounded number of tasks;
* a Dask worker killed mid-task loses nothing: every submission is graded and stored once;
* a coordinator killed mid-batch resumes on the next run, on SQLite and on PostgreSQL;
* two coordinators on one PostgreSQL gradebook: the second waits for the first;
* an unreachable scheduler or database, a wrong URL, a worker with another version of the
  course: one line, exit 2, nothing written.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from notebook_grader.batch.coordinator import BatchOptions, grade_all
from notebook_grader.cli import main
from notebook_grader.course import Course
from notebook_grader.release import generate_release
from notebook_grader.report.scores import student_scores
from tests.catalog import contracts
from tests.course_copy import ASSIGNMENT, release_notebook, source_notebook
from tests.faults.courses import course_command, course_env, new_course, released_course, run_course
from tests.support.servers import DaskServers, PostgresServer, free_port, postgres_unavailable
from tests.support.submissions import fill, reference_answers, write_submission

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

SAMPLE_SCORES = {"alice": 40.0, "bob": 30.0, "carol": 0.0}
SLOW_SECONDS = 3.0  # a slow student's extra cell: long enough for a kill to land mid-task
#: Catalog entries graded both ways. A subset: the full catalog is graded (locally) by
#: test_catalog.py; here it shows that the engines agree on right, wrong and hostile submissions
#: alike, within the CI budget: every fourteenth mistake (spread over the exercises), one correct
#: alternative and the first two attacks.
CATALOG = contracts()[ASSIGNMENT].entries()
CATALOG_SUBSET = ([e for e in CATALOG if e.kind == "mistake"][::14] + [e for e in CATALOG if e.kind == "correct"][1:2]
                  + [e for e in CATALOG if e.kind == "attack"][:2])
MAX_TASKS = 3  # the cluster's workers are recycled after this many tasks in the comparison


# --------------------------------------------------------------------------- the servers


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    reason = postgres_unavailable()
    if reason:
        pytest.skip(f"no PostgreSQL server for this test: {reason}")
    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dask() -> Iterator[DaskServers]:
    servers = DaskServers().start_scheduler()
    try:
        servers.start_worker("worker-1")
        servers.start_worker("worker-2")
        servers.wait_for_workers(2)
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return released_course(tmp_path_factory)


@pytest.fixture(scope="module")
def pg_released(postgres: PostgresServer, released: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A PostgreSQL database holding the released assignment, to copy from (``CREATE DATABASE ... TEMPLATE``)."""
    course = new_course(released, tmp_path_factory.mktemp("pg-release") / "course", samples=False)
    use_database(course, postgres.create_database("released"))
    generate_release(course, ASSIGNMENT)
    return "released"


def use_database(course: Course, url: str) -> Course:
    """Point ``course``'s gradebook at ``url`` (the one line an instructor adds)."""
    config = course.root / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.CourseDirectory.db_url = {url!r}\n")
    (course.root / "gradebook.db").unlink(missing_ok=True)
    return Course(course.root)


def pg_course(postgres: PostgresServer, template: str, released: Path, dest: Path, name: str) -> Course:
    """A course copy whose gradebook is a new PostgreSQL database copied from ``template``."""
    postgres.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return use_database(new_course(released, dest), postgres.url(name))


def cluster_env() -> dict[str, str]:
    """``course``'s environment, with a short connection timeout so an unreachable scheduler fails fast."""
    return dict(course_env(), DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT="5s")


# --------------------------------------------------------------------------- what a gradebook holds


def _query(db_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(db_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql)).fetchall()]
    finally:
        engine.dispose()


def journal(course: Course) -> dict[str, str]:
    try:
        return dict(_query(course.db_url, "SELECT student, graded_at FROM course_grade_journal"))
    except SQLAlchemyError:  # no journal yet
        return {}


def scores_by_part(course: Course) -> dict[str, dict[str, float | None]]:
    return {row.student: dict(row.parts) for row in student_scores(course.db_url, ASSIGNMENT)}


def check_gradebook(course: Course, expected: dict[str, float]) -> None:
    """Every student exactly once, with one grade per graded cell and the right score; files in place."""
    per_student = dict(_query(course.db_url,
                              "SELECT student_id, COUNT(*) FROM submitted_assignment GROUP BY student_id"))
    cells = _query(course.db_url, "SELECT COUNT(*) FROM grade_cells")[0][0]
    grades = dict(_query(course.db_url,
                         "SELECT submitted_assignment.student_id, COUNT(grade.id) FROM grade "
                         "JOIN submitted_notebook ON grade.notebook_id = submitted_notebook.id "
                         "JOIN submitted_assignment ON submitted_notebook.assignment_id = submitted_assignment.id "
                         "GROUP BY submitted_assignment.student_id"))
    assert per_student == {student: 1 for student in expected}
    assert grades == {student: cells for student in expected}
    assert set(journal(course)) == set(expected)
    assert {row.student: row.autograded for row in student_scores(course.db_url, ASSIGNMENT)} == expected
    for student in expected:
        assert (course.folder("autograded", ASSIGNMENT, student) / "exercises.ipynb").is_file()
        assert (course.folder("feedback", ASSIGNMENT, student) / "exercises.html").is_file()


def add_slow_students(course: Course, count: int, expected: dict[str, float]) -> dict[str, float]:
    """``count`` correct submissions that each sleep in a cell of their own; their expected scores added."""
    release = _read(release_notebook(course))
    answers = reference_answers(source_notebook(course))
    for number in range(count):
        nb = fill(release, answers, {"ex1_code": f"import time\ntime.sleep({SLOW_SECONDS})"})
        write_submission(nb, course.root / "submitted", f"slow{number}", ASSIGNMENT)
        expected = {**expected, f"slow{number}": SAMPLE_SCORES["alice"]}
    return expected


def _read(path: Path) -> object:
    import nbformat

    return nbformat.read(path, as_version=4)


def wait_until(condition: object, what: str, process: subprocess.Popen[str] | None = None,
               seconds: float = 300) -> None:
    deadline = time.monotonic() + seconds
    while not condition():  # type: ignore[operator]
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the grader ended before {what}: {process.communicate()}")
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


# --------------------------------------------------------------------------- the same grades


def test_cluster_and_postgresql_grade_as_local_grading(postgres: PostgresServer, pg_released: str, dask: DaskServers,
                                                       released: Path, tmp_path: Path) -> None:
    local = new_course(released, tmp_path / "local")
    remote = pg_course(postgres, pg_released, released, tmp_path / "remote", "same_grades")
    release = _read(release_notebook(local))
    answers = reference_answers(source_notebook(local))
    for entry in CATALOG_SUBSET:
        nb = fill(release, {**(answers if entry.base == "reference" else {}), **entry.answers},
                  dict(entry.extra_cells))
        for course in (local, remote):
            write_submission(nb, course.root / "submitted", entry.id, ASSIGNMENT)
    from distributed import Client

    with Client(dask.address, set_as_default=False) as client:
        before = set(client.run(os.getpid).values())
        here = grade_all(local, ASSIGNMENT, options=BatchOptions(progress=False))
        there = grade_all(remote, ASSIGNMENT, options=BatchOptions(progress=False, scheduler=dask.address,
                                                                   max_tasks=MAX_TASKS))
        client.wait_for_workers(2)
        after = set(client.run(os.getpid).values())
    students = set(SAMPLE_SCORES) | {e.id for e in CATALOG_SUBSET}
    assert not here.errors and not there.errors
    assert set(here.graded) | set(here.failed) == students
    assert (sorted(there.graded), there.failed) == (sorted(here.graded), here.failed)
    assert scores_by_part(remote) == scores_by_part(local)
    assert {row.student: row.autograded for row in student_scores(local.db_url, ASSIGNMENT)
            if row.student in SAMPLE_SCORES} == SAMPLE_SCORES
    # one of the two workers graded at least half the batch, more than MAX_TASKS: it was replaced
    assert before - after, "no worker was recycled after its bounded number of tasks"
    # formgrader's API (what its pages call) reads the PostgreSQL gradebook
    api = remote.api()
    listed = {s["student"]: s["score"] for s in api.get_submissions(ASSIGNMENT)}
    assert listed == {row.student: row.total for row in student_scores(remote.db_url, ASSIGNMENT)}
    mine = [s for s in api.get_student_submissions("alice") if s["name"] == ASSIGNMENT]  # (every unit is listed)
    assert [listed["alice"]] == [s["score"] for s in mine]


# --------------------------------------------------------------------------- nothing lost


def _worker_pids(address: str) -> dict[str, int]:
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        return client.run(os.getpid)


def _busy_worker(address: str) -> str | None:
    """A worker that is grading a submission now."""
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        busy = [w for w, keys in client.processing().items() if any(str(k).startswith("course-grade-") for k in keys)]
    return busy[0] if busy else None


def test_a_killed_dask_worker_loses_nothing(dask: DaskServers, released: Path, tmp_path: Path) -> None:
    course = new_course(released, tmp_path / "course")
    expected = add_slow_students(course, 2, SAMPLE_SCORES)
    grader = subprocess.Popen(course_command(course.root, "grade", ASSIGNMENT, "--quiet", "--scheduler", dask.address),
                              cwd=course.root, env=cluster_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        wait_until(lambda: len(journal(course)) >= 1 and _busy_worker(dask.address), "a worker grades", grader)
        victim = _busy_worker(dask.address)
        assert victim is not None
        os.kill(_worker_pids(dask.address)[victim], signal.SIGKILL)  # its nanny starts a new one
        out, err = grader.communicate(timeout=600)
    finally:
        if grader.poll() is None:
            grader.kill()
    assert grader.returncode == 0, err
    assert f"graded {len(expected)} of {len(expected)}" in out and "0 not graded" in out, out
    check_gradebook(course, expected)
    dask.wait_for_workers(2)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_killed_coordinator_resumes(backend: str, request: pytest.FixtureRequest, dask: DaskServers,
                                      released: Path, tmp_path: Path) -> None:
    if backend == "postgresql":
        postgres = request.getfixturevalue("postgres")
        course = pg_course(postgres, request.getfixturevalue("pg_released"), released, tmp_path / "c", "resume")
    else:
        course = new_course(released, tmp_path / "c")
    expected = add_slow_students(course, 2, SAMPLE_SCORES)
    grader = subprocess.Popen(course_command(course.root, "grade", ASSIGNMENT, "--quiet", "--scheduler", dask.address),
                              cwd=course.root, env=cluster_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(journal(course)) >= 2, "two submissions are stored", grader)
    finally:
        grader.send_signal(signal.SIGKILL)
        grader.wait()
    before = journal(course)
    assert 2 <= len(before) < len(expected), "the kill did not land mid-batch"
    again = run_course(course.root, "grade", ASSIGNMENT, "--quiet", "--scheduler", dask.address, timeout=600)
    assert f"{len(before)} skipped" in again.stdout, again.stdout
    after = journal(course)
    assert {s: after[s] for s in before} == before, "a submission stored before the kill was graded again"
    check_gradebook(course, expected)


def test_a_second_coordinator_waits_on_postgresql(postgres: PostgresServer, pg_released: str, dask: DaskServers,
                                                  released: Path, tmp_path: Path) -> None:
    course = pg_course(postgres, pg_released, released, tmp_path / "c", "two_graders")
    expected = add_slow_students(course, 1, SAMPLE_SCORES)

    def holds_lock() -> bool:
        return bool(postgres.execute("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted", "two_graders"))

    command = course_command(course.root, "grade", ASSIGNMENT, "--quiet", "--scheduler", dask.address)
    first = subprocess.Popen(command, cwd=course.root, env=cluster_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    second = None
    try:
        wait_until(holds_lock, "the first grader holds the lock", first)
        second = subprocess.Popen(command, cwd=course.root, env=cluster_env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        out1, err1 = first.communicate(timeout=600)
        out2, err2 = second.communicate(timeout=600)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.kill()
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert "waiting for it" in err2, err2
    assert f"graded {len(expected)} of {len(expected)}" in out1, out1
    assert "graded 0 of 0 submission(s)" in out2 and f"{len(expected)} skipped" in out2, out2
    check_gradebook(course, expected)


# --------------------------------------------------------------------------- bad input


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*")) if p.is_file()}


def _refused(course: Course, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """``course grade`` (the command's ``main``, in this process) must refuse: exit 2, one line, nothing written."""
    import dask.config

    before = _snapshot(course.root)
    capsys.readouterr()
    with dask.config.set({"distributed.comm.timeouts.connect": "5s"}):
        status = main(["--root", str(course.root), "grade", ASSIGNMENT, "--quiet", *args])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert status == 2, (out, err)
    assert len(lines) == 1 and lines[0].startswith("course: "), err
    assert _snapshot(course.root) == before, "a refused run wrote something"
    return lines[0]


def test_bad_scheduler_addresses_are_refused(released: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    course = new_course(released, tmp_path / "c")
    unreachable = _refused(course, capsys, "--scheduler", f"tcp://127.0.0.1:{free_port()}")
    assert "cannot reach the Dask scheduler" in unreachable
    assert "not a Dask scheduler address" in _refused(course, capsys, "--scheduler", "http://127.0.0.1:8786")


def test_bad_gradebook_urls_are_refused(postgres: PostgresServer, released: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    unreachable = use_database(new_course(released, tmp_path / "a"),
                               f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere")
    assert "cannot open the gradebook at postgresql+psycopg://postgres@127.0.0.1" in _refused(unreachable, capsys)
    missing = use_database(new_course(released, tmp_path / "b"), postgres.url("no_such_database"))
    assert "no_such_database" in _refused(missing, capsys)
    no_driver = use_database(new_course(released, tmp_path / "c"), "postgresql+psycopg2://postgres@127.0.0.1/x")
    assert "must name the psycopg driver" in _refused(no_driver, capsys)
    other = use_database(new_course(released, tmp_path / "d"), "mysql://root@127.0.0.1/grades")
    assert "does not support" in _refused(other, capsys)


def test_a_worker_with_another_course_version_is_refused(released: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """A worker whose helper package differs (an older copy first on its path): refused by fingerprint."""
    import fisher_helpers

    origin = Path(fisher_helpers.__file__).parent
    older = tmp_path / "older"
    shutil.copytree(origin, older / "fisher_helpers", ignore=shutil.ignore_patterns("__pycache__"))
    with open(older / "fisher_helpers" / "__init__.py", "a") as init:
        init.write("\n# an older version of the helpers\n")
    other = DaskServers().start_scheduler()
    try:
        other.start_worker("good")
        other.start_worker("older", env=dict(os.environ, PYTHONPATH=str(older)))
        other.wait_for_workers(2)
        course = new_course(released, tmp_path / "c")
        message = _refused(course, capsys, "--scheduler", other.address)
        assert "has another version of the course (fisher_helpers differ)" in message
    finally:
        other.stop()

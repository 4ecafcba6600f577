"""Real servers for the cluster tests: a PostgreSQL from Debian's packages, a Dask scheduler and workers.

All listen on loopback only, on free ports, from private temporary folders, and are stopped by
whoever started them (the fixtures of ``tests/test_cluster.py``, the benchmark). Nothing here
mocks anything: the tests talk to the same servers an instructor would run.

PostgreSQL refuses to run as root: as root, its folder is given to the ``postgres`` user (which
Debian's package creates) and ``initdb`` and ``postgres`` run as that user.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds a server gets to start before the test gives up on it.
START_SECONDS = 120


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def postgres_binaries() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (the newest version), or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if found:
        return found[-1].parent
    which = shutil.which("postgres")
    return Path(which).parent if which else None


def postgres_unavailable() -> str | None:
    """Why a PostgreSQL server cannot be started here (None: it can)."""
    if postgres_binaries() is None:
        return "PostgreSQL is not installed (Debian: apt-get install postgresql; CI runs .ci/install-postgresql.sh)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no `postgres` user to run the server as"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed (bash scripts/bootstrap.sh)"
    return None


@dataclass
class PostgresServer:
    """A throw-away PostgreSQL server on 127.0.0.1 (:meth:`start`, :meth:`stop`)."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="course-pg-")))
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    def _user(self) -> dict[str, int]:
        if os.geteuid() != 0:
            return {}
        entry = pwd.getpwnam("postgres")
        return {"user": entry.pw_uid, "group": entry.pw_gid}

    def start(self) -> PostgresServer:
        binaries = postgres_binaries()
        assert binaries is not None, postgres_unavailable()
        user = self._user()
        self.folder.chmod(0o755)
        (self.folder / "socket").mkdir()
        if user:
            for path in (self.folder, self.folder / "socket"):
                os.chown(path, user["user"], user["group"])
        log = self.folder / "initdb.log"
        with open(log, "wb") as out:
            done = subprocess.run([str(binaries / "initdb"), "-D", str(self.folder / "data"), "-U", "postgres",
                                   "-A", "trust", "-E", "UTF8", "--no-sync"], stdout=out, stderr=subprocess.STDOUT,
                                  cwd=self.folder, **user)  # type: ignore[call-overload]
        assert done.returncode == 0, f"initdb failed: {log.read_text()[-2000:]}"
        self.port = free_port()
        server_log = open(self.folder / "server.log", "wb")
        self.process = subprocess.Popen(
            [str(binaries / "postgres"), "-D", str(self.folder / "data"), "-k", str(self.folder / "socket"),
             "-h", "127.0.0.1", "-p", str(self.port), "-c", "fsync=off", "-c", "synchronous_commit=off",
             "-c", "full_page_writes=off", "-c", "max_connections=60"],
            stdout=server_log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True,
            **user)  # type: ignore[call-overload]
        server_log.close()
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                self.execute("SELECT 1")
                return self
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("PostgreSQL did not start: "
                                       + (self.folder / "server.log").read_text()[-2000:]) from None
                time.sleep(0.2)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str, database: str = "postgres") -> list[tuple[object, ...]]:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                             autocommit=True, connect_timeout=5) as connection:
            cursor = connection.execute(statement)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str) -> str:
        """A new, empty database; its URL."""
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class DaskServers:
    """A ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1, each a subprocess of its own."""

    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="course-dask-")))
    address: str = ""
    scheduler: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def _spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.folder / f"{name}.log", "wb")
        try:
            return subprocess.Popen([sys.executable, *args], stdout=log, stderr=subprocess.STDOUT, cwd=self.folder,
                                    env=env or dict(os.environ), start_new_session=True)
        finally:
            log.close()

    def start_scheduler(self) -> DaskServers:
        scheduler_file = self.folder / "scheduler.json"
        self.scheduler = self._spawn("scheduler", [
            "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
            "--scheduler-file", str(scheduler_file)])
        deadline = time.monotonic() + START_SECONDS
        while not self.address:
            with contextlib.suppress(OSError, ValueError, KeyError):
                self.address = json.loads(scheduler_file.read_text())["address"]
            if not self.address:
                assert self.scheduler.poll() is None, self.log("scheduler")
                assert time.monotonic() < deadline, "the Dask scheduler did not start"
                time.sleep(0.2)
        return self

    def start_worker(self, name: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """One ``dask worker`` (a nanny and its worker process), one thread, on loopback."""
        worker = self._spawn(name, [
            "-m", "distributed.cli.dask_worker", self.address, "--host", "127.0.0.1", "--nthreads", "1",
            "--no-dashboard", "--memory-limit", "0", "--name", name], env)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_SECONDS, set_as_default=False) as client:
            client.wait_for_workers(count, timeout=START_SECONDS)

    def log(self, name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / f"{name}.log").read_text()[-3000:]
        return ""

    def stop_worker(self, worker: subprocess.Popen[bytes]) -> None:
        _stop(worker)
        if worker in self.workers:
            self.workers.remove(worker)

    def stop(self) -> None:
        for worker in list(self.workers):
            self.stop_worker(worker)
        if self.scheduler is not None:
            _stop(self.scheduler)
        shutil.rmtree(self.folder, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop a server and everything it started (its session), politely first."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()

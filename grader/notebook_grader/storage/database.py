"""Which database holds the gradebook, and what a PostgreSQL one needs beyond nbgrader.

The course's ``c.CourseDirectory.db_url`` names the gradebook. Two kinds are supported:

* ``sqlite:///FILE`` (the default): one file on the grading machine; its lock is a file lock
  beside it (:class:`~notebook_grader.storage.store.GradebookLock`);
* ``postgresql+psycopg://USER[:PASSWORD]@HOST[:PORT]/DATABASE``: a server several instructors
  (and formgrader) share. nbgrader talks to it through SQLAlchemy and psycopg 3. Its lock is a
  PostgreSQL advisory lock (:class:`AdvisoryLock`), held by a connection of its own: the server
  releases it when that connection ends, however the grader ends, as the kernel releases a
  file lock. The nbgrader schema and the journal are created by the lock's holder, once
  (:func:`ensure_schema`): nbgrader creates missing tables whenever it opens a gradebook, and
  two processes doing so at once on an empty PostgreSQL database collide.

(SQLAlchemy 2.1 takes ``postgresql://`` to mean psycopg too.) Anything else (another database,
another PostgreSQL driver, a typo) is refused with
one line before anything is opened: :func:`check_db_url`.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from notebook_grader.errors import CourseError

#: The advisory lock's two keys: a namespace of the engine's own, and which lock in it. Advisory
#: locks belong to one database, so these name "the gradebook in this database".
LOCK_NAMESPACE = 0x6E6267  # "nbg"
GRADING_LOCK = 1
SCHEMA_LOCK = 2
SUPPORTED = "sqlite:///FILE or postgresql+psycopg://USER@HOST:PORT/DATABASE"


class GradebookUrlError(CourseError):
    """The gradebook URL is malformed or names a database the engine does not support."""


class GradebookUnavailable(CourseError):
    """The gradebook's database server cannot be reached or refuses the connection."""


def shown(db_url: str) -> str:
    """``db_url`` as it may be printed: without its password."""
    try:
        return make_url(db_url).render_as_string(hide_password=True)
    except ArgumentError:
        return db_url.split("@")[-1] if "@" in db_url else db_url


def check_db_url(db_url: str) -> str:
    """The gradebook's backend, ``"sqlite"`` or ``"postgresql"``; :class:`GradebookUrlError` otherwise."""
    try:
        url = make_url(db_url)
    except ArgumentError:
        raise GradebookUrlError(f"the gradebook URL {shown(db_url)!r} is not a database URL; use {SUPPORTED} "
                                "(c.CourseDirectory.db_url in nbgrader_config.py)") from None
    backend, driver = url.get_backend_name(), url.get_driver_name()
    if backend == "sqlite" and url.database:
        return "sqlite"
    if backend == "postgresql" and driver == "psycopg" and url.database:
        return "postgresql"
    if backend == "postgresql":
        raise GradebookUrlError(f"the gradebook URL {shown(db_url)!r} must name the psycopg driver and a "
                                "database: postgresql+psycopg://USER@HOST:PORT/DATABASE")
    raise GradebookUrlError(f"the gradebook URL {shown(db_url)!r} names a database the grader does not support; "
                            f"use {SUPPORTED}")


def is_postgresql(db_url: str) -> bool:
    """Whether ``db_url`` is a (supported) PostgreSQL gradebook; raises for an unsupported URL."""
    return check_db_url(db_url) == "postgresql"


def _first_line(exc: BaseException) -> str:
    original = getattr(exc, "orig", None) or exc
    lines = [line.strip() for line in str(original).splitlines() if line.strip()]
    return lines[0] if lines else type(original).__name__


def connect(db_url: str, purpose: str) -> tuple[Engine, Connection]:
    """An engine of one connection to ``db_url``, and that connection (autocommit), named for ``purpose``.

    A server that cannot be reached, or refuses us, is :class:`GradebookUnavailable`.
    """
    name = f"course {purpose} pid {os.getpid()} on {socket.gethostname()}"[:63]
    engine = create_engine(db_url, poolclass=NullPool, connect_args={"application_name": name, "connect_timeout": 10})
    try:
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    except SQLAlchemyError as exc:
        engine.dispose()
        raise GradebookUnavailable(f"cannot open the gradebook at {shown(db_url)}: {_first_line(exc)}") from None
    return engine, connection


class AdvisoryLock:
    """The grading lock of a PostgreSQL gradebook: a session advisory lock (see the module).

    The same interface as the SQLite gradebook's file lock: ``acquire``, ``release``, ``holder``.
    """

    def __init__(self, db_url: str) -> None:
        self.db_url = db_url
        self._engine: Engine | None = None
        self._connection: Connection | None = None

    def _open(self) -> Connection:
        if self._connection is None:
            self._engine, self._connection = connect(self.db_url, "grade")
        return self._connection

    def holder(self) -> str:
        """Who holds the lock: the ``application_name`` of its connection (pid and host)."""
        with contextlib.suppress(SQLAlchemyError):
            name = self._open().execute(text(
                "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = :ns AND l.objid = :key AND l.objsubid = 2 "
                "AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"),
                {"ns": LOCK_NAMESPACE, "key": GRADING_LOCK}).scalar()
            if name:
                return str(name).split(" pid ", 1)[-1]
        return "?"

    def acquire(self, *, wait: bool = True) -> bool:
        """Take the lock; return False if it was busy and ``wait`` is False."""
        connection = self._open()
        keys = {"ns": LOCK_NAMESPACE, "key": GRADING_LOCK}
        try:
            if connection.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), keys).scalar():
                return True
            if not wait:
                return False
            connection.execute(text("SELECT pg_advisory_lock(:ns, :key)"), keys)
        except SQLAlchemyError as exc:
            self.release()
            raise GradebookUnavailable(f"lost the gradebook at {shown(self.db_url)}: {_first_line(exc)}") from None
        return True

    def release(self) -> None:
        """Close the lock's connection: the server releases the lock with it."""
        if self._connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self._connection.close()
            self._connection = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def ensure_schema(db_url: str, extra: tuple[str, ...] = ()) -> bool:
    """Create nbgrader's tables, its schema version, and the ``extra`` statements' tables, if missing.

    What nbgrader creates when it opens an empty gradebook, without its ``alembic heads``
    subprocess (:func:`schema_head`). On PostgreSQL it runs in one transaction under a
    transaction advisory lock, so one process creates the schema and any other waits and then
    finds it; a SQLite gradebook is one file, created under the course's file lock by whoever
    calls this. Returns whether it created nbgrader's tables.
    """
    postgresql = is_postgresql(db_url)
    connection: Connection | None = None
    if postgresql:
        engine, connection = connect(db_url, "schema")
        connection.execution_options(isolation_level="READ COMMITTED")
    else:
        engine = create_engine(db_url, poolclass=NullPool)
    try:
        if connection is None:
            connection = engine.connect()
        with connection.begin():
            if postgresql:
                connection.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                                   {"ns": LOCK_NAMESPACE, "key": SCHEMA_LOCK})
            created = _create_schema(connection)
            for statement in extra:
                connection.execute(text(statement))
        return created
    except SQLAlchemyError as exc:
        raise GradebookUnavailable(f"cannot set up the gradebook at {shown(db_url)}: {_first_line(exc)}") from None
    finally:
        if connection is not None:
            connection.close()
        engine.dispose()


def _create_schema(connection: Connection) -> bool:
    """nbgrader's tables and schema version, in a database with no table yet (inside a transaction)."""
    from nbgrader.api import Base

    if inspect(connection).get_table_names():
        return False
    Base.metadata.create_all(bind=connection)
    connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
    connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": schema_head()})
    return True


@functools.cache
def schema_head() -> str:
    """The schema version nbgrader stamps a new gradebook with: the head of its Alembic migrations.

    nbgrader's own ``get_alembic_version`` runs ``alembic heads`` in a subprocess, which imports
    nbgrader all over again (about 3 s); Alembic's ``ScriptDirectory`` reads the same migration
    folder in this process (milliseconds once nbgrader is imported).
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    if head is None:  # nbgrader ships its migrations; none would be a broken install
        raise GradebookUnavailable(f"nbgrader's schema migrations are missing from {ALEMBIC_DIR}")
    return head


"""Caches for work nbgrader and nbconvert redo, identically, for every submission.

A grading worker runs nbgrader's converters once per submission. Two steps redo work whose
result cannot differ between submissions:

* nbgrader validates each cell's metadata with ``jsonschema.validate(instance, schema)``,
  which first checks the (constant) schema itself and builds a new validator: about a
  tenth of a second per notebook. :func:`cache_schema_validators` keeps one validator per
  schema, known by its JSON text (nbgrader reads the schema file into a new dict for every
  validator it makes, once per submission and step). It also remembers the metadata it
  found valid (by their JSON text, per schema): nbgrader checks every graded cell's
  metadata three times per submission (``CheckCellMetadata`` runs first, after overwriting
  the cells, and last), and the metadata are the release's own in every submission.
  Metadata not seen before (a student's edits) are validated exactly as before, and an
  invalid one is never remembered.
* nbconvert compiles the feedback page's Jinja templates (about thirty files) for every
  page. :func:`cache_templates` gives its template environments a shared in-memory bytecode
  cache, keyed by template name and source checksum, so a changed template is recompiled.
* nbconvert colours every code cell with Pygments, though most cells (the tests, the
  explorations) are the same in every submission. :func:`cache_highlighting` remembers the
  HTML of a cell's code, keyed by everything the colouring depends on (the code, the
  language, the formatter's options and the cell's ``magics_language``).

* nbgrader commits to the task's gradebook after every cell it scores (about sixty commits a
  submission), and SQLite makes each commit durable. A task's gradebook is a private scratch
  copy, replaced by a fresh copy of the template for the next task (a task that dies is
  retried from the template; :func:`replace_scratch_gradebook`), so
  :func:`relax_scratch_gradebooks` turns durability off for SQLite files under the scratch
  folder only: ``synchronous=OFF`` and the rollback journal in memory. The course's own
  gradebook, written by the coordinator, is never affected.
* nbgrader opens its gradebook about a dozen times per submission, and each ``Gradebook``
  makes a new SQLAlchemy engine, whose cache of compiled SQL starts empty: every query is
  compiled again, dozens per submission. :func:`share_scratch_engines` hands nbgrader one
  engine per scratch gradebook file (a worker grades into the same file each time), so the
  compiled SQL is kept. nbgrader still closes each ``Gradebook`` as before: closing disposes
  of the engine's connections, and the next use opens new ones on whatever file is there;
  :func:`replace_scratch_gradebook` closes them all before it replaces the file.
* each ``Gradebook`` nbgrader opens also lists the file's tables and checks every table of its
  schema again (``inspect`` and ``create_all``: a dozen queries), though only nbgrader writes a
  scratch file between two of its own replacements. :func:`known_scratch_schemas` does those
  checks once per scratch file: after the first ``create_all`` on a shared scratch engine, the
  next ones are skipped until :func:`replace_scratch_gradebook` puts a new file in place. Any
  other database is checked as before.

A worker also copies notebooks faster (:mod:`.notebook_copies`) and reads the dates of its
kernel's messages faster (:mod:`.message_dates`), applied with these.

All are installed in worker processes only (:func:`install`), and change no output; the two
rendering caches are also installed in the coordinator before it forks its workers
(:func:`install_rendering`), so that the workers inherit one warm-up.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from typing import Any

from notebook_grader.patches import Patch, apply
from notebook_grader.patches.message_dates import FAST_MESSAGE_DATES
from notebook_grader.patches.notebook_copies import FAST_NOTEBOOK_COPIES

#: Real paths (each ending in a separator) of the folders whose SQLite files are task scratch gradebooks.
_scratch_folders: set[str] = set()
_lock = threading.Lock()


def install(scratch: str | None = None) -> None:
    """Install every cache, and the shortcuts for gradebooks under ``scratch`` if given (idempotent).

    Each goes through :func:`notebook_grader.patches.apply`: version- and attribute-guarded,
    logged, and off when ``NOTEBOOK_GRADER_NO_PATCHES=1``.
    """
    with _lock:
        apply(*PATCHES)
        if scratch is not None:
            relax_scratch_gradebooks(scratch)  # a SQLAlchemy event listener: a public hook, not a patch


#: The caches of a feedback page's rendering: the coordinator installs these before it forks its
#: workers, renders the release once (``run/warm_up.py``), and each worker inherits the result.
RENDERING = ("cache_templates", "cache_highlighting")


def install_rendering() -> None:
    """Install only the caches of a feedback page's rendering (:data:`RENDERING`), each guarded."""
    with _lock:
        apply(*(patch for patch in PATCHES if patch.name in RENDERING))


def cache_schema_validators() -> None:
    import json

    import jsonschema
    from nbgrader.nbgraderformat import common

    # nbgrader loads its schema from its JSON file into a new dict for every validator it makes
    # (one per submission and step), so a schema is known by its text, not by the object:
    # ``texts`` maps a schema object seen lately (held, so its id is not reused) to that text.
    texts: dict[int, tuple[dict[str, Any], str]] = {}
    validators: dict[str, Any] = {}
    valid: set[tuple[str, str]] = set()

    def schema_text(schema: dict[str, Any]) -> str:
        known = texts.get(id(schema))
        if known is not None and known[0] is schema:
            return known[1]
        if len(texts) >= SCHEMA_OBJECTS_HELD:
            texts.clear()
        text = json.dumps(schema, sort_keys=True)
        texts[id(schema)] = (schema, text)
        return text

    class _CachedJsonSchema:
        """The ``jsonschema`` module as nbgrader's format checks use it, with cached validators."""

        ValidationError = jsonschema.ValidationError

        @staticmethod
        def validate(instance: Any, schema: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            if args or kwargs:
                jsonschema.validate(instance, schema, *args, **kwargs)
                return
            try:
                key = schema_text(schema)
            except (TypeError, ValueError):  # not a plain JSON schema: nbgrader's own call
                jsonschema.validate(instance, schema)
                return
            validator = validators.get(key)
            if validator is None:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                validator = validators[key] = cls(json.loads(key))
            try:
                text = json.dumps(instance, sort_keys=True, allow_nan=False)
            except (TypeError, ValueError):  # not plain JSON: no key, validated every time
                text = None
            if text is not None and (key, text) in valid:
                return
            error = jsonschema.exceptions.best_match(validator.iter_errors(instance))
            if error is not None:
                raise error
            if text is not None and len(valid) < VALID_METADATA_REMEMBERED:
                valid.add((key, text))

        def __getattr__(self, name: str) -> Any:
            return getattr(jsonschema, name)

    common.jsonschema = _CachedJsonSchema()


def cache_templates() -> None:
    from jinja2 import BytecodeCache
    from nbconvert.exporters.templateexporter import TemplateExporter

    class _MemoryBytecodeCache(BytecodeCache):
        def __init__(self) -> None:
            self.store: dict[str, bytes] = {}

        def load_bytecode(self, bucket: Any) -> None:
            code = self.store.get(bucket.key)
            if code is not None:
                bucket.bytecode_from_string(code)

        def dump_bytecode(self, bucket: Any) -> None:
            self.store[bucket.key] = bucket.bytecode_to_string()

    shared = _MemoryBytecodeCache()
    create = TemplateExporter._create_environment

    def _create_environment(self: TemplateExporter) -> Any:
        environment = create(self)
        environment.bytecode_cache = shared
        return environment

    TemplateExporter._create_environment = _create_environment  # type: ignore[method-assign]


def cache_highlighting(size: int = 8192) -> None:
    import json
    from collections import OrderedDict

    from nbconvert.filters.highlight import Highlight2HTML

    cache: OrderedDict[str, str] = OrderedDict()
    highlight = Highlight2HTML.__call__

    def __call__(self: Highlight2HTML, source: str, language: str | None = None, metadata: Any = None) -> str:
        # Of the cell's metadata, colouring reads only ``magics_language`` (nbconvert's
        # ``_pygments_highlight``); the rest (execution timestamps...) differs in every submission.
        magics = metadata.get("magics_language") if metadata else None
        key = json.dumps([source, language or self.pygments_lexer, self.extra_formatter_options, magics],
                         sort_keys=True, default=str)
        html = cache.get(key)
        if html is None:
            html = cache[key] = highlight(self, source, language, metadata)
            if len(cache) > size:
                cache.popitem(last=False)
        else:
            cache.move_to_end(key)
        return html

    Highlight2HTML.__call__ = __call__  # type: ignore[method-assign]


def _add_scratch(scratch: str) -> None:
    _scratch_folders.add(os.path.realpath(scratch) + os.sep)


def _in_scratch(path: str) -> bool:
    """Whether the file ``path`` lies in a scratch folder (a task's throw-away gradebook)."""
    real = os.path.realpath(path)
    return any(real.startswith(folder) for folder in _scratch_folders)


def _relax(dbapi_connection: Any, _record: Any) -> None:
    """On each new SQLite connection to a scratch gradebook: no fsync, the journal in memory."""
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "_sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    try:
        files = [row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"]
        if files and files[0] and _in_scratch(files[0]):
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA journal_mode=MEMORY")
    finally:
        cursor.close()


def relax_scratch_gradebooks(scratch: str) -> None:
    """SQLite databases under ``scratch`` trade durability for speed (see the module's description)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _add_scratch(scratch)
    if not event.contains(Engine, "connect", _relax):
        event.listen(Engine, "connect", _relax)


_scratch_engines: dict[str, Any] = {}
#: ids of the shared scratch engines whose current file has nbgrader's whole schema, with its tables.
_known_schemas: dict[int, list[str]] = {}


def _shared(engine: Any) -> bool:
    return any(engine is shared for shared in _scratch_engines.values())


def known_scratch_schemas() -> None:
    """nbgrader checks a scratch gradebook's schema once per file (see the module's description)."""
    import nbgrader.api

    metadata = nbgrader.api.Base.metadata
    if getattr(metadata.create_all, "_knows_scratch_schemas", False):
        return
    real_create_all, real_inspect = metadata.create_all, nbgrader.api.inspect

    def create_all(bind: Any = None, tables: Any = None, checkfirst: bool = True) -> None:
        if tables is None and checkfirst and id(bind) in _known_schemas and _shared(bind):
            return
        real_create_all(bind=bind, tables=tables, checkfirst=checkfirst)
        if tables is None and _shared(bind):
            _known_schemas[id(bind)] = real_inspect(bind).get_table_names()

    class _KnownTables:
        def __init__(self, names: list[str]) -> None:
            self.names = names

        def get_table_names(self) -> list[str]:
            return list(self.names)

    def inspect(subject: Any, raiseerr: bool = True) -> Any:
        names = _known_schemas.get(id(subject))
        if names is not None and _shared(subject):
            return _KnownTables(names)
        return real_inspect(subject, raiseerr)

    create_all._knows_scratch_schemas = True  # type: ignore[attr-defined]
    metadata.create_all = create_all
    nbgrader.api.inspect = inspect


def replace_scratch_gradebook(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Make ``dest`` a fresh copy of the gradebook ``source``: the start of every task.

    First every connection of the shared engines is closed: nbgrader closes each gradebook it
    opens, but a task that failed half-way may not have, and a connection to the old file must
    not serve the next task. The engines, and their compiled SQL, are kept. The old file (and
    any journal SQLite left beside it) is removed, not overwritten, so a connection that
    escaped this still sees only the file it was opened on.
    """
    for engine in _scratch_engines.values():
        engine.dispose()
    _known_schemas.clear()
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(f"{os.fspath(dest)}{suffix}")
    shutil.copyfile(source, dest)


def share_scratch_engines(scratch: str | None = None) -> None:
    """nbgrader gets one engine per SQLite file under the scratch folders (see the module's description).

    ``scratch`` is added to those folders; nbgrader's ``create_engine`` is wrapped once, whatever
    the number of folders.
    """
    import nbgrader.api
    from sqlalchemy.engine import Engine, make_url

    if scratch is not None:
        _add_scratch(scratch)
    create = nbgrader.api.create_engine
    if getattr(create, "_shares_scratch_engines", False):
        return

    def create_engine(url: Any, *args: Any, **kwargs: Any) -> Engine:
        parsed = make_url(url)
        database = parsed.database if parsed.get_backend_name() == "sqlite" else None
        if not database or not _in_scratch(database):
            return create(url, *args, **kwargs)
        key = repr((str(parsed), args, sorted(kwargs.items())))
        engine = _scratch_engines.get(key)
        if engine is None:
            engine = _scratch_engines[key] = create(url, *args, **kwargs)
        return engine

    create_engine._shares_scratch_engines = True  # type: ignore[attr-defined]
    nbgrader.api.create_engine = create_engine


#: At most this many valid metadata texts are remembered per worker (a notebook has about a hundred cells).
VALID_METADATA_REMEMBERED = 4096

#: At most this many schema objects are held (with their text) per worker before the table is emptied.
SCHEMA_OBJECTS_HELD = 64

NBGRADER = ">=0.9.6,<0.10"
NBCONVERT = ">=7.16,<8"

PATCHES = (
    Patch("cache_schema_validators", "nbgrader", NBGRADER,
          ("nbgrader.nbgraderformat.common:jsonschema",), cache_schema_validators),
    Patch("cache_templates", "nbconvert", NBCONVERT,
          ("nbconvert.exporters.templateexporter:TemplateExporter._create_environment",), cache_templates),
    Patch("cache_highlighting", "nbconvert", NBCONVERT,
          ("nbconvert.filters.highlight:Highlight2HTML.__call__",), cache_highlighting),
    Patch("share_scratch_engines", "nbgrader", NBGRADER, ("nbgrader.api:create_engine",), share_scratch_engines),
    Patch("known_scratch_schemas", "nbgrader", NBGRADER,
          ("nbgrader.api:inspect", "nbgrader.api:Base.metadata.create_all"), known_scratch_schemas),
    FAST_NOTEBOOK_COPIES,
    FAST_MESSAGE_DATES,
)

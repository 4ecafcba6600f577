"""Import-time work a command does not need, deferred until something uses it.

Two libraries every nbgrader command imports do expensive work as they are imported, for
features no course command uses. Each is replaced, before anything imports it, by a stand-in
module that loads the real one on first use (any attribute, or a call of one of the functions
its importers take from it), so a use that does need it works exactly as before and pays the
cost then. Applied by the ``course`` command at start (:func:`install`).

* ``jsonschema`` (imported by ``nbformat``) imports ``rfc3987_syntax`` when it is installed, to
  check the "iri" string format. That module builds an Earley parser for the whole RFC 3987
  grammar as it is imported: about 1.5 s of CPU, the largest single cost of starting ``course
  grade``. Nothing a course command does checks string formats (nbformat validates notebooks
  without a format checker); the package is installed only because the Jupyter server's event
  system asks for jsonschema's format extras (:data:`DEFER_IRI_GRAMMAR`).
* ``nbgrader.utils`` takes three archive functions from ``setuptools.archive_util``, which
  imports setuptools and its ``pkg_resources``: about 0.16 s, for ``nbgrader zip_collect``'s
  extraction alone (:data:`DEFER_ARCHIVE_UTIL`; ``course grade --zip`` extracts with its own
  code, :mod:`notebook_grader.batch.zip_intake`).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any

from notebook_grader.patches import Patch, apply

IRI_MODULE = "rfc3987_syntax"
ARCHIVE_MODULE = "setuptools.archive_util"


def _load_real(name: str) -> types.ModuleType:
    """The real module ``name``, imported now (replacing the stand-in in ``sys.modules``)."""
    current = sys.modules.get(name)
    if current is not None and not getattr(current, "__deferred__", False):
        return current
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def _installed(name: str) -> bool:
    """Whether module ``name`` can be imported, found without importing its parent packages
    (``importlib.util.find_spec`` of a submodule imports its package)."""
    top, *rest = name.split(".")
    spec = importlib.util.find_spec(top)
    for part in rest:
        if spec is None or spec.submodule_search_locations is None:
            return False
        spec = importlib.machinery.PathFinder.find_spec(part, list(spec.submodule_search_locations))
    return spec is not None


def _forward(name: str, function: str) -> Any:
    def forward(*args: Any, **kwargs: Any) -> Any:
        return getattr(_load_real(name), function)(*args, **kwargs)

    forward.__name__ = forward.__qualname__ = function
    return forward


def defer(name: str, functions: tuple[str, ...]) -> None:
    """Put a stand-in for module ``name`` in ``sys.modules``: it imports the real module on first use.

    ``functions`` are the names importers take from it with ``from name import ...``: each is a
    function that loads the real module and calls its namesake. Any other attribute loads it too.
    Nothing is done if the module is already imported or is not installed.
    """
    if name in sys.modules or not _installed(name):
        return
    stand_in = types.ModuleType(name, "Stand-in: the real module is imported on first use.")

    def __getattr__(attribute: str) -> Any:
        if attribute.startswith("__"):  # the import system's own questions (``__path__``...) load nothing
            raise AttributeError(attribute)
        return getattr(_load_real(name), attribute)

    stand_in.__dict__.update({f: _forward(name, f) for f in functions}, __deferred__=True, __getattr__=__getattr__)
    sys.modules[name] = stand_in


def defer_iri_grammar() -> None:
    """Replace ``rfc3987_syntax`` by a stand-in (jsonschema takes ``is_valid_syntax`` from it)."""
    defer(IRI_MODULE, ("is_valid_syntax",))


def defer_archive_util() -> None:
    """Replace ``setuptools.archive_util`` by a stand-in (nbgrader takes its three unpackers)."""
    defer(ARCHIVE_MODULE, ("unpack_archive", "unpack_tarfile", "unpack_zipfile"))


DEFER_IRI_GRAMMAR = Patch("defer_iri_grammar", "rfc3987-syntax", ">=1.1,<1.2", (), defer_iri_grammar)
#: The three functions are in every setuptools from 65 (Python 3.11's own) to 84 (the newest checked).
DEFER_ARCHIVE_UTIL = Patch("defer_archive_util", "setuptools", ">=65,<85", (), defer_archive_util)

DEFERRALS = (DEFER_IRI_GRAMMAR, DEFER_ARCHIVE_UTIL)


def install() -> list[str]:
    """Apply the deferrals (guarded like every patch); call before anything imports nbformat or nbgrader."""
    return apply(*DEFERRALS)

"""Import-time work a command does not need, deferred until something uses it.

``jsonschema`` (imported by ``nbformat``, so by every nbgrader command) imports
``rfc3987_syntax`` when it is installed, to check the "iri" string format. That module builds an
Earley parser for the whole RFC 3987 grammar as it is imported: about 1.5 s of CPU, the largest
single cost of starting ``course grade``, paid again by every command. Nothing a course command
does checks string formats (nbformat validates notebooks without a format checker), and the
package is installed only because the Jupyter server's event system asks for jsonschema's format
extras.

:data:`DEFER_IRI_GRAMMAR` puts a stand-in module in its place before anything imports it. The
stand-in loads the real module on first use (any attribute, or a call of ``is_valid_syntax``,
the one function jsonschema takes from it), so a format check that does need it works exactly as
before, and pays the cost then. Applied by the ``course`` command at start (:func:`install`).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

from notebook_grader.patches import Patch, apply

IRI_MODULE = "rfc3987_syntax"


def _load_real() -> types.ModuleType:
    """The real module, imported now (replacing the stand-in in ``sys.modules``)."""
    current = sys.modules.get(IRI_MODULE)
    if current is not None and not getattr(current, "__deferred__", False):
        return current
    sys.modules.pop(IRI_MODULE, None)
    return importlib.import_module(IRI_MODULE)


def defer_iri_grammar() -> None:
    """Replace ``rfc3987_syntax`` by a stand-in that imports it on first use (see the module)."""
    if IRI_MODULE in sys.modules or importlib.util.find_spec(IRI_MODULE) is None:
        return
    stand_in = types.ModuleType(IRI_MODULE, "Stand-in: the real module is imported on first use.")

    def is_valid_syntax(term: str, value: str) -> Any:
        return _load_real().is_valid_syntax(term, value)

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):  # the import system's own questions (``__path__``...) load nothing
            raise AttributeError(name)
        return getattr(_load_real(), name)

    stand_in.__dict__.update(__deferred__=True, is_valid_syntax=is_valid_syntax, __getattr__=__getattr__)
    sys.modules[IRI_MODULE] = stand_in


DEFER_IRI_GRAMMAR = Patch("defer_iri_grammar", "rfc3987-syntax", ">=1.1,<1.2", (), defer_iri_grammar)


def install() -> list[str]:
    """Apply the deferrals (guarded like every patch); call before anything imports nbformat."""
    return apply(DEFER_IRI_GRAMMAR)

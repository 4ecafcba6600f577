"""Deep copies of notebooks without ``copy.deepcopy``'s bookkeeping for every node.

nbconvert and nbformat deep-copy the whole notebook again and again while a worker grades one
submission: ``Exporter.from_notebook_node`` copies it, ``Exporter._preprocess`` copies it and
``nbformat.validator.normalize`` copies it once more, for the autograded notebook and again for
the feedback page, and ``nbformat.writes`` copies it before it writes. Each copy of a unit 1
notebook with its outputs took 2.5 ms (eight copies a submission: a twelfth of a worker's CPU),
most of it ``copy.deepcopy``'s memo of every node and its call per value.

A notebook is a tree of JSON values: ``NotebookNode`` objects, lists, plain dicts (inside
lists), strings, numbers, booleans and ``None``. :func:`fast_notebook_copies` gives
``NotebookNode.__deepcopy__`` a walk over exactly those types that builds the same tree with the
same types as nbformat's own method: a plain dict held directly by a node becomes a
``NotebookNode`` (as nbformat's ``__setitem__`` makes it), one inside a list stays a plain dict.
Any other value (a subclass, a tuple, an object some preprocessor stored) is copied by
``copy.deepcopy`` with the caller's memo, as before. The one difference: a container that
appears twice in the tree (JSON never produces one) becomes two equal copies rather than one
shared copy. The test compares both methods' copies of every notebook of the course, node by
node and type by type.
"""

from __future__ import annotations

import copy
from typing import Any

from notebook_grader.patches import Patch

#: Values a copy returns as they are (immutable).
ATOMIC = frozenset({str, int, float, bool, type(None)})


def fast_notebook_copies() -> None:
    """Replace ``NotebookNode.__deepcopy__`` by a walk over JSON types (see the module)."""
    from nbformat.notebooknode import NotebookNode, from_dict

    original = NotebookNode.__deepcopy__
    atomic = ATOMIC
    node_type = NotebookNode
    set_item = dict.__setitem__

    def plain(value: Any, memo: dict[int, Any]) -> Any:
        """A copy of ``value`` where plain dicts stay plain dicts (inside a list)."""
        kind = type(value)
        if kind in atomic:
            return value
        if kind is list:
            return [plain(item, memo) for item in value]
        if kind is dict:
            return {key: plain(item, memo) for key, item in value.items()}
        if kind is node_type:
            return node(value, memo)
        return copy.deepcopy(value, memo)

    def node(source: Any, memo: dict[int, Any]) -> Any:
        """A copy of ``source``, a ``NotebookNode`` itself (every caller checks the exact type)."""
        new = node_type()
        for key, value in source.items():
            kind = type(value)
            if kind in atomic:
                set_item(new, key, value)
            elif kind is node_type:
                set_item(new, key, node(value, memo))
            elif kind is list:
                set_item(new, key, [plain(item, memo) for item in value])
            elif kind is dict:  # nbformat's __setitem__ turns a dict held by a node into a node
                set_item(new, key, from_dict(plain(value, memo)))
            else:
                new[key] = copy.deepcopy(value, memo)
        extra = source.__dict__
        if extra.keys() != {"_allownew"} or extra["_allownew"] is not True:
            new.__dict__.update(copy.deepcopy(extra, memo))
        return new

    def __deepcopy__(self: Any, memo: dict[int, Any]) -> Any:
        if type(self) is not node_type:  # a subclass: nbformat's own method
            return original(self, memo)
        return node(self, memo)

    __deepcopy__.__doc__ = original.__doc__
    __deepcopy__.__wrapped__ = original  # type: ignore[attr-defined]
    NotebookNode.__deepcopy__ = __deepcopy__  # type: ignore[method-assign]


NBFORMAT = ">=5.10,<6"

FAST_NOTEBOOK_COPIES = Patch("fast_notebook_copies", "nbformat", NBFORMAT,
                             ("nbformat.notebooknode:NotebookNode.__deepcopy__",), fast_notebook_copies)

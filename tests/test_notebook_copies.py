"""The fast deep copy of notebooks (patches/notebook_copies.py) builds what nbformat's own builds."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.notebooknode import NotebookNode

from notebook_grader.patches import notebook_copies

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for folder in ("source", "release", "submitted") for p in (REPO / folder).rglob("*.ipynb"))


@pytest.fixture
def copies(monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any]:
    """nbformat's ``__deepcopy__`` and the fast one, with the class restored afterwards."""
    original = getattr(NotebookNode.__deepcopy__, "__wrapped__", NotebookNode.__deepcopy__)
    monkeypatch.setattr(NotebookNode, "__deepcopy__", original)
    notebook_copies.fast_notebook_copies()
    fast = NotebookNode.__deepcopy__
    assert fast is not original
    return original, fast


def _copy(node: Any, method: Any) -> Any:
    NotebookNode.__deepcopy__ = method
    return copy.deepcopy(node)


def _same_tree(a: Any, b: Any, path: str = "") -> None:
    """Equal values of the same type at every position, and the same instance state on nodes."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} against {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), path
        if isinstance(a, NotebookNode):
            assert a.__dict__ == b.__dict__, path
        for key in a:
            _same_tree(a[key], b[key], f"{path}/{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same_tree(x, y, f"{path}[{i}]")
    else:
        assert a == b, path


def _no_shared_containers(source: Any, copied: Any) -> None:
    if isinstance(source, (dict, list)):
        assert source is not copied
        for x, y in zip(source.values() if isinstance(source, dict) else source,
                        copied.values() if isinstance(copied, dict) else copied, strict=True):
            _no_shared_containers(x, y)


def test_the_course_has_notebooks_with_outputs_to_copy() -> None:
    assert len(NOTEBOOKS) >= 10
    outputs = [o for p in NOTEBOOKS for c in nbformat.read(p, as_version=4).cells for o in c.get("outputs", [])]
    assert any("image/png" in o.get("data", {}) for o in outputs)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_notebook_of_the_course_copies_the_same(path: Path, copies: tuple[Any, Any]) -> None:
    original, fast = copies
    nb = nbformat.read(path, as_version=4)
    expected, got = _copy(nb, original), _copy(nb, fast)
    _same_tree(expected, got)
    _no_shared_containers(nb, got)
    assert nbformat.writes(got) == nbformat.writes(nb)


class Marker:
    """A value no JSON reader makes."""

    def __init__(self, items: list[int]) -> None:
        self.items = items

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Marker) and other.items == self.items


class Sub(NotebookNode):
    pass


def test_every_kind_of_value_copies_as_nbformat_copies_it(copies: tuple[Any, Any]) -> None:
    original, fast = copies
    node = NotebookNode(cells=[])
    dict.__setitem__(node, "held_dict", {"a": {"b": [{"c": 1}]}})  # a dict held by a node: becomes a node
    node.cells.append({"plain": {"inner": [1, 2.5, None, True]}})  # a dict in a list: stays a dict
    node.cells.append(NotebookNode(source="x", outputs=[NotebookNode(data={"text/plain": "1"})]))
    node.cells.append([["nested", {"k": NotebookNode(v=1)}]])
    dict.__setitem__(node, "pair", ("a", ["b"]))
    dict.__setitem__(node, "marker", Marker([1, 2]))
    dict.__setitem__(node, "sub", Sub(x=[1]))
    frozen = NotebookNode(k=1)
    object.__setattr__(frozen, "_allownew", False)
    dict.__setitem__(node, "frozen", frozen)
    expected, got = _copy(node, original), _copy(node, fast)
    _same_tree(expected, got)
    assert type(got["held_dict"]["a"]["b"][0]) is NotebookNode  # from_dict converts inside lists too
    assert type(got.cells[0]) is dict and type(got.cells[1]) is NotebookNode
    assert got.marker == node.marker and got.marker is not node.marker and got.marker.items is not node.marker.items
    assert got.pair[1] is not node.pair[1]
    assert type(got.sub) is Sub and got.sub.x is not node.sub.x
    with pytest.raises(KeyError):  # the copy keeps the node's instance state
        got.frozen["new"] = 1
    _no_shared_containers({k: v for k, v in node.items() if k not in ("marker", "pair")},
                          {k: v for k, v in got.items() if k not in ("marker", "pair")})


def test_a_subclass_is_copied_by_nbformats_method(copies: tuple[Any, Any]) -> None:
    original, fast = copies
    sub = Sub(a={"b": 1}, c=[{"d": 2}])
    _same_tree(_copy(sub, original), _copy(sub, fast))

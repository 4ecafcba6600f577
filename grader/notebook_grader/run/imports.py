"""What an assignment's kernels import, found without running anything.

A kernel parent imports these modules once, so that every kernel forked from it starts with
them loaded. The list is read from the released notebooks' code (JSON and ``ast`` only: the
``course grade`` command asks before it has imported nbformat or nbgrader, to start the kernel
parents first) and from the course's helper packages.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
from pathlib import Path


def assignment_imports(release: Path, helper_packages: tuple[str, ...] = ()) -> tuple[str, ...]:
    """What the released notebooks in ``release`` and the ``helper_packages`` import, sorted.

    The kernels import these before a student's code runs. The coordinator asks before it builds
    the template (the workers start meanwhile); the template records the same list.
    """
    imports = {name for path in sorted(release.glob("*.ipynb")) for name in notebook_imports(path)}
    for package in helper_packages:
        imports |= {package} | package_imports(package)
    return tuple(sorted(imports))


def notebook_imports(path: Path) -> list[str]:
    """The modules a notebook's code cells import (absolute imports, best effort).

    ``from scipy import special`` counts ``scipy.special`` too: it may be a module.
    """
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
        sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                   for c in cells if c.get("cell_type") == "code"]
    except Exception:  # not a readable notebook: nothing to preload from it
        return []
    return sorted({name for source in sources for name in source_imports(source)})


def source_imports(source: str) -> set[str]:
    """The absolute imports anywhere in Python ``source`` (inside functions too)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


@functools.cache
def package_imports(name: str) -> frozenset[str]:
    """What an installed package's own modules import (the helpers import some lazily).

    Read once per process: ``course grade`` asks three times before its first submission (the
    kernel parent, the workers' preload list, the template), and parsing the helpers is most of it.
    The list only says what to preload: a helper edited since costs a kernel an import, nothing else.
    """
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    found: set[str] = set()
    for folder in spec.submodule_search_locations:
        for path in Path(folder).rglob("*.py"):
            found |= source_imports(path.read_text(errors="replace"))
    return frozenset(module for module in found if not module.startswith(name))

"""The course's version as a grading machine has it installed: a fingerprint to compare machines by.

A submission graded on another machine must get the grade it would get here. What travels with
each task (the assignment's template: the course's ``nbgrader_config.py``, its ``source/`` and
release, the gradebook's definition of the assignment) is the coordinator's by construction and
has a fingerprint of its own (:func:`notebook_grader.run.template.build_template`). What does not
travel is what the worker has installed: the engine's code, the course's helper packages (the
kernel half of the test-cell protocol among them), and the libraries that run and judge a
notebook. :func:`environment_fingerprint` hashes those; :func:`course_fingerprint` joins it to
the template's, which is what a worker must match before it grades (see
:mod:`notebook_grader.batch.dask_runner`).
"""

from __future__ import annotations

import hashlib
import importlib.util
import platform
from importlib import metadata
from pathlib import Path

#: Libraries whose version can change how a notebook runs or is judged.
LIBRARIES = ("nbgrader", "nbconvert", "nbclient", "nbformat", "jupyter_client", "ipykernel", "ipython",
             "numpy", "scipy", "SQLAlchemy")
ENGINE = "notebook_grader"


def _package_files(name: str) -> list[Path]:
    """The files of the installed package ``name`` (sources and data, no bytecode), sorted."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        return []
    if not spec.submodule_search_locations:
        return [Path(spec.origin)] if spec.origin else []
    files: list[Path] = []
    for folder in spec.submodule_search_locations:
        root = Path(folder)
        files += [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix not in (".pyc", ".pyo")]
    return sorted(files)


def _package_digest(name: str) -> str:
    """A digest of package ``name``'s files by their path inside it; ``missing`` if not installed."""
    spec = importlib.util.find_spec(name)
    if spec is None:
        return "missing"
    digest = hashlib.sha256()
    roots = [Path(p) for p in spec.submodule_search_locations or ()] or ([Path(spec.origin).parent]
                                                                          if spec.origin else [])
    for path in _package_files(name):
        relative = next((path.relative_to(r) for r in roots if path.is_relative_to(r)), Path(path.name))
        digest.update(f"{relative}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def environment_parts(helper_packages: tuple[str, ...]) -> dict[str, str]:
    """What :func:`environment_fingerprint` hashes, by name (for a message that says what differs)."""
    parts = {"python": ".".join(platform.python_version_tuple()[:2]), ENGINE: _package_digest(ENGINE)}
    for package in helper_packages:
        parts[package] = _package_digest(package)
    for library in LIBRARIES:
        try:
            parts[library] = metadata.version(library)
        except metadata.PackageNotFoundError:
            parts[library] = "missing"
    return parts


def environment_fingerprint(helper_packages: tuple[str, ...]) -> str:
    """A digest of this machine's engine, helper packages and grading libraries (see the module)."""
    digest = hashlib.sha256()
    for name, value in sorted(environment_parts(helper_packages).items()):
        digest.update(f"{name}={value}\n".encode())
    return digest.hexdigest()[:16]


def course_fingerprint(template_fingerprint: str, environment: str) -> str:
    """The course's version: its template (config, source, release) and the environment that grades it."""
    return hashlib.sha256(f"{template_fingerprint}|{environment}".encode()).hexdigest()[:16]


def differences(mine: dict[str, str], theirs: dict[str, str]) -> list[str]:
    """The names whose values differ between two :func:`environment_parts`, sorted."""
    return sorted(name for name in set(mine) | set(theirs) if mine.get(name) != theirs.get(name))

"""Every runtime patch of a library, in one guarded place.

The engine changes a few library internals at run time, each to skip work whose result cannot
differ between submissions (see :mod:`.speedups` and :mod:`.kernel_tuning` for why each is
safe). None changes a grade, and grading works the same without them, only slower. Each
patch is a :class:`Patch` and is applied only through :func:`apply`, which

* skips every patch when ``NOTEBOOK_GRADER_NO_PATCHES=1`` is set (the equivalence tests run
  both ways);
* checks that the installed version of the patched package is in the range the patch was
  tested with, and that every attribute it replaces exists; otherwise it skips the patch and
  logs why;
* logs what it applied, and records it in :data:`APPLIED` (name -> "applied" or the reason it
  was skipped).

A subclass that overrides a library's private method is guarded the same way
(:mod:`.overrides`): it asks :func:`in_use` and, when the guard says no, does what the
library's own method does.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

from packaging.specifiers import SpecifierSet

log = logging.getLogger(__name__)

#: Set to 1 to run with no patch at all.
SWITCH = "NOTEBOOK_GRADER_NO_PATCHES"

#: What :func:`apply` did with each patch it was given, by name.
APPLIED: dict[str, str] = {}


@dataclass(frozen=True)
class Patch:
    """One runtime change of a library: what it replaces, where it was tested, how to apply it."""

    name: str
    package: str  # the distribution whose code is replaced
    tested: str  # the version range it was tested with, e.g. ">=0.9.6,<0.10"
    targets: tuple[str, ...]  # "module:attribute.path" that must exist before it is replaced
    apply: Callable[[], None] | None = None  # None: an override, used through in_use()
    switchable: bool = True  # False: only the version and attribute guard apply (not the switch)


def disabled() -> bool:
    """Whether the switch turns every patch off."""
    return os.environ.get(SWITCH, "").strip().lower() in ("1", "true", "yes", "on")


def _exists(target: str) -> bool:
    module_name, _, path = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        return False
    for part in filter(None, path.split(".")):
        if not hasattr(obj, part):
            return False
        obj = getattr(obj, part)
    return True


def why_not(patch: Patch) -> str | None:
    """Why ``patch`` must not be applied here (None: it may be)."""
    if patch.switchable and disabled():
        return f"{SWITCH} is set"
    try:
        installed = version(patch.package)
    except PackageNotFoundError:
        return f"{patch.package} is not installed"
    if installed not in SpecifierSet(patch.tested):
        return f"{patch.package} {installed} is outside the tested range {patch.tested}"
    missing = [t for t in patch.targets if not _exists(t)]
    if missing:
        return f"{', '.join(missing)} no longer exist(s)"
    return None


def apply(*patches: Patch) -> list[str]:
    """Apply each of ``patches`` that passes its guard (once per process); returns those applied."""
    applied = []
    for patch in patches:
        if patch.name in APPLIED:
            continue
        reason = why_not(patch)
        if reason is None:
            assert patch.apply is not None, f"{patch.name} is an override: ask in_use()"
            patch.apply()
            APPLIED[patch.name] = "applied"
            applied.append(patch.name)
            log.debug("patch %s applied (%s %s)", patch.name, patch.package, patch.tested)
        else:
            APPLIED[patch.name] = f"skipped: {reason}"
            log.warning("patch %s skipped: %s", patch.name, reason)
    return applied


def in_use(patch: Patch) -> bool:
    """Whether the override ``patch`` may be used here (decided once per process, and logged)."""
    if patch.name not in APPLIED:
        reason = why_not(patch)
        APPLIED[patch.name] = "in use" if reason is None else f"skipped: {reason}"
        if reason is not None:
            log.warning("override %s not used: %s", patch.name, reason)
    return APPLIED[patch.name] == "in use"

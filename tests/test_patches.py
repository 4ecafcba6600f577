"""The guard every runtime patch of a library goes through (notebook_grader.patches)."""

from __future__ import annotations

import pytest

from notebook_grader import patches
from notebook_grader.patches import Patch
from notebook_grader.patches.kernel_tuning import IPYKERNEL, IPYTHON
from notebook_grader.patches.speedups import PATCHES

pytestmark = pytest.mark.unit


def _patch(name: str, calls: list[str], **kwargs) -> Patch:
    fields = {"package": "nbgrader", "tested": ">=0.9,<0.10", "targets": ("nbgrader.api:Gradebook",)}
    fields.update(kwargs)
    return Patch(name, apply=lambda: calls.append(name), **fields)


@pytest.fixture(autouse=True)
def _fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(patches, "APPLIED", {})
    monkeypatch.delenv(patches.SWITCH, raising=False)


def test_a_patch_applies_once_in_its_tested_range() -> None:
    calls: list[str] = []
    assert patches.apply(_patch("ok", calls)) == ["ok"]
    assert patches.apply(_patch("ok", calls)) == []
    assert calls == ["ok"] and patches.APPLIED["ok"] == "applied"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"tested": ">=99"}, "outside the tested range"),
    ({"targets": ("nbgrader.api:Gradebook.no_such_method",)}, "no longer exist"),
    ({"targets": ("no_such_module:thing",)}, "no longer exist"),
    ({"package": "no-such-distribution"}, "is not installed"),
])
def test_a_patch_outside_its_guard_is_skipped_and_says_why(kwargs: dict, reason: str) -> None:
    calls: list[str] = []
    assert patches.apply(_patch("guarded", calls, **kwargs)) == []
    assert calls == [] and reason in patches.APPLIED["guarded"]


def test_one_switch_turns_every_patch_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(patches.SWITCH, "1")
    calls: list[str] = []
    assert patches.apply(_patch("a", calls), _patch("b", calls)) == []
    assert calls == [] and all(patches.SWITCH in why for why in patches.APPLIED.values())


def test_every_patch_of_the_engine_passes_its_guard_on_the_installed_set() -> None:
    """constraints.txt's versions are the tested ones: an upgrade outside a range fails here first."""
    for patch in PATCHES:
        assert patches.why_not(patch) is None, patch.name
    from importlib.metadata import version

    from packaging.specifiers import SpecifierSet

    assert version("ipython") in SpecifierSet(IPYTHON)
    assert version("ipykernel") in SpecifierSet(IPYKERNEL)


def test_an_override_is_used_only_inside_its_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    inside = Patch("inside", "nbgrader", ">=0.9,<0.10", ("nbgrader.api:Gradebook",))
    outside = Patch("outside", "nbgrader", ">=99", ("nbgrader.api:Gradebook",))
    assert patches.in_use(inside) and not patches.in_use(outside)
    assert "outside the tested range" in patches.APPLIED["outside"]
    monkeypatch.setenv(patches.SWITCH, "1")
    switchable = Patch("switchable", "nbgrader", ">=0.9,<0.10", ("nbgrader.api:Gradebook",))
    essential = Patch("essential", "nbgrader", ">=0.9,<0.10", ("nbgrader.api:Gradebook",), switchable=False)
    assert not patches.in_use(switchable) and patches.in_use(essential)


def test_every_override_of_the_engine_passes_its_guard_on_the_installed_set() -> None:
    from notebook_grader.patches.overrides import OVERRIDES

    for override in OVERRIDES:
        assert patches.why_not(override) is None, override.name

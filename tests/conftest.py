"""Shared pytest plumbing for the course's tests."""

from __future__ import annotations

import pytest

_SUMMARY = pytest.StashKey[dict[str, list[str]]]()


@pytest.fixture(scope="session")
def terminal_summary(request: pytest.FixtureRequest) -> dict[str, list[str]]:
    """Sections (title -> lines) to print in pytest's terminal summary, e.g. a kill rate."""
    return request.config.stash.setdefault(_SUMMARY, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for title, lines in config.stash.get(_SUMMARY, {}).items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


def pytest_configure(config: pytest.Config) -> None:
    """nbgrader shells out to ``alembic``: this environment's tools come first on PATH."""
    import os
    import sys
    from pathlib import Path

    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")


_SANDBOX_REASON = pytest.StashKey[str | None]()


def _sandbox_unavailable() -> str | None:
    """Why the sandbox cannot start on this host (None: it works)."""
    import os
    import tempfile

    from notebook_grader.isolation import sandbox

    with tempfile.TemporaryDirectory() as hidden:
        try:
            show = sandbox.runtime_paths([hidden, os.path.expanduser("~")], ("cell_checks",))
            sandbox.probe(show, hidden=hidden)
        except sandbox.SandboxUnavailable as exc:
            return str(exc)
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``sandbox`` are skipped, with the reason, on a host where it cannot start."""
    if not any(item.get_closest_marker("sandbox") for item in items):
        return
    reason = config.stash.setdefault(_SANDBOX_REASON, _sandbox_unavailable())
    if reason is None:
        return
    skip = pytest.mark.skip(reason=f"the sandbox cannot start on this host: {reason}")
    for item in items:
        if item.get_closest_marker("sandbox"):
            item.add_marker(skip)

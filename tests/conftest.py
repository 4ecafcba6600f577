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

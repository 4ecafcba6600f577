"""Shared pytest plumbing for the course's tests."""

from __future__ import annotations

import pytest

_SUMMARY = pytest.StashKey[dict[str, list[str]]]()


@pytest.fixture(scope="session")
def terminal_summary(request: pytest.FixtureRequest) -> dict[str, list[str]]:
    """Sections (title -> lines) to print in pytest's terminal summary, e.g. a kill rate."""
    return request.config.stash.setdefault(_SUMMARY, {})


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for title, lines in sorted(config.stash.get(_SUMMARY, {}).items()):
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)


class ModuleTimes:
    """Adds up the seconds (setup, call and teardown) of each scheduling scope (:func:`_scope`), and
    prints them with the terminal summary. Under pytest-xdist the controller receives every
    worker's reports, so the sums cover the whole run."""

    SHOWN = 12

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scope = _scope(report.nodeid)
        self.seconds[scope] = self.seconds.get(scope, 0.0) + report.duration

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.seconds:
            return
        total = sum(self.seconds.values())
        terminalreporter.section(f"test-seconds by module: {total:.0f} in all")
        for scope, seconds in sorted(self.seconds.items(), key=lambda item: -item[1])[:self.SHOWN]:
            terminalreporter.write_line(f"{seconds:7.1f} s  {100 * seconds / total:4.1f}%  {scope}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Under pytest-xdist, a worker sends its summary sections to the controller, which prints them."""
    output = getattr(session.config, "workeroutput", None)
    if output is not None:
        output["terminal_summary"] = dict(session.config.stash.get(_SUMMARY, {}))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """pytest-xdist's controller: keep what a finished worker's tests put in the summary."""
    summary = node.config.stash.setdefault(_SUMMARY, {})
    summary.update(getattr(node, "workeroutput", {}).get("terminal_summary", {}))


def pytest_configure(config: pytest.Config) -> None:
    """nbgrader shells out to ``alembic``: this environment's tools come first on PATH. The
    time of each module is added up where the summary is printed (not in a pytest-xdist worker)."""
    import os
    import sys
    from pathlib import Path

    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(ModuleTimes(), "module-times")


#: The units whose catalog tests (``tests/test_catalog.py``) share one graded batch per unit.
_UNITS = ("fisher_information", "fisher_estimation", "fisher_deep_learning")


def _scope(nodeid: str) -> str:
    """Which tests one pytest-xdist worker runs together: a module's (its servers and graded
    batches start once), except that a catalog test goes with its unit's, so that the three
    units' catalogs (a minute and more each) can run on different workers."""
    module, _, rest = nodeid.partition("::")
    if module.endswith("test_catalog.py") and "[" in rest:
        unit = rest.split("[", 1)[1].split("-", 1)[0].rstrip("]")
        if unit in _UNITS:
            return f"{module}[{unit}]"
    return module


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """With ``--dist loadscope`` (scripts/test.sh), tests are sent to workers by :func:`_scope`."""
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleOrUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _scope(nodeid)

    return ModuleOrUnitScheduling(config, log)


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

"""A real JupyterLab and a real Chromium for the browser tests (``tests/test_browser.py``).

:class:`Lab` starts ``jupyter lab`` on loopback, on a free port, with a token and its own
configuration, runtime, settings and workspace folders (nothing of the user's Jupyter set-up is
read or written), rooted at a course copy, from which nbgrader's server extensions read the
course's ``nbgrader_config.py``. :func:`launch_chromium` starts Debian's Chromium
(``/usr/bin/chromium``, installed by ``.ci/install-chromium.sh``; never a downloaded browser
build) through Playwright. :class:`Steps` names each step of a flow and writes a screenshot of
the page when a step fails (and of chosen steps when it succeeds), into ``test-artifacts/browser/``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.course_copy import REPO

CHROMIUM = Path("/usr/bin/chromium")
#: Flags for a quiet, offline-capable headless Chromium in a container running as root.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = REPO / "test-artifacts" / "browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    """``jupyter lab`` serving ``root`` on 127.0.0.1 with a token, until :meth:`stop`."""

    def __init__(self, root: Path, home: Path, config: Path | None = None) -> None:
        """``config``: the Jupyter configuration folder (default: ``home/config``), kept as it is
        except for the settings below (a student's, written by ``course student-config``)."""
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.home = home
        config = config or home / "config"
        env = dict(os.environ)
        env.update({
            "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
            "HOME": str(home),
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
            "IPYTHONDIR": str(home / "ipython"),
            "MPLCONFIGDIR": str(home / "matplotlib"),
        })
        env.pop("JUPYTER_PATH", None)
        for folder in ("runtime", "settings", "workspaces", "ipython", "matplotlib"):
            (home / folder).mkdir(parents=True, exist_ok=True)
        # The news pop-up would cover the page; every cell is kept in the page (no windowing), so a
        # test can read each cell's prompt and output.
        (config / "labconfig").mkdir(parents=True, exist_ok=True)
        page_config = config / "labconfig" / "page_config.json"
        settings = json.loads(page_config.read_text()) if page_config.exists() else {}
        settings.setdefault("disabledExtensions", {})["@jupyterlab/apputils-extension:announcements"] = True
        page_config.write_text(json.dumps(settings))
        notebook_settings = home / "settings" / "@jupyterlab" / "notebook-extension"
        notebook_settings.mkdir(parents=True, exist_ok=True)
        (notebook_settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
        self.log = (home / "lab.log").open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={self.token}",
             f"--ServerApp.root_dir={root}"],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        try:
            self._wait_until_up()
        except BaseException:
            self.stop()  # a server that never answered is not left running
            raise

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"http://127.0.0.1:{self.port}/{path}{sep}token={self.token}"

    def _wait_until_up(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited {self.process.returncode}: {self.log_text()[-2000:]}")
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                with urllib.request.urlopen(self.url("api/status"), timeout=5) as reply:
                    if reply.status == 200:
                        return
            time.sleep(0.5)
        raise RuntimeError(f"jupyter lab did not answer in {timeout} s: {self.log_text()[-2000:]}")

    def log_text(self) -> str:
        self.log.flush()
        return (self.home / "lab.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop the server (it shuts its kernels down), and make sure it is gone."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.log.close()


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if not CHROMIUM.exists():
        return f"Debian's chromium is not installed at {CHROMIUM} (CI installs it: .ci/install-chromium.sh)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (requirements.txt)"
    return None


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """A Playwright browser driving Debian's Chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def cut_the_network(context: Any) -> list[str]:
    """Refuse every request that leaves the machine (anything but loopback and files); the
    refused addresses are collected in the returned list."""
    refused: list[str] = []

    def route(route: Any) -> None:
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "file:", "data:", "blob:", "about:")):
            route.continue_()
        else:
            refused.append(url)
            route.abort("internetdisconnected")

    context.route("**/*", route)
    return refused


class Steps:
    """Named steps of one flow: a screenshot on failure, and on success where asked."""

    def __init__(self, page: Any, flow: str) -> None:
        self.page = page
        self.flow = flow
        self.folder = ARTIFACTS
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob(f"{flow}-*.png"):
            old.unlink()

    def shot(self, name: str) -> Path:
        path = self.folder / f"{self.flow}-{name}.png"
        with contextlib.suppress(Exception):
            self.page.screenshot(path=str(path), full_page=False)
        return path

    @contextlib.contextmanager
    def step(self, name: str, *, keep: bool = False) -> Iterator[None]:
        try:
            yield
        except BaseException:
            self.shot(f"FAILED-{name}")
            raise
        if keep:
            self.shot(name)


"""Sandboxed kernels for nbgrader's own doors: ``nbgrader autograde`` and formgrader's buttons.

``course grade``'s workers keep a kernel parent for their whole life and hand every
:class:`~notebook_grader.pipeline.sandboxed_execute.SandboxedExecute` its settings. nbgrader's
apps (the command line, ``NbGraderAPI.autograde`` behind formgrader's Autograde button) build
the preprocessor from the course's configuration alone; for them :func:`standalone_kernels`
checks that the sandbox works, starts a kernel parent, and gives the kernels the same sandbox
and the same limits as ``course grade``: the course directory, the instructor's home and the
gradebook are out of sight. Where the sandbox cannot work it raises
:class:`~notebook_grader.isolation.sandbox.SandboxUnavailable` with the fix, and nbgrader records
the notebook as not graded: no student code ever runs unsandboxed through these doors.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from traitlets.config import Config

from notebook_grader.isolation import sandbox
from notebook_grader.isolation.kernel_manager import KernelParent, KernelSettings, kernel_env, parent_env
from notebook_grader.isolation.scratch import fast_temp_dir
from notebook_grader.settings import grading_settings


def hidden_paths(config: Config) -> tuple[str, ...]:
    """What a kernel must never see: the course directory and the instructor's home."""
    root = config.CourseDirectory.get("root") or os.getcwd()
    home = os.path.expanduser("~")
    return tuple(p for p in (str(Path(root).resolve()), home) if p not in ("/", ""))


@contextlib.contextmanager
def standalone_kernels(config: Config) -> Iterator[KernelSettings]:
    """Kernel settings for one notebook, with a kernel parent of its own (see the module)."""
    from notebook_grader.run.imports import package_imports

    settings = grading_settings(config)
    work = Path(tempfile.mkdtemp(prefix="nbgrader-sandbox-", dir=fast_temp_dir()))
    parent = None
    try:
        hidden = hidden_paths(config)
        show = sandbox.runtime_paths([*hidden, str(work)], settings.helper_packages)
        sandbox.probe(show, hidden=hidden[0])
        preload = sorted({name for package in settings.helper_packages
                          for name in (package, *package_imports(package))})
        parent = KernelParent(preload, parent_env())
        connection_dir = work / "k"
        connection_dir.mkdir()
        sandbox.hand_over(connection_dir)
        yield KernelSettings(parent=parent, connection_dir=str(connection_dir), limits=settings.limits(),
                             show=show, env=kernel_env(sandbox.SANDBOX_HOME))
    finally:
        if parent is not None:
            parent.close()
        shutil.rmtree(work, ignore_errors=True)

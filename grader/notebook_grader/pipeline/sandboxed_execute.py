"""nbgrader's ``Execute`` for untrusted notebooks: sandboxed kernel, hard limits, a result always.

nbgrader's own ``Execute`` stops grading a submission when its kernel dies or stops
answering, and keeps whatever a cell prints. Here, instead:

* the kernel is a sandboxed one (:class:`~notebook_grader.isolation.kernel_manager.SandboxedKernelManager`).
  ``course grade``'s workers hand each instance the kernel settings of their submission; on
  every other door (plain ``nbgrader autograde``, formgrader's Autograde button) it starts a
  kernel parent and checks the sandbox itself (:mod:`notebook_grader.pipeline.standalone`),
  and refuses, saying why, where the sandbox cannot work;
* a notebook the course declares as reading only (``c.CourseGrading.assignments``) is never
  executed: its code cells are cleared;
* every cell has a wall-clock limit (nbgrader's ``Execute.timeout``) and the notebook as a
  whole another (``submission_timeout``): when it is used up, the running cell is
  interrupted and the remaining cells are not run;
* when the kernel dies (``os._exit``, a crash, a kill), the cell gets an error output that
  says how, and the remaining cells are not run;
* outputs beyond ``output_limit_mb`` per notebook, or beyond :data:`MAX_OUTPUTS` of them, are
  cut; every field of a message counts (metadata, error values, display updates), and widget
  messages are dropped (their state is never kept). The check records test cells
  emit are kept apart from that budget, up to :data:`RECORD_BUDGET_BYTES` (a hundred times
  what the exercises' honest records take), so printing a lot cannot cost a correct answer
  its grade, and a flood of forged records cannot exhaust the grader's memory.

Each notebook's kernel gets the seed of the submission's drawn checks
(:mod:`notebook_grader.protocol.draws`) in its environment, and ``resources["nbgrader"]`` keeps it
for ``GradeOutsideKernel``.

Either way the notebook comes out with outputs for what ran, so nbgrader's next steps grade
it as usual: tests that did not run score nothing. What happened is also listed in
``resources["grading_report"]`` for the grading notes, and kept in :attr:`SandboxedExecute.reports`
for the batch summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import math
import signal
import time
from datetime import datetime
from functools import cached_property
from typing import Any

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, default

from cell_checks import DRAW_SEED_ENV
from notebook_grader.isolation.cgroups import describe_tree_limit
from notebook_grader.isolation.kernel_manager import KernelSettings, SandboxedKernelManager
from notebook_grader.model import Limits
from notebook_grader.patches import in_use
from notebook_grader.patches.overrides import FAST_DEAD_KERNEL_POLL
from notebook_grader.pipeline.grade_outside_kernel import source_notebook_path
from notebook_grader.protocol.draws import RESOURCE_KEY, submission_seed
from notebook_grader.protocol.records import RECORD_MIME
from notebook_grader.settings import CourseGrading, grading_settings

#: Key of the execution report in nbconvert's ``resources``.
REPORT = "grading_report"


def describe_exit(code: int | None, limits: Limits | None = None) -> str:
    """Why a kernel ended, in words a student understands, from its exit code."""
    if code is None:
        return "the kernel stopped responding and was stopped"
    together = describe_tree_limit(code, limits)
    if together is not None:
        return f"the submission {together}"
    signum = -code if code < 0 else code - 128 if code > 128 else 0
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        causes = {
            "SIGSEGV": "crashed with a segmentation fault (native code, such as ctypes, touched memory it must not)",
            "SIGBUS": "crashed with a bus error (native code touched memory it must not)",
            "SIGABRT": "aborted (a native library gave up)",
            "SIGKILL": "was killed: it went over a time or memory limit",
            "SIGXCPU": "used up its CPU time",
            "SIGXFSZ": "wrote a file larger than allowed",
        }
        return f"the kernel {causes.get(name, 'was killed')} ({name})"
    return (f"the kernel exited with status {code} "
            "(the notebook called os._exit(), exit() or quit(), or stopped the kernel)")


def error_output(ename: str, message: str) -> NotebookNode:
    return from_dict({"output_type": "error", "ename": ename, "evalue": message,
                      "traceback": [f"{ename}: {message}"]})


class SandboxedExecute(Execute):
    """Run a submission's cells in a sandboxed kernel, within limits, whatever the code does."""

    submission_timeout = Float(
        300.0, help="Wall-clock seconds for the whole notebook, kernel start included."
    ).tag(config=True)
    output_limit_mb = Float(4.0, help="Outputs kept per notebook, in MiB; the rest is cut.").tag(config=True)
    skip_execution = Bool(
        False, help="Do not run anything: the notebook stands in for one that could not be read."
    ).tag(config=True)
    memory_limit_mb = Float(0.0, help="The kernel's memory limit, to name it when a cell runs out.").tag(config=True)
    process_limit = Float(0.0, help="The kernel's process limit, to name it when a cell hits it.").tag(config=True)

    def __init__(self, *, kernel_settings: KernelSettings | None = None, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxedKernelManager  # nbgrader's Execute forces its own
        super().__init__(**kwargs)
        #: Where and how kernels run; None: start a sandbox of our own for each notebook.
        self.kernel_settings = kernel_settings
        #: The report of every notebook this instance ran, in order.
        self.reports: list[dict[str, Any]] = []
        self._settings_in_use: KernelSettings | None = None

    def on_cell_executed(self, **kwargs: Any) -> Any:
        """Number a cell that ran from the kernel's reply, then do what nbgrader's ``Execute`` does.

        nbclient numbers a cell from the kernel's ``execute_input`` message (or its result's),
        which grading kernels do not send (``no_execute_input`` in
        :mod:`notebook_grader.patches.kernel_tuning`); the reply carries the same count.
        """
        cell, reply = kwargs["cell"], kwargs.get("execute_reply") or {}
        count = reply.get("content", {}).get("execution_count")
        if cell.get("execution_count") is None and isinstance(count, int) and not isinstance(count, bool):
            cell["execution_count"] = count
        return super().on_cell_executed(**kwargs)

    @cached_property
    def course_grading(self) -> CourseGrading:
        """The course's grading settings (c.CourseGrading): the defaults of every door's limits."""
        return grading_settings(self.config)

    @default("timeout")
    def _timeout_default(self) -> int:
        return max(1, int(self.course_grading.cell_timeout))

    @default("submission_timeout")
    def _submission_timeout_default(self) -> float:
        return self.course_grading.submission_timeout

    @default("output_limit_mb")
    def _output_limit_default(self) -> float:
        return self.course_grading.output_mb

    @default("memory_limit_mb")
    def _memory_limit_default(self) -> float:
        return float(self.course_grading.memory_mb)

    @default("process_limit")
    def _process_limit_default(self) -> float:
        return float(self.course_grading.processes)

    def create_kernel_manager(self) -> SandboxedKernelManager:
        """nbclient's factory, handing the manager its settings explicitly."""
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or ""
        assert self._settings_in_use is not None, "kernels start only inside preprocess()"
        kwargs = {"kernel_name": self.kernel_name} if self.kernel_name else {}
        self.km = SandboxedKernelManager(settings=self._settings_in_use, config=self.config, **kwargs)
        return self.km

    @default("store_widget_state")
    def _store_widget_state_default(self) -> bool:
        return False  # a student's widget state is neither graded nor bounded

    @default("shutdown_kernel")
    def _shutdown_kernel_default(self) -> str:
        return "immediate"  # nothing in a student's kernel is worth a graceful shutdown

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> tuple[NotebookNode, Any]:
        resources = resources if resources is not None else {}
        report = resources.setdefault(REPORT, {})
        info = resources.get("nbgrader", {})
        reading = not self.course_grading.is_graded(info.get("assignment", ""), info.get("notebook", ""))
        skip = self.skip_execution or reading
        report.update({"notes": report.get("notes", []), "problems": report.get("problems", []),
                       "kernel_seconds": 0.0, "cells_run": 0, "executed": not skip})
        self._report = report
        self.reports.append(report)
        if skip:
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs, cell.execution_count = [], None
            return nb, resources
        self._deadline = time.monotonic() + self.submission_timeout
        self._cell_limit = float(self.timeout) if self.timeout else math.inf
        self._stopped = False
        self._output_bytes = 0
        self._record_bytes = 0
        self._outputs = 0
        self._cut = False
        started = time.monotonic()
        seed = self._draw_seed(nb, resources)
        with contextlib.ExitStack() as stack:
            if self.kernel_settings is not None:
                settings = self.kernel_settings
            else:
                from notebook_grader.pipeline.standalone import standalone_kernels

                settings = stack.enter_context(standalone_kernels(self.config))
            if seed is not None:
                info[RESOURCE_KEY] = seed
                settings = dataclasses.replace(settings, env={**settings.env, DRAW_SEED_ENV: str(seed)})
            self._settings_in_use = settings
            try:
                return super().preprocess(nb, resources, km)
            except Exception as exc:
                if not report["cells_run"]:  # the kernel did not start: the grader's trouble, not the notebook's
                    report["kernel_failed"] = f"{type(exc).__name__}: {exc}"
                raise
            finally:
                report["seconds"] = time.monotonic() - started
                self._settings_in_use = None

    def _draw_seed(self, nb: NotebookNode, resources: Any) -> int | None:
        """The seed of this submission's drawn checks; None where the source notebook cannot be read
        (then the kernel and the grader both use the default seed)."""
        info = resources.get("nbgrader", {})
        try:
            source = source_notebook_path(self.config, resources).read_bytes()
        except Exception as exc:  # no seed is no reason not to grade: both sides use the default
            self.log.warning("no per-submission seed for the drawn checks: %s", exc)
            return None
        return submission_seed(source, str(info.get("student", "")), str(info.get("assignment", "")),
                               str(info.get("notebook", "")), (cell.get("source", "") for cell in nb.cells))

    # --------------------------------------------------------------- one cell at a time

    def preprocess_cell(self, cell: NotebookNode, resources: Any, index: int) -> tuple[NotebookNode, Any]:
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped:
            cell.outputs, cell.execution_count = [], None
            return cell, resources
        left = self._deadline - time.monotonic()
        if left <= 1:
            self._stop(cell, "SubmissionTimeout",
                       f"the notebook used up its {self.submission_timeout:g} s; this cell and the ones after it "
                       "were not run")
            return cell, resources
        limit = min(self._cell_limit, left)
        self.timeout = max(1, math.floor(limit))
        whole = limit < self._cell_limit
        message = (f"the notebook used up its {self.submission_timeout:g} s in this cell, which was interrupted"
                   if whole else f"this cell ran longer than {self.timeout} s and was interrupted "
                   "(an endless loop?)")
        self.error_on_timeout = {"ename": "CellTimeoutError", "evalue": message,
                                 "traceback": [f"CellTimeoutError: {message}"]}
        try:
            super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            settings = self._settings_in_use
            why = describe_exit(self._exit_code(), settings.limits if settings is not None else None)
            self._stop(cell, "KernelDied", f"{why}; the cells after this one were not run")
            return cell, resources
        except (CellTimeoutError, TimeoutError, asyncio.TimeoutError):
            self._kill()
            self._stop(cell, "CellTimeoutError",
                       f"{message}, and the kernel did not recover, so it was stopped; the cells after this one "
                       "were not run")
            return cell, resources
        finally:
            self._report["cells_run"] += 1
            self._report["kernel_seconds"] += _kernel_seconds(cell)
        if any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
            self._report["problems"].append(f"cell {_cell_name(cell, index, self.nb.cells)}: {message}")
            if whole:
                self._stopped = True
        for problem in _limit_problems(cell, self.memory_limit_mb, self.process_limit):
            self._report["problems"].append(f"cell {_cell_name(cell, index, self.nb.cells)}: {problem}")
        return cell, resources

    def _stop(self, cell: NotebookNode, ename: str, message: str) -> None:
        cell.outputs.append(error_output(ename, message))
        self._stopped = True
        index = next((i for i, c in enumerate(self.nb.cells) if c is cell), 0)
        self._report["problems"].append(f"cell {_cell_name(cell, index, self.nb.cells)}: {message}")

    def _exit_code(self) -> int | None:
        km = self.km
        if km is None:
            return None
        code = getattr(km, "exit_code", None)
        return code

    def _kill(self) -> None:
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None:
            process.kill()
            process.wait(timeout=5)

    async def _async_poll_kernel_alive(self) -> None:
        if not in_use(FAST_DEAD_KERNEL_POLL):
            await super()._async_poll_kernel_alive()
            return
        while True:  # nbclient checks every second; a dead kernel is noticed sooner here
            await asyncio.sleep(0.1)
            try:
                await self._async_check_alive()
            except DeadKernelError:
                assert self.task_poll_for_reply is not None
                self.task_poll_for_reply.cancel()
                return

    # --------------------------------------------------------------- bounded outputs

    def output(self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None,
               cell_index: int) -> NotebookNode | None:
        content = msg.get("content", {})
        data = content.get("data") or {}
        size = _size(content)
        if RECORD_MIME in data and self._record_bytes + size <= RECORD_BUDGET_BYTES:
            self._record_bytes += size
            return super().output(outs, msg, display_id, cell_index)  # check records: kept apart
        budget = int(self.output_limit_mb * (1 << 20)) - self._output_bytes
        if size <= budget and self._outputs < MAX_OUTPUTS:
            self._output_bytes += size
            self._outputs += 1
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] == "stream" and budget > 0 and self._outputs < MAX_OUTPUTS:
            content["text"] = str(content.get("text", ""))[:budget]
            self._output_bytes += budget
            self._outputs += 1
            super().output(outs, msg, display_id, cell_index)
        self._cut_here(outs)
        return None

    def _cut_here(self, outs: list[NotebookNode]) -> None:
        """Say, once per notebook, that outputs past the budget were dropped."""
        if self._cut:
            return
        self._cut = True
        note = (f"\n[output cut: this notebook printed more than {self.output_limit_mb:g} MiB or "
                f"{MAX_OUTPUTS} outputs; the rest was dropped]\n")
        outs.append(from_dict({"output_type": "stream", "name": "stderr", "text": note}))
        self._report["notes"].append(
            f"The notebook's output passed {self.output_limit_mb:g} MiB or {MAX_OUTPUTS} outputs; "
            "the rest was not kept.")

    def _update_display_id(self, display_id: str, msg: dict[str, Any]) -> None:
        """A display update counts against the budget like a new output (it replaces one in place)."""
        if display_id not in self._display_id_map:
            return
        size = _size(msg.get("content", {}))
        if size > int(self.output_limit_mb * (1 << 20)) - self._output_bytes:
            self._note_once(f"Display updates past the notebook's {self.output_limit_mb:g} MiB of output "
                            "were not kept.")
            return
        self._output_bytes += size
        super()._update_display_id(display_id, msg)

    def handle_comm_msg(self, outs: list[NotebookNode], msg: dict[str, Any], cell_index: int) -> None:
        """Widget messages are dropped: grading renders no widget, and their state would be unbounded."""
        self._note_once("Widget messages are not kept while grading.")

    def _note_once(self, note: str) -> None:
        if note not in self._report["notes"]:
            self._report["notes"].append(note)


def _limit_problems(cell: NotebookNode, memory_mb: float, processes: float) -> list[str]:
    """What a cell's errors say about the sandbox's limits (out of memory, too many processes)."""
    problems = []
    for output in cell.get("outputs", []):
        if output.get("output_type") != "error":
            continue
        ename, evalue = output.get("ename", ""), str(output.get("evalue", ""))
        if ename == "MemoryError":
            limit = f" (the limit is {memory_mb:g} MiB)" if memory_mb else ""
            problems.append(f"it ran out of memory{limit}")
        elif ename == "BlockingIOError" or "Resource temporarily unavailable" in evalue:
            limit = f" (the limit is {processes:g}, threads included)" if processes else ""
            problems.append(f"it tried to start too many processes{limit}")
    return problems


#: Check records a notebook may emit outside the output budget (its honest ones take about 20 KB).
RECORD_BUDGET_BYTES = 2 << 20


#: Outputs a notebook may keep (beyond the check records): each costs the notebook a JSON skeleton.
MAX_OUTPUTS = 5000
#: What each output costs on top of its content: its JSON skeleton in the notebook.
OUTPUT_OVERHEAD = 64


def _size(content: Any) -> int:
    """What a message's content costs the notebook: every field (metadata, error values, ...), recursively."""
    total, stack = OUTPUT_OVERHEAD, [content]
    while stack:
        value = stack.pop()
        if isinstance(value, str | bytes):
            total += len(value)
        elif isinstance(value, dict):
            total += 4 * len(value)
            for key, item in value.items():
                total += len(str(key))
                stack.append(item)
        elif isinstance(value, list | tuple):
            total += 2 * len(value)
            stack.extend(value)
        else:
            total += 8
    return total


def _cell_name(cell: NotebookNode, index: int, cells: list[NotebookNode] | None = None) -> str:
    """A cell as a student finds it: its grade id, or its number and the graded cell before it."""
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    if grade_id:
        return grade_id
    before = next((c.metadata["nbgrader"]["grade_id"] for c in reversed((cells or [])[:index])
                   if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")), None)
    return f"{index + 1}" + (f" (the cell after {before})" if before else "")


def _kernel_seconds(cell: NotebookNode) -> float:
    """The time the kernel spent on a cell, from its own timestamps (0 if unknown): from the
    ``busy`` status it sends as it takes the cell to its reply."""
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        start = datetime.fromisoformat(timing["iopub.status.busy"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return 0.0
    return max(0.0, (end - start).total_seconds())

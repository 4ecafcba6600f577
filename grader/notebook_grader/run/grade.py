"""Grade one submission: the unit of work a grading worker runs.

:func:`grade_submission` takes a submission's files and the assignment's template
(:mod:`notebook_grader.run.template`) and returns a :class:`GradingResult`: the grades and
comments nbgrader's preprocessors stored, the autograded notebook and its feedback HTML. It
writes nothing outside a private folder of its own: it runs nbgrader's ``Autograde`` and
``GenerateFeedback`` on a private copy of the template (its gradebook, the source files, the
submission), then reads the results back. The coordinator alone stores them in the course's
gradebook (:mod:`notebook_grader.storage.store`). So tasks can run in any number of processes, and
later on other machines, unchanged.

Within the task, nbgrader's pipeline is the course's own (``nbgrader_config.py``), with
nbgrader's ``Execute`` replaced by :class:`~notebook_grader.pipeline.sandboxed_execute.SandboxedExecute`
(a sandboxed kernel and hard limits) and the submission first read by
:mod:`notebook_grader.run.intake`. The kernels come from the worker's kernel parent
(:mod:`notebook_grader.isolation.kernel_parent`), started once per worker by :func:`init_worker`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import re
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute
from nbgrader.utils import capture_log
from sqlalchemy.exc import SAWarning
from traitlets.config import Config
from traitlets.utils.importstring import import_item

from notebook_grader.course import load_config
from notebook_grader.isolation.kernel_manager import KernelParent, KernelSettings, kernel_env, parent_env
from notebook_grader.isolation.sandbox import SANDBOX_HOME, hand_over, runtime_paths
from notebook_grader.isolation.scratch import fast_temp_dir
from notebook_grader.model import CommentRecord, GradeRecord, GradingOptions, GradingResult, GradingTask, Outcome
from notebook_grader.patches import speedups
from notebook_grader.pipeline.feedback_exporter import FeedbackExporter
from notebook_grader.pipeline.grading_notes import GradingNotes
from notebook_grader.pipeline.sandboxed_execute import SandboxedExecute
from notebook_grader.pipeline.sanitize import SanitizeSubmission, markdown_literal
from notebook_grader.protocol.saved_reference import saved_folder, use_saved
from notebook_grader.run.intake import MIB, ExpectedCells, Intake, stand_in, take_in
from notebook_grader.run.paths import Listing, UnsafePath, copy_regular, submission_problem, walk
from notebook_grader.run.template import AssignmentTemplate
from notebook_grader.storage.gradebook_rows import submission_grades_and_comments

log = logging.getLogger(__name__)

#: nbgrader's record of when a submission was made; a student's copy is never believed.
TIMESTAMP_FILE = "timestamp.txt"

# --------------------------------------------------------------------------- the worker's state


@dataclass(frozen=True)
class WorkerConfig:
    """What a worker process needs to know once, whatever it grades."""

    hidden: tuple[str, ...]  # folders no kernel may see (the course; the template is added)
    helper_packages: tuple[str, ...] = ()  # what a kernel may import from the course (shown read-only)
    sandboxed: bool = True
    preload: tuple[str, ...] = ()  # modules kernels import up front
    scratch: str | None = None  # where private task folders go (default: a tmpfs if there is one)
    #: Notebooks to render once as feedback before the first task, with the configuration in
    #: ``config_root`` (:mod:`notebook_grader.run.warm_up`); empty: no warm-up.
    warm_up: tuple[str, ...] = ()
    #: Source notebooks whose reference solution to run before the first task (run/warm_up.py).
    warm_up_sources: tuple[str, ...] = ()
    config_root: str | None = None
    #: A kernel parent started before the worker (it came with the fork); None: start one.
    kernel_parent: KernelParent | None = field(default=None, compare=False, repr=False)


class _Runtime:
    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        base = config.scratch or fast_temp_dir()
        self.tmp = Path(tempfile.mkdtemp(prefix="w", dir=base))
        self.kernel_parent = config.kernel_parent or KernelParent(list(config.preload), parent_env())
        self._show: tuple[str, ...] | None = None
        self._configs: dict[Path, Config] = {}
        self._expected: dict[tuple[Path, str], ExpectedCells] = {}
        self._saved: set[Path] = set()
        # The task's gradebook: a fresh copy of the template's for each task, always at this path
        # so that nbgrader's engine for it, and its compiled SQL, are reused (speedups).
        self.gradebook = self.tmp / "gradebook.db"

    def show(self, template: Path) -> tuple[str, ...]:
        if self._show is None:
            self._show = runtime_paths([*self.config.hidden, str(template), str(self.tmp)],
                                       self.config.helper_packages)
        return self._show

    def course_config(self, template: AssignmentTemplate) -> Config:
        if template.root not in self._configs:
            self._configs[template.root] = load_config(template.root)
        return copy.deepcopy(self._configs[template.root])

    def use_saved_references(self, template: AssignmentTemplate) -> None:
        """Read, once per template, what its checks expect as ``course release`` saved it."""
        if template.root not in self._saved:
            use_saved(saved_folder(template.root, template.assignment))
            self._saved.add(template.root)

    def expected(self, template: AssignmentTemplate, notebook: str) -> ExpectedCells:
        key = (template.root, notebook)
        if key not in self._expected:
            self._expected[key] = ExpectedCells.from_release(template.release / f"{notebook}.ipynb")
        return self._expected[key]

    def close(self) -> None:
        self.kernel_parent.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


_runtime: _Runtime | None = None


def init_worker(config: WorkerConfig) -> None:
    """Prepare this process to grade: start its kernel parent (it imports in the background)."""
    global _runtime
    if _runtime is None:
        warnings.filterwarnings("ignore", category=SAWarning)  # nbgrader's, about its own sessions
        _runtime = _Runtime(config)
        speedups.install(scratch=str(_runtime.tmp))
        if config.warm_up and config.config_root:
            from notebook_grader.run.warm_up import warm_up_feedback

            warm_up_feedback(config.config_root, config.warm_up)
        if config.warm_up_sources:
            from notebook_grader.run.warm_up import warm_up_reference

            warm_up_reference(config.warm_up_sources)


def close_worker() -> None:
    global _runtime
    if _runtime is not None:
        _runtime.close()
        _runtime = None


# --------------------------------------------------------------------------- the task


def grade_submission(task: GradingTask) -> GradingResult:
    """Grade one submission (see the module's description); never raises for a student's fault."""
    started = time.monotonic()
    template = AssignmentTemplate.load(task.template)
    result = GradingResult(assignment=task.assignment, student=task.student)
    if _runtime is None:
        init_worker(WorkerConfig(hidden=(), sandboxed=task.options.sandboxed, preload=template.imports))
    assert _runtime is not None
    work = Path(tempfile.mkdtemp(prefix="t", dir=_runtime.tmp))
    try:
        _grade(task, template, _runtime, work, result)
    except Exception as exc:  # the grader's own failure: reported, not stored, retried next run
        log.exception("grading %s failed", task.student)
        result.status, result.error = Outcome.NOT_GRADED, f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
        result.seconds = time.monotonic() - started
    return result


def _grade(task: GradingTask, template: AssignmentTemplate, runtime: _Runtime, work: Path,
           result: GradingResult) -> None:
    submitted = work / "submitted" / task.student / task.assignment
    submitted.mkdir(parents=True)
    (work / "source").symlink_to(template.root / "source", target_is_directory=True)
    speedups.replace_scratch_gradebook(template.gradebook, runtime.gradebook)
    runtime.use_saved_references(template)
    intakes: dict[str, Intake] = {}
    refused = submission_problem(task.submission.parent.parent, task.student, task.assignment)
    listing = Listing() if refused else walk(task.submission)
    for notebook in template.notebooks:
        if refused:
            intakes[notebook] = stand_in(refused)
            continue
        intake = take_in(task.submission, notebook, runtime.expected(template, notebook),
                         other_notebooks=tuple(n for n in template.released if n != f"{notebook}.ipynb"),
                         max_mb=task.options.max_notebook_mb, listing=listing)
        intakes[notebook] = intake
    graded_files = {f"{n}.ipynb" for n in template.notebooks}
    # what was left out of the submission, and why: in every notebook's feedback, once in the result
    left_out = [markdown_literal(line) for line in listing.refused]
    left_out += _copy_other_files(task.submission, submitted, listing, task.options,
                                  skip=graded_files | {i.source_name for i in intakes.values() if i.source_name})
    result.notes += left_out
    if task.submitted_at is not None:  # the grader's time; a student's timestamp.txt was not copied
        (submitted / TIMESTAMP_FILE).write_text(task.submitted_at.isoformat())
    for notebook, intake in intakes.items():
        nb = intake.notebook if intake.notebook is not None else _release_copy(template, notebook)
        (submitted / f"{notebook}.ipynb").write_text(json.dumps(nb))
        result.notes += [n for n in intake.notes if n not in result.notes]
        intake.notes += left_out
        if intake.problem and intake.problem not in result.problems:
            result.problems.append(intake.problem)

    settings = _kernel_settings(task, runtime, template, work)
    reports: list[dict[str, Any]] = []
    for notebook, intake in intakes.items():
        outcome = _autograde(task, template, runtime, work, notebook, intake, settings, reports)
        trouble = [r["kernel_failed"] for r in reports if r.get("kernel_failed")]
        if trouble:
            raise RuntimeError(f"the kernel did not start: {trouble[0]}")
        if not outcome["success"] and intake.notebook is not None:
            # nbgrader could not process the notebook (broken metadata...): grade the release instead
            problem = _nbgrader_failure(outcome, work)
            result.problems.append(problem)
            result.notes.append(problem)
            standin = Intake(notebook=None, notes=[problem, "Every autograded part scores 0."], problem=problem)
            (submitted / f"{notebook}.ipynb").write_text(json.dumps(_release_copy(template, notebook)))
            outcome = _autograde(task, template, runtime, work, notebook, standin, settings, reports)
        if not outcome["success"]:
            raise RuntimeError(f"nbgrader autograde failed: {_nbgrader_failure(outcome, work)}")
    for report in reports:
        result.problems += report.get("problems", [])
        result.notes += report.get("problems", []) + report.get("notes", [])
        result.kernel_seconds += report.get("kernel_seconds", 0.0)
    result.kernel_start_seconds = sum(settings.started)
    feedback = _run(GenerateFeedback, _config(task, template, runtime, work), task)
    if not feedback["success"]:
        raise RuntimeError(f"nbgrader generate_feedback failed: {_nbgrader_failure(feedback, work)}")
    _collect(task, template, runtime, work, result)
    result.status = Outcome.FAILED if result.problems else Outcome.GRADED


#: At most this many other files of a submission are copied (a folder of a million files is no dataset).
MAX_OTHER_FILES = 200


def _copy_other_files(source: Path, dest: Path, listing: Listing, options: GradingOptions,
                      skip: set[str]) -> list[str]:
    """Copy the submission's other regular files (data a student added, ungraded notebooks); notes on refusals.

    Each file is bounded by the notebook size limit and all of them together by the sandbox's
    scratch space, checked on the open file before it is copied (a sparse file counts at its
    apparent size). ``timestamp.txt`` is never taken from a student: the grader sets the time.
    """
    notes: list[str] = []
    per_file = int(options.max_notebook_mb * MIB)
    budget = int(options.limits.scratch_mb * MIB)
    files = [f for f in listing.files if f not in skip and f != TIMESTAMP_FILE]
    if len(files) > MAX_OTHER_FILES:
        notes.append(f"The submission has {len(files)} other files; only the first {MAX_OTHER_FILES} were copied.")
        files = files[:MAX_OTHER_FILES]
    for relative in files:
        size = listing.sizes[relative]
        if size > per_file or size > budget:
            notes.append(f"{markdown_literal(relative)} is {size / MIB:.1f} MiB, more than the "
                         f"{min(per_file, budget) / MIB:g} MiB a submitted file may have; it was not copied.")
            continue
        try:
            budget -= copy_regular(source, relative, dest / relative, min(per_file, budget))
        except (UnsafePath, OSError) as exc:
            notes.append(f"{markdown_literal(relative)} was not copied: {markdown_literal(str(exc))}.")
    return notes


def _release_copy(template: AssignmentTemplate, notebook: str) -> dict[str, Any]:
    return json.loads((template.release / f"{notebook}.ipynb").read_text())


#: A Unix socket's path has at most 107 bytes; the kernel's are ``<folder>/kernel-N``.
SOCKET_FOLDER_MAX = 90


def _kernel_settings(task: GradingTask, runtime: _Runtime, template: AssignmentTemplate, work: Path) -> KernelSettings:
    connection_dir = Path(tempfile.mkdtemp(prefix="k", dir=work))  # short: no student name in it
    if len(os.fsencode(connection_dir)) > SOCKET_FOLDER_MAX:
        raise RuntimeError(f"the scratch folder's path is too long for the kernel's sockets: {connection_dir} "
                           "(set TMPDIR to a shorter folder)")
    show = runtime.show(template.root) if task.options.sandboxed else None
    if show is not None:
        hand_over(connection_dir)
    home = SANDBOX_HOME if show is not None else str(work / "home")
    if show is None:
        os.makedirs(home, exist_ok=True)
    return KernelSettings(parent=runtime.kernel_parent, connection_dir=str(connection_dir),
                          limits=task.options.limits, show=show, env=kernel_env(home))


def _config(task: GradingTask, template: AssignmentTemplate, runtime: _Runtime, work: Path,
            intake: Intake | None = None) -> Config:
    config = runtime.course_config(template)
    limits = task.options.limits
    config.CourseDirectory.root = str(work)
    config.CourseDirectory.db_url = f"sqlite:///{runtime.gradebook}"
    config.CourseDirectory.course_id = template.course_id
    config.CourseDirectory.assignment_id = task.assignment
    config.CourseDirectory.student_id = task.student
    config.GenerateFeedback.exporter_class = FeedbackExporter
    config.SandboxedExecute.timeout = max(1, int(limits.cell_seconds))
    config.SandboxedExecute.submission_timeout = float(limits.submission_seconds)
    config.SandboxedExecute.output_limit_mb = float(limits.output_mb)
    config.SandboxedExecute.memory_limit_mb = float(limits.memory_mb)
    config.SandboxedExecute.process_limit = float(limits.processes) if task.options.sandboxed else 0.0
    config.SandboxedExecute.skip_execution = intake is not None and intake.notebook is None
    config.GradingNotes.notes = list(intake.notes) if intake is not None else []
    config.Autograde.create_student = True
    config.BaseConverter.force = True
    # nbconvert validates the whole notebook after each of the ~18 preprocessors; once, after
    # the last, still refuses a notebook any of them left invalid (nbconvert's own option).
    config.Exporter.optimistic_validation = True
    return config


def _is_step(step: Any, kind: type) -> bool:
    """Whether ``step`` (a class, its import path, or an instance) is a ``kind`` preprocessor."""
    if isinstance(step, str):
        step = import_item(step) if "." in step else step
    return isinstance(step, kind) or (isinstance(step, type) and issubclass(step, kind))


def _is_execute(step: Any) -> bool:
    return _is_step(step, Execute)


def autograde_steps(config: Config, execute: SandboxedExecute) -> list[Any]:
    """The course's autograde preprocessors with ``execute`` (an instance) as the executing step.

    Whatever executes in the course's list (nbgrader's ``Execute`` or the engine's) is replaced by
    ``execute``, which holds this submission's kernel settings; the grading notes follow it
    unless the course's list already has them (``use_engine`` puts them there), and the
    notebook is made inert last (:class:`~notebook_grader.pipeline.sanitize.SanitizeSubmission`), whatever
    the course's list says.
    """
    steps = list(config.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors.default_value))
    steps = [execute if _is_execute(step) else step for step in steps]
    if execute not in steps:
        steps.insert(0, execute)
    if not any(_is_step(step, GradingNotes) for step in steps):
        steps.insert(steps.index(execute) + 1, GradingNotes)
    if not any(_is_step(step, SanitizeSubmission) for step in steps):
        steps.append(SanitizeSubmission)
    return steps


def _autograde(task: GradingTask, template: AssignmentTemplate, runtime: _Runtime, work: Path, notebook: str,
               intake: Intake, settings: KernelSettings, reports: list[dict[str, Any]]) -> dict[str, Any]:
    config = _config(task, template, runtime, work, intake)
    config.CourseDirectory.notebook_id = notebook
    execute = SandboxedExecute(kernel_settings=settings, config=config)
    outcome = _run(Autograde, config, task, steps=autograde_steps(config, execute))
    reports += execute.reports
    return outcome


def _run(converter: type, config: Config, task: GradingTask, steps: list[Any] | None = None) -> dict[str, Any]:
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id, coursedir.student_id = task.assignment, task.student
    app = converter(coursedir=coursedir, config=config)
    if steps is not None:
        app.autograde_preprocessors = steps  # set on the app, not the config: the config is deep-copied
    app.force = True
    app.log.setLevel(logging.WARNING)
    return capture_log(app)


def _nbgrader_failure(outcome: dict[str, Any], work: Path | None = None) -> str:
    """Why nbgrader failed, in one line: the first exception it logged (paths of the task removed)."""
    text = (outcome.get("log") or "") + "\n" + (outcome.get("error") or "")
    if work is not None:
        text = text.replace(str(work), "")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    raised = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b.*:", line)
              and "NbGraderException" not in line]
    errors = [line.removeprefix("[ERROR] ") for line in lines if line.startswith("[ERROR]")]
    detail = raised[0] if raised else errors[0] if errors else lines[-1] if lines else "unknown error"
    return f"The notebook could not be processed by nbgrader ({detail[:300]})."


def _collect(task: GradingTask, template: AssignmentTemplate, runtime: _Runtime, work: Path,
             result: GradingResult) -> None:
    with Gradebook(f"sqlite:///{runtime.gradebook}", template.course_id) as gb:
        try:
            submission = gb.find_submission(task.assignment, task.student)
        except MissingEntry:
            raise RuntimeError("nbgrader stored no submission") from None
        result.timestamp = submission.timestamp
        for nb in submission.notebooks:
            result.late_penalties[nb.name] = nb.late_submission_penalty
        grades, comments = submission_grades_and_comments(gb, task.assignment, task.student)
        result.grades += [GradeRecord(nb, name, g.auto_score) for (nb, name), g in grades.items()]
        result.comments += [CommentRecord(nb, name, c.auto_comment) for (nb, name), c in comments.items()]
    for step, files in (("autograded", result.autograded), ("feedback", result.feedback)):
        folder = work / step / task.student / task.assignment
        for path in sorted(folder.rglob("*")) if folder.is_dir() else ():
            if path.is_file():
                files[str(path.relative_to(folder))] = path.read_bytes()

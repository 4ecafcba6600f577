"""Put the engine into nbgrader's pipeline: the one call a course's ``nbgrader_config.py`` makes.

Every nbgrader door reads ``nbgrader_config.py``: ``nbgrader autograde``, ``generate_feedback``
and ``validate``, formgrader's Autograde and Generate Feedback buttons (``NbGraderAPI``), and
``course grade``'s workers. :func:`use_engine` sets, on that configuration:

* autograde's preprocessors: nbgrader's own list with ``Execute`` replaced by the sandboxed
  one, what went wrong noted at the top of the notebook (:mod:`notebook_grader.pipeline.grading_notes`),
  and the test cells judged outside the kernel (:mod:`notebook_grader.pipeline.grade_outside_kernel`);
* nothing a student wrote left live in the autograded notebook (:mod:`notebook_grader.pipeline.sanitize`),
  so formgrader and the feedback page show it inert;
* the feedback page's exporter (:mod:`notebook_grader.pipeline.feedback_exporter`);
* nbgrader's gradebook steps with their rows fetched at once
  (:mod:`notebook_grader.pipeline.overwrite_cells`, :mod:`notebook_grader.pipeline.save_grades`):
  the same rows and values, a few queries a submission instead of a few hundred;
* deleted test cells put back rather than left ungraded;
* ``generate_assignment``'s steps: nbgrader's own, then test cells tagged so a failing one does
  not stop Restart & Run All, and the kernel metadata JupyterLab writes
  (:mod:`notebook_grader.pipeline.release_cells`);
* the pages nbconvert renders (feedback, formgrader's views) carry MathJax themselves, so their
  maths renders with no network (:mod:`notebook_grader.pipeline.offline_maths`);
* ``nbgrader collect``: the exchange's submission times recorded for ``course grade``, and no
  link in a submission followed (:mod:`notebook_grader.pipeline.exchange`).

The steps are named by import path, so loading the configuration imports none of them: a
``course release`` or ``course scores`` loads no kernel or sandbox code.
"""

from __future__ import annotations

from pathlib import Path

from traitlets.config import Config

#: nbgrader's autograde pipeline, with the engine's steps in place of ``Execute``.
AUTOGRADE_STEPS = (
    "notebook_grader.pipeline.sandboxed_execute.SandboxedExecute",
    "notebook_grader.pipeline.grading_notes.GradingNotes",
    "notebook_grader.pipeline.grade_outside_kernel.GradeOutsideKernel",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "notebook_grader.pipeline.save_grades.SaveAutoGradesAtOnce",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
    "notebook_grader.pipeline.sanitize.SanitizeSubmission",
)
#: nbgrader's first autograde pass (its default list), restoring the released cells with the engine's step.
SANITIZE_STEPS = (
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "notebook_grader.pipeline.overwrite_cells.OverwriteCellsAtOnce",
    "nbgrader.preprocessors.CheckCellMetadata",
)
#: nbgrader's ``generate_assignment`` pipeline (its default list, by import path), then the engine's steps.
RELEASE_STEPS = (
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "nbgrader.preprocessors.ClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
    "notebook_grader.pipeline.release_cells.TagTestCells",
    "notebook_grader.pipeline.release_cells.KernelMetadata",
)
#: The engine's nbconvert templates: ``base/mathjax.html.j2``, the offline macro (see offline_maths).
ENGINE_TEMPLATES = Path(__file__).parent / "templates"
MATHJAX_FILTER = "notebook_grader.pipeline.offline_maths.mathjax_script"
FEEDBACK_EXPORTER = "notebook_grader.pipeline.feedback_exporter.FeedbackExporter"
EXCHANGE_COLLECT = "notebook_grader.pipeline.exchange.RecordedCollect"


def use_engine(c: Config) -> None:
    """Route every nbgrader door of the course through the engine (see the module)."""
    c.Autograde.sanitize_preprocessors = list(SANITIZE_STEPS)
    c.Autograde.autograde_preprocessors = list(AUTOGRADE_STEPS)
    c.GenerateFeedback.exporter_class = FEEDBACK_EXPORTER
    c.GenerateAssignment.preprocessors = list(RELEASE_STEPS)
    # Templates: the engine's first (its mathjax macro), then nbgrader's feedback and formgrade
    # templates, which nbgrader adds itself only when this option is not set.
    c.HTMLExporter.extra_template_basedirs = [str(ENGINE_TEMPLATES), _nbgrader_templates()]
    c.HTMLExporter.filters = {"offline_mathjax": MATHJAX_FILTER}
    # A student who deletes a test cell gets it back (and graded) rather than an ungraded part.
    c.OverwriteCells.add_missing_cells = True
    # `nbgrader collect` records the exchange's time of each submission for `course grade`.
    c.ExchangeFactory.collect = EXCHANGE_COLLECT


def _nbgrader_templates() -> str:
    """nbgrader's formgrader templates folder (feedback and formgrade), found without importing
    its server extension."""
    from importlib.util import find_spec

    spec = find_spec("nbgrader")
    assert spec is not None and spec.origin is not None, "nbgrader is not installed"
    return str(Path(spec.origin).parent / "server_extensions" / "formgrader" / "templates")

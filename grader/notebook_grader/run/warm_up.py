"""Work a grading worker does once, before its first task, while the coordinator prepares the run.

The first feedback page a worker writes costs several times what later pages cost: nbconvert
compiles the page's Jinja templates (about thirty files) and Pygments colours every code cell,
and both are then cached for the worker's life (:mod:`notebook_grader.patches.speedups`). The
workers start while the coordinator builds the assignment's template, so :func:`warm_up_feedback`
does that first-time work then, off the path of the first submission: it renders the released
notebooks (whose test and setup cells every submission repeats) through the feedback exporter as
nbgrader's ``GenerateFeedback`` configures it, and throws the page away.

The first task also judges every test cell against the reference solution, which runs the
solution cells and collects each check's expected value (for unit 1, Monte Carlo estimates from
a million draws: most of a CPU-second). :func:`warm_up_reference` does that from the course's
source notebooks, into the cache the tasks use (:func:`~notebook_grader.protocol.reference.load_reference`,
keyed by the notebook's contents, which the template's copy shares).

A failure here changes nothing but speed: it is logged, and the first task does the work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)


def warm_up_feedback(config_root: str | Path, notebooks: Sequence[str | Path]) -> int:
    """Render each of ``notebooks`` once as a feedback page, discarded; returns how many rendered."""
    import nbformat
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory

    from notebook_grader.course import load_config
    from notebook_grader.pipeline.feedback_exporter import FeedbackExporter

    rendered = 0
    try:
        config = load_config(Path(config_root))
        config.GenerateFeedback.exporter_class = FeedbackExporter
        app = GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)
        exporter = FeedbackExporter(parent=app, config=app.config)  # as nbgrader's converter makes it
        for path in notebooks:
            nb = nbformat.read(path, as_version=4)
            for cell in nb.cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("grade") or meta.get("task"):
                    meta.setdefault("score", 0.0)
                    meta.setdefault("points", meta.get("points", 0.0))
            name = Path(path).stem
            exporter.from_notebook_node(nb, resources={"nbgrader": {
                "notebook": name, "score": 0.0, "max_score": 0.0, "late_penalty": 0.0}})
            rendered += 1
    except Exception:  # speed only: the first task does the same work
        log.debug("warm-up of the feedback page failed", exc_info=True)
    return rendered


def warm_up_reference(sources: Sequence[str | Path]) -> int:
    """Collect the expected values of every test cell of each source notebook; returns how many cells."""
    from notebook_grader.protocol.reference import load_reference

    collected = 0
    try:
        for path in sources:
            reference = load_reference(path)
            for grade_id, source in reference.test_sources.items():
                reference.expected_checks(grade_id, source)
                collected += 1
    except Exception:  # speed only: the first task does the same work
        log.debug("warm-up of the reference solution failed", exc_info=True)
    return collected

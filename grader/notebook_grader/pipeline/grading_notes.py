"""nbgrader preprocessor: what the grader had to do about a submission, at the top of its notebook."""

from __future__ import annotations

from typing import Any

from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import List, Unicode

from notebook_grader.pipeline.sandboxed_execute import REPORT


class GradingNotes(NbGraderPreprocessor):
    """Put what the grader had to do about a submission at the top of its autograded notebook.

    The notes come from the intake (``notes``: a renamed notebook, a converted format, restored
    test cells...) and from execution (a kernel that died, a time limit, output cut), so the
    student reads in the feedback why a part scored nothing.
    """

    notes = List(Unicode(), help="Notes about the submission found before it ran.").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        report = resources.get(REPORT, {})
        lines = [*self.notes, *report.get("problems", []), *report.get("notes", [])]
        if lines:
            text = "**Notes from the autograder**\n\n" + "\n".join(f"- {line}" for line in lines)
            cell = from_dict({"cell_type": "markdown", "metadata": {"tags": ["autograder-notes"]},
                              "source": text, "id": "autograder-notes"})
            nb.cells.insert(0, cell)
        return nb, resources

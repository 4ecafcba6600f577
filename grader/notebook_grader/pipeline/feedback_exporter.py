"""The feedback page's exporter: nbconvert's ``HTMLExporter``, minus a pass that changes nothing here.

``HTMLExporter.from_notebook_node`` renders the page from its Jinja template, then parses the
whole page with BeautifulSoup to add accessibility attributes (an ``alt`` text on images that
lack one; ``tabindex`` on the input and output areas of JupyterLab-style pages) and serializes
it again. On a feedback page of the exercises that pass costs two thirds of the export (about
0.15 s of 0.23 s) and does nothing but re-serialize: nbgrader's feedback template is
classic-based, so it has no JupyterLab areas, and the exercises' outputs hold no images.

:class:`FeedbackExporter` renders the same template with the same filters, and runs that pass
only on a page where it has work to do (one with an ``<img`` or a JupyterLab notebook area).
Otherwise the page is the template's own rendering: the same document, serialized by Jinja
instead of BeautifulSoup (they differ in insignificant whitespace and in ``<meta ... />``).
The tests check both cases against ``HTMLExporter`` itself.

It also says which parts still wait for a human. nbgrader's ``GetGrades`` (the first step of
``GenerateFeedback``) puts each graded cell's ``Grade.score`` into the notebook, and that score
is 0 for a written answer nobody has graded yet; the page then reads ``0.0 / 2.0``. The exporter
takes :class:`GetGradesAndPending` in its place (the same step, flagging a cell that has neither
a hand-given nor an autograder's score), and renders nbgrader's template through
:mod:`notebook_grader.pipeline.feedback_template`, which prints such a cell as awaiting hand
grading and the total as provisional. Every door that writes feedback with this exporter
(``course grade``, ``course feedback``, ``nbgrader generate_feedback``, formgrader's button: all
configured by :func:`notebook_grader.pipeline.setup.use_engine`) writes the same page. A page
with nothing awaiting is character for character the one nbgrader's template renders.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from bs4 import BeautifulSoup
from jinja2 import DictLoader, pass_context
from jinja2.runtime import Context
from nbconvert.exporters import HTMLExporter
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.exporters.templateexporter import TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode
from nbgrader.preprocessors import GetGrades
from traitlets.utils.importstring import import_item

from notebook_grader.patches import in_use
from notebook_grader.patches.overrides import (
    AWAITING_HAND_GRADING,
    FEEDBACK_GRADES_AT_ONCE,
    FEEDBACK_WITHOUT_RESERIALIZATION,
    REMEMBERED_MARKDOWN,
)
from notebook_grader.pipeline.feedback_template import (
    AWAITING_KEY,
    AWAITING_POINTS_KEY,
    FEEDBACK_TEMPLATE,
    TEMPLATE_FILE,
)
from notebook_grader.pipeline.offline_maths import outside_library
from notebook_grader.storage.gradebook_rows import ByCell, row_or_find, submission_grades_and_comments

#: What the accessibility pass changes; a page without any of these is left as rendered.
ACCESSIBILITY_TARGETS = ("<img", "jp-notebook")

MISSING_ALT = "No description has been provided for this image"

#: How many rendered markdown cells a worker keeps (the release's text, and the latest answers).
REMEMBERED_CELLS = 2048

#: The template ``GenerateFeedback`` asks for (its default); the exporter renders it through its own.
NBGRADER_TEMPLATE = "feedback"


#: Rendered markdown by (source, exporter settings), oldest first: see ``FeedbackExporter.markdown2html``.
_RENDERED: OrderedDict[tuple[str, str, bool, str], str] = OrderedDict()


class GetGradesAndPending(GetGrades):
    """nbgrader's ``GetGrades``, which also flags the scores no one has given yet.

    A grade with neither a hand-given (``manual_score``) nor an autograder's score
    (``auto_score``: none for an answered written answer or a task) is still to be graded by
    hand: its cell gets ``awaiting_hand_grading`` in its nbgrader metadata, and its points are
    added up in ``resources["nbgrader"]["awaiting_points"]``, for the template. The grade is the
    one ``GetGrades`` fetches anyway, so this costs no query. (``needs_manual_grade`` is no guide:
    nbgrader keeps it set on a hand-graded answer, for review.)

    nbgrader fetches each cell's grade and comment with a query of its own; here the first cell
    fetches every grade and comment of the submission in four queries
    (:func:`~notebook_grader.storage.gradebook_rows.submission_grades_and_comments`: the same
    rows), unless :data:`~notebook_grader.patches.overrides.FEEDBACK_GRADES_AT_ONCE` is off.
    """

    _rows: tuple[ByCell, ByCell] | None = None

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        resources["nbgrader"][AWAITING_POINTS_KEY] = 0.0
        self._rows = None
        try:
            return super().preprocess(nb, resources)
        finally:
            self._rows = None

    def _row(self, which: int, cell: NotebookNode, find: Any) -> Any:
        name = cell.metadata["nbgrader"]["grade_id"]
        if not in_use(FEEDBACK_GRADES_AT_ONCE):
            return find(name, self.notebook_id, self.assignment_id, self.student_id)
        if self._rows is None:
            self._rows = submission_grades_and_comments(self.gradebook, self.assignment_id, self.student_id)
        return row_or_find(self._rows[which], self.notebook_id, name, self.assignment_id, self.student_id, find)

    def _get_comment(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        cell.metadata.nbgrader["comment"] = self._row(1, cell, self.gradebook.find_comment).comment

    def _get_score(self, cell: NotebookNode, resources: ResourcesDict) -> None:
        grade = self._row(0, cell, self.gradebook.find_grade)
        cell.metadata.nbgrader["score"] = grade.score
        cell.metadata.nbgrader["points"] = grade.max_score
        if grade.manual_score is None and grade.auto_score is None:
            cell.metadata.nbgrader[AWAITING_KEY] = True
            resources["nbgrader"][AWAITING_POINTS_KEY] += grade.max_score or 0.0


def _is_get_grades(preprocessor: Any) -> bool:
    """Whether ``preprocessor`` (a class or its import path) is nbgrader's own ``GetGrades``."""
    if isinstance(preprocessor, str):
        try:
            preprocessor = import_item(preprocessor)
        except ImportError:
            return False
    return preprocessor is GetGrades


class FeedbackExporter(HTMLExporter):
    """``HTMLExporter`` that says what awaits hand grading, and skips its accessibility pass on
    pages the pass would not change."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.template_name == NBGRADER_TEMPLATE and self.template_file == "index" + self.template_extension:
            # nbgrader's template, left as GenerateFeedback configures it: render it through ours,
            # which extends it (an instructor's own template or template file is left alone)
            self.extra_loaders = [*self.extra_loaders, DictLoader({TEMPLATE_FILE: FEEDBACK_TEMPLATE})]
            self.template_file = TEMPLATE_FILE

    def register_preprocessor(self, preprocessor: Any, enabled: bool = False) -> Any:
        """Register ``preprocessor``, with nbgrader's ``GetGrades`` replaced by :class:`GetGradesAndPending`."""
        if _is_get_grades(preprocessor) and in_use(AWAITING_HAND_GRADING):
            preprocessor = GetGradesAndPending
        return super().register_preprocessor(preprocessor, enabled=enabled)

    @pass_context
    def markdown2html(self, context: Context, source: str) -> str:
        """``HTMLExporter``'s markdown filter, remembered for cells without attachments.

        A feedback page renders the release's markdown cells (most of its text) again for every
        submission; mistune's rendering of them was a third of the page's cost. The rendering of a
        cell with no attachments depends only on its source and the exporter's settings (images
        are linked, not read, unless ``embed_images`` is set, which is not remembered), so the
        same key gives the same HTML. The most recent :data:`REMEMBERED_CELLS` are kept.
        """
        cell = context.get("cell", {})
        if self.embed_images or cell.get("attachments") or not in_use(REMEMBERED_MARKDOWN):
            return super().markdown2html(context, source)
        key = (source, self.anchor_link_text, self.exclude_anchor_links,
               json.dumps(self.lexer_options, sort_keys=True, default=repr))
        html = _RENDERED.get(key)
        if html is None:
            html = super().markdown2html(context, source)
            _RENDERED[key] = html
            if len(_RENDERED) > REMEMBERED_CELLS:
                _RENDERED.popitem(last=False)
        else:
            _RENDERED.move_to_end(key)
        return html

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        """Render ``nb`` as ``HTMLExporter`` does (its filters, its template), then make it accessible."""
        if not in_use(FEEDBACK_WITHOUT_RESERIALIZATION):
            return super().from_notebook_node(nb, resources, **kw)
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(notebook_metadata=self._nb_metadata, parent=self,
                                                 resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        lowered = outside_library(html).lower()  # the inlined MathJax library holds no element
        if any(target in lowered for target in ACCESSIBILITY_TARGETS):
            html = self.make_accessible(html)
        return html, resources

    def make_accessible(self, html: str) -> str:
        """``HTMLExporter``'s accessibility pass: alt texts, and focusable cell areas."""
        soup = BeautifulSoup(html, features="html.parser")
        missing_alt = 0
        for elem in soup.select("img:not([alt])"):
            elem.attrs["alt"] = MISSING_ALT
            missing_alt += 1
        if missing_alt:
            self.log.warning("Alternative text is missing on %s image(s).", missing_alt)
        for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
            elem.attrs["tabindex"] = "0"
        for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
            elem.attrs["tabindex"] = "0"
        return str(soup)

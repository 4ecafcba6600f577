"""Nothing a student writes runs in the instructor's browser: the autograded notebook, made inert.

The autograded notebook is what formgrader shows the instructor (in their Jupyter session: a
script there can do anything the instructor can) and what the feedback page is rendered from.
nbconvert renders it as it is: raw HTML in a markdown cell, ``text/html``, ``text/markdown``,
``application/javascript`` and widget outputs, a ``javascript:`` link, an image's ``width``
metadata (printed into the ``<img>`` tag unquoted) all reach the page. nbconvert's own
``sanitize_html`` option escapes every tag outside a short list (even ``<p>``), which would show a
student's correct markdown as tag soup, so the notebook is made safe at its root instead, after
grading (:class:`SanitizeSubmission`, the last autograde step):

* markdown cells and ``text/markdown`` outputs: each piece of raw HTML the course's markdown
  renderer (nbconvert's) would pass through is replaced by its sanitized form, and each link or
  image whose address is not an ordinary one (``http``, ``https``, ``mailto``, an attachment, a
  relative path; a ``data:`` PNG/JPEG/GIF image) points nowhere; markdown without either (prose,
  mathematics, code) is left exactly as written;
* ``text/html`` outputs: sanitized; JavaScript, widget views, SVG and every MIME type not known to
  be inert are removed (and said so in a ``text/plain`` output); output metadata keeps only a
  numeric width and height;
* the notebook's metadata keeps only its kernel and language (widget state goes);
* the notebook is capped in size (:func:`cap_size`): the outputs of the largest student cells go first.

HTML is sanitized with ``nh3`` (the Python binding of the Rust ``ammonia`` sanitizer: an
allow-list of tags, attributes and URL schemes, with an HTML5 parser). It is maintained, fast,
and parses as browsers do, whereas ``bleach`` (which nbconvert uses) is deprecated upstream.
"""

from __future__ import annotations

import functools
import html
import json
import re
from typing import Any

import nbformat
import nh3
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from notebook_grader.identifiers import terminal_safe
from notebook_grader.pipeline.grading_notes import GradingNotes
from notebook_grader.pipeline.sandboxed_execute import REPORT
from notebook_grader.settings import grading_settings

MIB = 1 << 20

#: Output MIME types shown as they are: text, escaped by every template, and bitmap images.
INERT_OUTPUT_TYPES = frozenset({"text/plain", "text/latex", "application/json", "image/png", "image/jpeg",
                                "image/gif"})
#: Output MIME types kept after sanitizing.
SANITIZED_OUTPUT_TYPES = frozenset({"text/html", "text/markdown"})
#: The output MIME types the grader itself writes (check records; the verdict's own text).
GRADER_OUTPUT_TYPES = frozenset({"text/x-cell-check-records"})
#: URL schemes a link or image may use.
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "attachment"})
#: ``data:`` URLs an image may use.
SAFE_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif);base64,[A-Za-z0-9+/=\s]*", re.IGNORECASE)
#: What an unsafe link is replaced with.
NOWHERE = "#removed-link"
#: Notebook metadata kept: what the templates need to highlight code.
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")

_SINGLE_TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9-]*)(?:\s[^<>]*)?/?>")
_SCHEME = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$<>&])")


def clean_html(fragment: str) -> str:
    """``fragment`` with every tag, attribute and URL outside nh3's allow-list removed."""
    return nh3.clean(fragment, url_schemes=set(SAFE_SCHEMES), link_rel="noopener noreferrer")


def markdown_literal(text: str, *, lines: bool = False) -> str:
    """``text`` (a file name, a message with student-chosen words) as markdown that shows it literally.

    Control characters are escaped as on a terminal (but line breaks, with ``lines``); ``& < >``
    become entities and markdown's punctuation is backslash-escaped, so nothing in it becomes a
    tag, a link or formatting.
    """
    text = "\n".join(terminal_safe(line) for line in text.split("\n")) if lines else terminal_safe(text)
    return _MARKDOWN_SPECIAL.sub(lambda m: {"&": "&amp;", "<": "&lt;", ">": "&gt;"}.get(m.group(1),
                                                                                     "\\" + m.group(1)), text)


def safe_url(url: str) -> bool:
    """Whether a link or image may point at ``url`` (see :data:`SAFE_SCHEMES`)."""
    url = html.unescape(url).strip()
    if SAFE_DATA_IMAGE.fullmatch(url):
        return True
    stripped = re.sub(r"[\x00-\x20]", "", url)  # browsers ignore these inside a scheme
    scheme = _SCHEME.match(stripped)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def _clean_piece(piece: str) -> str:
    """A raw HTML piece of markdown (a whole block, or one tag of an inline run), sanitized.

    A lone tag stays a lone tag (nh3 would close an opening tag and drop a closing one); a
    block loses its blank lines, which would end the HTML block in markdown.
    """
    core = piece.strip()
    lead, trail = piece[: len(piece) - len(piece.lstrip())], piece[len(piece.rstrip()):]
    tag = _SINGLE_TAG.fullmatch(core)
    if tag is None:
        return lead + re.sub(r"\n\s*\n", "\n", clean_html(core)) + trail
    name = tag.group(1).lower()
    if core.startswith("</"):
        return lead + (f"</{name}>" if name in nh3.ALLOWED_TAGS else "") + trail
    cleaned, closing = clean_html(core), f"</{name}>"
    return lead + (cleaned[: -len(closing)] if cleaned.endswith(closing) else cleaned) + trail


class _Finder(IPythonRenderer):
    """nbconvert's markdown renderer, noting the raw HTML and the link addresses it meets."""

    def __init__(self) -> None:
        super().__init__(escape=False)
        self.html: list[str] = []
        self.urls: list[str] = []

    def block_html(self, html: str) -> str:
        self.html.append(html)
        return super().block_html(html)

    def inline_html(self, html: str) -> str:
        self.html.append(html)
        return super().inline_html(html)

    def link(self, text: str, url: str, title: str | None = None) -> str:
        self.urls.append(url)
        return super().link(text, url, title)

    def image(self, text: str, url: str, title: str | None = None) -> str:
        self.urls.append(url)
        return super().image(text, url, title)


def _unsafe_pieces(source: str) -> list[tuple[str, str]]:
    """(raw text, its replacement) for each unsafe piece nbconvert's renderer finds in ``source``."""
    finder = _Finder()
    MarkdownWithMath(renderer=finder).render(source)
    pieces = [(piece, _clean_piece(piece)) for piece in finder.html]
    pieces += [(url, NOWHERE) for url in finder.urls if not safe_url(url)]
    return [(raw, new) for raw, new in pieces if raw != new]


@functools.lru_cache(maxsize=4096)
def sanitize_markdown(source: str) -> str:
    """``source`` with its unsafe raw HTML sanitized and its unsafe links pointing nowhere (see the module).

    A function of ``source`` alone, remembered per process: every submission repeats the release's
    markdown cells, and parsing them again was most of this step's cost.

    A piece that cannot be found verbatim in the source (the renderer normalized it), or a
    source still unsafe after three rounds, is shown as literal text instead: never live.
    """
    for _ in range(3):
        pieces = _unsafe_pieces(source)
        if not pieces:
            return source
        for raw, new in pieces:
            if raw not in source:  # a block the renderer gave with a line break added
                raw, new = raw.rstrip("\n"), new.rstrip("\n")
            if raw not in source:
                return markdown_literal(source, lines=True)
            source = source.replace(raw, new)
    return source if not _unsafe_pieces(source) else markdown_literal(source, lines=True)


def _safe_output_metadata(metadata: dict[str, Any]) -> dict[str, Any]:
    """Only a numeric width and height per image type: the templates print them unquoted into ``<img>``."""
    kept: dict[str, Any] = {}
    for mime, values in metadata.items():
        if mime in INERT_OUTPUT_TYPES and isinstance(values, dict):
            sizes = {k: v for k, v in values.items()
                     if k in ("width", "height") and isinstance(v, int | float) and not isinstance(v, bool)}
            if sizes:
                kept[mime] = sizes
    return kept


def sanitize_outputs(outputs: list[NotebookNode]) -> list[str]:
    """Make ``outputs`` inert in place (see the module); returns the MIME types removed."""
    removed: list[str] = []
    for output in outputs:
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        data = output.get("data", {})
        for mime in list(data):
            if mime in INERT_OUTPUT_TYPES or mime in GRADER_OUTPUT_TYPES:
                continue
            value = data[mime]
            text = "".join(value) if isinstance(value, list) else str(value)
            if mime == "text/html":
                data[mime] = clean_html(text)
            elif mime == "text/markdown":
                data[mime] = sanitize_markdown(text)
            else:
                del data[mime]
                removed.append(mime)
        if removed and "text/plain" not in data:
            data["text/plain"] = f"[output of type {', '.join(sorted(set(removed)))} removed by the autograder]"
        output["metadata"] = _safe_output_metadata(output.get("metadata", {}))
    return removed


def sanitize_notebook(nb: NotebookNode) -> NotebookNode:
    """Make every markdown cell, output and the metadata of ``nb`` inert, in place (see the module)."""
    nb.metadata = type(nb.metadata)({k: nb.metadata[k] for k in KEPT_NOTEBOOK_METADATA if k in nb.metadata})
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = sanitize_markdown(cell.source)
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            sanitize_outputs(cell.get("outputs", []))
    return nb


def notebook_bytes(nb: NotebookNode) -> int:
    """The size of ``nb`` as nbformat writes it (its writer's own text, without the schema
    validation ``nbformat.writes`` does first, which only logs and changes nothing)."""
    return len(nbformat.versions[nb.nbformat].writes_json(nb).encode())


def cap_size(nb: NotebookNode, max_bytes: int) -> list[str]:
    """Keep ``nb`` under ``max_bytes``: drop the outputs of its student cells, largest first; notes on what went.

    Test cells keep theirs (they hold the verdicts nbgrader scored). If the notebook is still
    too large, every student cell's source past the first is cut to a line saying so (the
    submission itself stays in ``submitted/``).
    """
    if notebook_bytes(nb) <= max_bytes:
        return []
    notes = []
    own = [c for c in nb.cells if c.cell_type == "code" and not c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    for cell in sorted(own, key=lambda c: len(json.dumps(c.get("outputs", []))), reverse=True):
        if not cell.get("outputs"):
            break
        cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
                                               text="[outputs removed: the graded notebook was too large]\n")]
        if notebook_bytes(nb) <= max_bytes:
            break
    notes.append(f"The graded notebook passed {max_bytes / MIB:g} MiB; the outputs of the largest cells "
                 "were removed from it.")
    if notebook_bytes(nb) > max_bytes:
        for cell in sorted((c for c in nb.cells if not c.get("metadata", {}).get("nbgrader", {}).get("locked")),
                           key=lambda c: len(c.source), reverse=True):
            cell.source = "# [cut: the graded notebook was too large; see the submitted file]"
            if notebook_bytes(nb) <= max_bytes:
                break
        notes.append("It was still too large: the longest cells were cut from the graded copy.")
    return notes


#: Room the autograded notebook has above the submitted notebook's limit and the output budget.
SIZE_MARGIN_MB = 8.0


class SanitizeSubmission(NbGraderPreprocessor):
    """The last autograde step: the autograded notebook made inert and bounded (see the module).

    Its size is capped at the course's notebook limit plus its output budget plus
    :data:`SIZE_MARGIN_MB` (what the intake and execution allow, with room for the verdicts).
    """

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        settings = grading_settings(self.config)
        cap = int((settings.max_notebook_mb + settings.output_mb + SIZE_MARGIN_MB) * MIB)
        nb = sanitize_notebook(nb)
        notes = cap_size(nb, cap)
        if notes:
            resources.setdefault(REPORT, {}).setdefault("notes", []).extend(notes)
            GradingNotes(notes=notes).preprocess(nb, {})  # at the top, where the student reads notes
        return nb, resources

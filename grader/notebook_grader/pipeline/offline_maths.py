"""Maths on feedback pages and in formgrader with no network: MathJax from the Python environment.

nbconvert's HTML templates, and nbgrader's feedback and formgrade templates built on them, load
MathJax 2 from a CDN; where the CDN cannot be reached (an offline lab, an exam room) every
formula stays raw ``$...$``, and formgrader's script, which waits for MathJax, stops. The engine
replaces nbconvert's ``mathjax`` macro (``templates/base/mathjax.html.j2``, found before
nbconvert's own through ``HTMLExporter.extra_template_basedirs``) with one that writes
:func:`mathjax_script` into the page: MathJax 3's ``tex-svg-full.js`` (every TeX extension, SVG
output, so no font or extension file is ever fetched) from the ``django-static-mathjax``
distribution, a plain copy of MathJax's release files. The page works opened from disk, from
JupyterLab or from formgrader, at the cost of about 2 MB per page. :func:`use_engine
<notebook_grader.pipeline.setup.use_engine>` configures it for every door that renders HTML
through nbconvert with the course's configuration: the feedback pages and formgrader's views.

Formgrader's ``formgrade.js`` talks to MathJax 2 (``MathJax.Hub.Startup.signal.Interest``, to
learn when typesetting ended); the script gives MathJax 3 that one call.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from markupsafe import Markup

#: The MathJax component written into each page.
COMPONENT = "tex-svg-full.js"

#: MathJax 3's configuration: nbconvert's delimiters and options, in MathJax 3's words.
CONFIG = """window.MathJax = {
  tex: {inlineMath: [["$", "$"], ["\\\\(", "\\\\)"]], displayMath: [["$$", "$$"], ["\\\\[", "\\\\]"]],
        processEscapes: true, processEnvironments: true, tags: "ams"},
  svg: {fontCache: "global"},
  options: {renderActions: {addMenu: []}}
};"""

#: What formgrader's formgrade.js asks of MathJax 2, answered by MathJax 3.
MATHJAX2_CALLS = """(function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub || !mj.startup) { return; }
  mj.Hub = {Startup: {signal: {Interest: function (listener) {
    mj.startup.promise.then(function () { listener("End"); });
  }}}, Queue: function () { return mj.typesetPromise ? mj.typesetPromise() : null; }};
})();"""


def mathjax_file() -> Path:
    """MathJax's :data:`COMPONENT` as installed in this Python environment."""
    return Path(str(files("mathjax") / "static" / "mathjax" / "es5" / COMPONENT))


@functools.lru_cache(maxsize=1)
def _library() -> str:
    text = mathjax_file().read_text(encoding="utf-8")
    if "</script" in text.lower():  # it could not sit inside a <script> element
        raise ValueError(f"{mathjax_file()} cannot be written into a page")
    return text


def mathjax_script(url: object = None) -> Markup:
    """The ``<script>`` elements that typeset a page's maths offline (the Jinja filter
    ``offline_mathjax``; ``url``, a CDN address the calling template may pass, is ignored)."""
    return Markup(
        f'<script type="text/javascript">\n{CONFIG}\n</script>\n'
        f'<script type="text/javascript">\n{_library()}\n</script>\n'
        f'<script type="text/javascript">\n{MATHJAX2_CALLS}\n</script>'
    )


def outside_library(page: str) -> str:
    """``page`` without the MathJax library's text, if :func:`mathjax_script` put it there.

    The library is nine tenths of a feedback page (2.3 MB) and holds no element: a check that
    looks for the page's elements (the feedback exporter's accessibility pass) reads the rest.
    """
    if not _library.cache_info().currsize:  # no page of this process carries it
        return page
    head, found, tail = page.partition(_library())
    return head + tail if found else page

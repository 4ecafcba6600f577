"""Pages nbconvert renders with the course's configuration carry MathJax: no CDN.

The browser tests (``tests/test_browser.py``) open a feedback page and formgrader with the
network cut and see the maths typeset; these check the pages themselves.
"""

from __future__ import annotations

import re

import pytest
from nbconvert import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from notebook_grader.course import Course
from notebook_grader.pipeline.feedback_exporter import MISSING_ALT, FeedbackExporter
from notebook_grader.pipeline.offline_maths import mathjax_file, mathjax_script, outside_library
from tests.course_copy import REPO

pytestmark = pytest.mark.unit

#: An address a page would fetch a script from.
REMOTE_SCRIPT = re.compile(r"<script[^>]+src=\"https?://[^\"]*mathjax", re.IGNORECASE)


def _page(template: str) -> str:
    config = Course(REPO).config()
    nb = new_notebook(cells=[new_markdown_cell("The score is $s(x;\\theta) = \\partial_\\theta \\log p$.")])
    return HTMLExporter(config=config, template_name=template).from_notebook_node(nb)[0]


@pytest.mark.parametrize("template", ["classic", "lab"])
def test_a_page_rendered_with_the_course_configuration_carries_mathjax(template: str) -> None:
    html = _page(template)
    assert not REMOTE_SCRIPT.search(html), "the page still loads MathJax from the network"
    assert mathjax_file().read_text(encoding="utf-8") in html
    assert html.count("window.MathJax = {") == 1


def test_a_page_s_own_checks_read_it_without_the_mathjax_library() -> None:
    html = _page("classic")
    library = mathjax_file().read_text(encoding="utf-8")
    rest = outside_library(html)
    assert library not in rest and len(html) - len(rest) == len(library)
    assert "The score is" in rest and rest.count("window.MathJax = {") == 1
    assert outside_library(rest) == rest


def test_a_feedback_page_with_mathjax_still_gets_its_alt_texts() -> None:
    """The accessibility pass is decided on the page without the library, and still runs."""
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    nb = new_notebook(cells=[new_markdown_cell("$x$"), new_code_cell(
        "plot()", outputs=[new_output("display_data", data={"image/png": png})])])
    html = FeedbackExporter(config=Course(REPO).config(), template_name="classic").from_notebook_node(nb)[0]
    assert mathjax_file().read_text(encoding="utf-8") in html
    assert f'alt="{MISSING_ALT}"' in html


def test_without_the_course_configuration_nbconvert_would_fetch_it() -> None:
    """The check above can fail: nbconvert's own page names a CDN."""
    nb = new_notebook(cells=[new_markdown_cell("$x$")])
    assert REMOTE_SCRIPT.search(HTMLExporter(template_name="classic").from_notebook_node(nb)[0])


def test_the_mathjax_is_version_3_with_every_tex_extension_and_svg_output() -> None:
    library = mathjax_file().read_text(encoding="utf-8")
    assert mathjax_file().name == "tex-svg-full.js"
    assert 'VERSION="3.' in library.replace(" ", ""), "MathJax 3"
    script = str(mathjax_script("https://cdn.example/MathJax.js"))
    assert "cdn.example" not in script
    assert "Startup: {signal: {Interest:" in script, "formgrader's MathJax 2 call is answered"


"""The autograded notebook made inert and bounded (``notebook_grader.pipeline.sanitize``), and the output budget."""

from __future__ import annotations

import nbformat
import pytest
from nbconvert import HTMLExporter

from notebook_grader.pipeline.sandboxed_execute import _size
from notebook_grader.pipeline.sanitize import (
    cap_size,
    markdown_literal,
    notebook_bytes,
    sanitize_markdown,
    sanitize_notebook,
)
from tests.faults.hostile import MARK, live_script

pytestmark = pytest.mark.unit

HOSTILE_MARKDOWN = [
    f"<img src=x onerror={MARK}()>",
    f"text <script>{MARK}()</script> more",
    f"[x](javascript:{MARK}())",
    f"[x](<javascript:{MARK}()>)",
    f"[x][r]\n\n[r]: javascript:{MARK}()",
    f"![i](JaVaScRiPt:{MARK}())",
    f'<a href=" java\tscript:{MARK}()">y</a>',
    f'<div onclick="{MARK}()">\n<script>{MARK}()</script>\n</div>\n\ntext after',
    f"<svg onload={MARK}()>",
    f'<iframe src="data:text/html,<script>{MARK}()</script>"></iframe>',
    f"<style>body {{ background: url(javascript:{MARK}()) }}</style>",
]

BENIGN_MARKDOWN = [
    "Near $p = 1/2$ the variance $p(1-p)$ is largest, and $p < q$ means `a<b` in code.",
    "**bold**, *em*, <b>bold</b>, H<sub>2</sub>O, a [link](https://example.org) and ![plot](https://example.org/a.png)",
    "$$\\mathcal{I}(\\theta) = \\mathbb{E}\\left[\\left(\\frac{\\partial}{\\partial\\theta}\\log p\\right)^2\\right]$$",
    "```python\nif x < 1 and y > 2:\n    print('<script>')\n```",
]


def _page(source: str) -> str:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(source)])
    return HTMLExporter(template_name="classic").from_notebook_node(nb)[0]


@pytest.mark.parametrize("source", HOSTILE_MARKDOWN)
def test_hostile_markdown_renders_inert(source: str) -> None:
    assert live_script(_page(source)), "the attack does not work unsanitized: it tests nothing"
    assert not live_script(_page(sanitize_markdown(source)))


@pytest.mark.parametrize("source", BENIGN_MARKDOWN)
def test_prose_mathematics_and_code_are_left_as_written(source: str) -> None:
    assert sanitize_markdown(source) == source


def test_markdown_literal_shows_a_name_as_text() -> None:
    name = f"<img src=x onerror={MARK}()>_[x](javascript:y).ipynb\x1b[2J"
    page = _page(markdown_literal(name))
    assert not live_script(page) and "\\x1b" in page and "<img src" not in page.replace("&lt;", "")


def test_outputs_and_metadata_are_made_inert() -> None:
    outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": f"<b>ok</b><script>{MARK}()</script>",
                                                     "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"application/javascript": f"{MARK}()"}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": f"<svg onload='{MARK}()'/>"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": f"[x](javascript:{MARK}())"}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="},
                               metadata={"image/png": {"width": f"1 onerror={MARK}()", "height": 5}}),
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x", outputs=outputs)])
    widgets = {"state": {}, "x": f"</script><script>{MARK}()"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": widgets}
    assert live_script(HTMLExporter(template_name="classic").from_notebook_node(nb)[0])
    sanitize_notebook(nb)
    page = HTMLExporter(template_name="classic").from_notebook_node(nb)[0]
    assert not live_script(page) and MARK not in page.replace(f"{MARK}()</", "")
    first = nb.cells[0].outputs
    assert first[0].data["text/html"] == "<b>ok</b>"
    assert "application/javascript" not in first[1].data and "removed by the autograder" in first[1].data["text/plain"]
    assert first[4].metadata == {"image/png": {"height": 5}}
    assert "widgets" not in nb.metadata


def test_the_autograded_notebook_is_capped_student_outputs_first() -> None:
    test_cell = nbformat.v4.new_code_cell("checks.done()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="Autograder: 3 of 3 checks passed")])
    test_cell.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "locked": True, "points": 1}
    own = [nbformat.v4.new_code_cell("print(x)", outputs=[nbformat.v4.new_output("stream", name="stdout",
                                                                                 text="x" * (1 << 20))])
           for _ in range(5)]
    nb = nbformat.v4.new_notebook(cells=[*own, test_cell])
    assert cap_size(nb, 16 << 20) == []
    notes = cap_size(nb, 2 << 20)
    assert notes and notebook_bytes(nb) <= 2 << 20
    assert test_cell.outputs[0].text == "Autograder: 3 of 3 checks passed"


def test_every_field_of_a_message_counts_against_the_budget() -> None:
    empty = _size({"data": {"text/plain": ""}, "metadata": {}})
    assert _size({"data": {"text/plain": ""}, "metadata": {"x": "m" * 10_000}}) >= empty + 10_000
    assert _size({"ename": "E", "evalue": "v" * 10_000, "traceback": []}) >= 10_000
    assert _size({"data": {"application/json": {"k": ["v" * 5000, {"w": "u" * 5000}]}}}) >= 10_000
    assert empty >= 64  # an empty output still costs its skeleton: a million of them are not free

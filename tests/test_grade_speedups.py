"""The grading worker's shortcuts change no result: the feedback exporter, the caches, scratch gradebooks."""

from __future__ import annotations

import base64
import zlib
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.api import Gradebook
from sqlalchemy import create_engine, text

from notebook_grader.patches import APPLIED, speedups
from notebook_grader.pipeline import feedback_exporter
from notebook_grader.pipeline.feedback_exporter import MISSING_ALT, FeedbackExporter
from notebook_grader.storage.database import ensure_schema

pytestmark = pytest.mark.unit


def _png() -> str:
    """A valid 1x1 PNG, base64-encoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", bytes([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0]))
           + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


def notebook(*, image: bool) -> nbformat.NotebookNode:
    cells = [new_markdown_cell("## A part\nSome *markdown* with $x^2$ and <b>bold</b>  text."),
             new_code_cell("def f(x):\n    return x ** 2\n\nf(3)",
                           outputs=[new_output("execute_result", data={"text/plain": "9"}, execution_count=1)])]
    if image:
        cells.append(new_code_cell("plot()", outputs=[new_output("display_data", data={"image/png": _png()})]))
    nb = new_notebook(cells=cells)
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def pages(nb: nbformat.NotebookNode, template: str) -> tuple[str, str]:
    ours = FeedbackExporter(template_name=template).from_notebook_node(nb)[0]
    theirs = HTMLExporter(template_name=template).from_notebook_node(nb)[0]
    return ours, theirs


def test_a_page_without_images_is_the_same_document() -> None:
    ours, theirs = pages(notebook(image=False), "classic")
    assert "<img" not in theirs.lower()
    assert str(BeautifulSoup(ours, features="html.parser")) == theirs  # only the serialization differs


@pytest.mark.parametrize("template,image", [("classic", True), ("lab", False), ("lab", True)])
def test_a_page_the_accessibility_pass_changes_gets_it(template: str, image: bool) -> None:
    ours, theirs = pages(notebook(image=image), template)
    assert ours == theirs
    if image:
        assert f'alt="{MISSING_ALT}"' in ours
    if template == "lab":
        assert 'tabindex="0"' in ours


def test_remembered_markdown_renders_the_same_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second page renders no markdown cell again, and is the same page; a cell with
    attachments, or an exporter with other settings, is rendered afresh."""
    renders: list[str] = []
    real = HTMLExporter.markdown2html
    counted = feedback_exporter.pass_context(lambda self, ctx, src: renders.append(src) or real(self, ctx, src))
    monkeypatch.setattr(HTMLExporter, "markdown2html", counted)
    monkeypatch.setattr(feedback_exporter, "_RENDERED", feedback_exporter.OrderedDict())
    nb = notebook(image=False)
    nb.cells.append(new_markdown_cell("![a plot](attachment:plot.png)",
                                      attachments={"plot.png": {"image/png": _png()}}))
    theirs = HTMLExporter(template_name="classic").from_notebook_node(nb)[0]
    renders.clear()
    first = FeedbackExporter(template_name="classic").from_notebook_node(nb)[0]
    assert len(renders) == 2
    second = FeedbackExporter(template_name="classic").from_notebook_node(nb)[0]
    assert first == second == theirs
    assert renders[2:] == ["![a plot](attachment:plot.png)"]  # only the cell with an attachment again
    anchors = FeedbackExporter(template_name="classic", anchor_link_text="#").from_notebook_node(nb)[0]
    assert anchors == HTMLExporter(template_name="classic", anchor_link_text="#").from_notebook_node(nb)[0]
    assert anchors != first


def test_remembered_markdown_keeps_only_the_latest(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feedback_exporter, "_RENDERED", feedback_exporter.OrderedDict())
    monkeypatch.setattr(feedback_exporter, "REMEMBERED_CELLS", 3)
    for number in range(5):
        FeedbackExporter(template_name="classic").from_notebook_node(new_notebook(cells=[
            new_markdown_cell(f"answer {number}")]))
    assert [key[0] for key in feedback_exporter._RENDERED] == ["answer 2", "answer 3", "answer 4"]


def test_the_highlighting_cache_ignores_execution_metadata_only(monkeypatch: pytest.MonkeyPatch) -> None:
    speedups.install()
    import nbconvert.filters.highlight as highlight

    calls: list[str] = []
    real = highlight._pygments_highlight
    monkeypatch.setattr(highlight, "_pygments_highlight", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    colour = Highlight2HTML(pygments_lexer="ipython3")
    source = f"x = 1  # cache test {id(calls)}"
    first = colour(source, metadata={"execution": {"iopub.execute_input": "2026-01-01T00:00:00Z"}})
    second = colour(source, metadata={"execution": {"iopub.execute_input": "2026-01-02T00:00:00Z"}})
    assert first == second and len(calls) == 1
    assert colour(source, metadata={"magics_language": "bash"}) != first and len(calls) == 2


def test_cell_metadata_found_valid_is_not_validated_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """nbgrader's metadata check remembers what it found valid, never what it refused."""
    speedups.install()
    import jsonschema
    from nbgrader.nbgraderformat import MetadataValidator, ValidationError

    if APPLIED.get("cache_schema_validators") != "applied":
        pytest.skip(f"the validator cache is not applied here ({APPLIED.get('cache_schema_validators')})")
    looked: list[object] = []
    grade_id = f"remembered-{id(looked)}"
    real = jsonschema.Draft4Validator.iter_errors

    def iter_errors(self: jsonschema.Draft4Validator, instance: object, *args: object) -> object:
        if isinstance(instance, dict) and instance.get("grade_id") == grade_id:  # not nbformat's own checks
            looked.append(instance)
        return real(self, instance, *args)

    monkeypatch.setattr(jsonschema.Draft4Validator, "iter_errors", iter_errors)
    validator = MetadataValidator()
    meta = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": grade_id,
            "schema_version": 3}
    for _ in range(3):
        validator.validate_cell(new_code_cell("x", metadata={"nbgrader": dict(meta)}))
    assert len(looked) == 1
    for _ in range(2):  # nbgrader makes a new validator, with a new schema dict, at each step
        MetadataValidator().validate_cell(new_code_cell("x", metadata={"nbgrader": dict(meta)}))
    assert len(looked) == 1
    wrong = {**meta, "points": "two"}  # the schema wants a number
    for _ in range(2):
        with pytest.raises(ValidationError):
            validator.validate_cell(new_code_cell("x", metadata={"nbgrader": dict(wrong)}))
    assert len(looked) == 3
    validator.validate_cell(new_code_cell("x", metadata={"nbgrader": {**meta, "points": 2.0}}))
    assert len(looked) == 4  # 2.0 is not the text 2: checked on its own


def test_only_scratch_gradebooks_give_up_durability(tmp_path: Path) -> None:
    scratch, course = tmp_path / "scratch", tmp_path / "course"
    scratch.mkdir()
    course.mkdir()
    speedups.relax_scratch_gradebooks(str(scratch))

    def pragmas(folder: Path) -> tuple[int, str]:
        engine = create_engine(f"sqlite:///{folder / 'gradebook.db'}")
        with engine.connect() as connection:
            result = (connection.execute(text("PRAGMA synchronous")).scalar(),
                      connection.execute(text("PRAGMA journal_mode")).scalar())
        engine.dispose()
        return result

    assert pragmas(scratch) == (0, "memory")
    assert pragmas(course) == (2, "delete")  # SQLite's defaults: the course's gradebook stays durable


def test_scratch_gradebooks_share_an_engine_but_never_a_replaced_file(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import nbgrader.api

    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader.api.create_engine)  # undone after the test
    monkeypatch.setattr(speedups, "_scratch_engines", {})
    scratch, course = tmp_path / "scratch", tmp_path / "course"
    scratch.mkdir()
    course.mkdir()
    speedups.share_scratch_engines(str(scratch))
    first, second, path = scratch / "first.db", scratch / "second.db", scratch / "gradebook.db"
    for copy, assignment in ((first, "ps1"), (second, "ps2")):
        ensure_schema(f"sqlite:///{copy}")  # as `course release` makes it (nbgrader's own way takes 3 s)
        with Gradebook(f"sqlite:///{copy}") as gb:
            gb.add_assignment(assignment)
    speedups.replace_scratch_gradebook(first, path)
    url = f"sqlite:///{path}"

    with Gradebook(url) as a, Gradebook(url) as b:
        assert a.engine is b.engine  # so SQL compiled for one is reused by the next
    ensure_schema(f"sqlite:///{course / 'gradebook.db'}")
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as a, Gradebook(f"sqlite:///{course / 'gradebook.db'}") as b:
        assert a.engine is not b.engine  # outside the scratch folder nothing changes

    # A task that failed half-way left a connection in the pool, on the file it graded into.
    leaked = Gradebook(url)
    assert [a.name for a in leaked.assignments] == ["ps1"]
    leaked.db.remove()
    # The next task starts (task.py), and nbgrader opens the new file.
    speedups.replace_scratch_gradebook(second, path)
    with Gradebook(url) as gb:
        assert [a.name for a in gb.assignments] == ["ps2"]
    for engine in speedups._scratch_engines.values():
        engine.dispose()


def test_the_intake_gives_the_json_nbformat_writes() -> None:
    """The intake's plain JSON of a notebook is what ``nbformat.writes`` gives, key order included:
    every course notebook, and one with bytes, transient fields and multi-line text."""
    import json

    from notebook_grader.run.intake import as_json

    repo = Path(__file__).resolve().parents[1]
    notebooks = [nbformat.read(path, as_version=4) for path in sorted(repo.glob("s*/**/*.ipynb"))]
    odd = notebook(image=True)
    odd.metadata["orig_nbformat"] = 3
    odd.cells[1].outputs.append(new_output("stream", name="stdout", text="one\ntwo\n"))
    odd.cells[1].outputs[0]["transient"] = {"display_id": "x"}
    odd.cells[0].metadata["raw"] = b"\x00bytes"
    notebooks.append(odd)
    assert len(notebooks) > 6
    for nb in notebooks:
        ours, theirs = as_json(nb), json.loads(nbformat.writes(nb))
        assert json.dumps(ours) == json.dumps(theirs)


def test_a_scratch_gradebook_schema_is_checked_once_per_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the first ``Gradebook`` on a scratch file, nbgrader's table checks are skipped until the
    file is replaced; the course's gradebook is checked every time; a replaced file gets its tables."""
    import nbgrader.api
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    monkeypatch.setattr(nbgrader.api, "create_engine", nbgrader.api.create_engine)  # undone after the test
    monkeypatch.setattr(nbgrader.api, "inspect", nbgrader.api.inspect)
    monkeypatch.setattr(nbgrader.api.Base.metadata, "create_all", nbgrader.api.Base.metadata.create_all)
    monkeypatch.setattr(speedups, "_scratch_engines", {})
    monkeypatch.setattr(speedups, "_known_schemas", {})
    scratch, course = tmp_path / "scratch", tmp_path / "course"
    scratch.mkdir()
    course.mkdir()
    speedups.share_scratch_engines(str(scratch))
    speedups.known_scratch_schemas()
    template, path = tmp_path / "template.db", scratch / "gradebook.db"
    ensure_schema(f"sqlite:///{template}")  # as `course release` makes it (nbgrader's own way takes 3 s)
    with Gradebook(f"sqlite:///{template}") as gb:
        gb.add_assignment("ps1")
    checks: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "table_info" in statement or "sqlite_master" in statement:
            checks.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        def opened(url: str) -> int:
            checks.clear()
            with Gradebook(url) as gb:
                assert gb.find_assignment("ps1").name == "ps1"
            return len(checks)

        speedups.replace_scratch_gradebook(template, path)
        assert opened(f"sqlite:///{path}") > 0  # the first open of the file checks its tables
        assert opened(f"sqlite:///{path}") == 0  # the next ones do not
        assert opened(f"sqlite:///{template}") > 0 and opened(f"sqlite:///{template}") > 0  # not scratch
        speedups.replace_scratch_gradebook(template, path)
        assert opened(f"sqlite:///{path}") > 0  # a new file: checked again
        (tmp_path / "empty.db").touch()
        speedups.replace_scratch_gradebook(tmp_path / "empty.db", path)
        checks.clear()
        with Gradebook(f"sqlite:///{path}") as gb:  # an empty file gets nbgrader's tables, as before
            gb.add_assignment("ps2")
        assert checks
    finally:
        event.remove(Engine, "before_cursor_execute", count)

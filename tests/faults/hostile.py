"""Faults that attack the grader outside the sandbox: links, special files, HTML, names.

Each worked against ``course grade`` before the grader took paths as given and made what it
renders inert (:mod:`notebook_grader.run.paths`, :mod:`notebook_grader.pipeline.sanitize`):

* a submission folder linked to ``source/``: full marks, and the reference solutions in the
  feedback;
* a notebook linked to another student's: that student's work graded and returned;
* a folder in a submission linked to ``source/``: copied into the sandbox, so the student's code
  read the solutions there;
* a named pipe as the notebook;
* markdown, HTML, JavaScript, SVG and image metadata that ran script in the feedback page and in
  formgrader's (the instructor's Jupyter session);
* a notebook file name that is HTML, shown in the feedback's notes;
* output the budget did not count (metadata, display updates, widget state): 90 MiB in the
  autograded notebook and the worker's memory.

:func:`live_script` is the host check for the last two: it renders a page as a browser would
see it and finds anything of the student's that could run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import nbformat
from bs4 import BeautifulSoup

from tests.faults.catalog import ASSIGNMENT, NOTEBOOK, SPY_CELL, Fault, FaultContext

#: Put into every script the attacks inject; a page where it appears in live markup has lost.
MARK = "XSSMARK"


def _link_source(ctx: FaultContext) -> None:
    student = ctx.root / "submitted" / "fault-link-source"
    student.mkdir(parents=True, exist_ok=True)
    (student / ASSIGNMENT).symlink_to(ctx.root / "source" / ASSIGNMENT, target_is_directory=True)


def _link_other_student(ctx: FaultContext) -> None:
    folder = ctx.folder("fault-link-other-student")
    (folder / NOTEBOOK).symlink_to(ctx.root / "submitted" / "alice" / ASSIGNMENT / NOTEBOOK)


def _link_folder(ctx: FaultContext) -> None:
    """A correct notebook but for exercise 1, whose answer is taken from a linked ``source/``."""
    cheat = '''
import json, re
try:
    _nb = json.load(open("solutions/exercises.ipynb"))
    print("LEAK: read the linked source")
    for _cell in _nb["cells"]:
        if _cell["metadata"].get("nbgrader", {}).get("grade_id") == "ex1_code":
            exec(re.sub(r"#+ *(BEGIN|END) SOLUTION", "", "".join(_cell["source"])))
except OSError as exc:
    print("denied", type(exc).__name__)
'''
    ctx.write("fault-link-folder", ctx.correct(ex1_code=cheat))
    (ctx.folder("fault-link-folder") / "solutions").symlink_to(ctx.root / "source" / ASSIGNMENT,
                                                               target_is_directory=True)


def _fifo_notebook(ctx: FaultContext) -> None:
    os.mkfifo(ctx.folder("fault-fifo-notebook") / NOTEBOOK)


def _html_injection(ctx: FaultContext) -> None:
    nb = ctx.correct({SPY_CELL: f'''
from IPython.display import HTML, SVG, Javascript, Markdown, display
display(HTML("<img src=x onerror=\\"{MARK}()\\"><script>{MARK}()</script>"))
display(Javascript("{MARK}()"))
display(Markdown("<script>{MARK}()</script> [x](javascript:{MARK}())"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="{MARK}()"></svg>'))
display({{"image/png": "iVBORw0KGgo="}}, raw=True,
        metadata={{"image/png": {{"width": "1 onerror={MARK}()"}}}})
display({{"application/vnd.jupyter.widget-view+json": {{"model_id": "</script><script>{MARK}()</script>"}},
         "text/plain": "widget"}}, raw=True)
print("injected")
'''})
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1c_written":
            cell.source = (f"Near p = 1/2. <img src=x onerror=\"{MARK}()\">\n\n<script>{MARK}()</script>\n\n"
                           f"[see here](javascript:{MARK}()) <a href=\"javascript:{MARK}()\">or here</a>")
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json":
                              {"state": {}, "x": f"</script><script>{MARK}()</script>"}}
    ctx.write("fault-html-injection", nb)


def _html_file_name(ctx: FaultContext) -> None:
    ctx.write("fault-html-file-name", ctx.correct(), name=f"<img src=x onerror={MARK}()>.ipynb")


def _output_fields(ctx: FaultContext) -> None:
    """Output the budget did not count: metadata, one huge display update, widget state (30 MiB each)."""
    code = '''
from IPython.display import display
from comm import create_comm
_blob = "m" * 2**20
for _i in range(30):
    display({"text/plain": ""}, raw=True, metadata={"x": _blob})
_handle = display({"text/plain": "small"}, raw=True, display_id=True)
_handle.update({"text/plain": _blob * 30}, raw=True)
_comm = create_comm(target_name="jupyter.widget", data={"state": {"_model_name": "x"}, "buffer_paths": []})
for _i in range(30):
    _comm.send({"method": "update", "state": {f"k{_i}": _blob}, "buffer_paths": []})
print("fields sent")
'''
    ctx.write("fault-output-fields", ctx.correct({SPY_CELL: code}))


def _check_autograded_size(student: str, max_mb: float) -> Callable[[FaultContext], None]:
    def check(ctx: FaultContext) -> None:
        path = ctx.root / "autograded" / student / ASSIGNMENT / NOTEBOOK
        assert path.stat().st_size < max_mb * 2**20, f"the autograded notebook is {path.stat().st_size} bytes"
    return check


def live_script(page: str) -> list[str]:
    """What in the HTML ``page`` could run a student's script: tags, attributes and links carrying :data:`MARK`."""
    soup = BeautifulSoup(page, "html.parser")
    found = []
    for tag in soup.find_all(True):
        if tag.name in ("script", "style", "iframe", "object", "embed", "svg") and MARK in tag.decode():
            found.append(tag.decode()[:120])
        for name, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if MARK in text or (name.lower().startswith("on") and MARK in str(tag)):
                found.append(f"<{tag.name} {name}={text[:80]!r}>")
            if name in ("href", "src") and text.strip().lower().startswith(("javascript:", "data:text")):
                found.append(f"<{tag.name} {name}={text[:80]!r}>")
    return found


def rendered(path: Path) -> str:
    """An autograded notebook as formgrader's pages render it (nbconvert's classic HTML, which they extend)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="classic").from_notebook_node(nbformat.read(path, as_version=4))[0]


def _check_no_live_script(student: str) -> Callable[[FaultContext], None]:
    def check(ctx: FaultContext) -> None:
        feedback = ctx.root / "feedback" / student / ASSIGNMENT / "exercises.html"
        autograded = ctx.root / "autograded" / student / ASSIGNMENT / NOTEBOOK
        assert not live_script(feedback.read_text()), live_script(feedback.read_text())
        assert not live_script(rendered(autograded)), live_script(rendered(autograded))
    return check


def _check_no_solution(student: str) -> Callable[[FaultContext], None]:
    def check(ctx: FaultContext) -> None:
        solution = json.loads((ctx.root / "source" / ASSIGNMENT / NOTEBOOK).read_text())
        reference = next("".join(c["source"]) for c in solution["cells"]
                         if c["metadata"].get("nbgrader", {}).get("grade_id") == "ex1_code")
        body = next(line for line in reference.splitlines() if line.strip().startswith("return"))
        for step in ("feedback", "autograded"):
            for path in (ctx.root / step / student / ASSIGNMENT).rglob("*"):
                if path.is_file():
                    assert body not in path.read_text(errors="replace"), f"{path} holds the reference solution"
    return check


def _check_not_alice(ctx: FaultContext) -> None:
    feedback = (ctx.root / "feedback" / "fault-link-other-student" / ASSIGNMENT / "exercises.html").read_text()
    alice = json.loads((ctx.root / "submitted" / "alice" / ASSIGNMENT / NOTEBOOK).read_text())
    mine = {"".join(c["source"]) for c in alice["cells"] if c["cell_type"] == "code"
            and c["metadata"].get("nbgrader", {}).get("solution")}
    assert not any(line.strip() and line in feedback for source in mine for line in source.splitlines()
                   if line.strip().startswith("return")), "another student's answers are in the feedback"


HOSTILE_FAULTS: list[Fault] = [
    Fault("fault-link-source", _link_source, lambda c: 0.0, True, "is a symbolic link",
          _check_no_solution("fault-link-source")),
    Fault("fault-link-other-student", _link_other_student, lambda c: 0.0, True, "is a symbolic link",
          _check_not_alice),
    Fault("fault-link-folder", _link_folder,
          lambda c: c.full - c.test_points["ex1a_bernoulli_score"] - c.test_points["ex1b_bernoulli_fisher"], False,
          "solutions is a symbolic link; it was not used", _check_no_solution("fault-link-folder")),
    Fault("fault-fifo-notebook", _fifo_notebook, lambda c: 0.0, True, "is a named pipe"),
    Fault("fault-html-injection", _html_injection, lambda c: c.full, False, "injected",
          _check_no_live_script("fault-html-injection")),
    Fault("fault-html-file-name", _html_file_name, lambda c: c.full, False, "was graded in its place",
          _check_no_live_script("fault-html-file-name")),
    Fault("fault-output-fields", _output_fields, lambda c: c.full, False, "output passed",
          _check_autograded_size("fault-output-fields", 8), also=("were not kept",)),
]

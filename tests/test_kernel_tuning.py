"""The grading kernel's shortcuts skip only work whose result nothing uses."""

from __future__ import annotations

import re
import subprocess
import sys
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from notebook_grader.patches import kernel_tuning

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    kernel_tuning.install()
    kernel_tuning.install()  # idempotent: no second layer
    return InteractiveShell.instance()


def test_an_error_is_shown_in_full_and_stored_plainly(shell: InteractiveShell,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    result = shell.run_cell("def f(x):\n    return 1 / x\n\nf(0)", store_history=True)
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    shown = re.sub(r"\x1b\[[0-9;]*m", "", capsys.readouterr().out)
    assert "Cell In[" in shown and "----> 4 f(0)" in shown  # IPython's own rich traceback
    stored = shell.history_manager.exceptions[result.execution_count]
    assert stored["ename"] == "ZeroDivisionError" and stored["evalue"] == "division by zero"
    assert stored["traceback"][0] == "Traceback (most recent call last):\n"
    assert "return 1 / x" in "".join(stored["traceback"]) and "Cell In[" not in "".join(stored["traceback"])


def test_a_cell_is_transformed_once_and_exactly_as_ipython_does(shell: InteractiveShell,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    manager = shell.input_transformer_manager
    calls: list[str] = []
    real = type(manager).transform_cell
    monkeypatch.setattr(type(manager), "transform_cell", lambda self, cell: calls.append(cell) or real(self, cell))
    for cell in ("%time x = 1", "x?", "!echo hi", "y = 2\nz = y ** 2"):
        first, second = shell.transform_cell(cell), shell.transform_cell(cell)
        assert first == second == real(manager, cell)
    assert len(calls) == 4  # one computation per cell (the comparison above calls IPython's directly)

    shell.transform_cell("a = 1")
    shell.transform_cell("a = 1")
    shell.transform_cell("a = 1")  # a third call (the next cell, same code) is computed again
    assert calls[-2:] == ["a = 1", "a = 1"]

    shell.transform_cell("e = 5")
    shell.events.trigger("post_execute")  # the cell ran without a second transform (top-level await)
    shell.transform_cell("e = 5")  # the next cell, same code: computed again
    assert calls[-2:] == ["e = 5", "e = 5"]

    shell.transform_cell("b = 1")
    shell.input_transformers_post.append(lambda lines: [line.replace("1", "2") for line in lines])
    try:
        assert shell.transform_cell("b = 1") == "b = 2\n"  # new transformers: computed afresh
    finally:
        shell.input_transformers_post.pop()


def test_the_kernel_parent_formats_one_traceback_before_it_forks() -> None:
    """After the warm-up, ``inspect`` knows every loaded module's file: a forked kernel inherits it."""
    probe = (
        "import inspect, sys, numpy\n"
        "from notebook_grader.patches import kernel_tuning\n"
        "assert 'numpy' not in inspect._filesbymodname\n"
        "kernel_tuning.warm_tracebacks()\n"
        "assert inspect._filesbymodname.get('numpy') == numpy.__file__\n"
        "assert 'IPython.core.ultratb' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


def test_a_traceback_is_coloured_as_stack_data_colours_it_with_one_lexer_class() -> None:
    """The same coloured lines as stack_data's own lexer, for any code and ranges; Pygments
    compiles the lexer's expressions once (at install), not once per traceback."""
    probe = (
        "import stack_data, stack_data.core, stack_data.utils\n"
        "from pygments.formatters.terminal256 import Terminal256Formatter\n"
        "from pygments.lexer import RegexLexerMeta\n"
        "from pygments.styles import get_style_by_name\n"
        "from notebook_grader.patches import APPLIED, kernel_tuning\n"
        "own = stack_data.utils._pygmented_with_ranges\n"
        "style = stack_data.style_with_executing_node(get_style_by_name('default'), 'bg:ansiyellow')\n"
        "cases = [('y = f(x)\\n', [(4, 8)]), ('def f(x):\\n    return 1 / x\\n', [(21, 26), (0, 3)]),\n"
        "         ('s = \"unterminated\\n', [(4, 9)]), ('', []), ('a = [1,\\n     2]\\n', [])]\n"
        "formatter = Terminal256Formatter(style=style)\n"
        "before = [own(formatter, code, ranges) for code, ranges in cases]\n"
        "kernel_tuning.install()\n"
        "assert APPLIED['one_range_lexer'] == 'applied', APPLIED\n"
        "assert stack_data.core._pygmented_with_ranges is stack_data.utils._pygmented_with_ranges is not own\n"
        "compiled = []\n"
        "real = RegexLexerMeta.process_tokendef\n"
        "RegexLexerMeta.process_tokendef = lambda cls, *a: compiled.append(cls) or real(cls, *a)\n"
        "after = [stack_data.core._pygmented_with_ranges(formatter, code, ranges) for code, ranges in cases]\n"
        "assert after == before, (after, before)\n"
        "assert compiled == [], compiled\n"
        "assert before[0] != own(formatter, 'y = f(x)\\n', [])  # the ranges are marked\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)


#: Cells whose IPython syntax the token transformers must find, and plain Python that looks close to it.
SYNTAX_CELLS = (
    "%time x = 1", "%%timeit\nx = 1", "x?", "x??", "!echo hi", "a = %pwd", "b = !ls", "/print 1 2",
    ",print a b", ";print a b", "  %time y = 2", "if True:\n    !echo hi", "x = 1 != 2",
    "print('%d' % 3)", "s = 'why?'", "x = (1\n, 2)", "y = 4 / 2\nz = (y\n/ 2)", "# a comment?\nx = 1",
    "x = 1", "def f(x):\n    return x ** 2\n", "", "\n\n  x = 1", ">>> x = 1\n>>> x", "In [1]: x = 1",
    "x = [1,\n     2]\n", 's = """\n, not a call\n"""', "x = 1;  y = 2", "x = 1 \\\n    / 2",
    "x = 1\r/print 1 2", "x = 1\r\n;print a b", "x = 1\f\n/print 1 2",
)

#: Cells with and without a top-level ``await`` (and the words in strings, names and comments).
ASYNC_CELLS = (
    "import asyncio\nawait asyncio.sleep(0)", "async with lock:\n    pass", "async for x in xs:\n    pass",
    "[x async for x in xs]", "async def f():\n    await g()\n", "s = 'await me'", "awaiting = 1",
    "# async comment\nx = 1", "x = 1", "def f():\n    return 1", "return 1", "x = (", "await", "",
)


def _course_code_cells() -> list[str]:
    import nbformat

    from tests.course_copy import REPO

    return [cell.source for path in sorted((REPO / "source").glob("*/*.ipynb"))
            for cell in nbformat.read(path, as_version=4).cells if cell.cell_type == "code"]


def test_cells_are_transformed_exactly_as_ipython_transforms_them(tmp_path) -> None:
    """With the quick token transforms, every course cell and every near miss transforms as before."""
    import json

    cells = [*SYNTAX_CELLS, *_course_code_cells()]
    (tmp_path / "cells.json").write_text(json.dumps(cells))
    probe = (
        "import json, sys\n"
        "from IPython.core.inputtransformer2 import TransformerManager\n"
        "from notebook_grader.patches import APPLIED, kernel_tuning\n"
        "cells = json.loads(open(sys.argv[1]).read())\n"
        "def run(cell):\n"
        "    try:\n"
        "        return TransformerManager().transform_cell(cell)\n"
        "    except Exception as exc:\n"
        "        return f'{type(exc).__name__}: {exc}'\n"
        "before = [run(cell) for cell in cells]\n"
        "kernel_tuning.install()\n"
        "assert APPLIED['quick_token_transforms'] == 'applied', APPLIED\n"
        "after = [run(cell) for cell in cells]\n"
        "wrong = [(c, b, a) for c, b, a in zip(cells, before, after) if b != a]\n"
        "assert not wrong, wrong\n"
        "changed = sum(b != c + ('' if c.endswith(chr(10)) else chr(10)) for c, b in zip(cells, before))\n"
        "assert changed >= 12, changed  # the syntax cells were transformed\n"
        "from IPython.core import inputtransformer2 as t\n"
        "calls = []\n"
        "real = t.make_tokens_by_line\n"
        "t.make_tokens_by_line = lambda lines: calls.append(1) or real(lines)\n"
        "run('x = 1\\ny = x ** 2')\n"
        "assert calls == [], 'plain Python was tokenized'\n"
        "run('%time x = 1')\n"
        "assert calls, 'a magic was not tokenized'\n"
    )
    subprocess.run([sys.executable, "-c", probe, str(tmp_path / "cells.json")], check=True, timeout=120)


@pytest.mark.parametrize("cell", ASYNC_CELLS)
def test_the_await_question_is_answered_as_ipython_answers_it(shell: InteractiveShell, cell: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from IPython.core import interactiveshell
    from IPython.core.async_helpers import _should_be_async

    compiled: list[str] = []
    monkeypatch.setattr(interactiveshell, "_should_be_async",
                        lambda code: compiled.append(code) or _should_be_async(code))
    transformed = shell.transform_cell(cell)
    assert shell.should_run_async(cell, transformed_cell=transformed) == _should_be_async(transformed)
    assert bool(compiled) == ("await" in transformed or "async" in transformed)  # compiled only then


#: Cells whose output must reach the client in their own cell, in order.
FLUSH_CELLS = (
    ("x = 1", []),
    ("print('end')", [("stdout", "end\n")]),
    ("import threading\nt = threading.Thread(target=print, args=('from a thread',))\nt.start()\nt.join()",
     [("stdout", "from a thread\n")]),
    ("import time\nprint('before')\ntime.sleep(0.4)\nprint('after')", [("stdout", "before\n"), ("stdout", "after\n")]),
    ("import sys\nsys.stdout.flush()\n_ = sys.stderr.write('to stderr\\n')", [("stderr", "to stderr\n")]),
    ("print('a', end='')\nsys.stdout.flush()\nprint('b')", [("stdout", "a"), ("stdout", "b\n")]),
    ("sys.stdout.flush()", []),
)

LAUNCHER = (
    "import sys\n"
    "from notebook_grader.patches import APPLIED, kernel_tuning\n"
    "kernel_tuning.install()\n"
    "sys.stderr.write(repr(APPLIED) + '\\n')\n"
    "from ipykernel.kernelapp import IPKernelApp\n"
    "app = IPKernelApp.instance()\n"
    "app.initialize(sys.argv[1:] + ['--HistoryManager.hist_file=:memory:'])\n"
    "app.start()\n"
)


def _execute_in_a_kernel(tmp_path, name: str, env: dict[str, str], cells: list[str]) -> Any:
    """``cells`` run by nbclient in a kernel with the shortcuts installed (unless ``env`` switches
    them off), as an executed notebook; the kernel spec is found on ``JUPYTER_PATH``."""
    import json

    import nbformat
    from nbclient import NotebookClient

    spec = tmp_path / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", LAUNCHER, "-f", "{connection_file}"], "display_name": name,
        "language": "python", "env": env}))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code) for code in cells])
    NotebookClient(nb, kernel_name=name, timeout=60).execute()
    return nb


def _run_in_a_kernel(tmp_path, name: str, env: dict[str, str]) -> list[list[tuple[str, str]]]:
    """Each cell's outputs of :data:`FLUSH_CELLS` (see :func:`_execute_in_a_kernel`)."""
    nb = _execute_in_a_kernel(tmp_path, name, env, [code for code, _ in FLUSH_CELLS])
    return [[(out.get("name", out.output_type), out.get("text", "")) for out in cell.outputs] for cell in nb.cells]


def _merged(outputs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Stream outputs with consecutive pieces of one stream joined (how they split depends on timing)."""
    merged: list[tuple[str, str]] = []
    for stream, text in outputs:
        if merged and merged[-1][0] == stream:
            merged[-1] = (stream, merged[-1][1] + text)
        else:
            merged.append((stream, text))
    return merged


def test_every_cell_s_output_arrives_in_its_cell_with_the_quick_flush(tmp_path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel with the shortcuts delivers what each cell prints, in that cell, as one without them."""
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    tuned = _run_in_a_kernel(tmp_path, "tuned", {})
    plain = _run_in_a_kernel(tmp_path, "plain", {"NOTEBOOK_GRADER_NO_PATCHES": "1"})
    expected = [_merged(outputs) for _, outputs in FLUSH_CELLS]
    assert [_merged(cell) for cell in tuned] == expected
    assert [_merged(cell) for cell in plain] == expected


def test_a_tuned_kernel_sends_no_execute_input_and_each_cell_keeps_its_count_and_time(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the ``execute_input`` broadcast, each cell has the same count, outputs and kernel time."""
    from notebook_grader.pipeline.sandboxed_execute import _kernel_seconds

    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path))
    cells = ["x = 1", "x + 1", "import time\ntime.sleep(0.3)\nprint(x)", "x + 2"]
    tuned = _execute_in_a_kernel(tmp_path, "tuned", {}, cells)
    plain = _execute_in_a_kernel(tmp_path, "plain", {"NOTEBOOK_GRADER_NO_PATCHES": "1"}, cells)
    for nb in (tuned, plain):
        assert [c.execution_count for c in nb.cells] == [1, 2, 3, 4]
        assert [[o.get("execution_count") for o in c.outputs if o.output_type == "execute_result"]
                for c in nb.cells] == [[], [2], [], [4]]
        assert [[o.get("data", {}).get("text/plain", o.get("text")) for o in c.outputs] for c in nb.cells] == \
            [[], ["2"], ["1\n"], ["3"]]
        assert 0.3 <= _kernel_seconds(nb.cells[2]) < 5
    assert all("iopub.execute_input" in c.metadata.execution for c in plain.cells)
    assert not any("iopub.execute_input" in c.metadata.execution for c in tuned.cells)


def test_the_executing_step_numbers_a_cell_from_the_reply_and_still_does_what_nbgrader_does() -> None:
    """Without ``execute_input``, SandboxedExecute takes a cell's count from the kernel's reply; a
    count already set (by an ``execute_result``) stays; nbgrader's own step still records an
    error the reply reports and the outputs lack."""
    import nbformat

    from notebook_grader.pipeline.sandboxed_execute import SandboxedExecute

    step = SandboxedExecute()
    quiet, shown, failed = (nbformat.v4.new_code_cell(code) for code in ("x = 1", "x", "1 / 0"))
    shown.execution_count = 2  # from its execute_result
    error = {"status": "error", "execution_count": 3, "ename": "ZeroDivisionError", "evalue": "division by zero",
             "traceback": ["ZeroDivisionError: division by zero"]}
    step.on_cell_executed(cell=quiet, cell_index=0, execute_reply={"content": {"status": "ok", "execution_count": 1}})
    step.on_cell_executed(cell=shown, cell_index=1, execute_reply={"content": {"status": "ok", "execution_count": 9}})
    step.on_cell_executed(cell=failed, cell_index=2, execute_reply={"content": error})
    assert (quiet.execution_count, shown.execution_count, failed.execution_count) == (1, 2, 3)
    assert [o.ename for o in failed.outputs] == ["ZeroDivisionError"]
    aborted = nbformat.v4.new_code_cell("y = 2")
    step.on_cell_executed(cell=aborted, cell_index=3, execute_reply={"content": {"status": "aborted"}})
    assert aborted.execution_count is None and aborted.outputs == []


def test_the_quick_module_lookup_answers_as_inspect_does_and_walks_once(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """For frames, code and tracebacks of a cell (a file no module has) and of modules, and for every
    other kind of object, the same module as ``inspect.getmodule``; sys.modules is walked again only
    after an import."""
    import importlib
    import inspect
    import linecache

    original = getattr(inspect.getmodule, "__wrapped__", inspect.getmodule)
    walks: list[object] = []

    def counted(obj: Any, _filename: str | None = None) -> Any:
        walks.append(obj)
        return original(obj, _filename)

    monkeypatch.setattr(inspect, "getmodule", counted)
    kernel_tuning.quick_module_lookup()
    quick = inspect.getmodule
    assert quick is not counted

    cell_file = str(tmp_path / "ipykernel_1" / "2700216980.py")  # as ipykernel names a cell's code
    source = "def f():\n    raise ValueError('in a cell')\n"
    linecache.cache[cell_file] = (len(source), None, source.splitlines(True), cell_file)
    namespace: dict[str, Any] = {}
    exec(compile(source, cell_file, "exec"), namespace)
    try:
        namespace["f"]()
    except ValueError as exc:
        tb = exc.__traceback__
    assert tb is not None and tb.tb_next is not None
    cell_frame, test_frame = tb.tb_next.tb_frame, tb.tb_frame
    objects = [cell_frame, cell_frame.f_code, tb.tb_next, test_frame, test_frame.f_code, tb, inspect,
               inspect.getsource, ValueError, namespace["f"], 3]
    for obj in objects:
        assert quick(obj) is original(obj), obj
    assert quick(cell_frame) is None and quick(test_frame) is sys.modules[__name__]
    walks.clear()
    for _ in range(5):
        assert quick(cell_frame) is None and quick(tb.tb_next) is None and quick(cell_frame.f_code) is None
    assert walks == []  # nothing imported since: no walk

    (tmp_path / "fresh_module_for_lookup.py").write_text("import sys\ndef here():\n    return sys._getframe()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    fresh = importlib.import_module("fresh_module_for_lookup")
    monkeypatch.setitem(sys.modules, "fresh_module_for_lookup", fresh)
    frame = fresh.here()
    assert quick(frame) is fresh and original(frame) is fresh
    assert quick(cell_frame) is None
    del linecache.cache[cell_file]

"""The grading kernel's shortcuts skip only work whose result nothing uses."""

from __future__ import annotations

import re
import subprocess
import sys

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

"""Work a grading kernel skips: IPython steps whose result nothing in grading uses.

The kernel parent (:mod:`notebook_grader.isolation.kernel_parent`) installs these before it forks, so
every grading kernel has them; nothing a cell displays or returns changes, but for one duplicated
warning (:func:`quick_async_check`, below).

* When a cell raises, IPython 9 formats the traceback twice: once to show it (what the
  student sees in the autograded notebook and the feedback), and once more, the same way,
  for ``history_manager.exceptions``, a record nothing in grading reads. IPython's rich
  formatting costs about 16 ms per error, so a notebook with many errors (a blank or
  unfinished submission) paid for each one twice. :func:`plain_stored_tracebacks` keeps
  the stored record (name, value, traceback) but formats its traceback with Python's own
  ``traceback`` module.
* ipykernel transforms each cell's code (IPython's input transformers: magics, ``?``,
  shell escapes) to decide whether to run it asynchronously, then IPython transforms the
  same code again to run it. :func:`remember_last_transform` keeps the first result for the
  second call only, and forgets it when the cell has run (a cell with a top-level ``await``
  is transformed only once); other code, or a change of transformers, is transformed afresh.
* To colour the line that raised, ``stack_data`` (IPython's traceback source) defines a new
  subclass of Pygments' Python lexer for every frame it shows, and Pygments compiles a lexer
  class's regular expressions the first time the class is used: about 13 ms per traceback of a
  cell that calls a function, half of what it costs. :func:`one_range_lexer` defines that
  subclass once (the ranges it marks become an attribute of each lexer, not of the class), so
  the expressions are compiled once, in the kernel parent; the coloured lines are the same.
* A kernel's first traceback is slow (about a tenth of a second more than the next): IPython
  imports its traceback machinery and :mod:`inspect` maps every loaded module to its file
  (``getmodule``, thousands of modules with SciPy and pandas loaded). :func:`warm_tracebacks`
  formats one traceback in the kernel parent before it forks, so every kernel inherits that
  work. It is a call, not a patch: nothing is replaced.
* To hide its own frames, IPython asks ``inspect.getmodule`` for the module of every frame of a
  traceback; for a cell's frame (a file no module has) ``getmodule`` walks all of ``sys.modules``
  (about 2,500 modules with SciPy, pandas and seaborn) to update its map of module files, twice
  per frame (once more through ``getsourcefile``), and finds nothing. :func:`quick_module_lookup`
  answers "no module" at once for a frame, code object or traceback whose file is not in the map
  when no module has been imported or removed since the last walk (the walk would add nothing);
  anything else is looked up by ``inspect`` itself. Unit 3's untouched sample spent a tenth of
  its kernel's time formatting tracebacks, three quarters of it in those walks. What it cannot
  see: a module replaced in ``sys.modules`` under the same name, or given another file, with
  nothing imported or removed; until the next import, a traceback could then show a frame
  IPython would have hidden (the module of a student's frame decides nothing else).

Four more skip work done for every cell (the first three together about a quarter of an
untouched or partly wrong unit 1 submission's kernel CPU: 0.08 CPU-s of 0.29 to 0.34, measured
per kernel):

* Before running a cell, ipykernel asks IPython whether it has a top-level ``await``, and
  IPython answers by compiling the whole cell once more (``_should_be_async``).
  :func:`quick_async_check` answers no at once when the cell's code has neither ``await`` nor
  ``async``, the only words that make compiled code a coroutine; any other cell is compiled as
  before. One thing shows differently: that extra compilation, under the file name ``<>``,
  printed a cell's ``SyntaxWarning`` (``x is 1``) twice more before the cell's own warning; the
  cell's own warning is still printed.
* IPython tokenizes every cell (with Python's pure-Python :mod:`tokenize`) to look for its own
  syntax: magics (``%``), shell escapes (``!``), help (``?``) and the auto-call prefixes
  (``,`` ``;`` ``/`` first on a line). :func:`quick_token_transforms` returns the lines
  unchanged when the cell has none of those characters where they could start such syntax,
  which is what the tokenizing would conclude; a cell with any of them, or a shell with other
  token transformers, goes through IPython's own path.
* After each cell, ipykernel flushes stdout and stderr: each flush hands a callback to the
  output thread and waits for it, even with nothing to send. :func:`quick_flush` returns at
  once when the stream has nothing buffered and no flush pending; a stream with output, or with
  an echo, is flushed as before. Messages already handed to the output thread keep their order
  on the channel (the cell's ``idle`` status is sent after them), which is what the client waits for.
* Before running a cell, ipykernel broadcasts its code back on IOPub (``execute_input``), for
  frontends that show other clients' input. The grader's client has the code already: nbclient
  only notes the message's time in the cell's metadata (``iopub.execute_input``), and the
  ``busy`` status sent just before it carries the same moment (``iopub.status.busy``, what the
  engine times a cell from). :func:`no_execute_input` sends nothing instead: about 0.25 ms of the
  kernel's CPU and 0.3 ms of the worker's per cell. nbclient numbered a cell from that message;
  the engine's executing step numbers it from the kernel's reply, which carries the same count
  (:class:`~notebook_grader.pipeline.sandboxed_execute.SandboxedExecute`). The autograded
  notebook's cells lack that one timing field.
"""

from __future__ import annotations

import re
import traceback
from typing import Any

from notebook_grader.patches import Patch, apply

#: The IPython versions these shortcuts were tested with.
IPYTHON = ">=9.0,<10"

#: The stack_data versions :func:`one_range_lexer` was tested with.
STACK_DATA = ">=0.6.3,<0.7"

#: The ipykernel versions :func:`quick_flush` was tested with.
IPYKERNEL = ">=7.0,<8"


def install() -> None:
    """Install every shortcut on IPython's ``InteractiveShell``, each guarded (see :mod:`notebook_grader.patches`)."""
    from IPython.core.interactiveshell import InteractiveShell

    apply(
        Patch("plain_stored_tracebacks", "ipython", IPYTHON,
              ("IPython.core.interactiveshell:InteractiveShell._format_exception_for_storage",),
              lambda: plain_stored_tracebacks(InteractiveShell)),
        Patch("remember_last_transform", "ipython", IPYTHON,
              ("IPython.core.interactiveshell:InteractiveShell.transform_cell",),
              lambda: remember_last_transform(InteractiveShell)),
        Patch("one_range_lexer", "stack_data", STACK_DATA,
              ("stack_data.core:_pygmented_with_ranges", "stack_data.utils:_pygmented_with_ranges"),
              one_range_lexer),
        Patch("quick_async_check", "ipython", IPYTHON,
              ("IPython.core.interactiveshell:InteractiveShell.should_run_async",),
              lambda: quick_async_check(InteractiveShell)),
        Patch("quick_token_transforms", "ipython", IPYTHON,
              ("IPython.core.inputtransformer2:TransformerManager.do_token_transforms",
               "IPython.core.inputtransformer2:ESCAPE_SINGLES"),
              quick_token_transforms),
        Patch("quick_flush", "ipykernel", IPYKERNEL,
              ("ipykernel.iostream:OutStream.flush",), quick_flush),
        Patch("no_execute_input", "ipykernel", IPYKERNEL,
              ("ipykernel.kernelbase:Kernel._publish_execute_input",), no_execute_input),
        Patch("quick_module_lookup", "ipython", IPYTHON,
              ("inspect:getmodule", "inspect:modulesbyfile", "inspect:getabsfile"), quick_module_lookup),
    )


def plain_stored_tracebacks(shell_class: Any) -> None:
    def _format_exception_for_storage(self: Any, exception: BaseException, filename: str | None = None,
                                      running_compiled_code: bool = False) -> dict[str, Any]:
        return {"ename": type(exception).__name__, "evalue": str(exception),
                "traceback": traceback.format_exception(exception)}

    shell_class._format_exception_for_storage = _format_exception_for_storage


def remember_last_transform(shell_class: Any) -> None:
    transform = shell_class.transform_cell

    def forget(shell: Any) -> None:
        shell.__dict__.pop("_grader_last_transform", None)

    def transform_cell(self: Any, raw_cell: str) -> str:
        if not self.__dict__.get("_grader_forgets"):
            self.events.register("post_execute", lambda: forget(self))
            self.__dict__["_grader_forgets"] = True
        manager = self.input_transformer_manager
        key = (raw_cell, id(manager), tuple(map(id, self.input_transformers_post)),
               tuple(len(getattr(manager, name, ())) for name in ("cleanup_transforms", "line_transforms",
                                                                    "token_transformers")))
        last = self.__dict__.pop("_grader_last_transform", None)  # used at most once
        if last is not None and last[0] == key:
            return last[1]  # the second call for this cell: used once, then forgotten
        transformed = transform(self, raw_cell)
        self.__dict__["_grader_last_transform"] = (key, transformed)
        return transformed

    shell_class.transform_cell = transform_cell


def quick_async_check(shell_class: Any) -> None:
    should_run_async = shell_class.should_run_async

    def quick(self: Any, raw_cell: str, *, transformed_cell: str | None = None,
              preprocessing_exc_tuple: Any = None) -> bool:
        if (isinstance(transformed_cell, str) and preprocessing_exc_tuple is None
                and "await" not in transformed_cell and "async" not in transformed_cell):
            return False  # no coroutine without those words: what compiling the cell would find
        return should_run_async(self, raw_cell, transformed_cell=transformed_cell,
                                preprocessing_exc_tuple=preprocessing_exc_tuple)

    shell_class.should_run_async = quick


#: Where IPython's token transformers could find their syntax: ``%``, ``!`` or ``?`` anywhere
#: (magics, shell escapes, help), or an auto-call prefix first on a line (after any line break
#: Python knows, ``\r`` included).
IPYTHON_SYNTAX = re.compile(r"[%!?]|(?:\A|[\r\n])[ \t\f\v]*[,;/]")


def quick_token_transforms() -> None:
    from IPython.core import inputtransformer2 as transformers

    default = (transformers.MagicAssign, transformers.SystemAssign, transformers.EscapedCommand,
               transformers.HelpEnd)
    # IPython's escapes as this shortcut knows them; another set (a later IPython) is left to IPython.
    known = set(transformers.ESCAPE_SINGLES) <= set("%!?,;/")
    do_token_transforms = transformers.TransformerManager.do_token_transforms

    def quick(self: Any, lines: list[str]) -> list[str]:
        if known and tuple(self.token_transformers) == default and not IPYTHON_SYNTAX.search("".join(lines)):
            return lines  # nothing for the transformers to find: IPython returns the lines as they are
        return do_token_transforms(self, lines)

    transformers.TransformerManager.do_token_transforms = quick


def quick_flush() -> None:
    from ipykernel.iostream import OutStream

    flush = OutStream.flush

    def quick(self: Any) -> None:
        state = [getattr(self, name, True) for name in ("echo", "_flush_pending", "_subprocess_flush_pending")]
        lock, buffers = getattr(self, "_buffer_lock", None), getattr(self, "_buffers", None)
        if state == [None, False, False] and lock is not None and buffers is not None:
            with lock:
                empty = not self._buffers
            if empty:
                return  # nothing to send: no need to wait for the output thread
        flush(self)

    OutStream.flush = quick


def quick_module_lookup() -> None:
    """``inspect.getmodule`` without walking ``sys.modules`` again when the walk would add nothing."""
    import inspect
    import sys
    import types

    getmodule = inspect.getmodule
    kinds = (types.FrameType, types.CodeType, types.TracebackType)  # no ``__module__``, no ``__name__``
    walked = [-1]  # len(sys.modules) at the last walk

    def quick(object: Any, _filename: str | None = None) -> Any:  # inspect's own parameter names
        if type(object) not in kinds:
            return getmodule(object, _filename)
        files = inspect.modulesbyfile
        if _filename is not None and _filename in files:  # as inspect does, in its order
            return sys.modules.get(files[_filename])
        try:
            file = inspect.getabsfile(object, _filename)
        except (TypeError, FileNotFoundError):
            return None
        if file in files:
            return sys.modules.get(files[file])
        size = len(sys.modules)
        if size == walked[0]:
            return None  # nothing imported or removed since the last walk: it would map no new file
        found = getmodule(object, _filename)  # walks sys.modules, mapping every module's file
        walked[0] = size
        return found

    quick.__doc__ = getmodule.__doc__
    quick.__wrapped__ = getmodule  # type: ignore[attr-defined]
    inspect.getmodule = quick


def no_execute_input() -> None:
    from ipykernel.kernelbase import Kernel

    def _publish_execute_input(self: Any, code: str, parent: Any, execution_count: int) -> None:
        """Nothing: the grader's client sent the code and counts the cells itself (see the module)."""

    Kernel._publish_execute_input = _publish_execute_input


def one_range_lexer() -> None:
    """Replace ``stack_data``'s per-call lexer class by one class, made (and compiled) now.

    ``stack_data.utils._pygmented_with_ranges(formatter, code, ranges)`` colours ``code`` with a
    new subclass of the ``python3`` lexer whose tokens inside ``ranges`` become
    ``ExecutingNode`` tokens. The replacement does the same with one subclass that reads the
    ranges from the lexer instance, so Pygments processes its token definitions once.
    """
    import pygments
    import stack_data.core
    import stack_data.utils
    from pygments.lexers import get_lexer_by_name

    class RangeLexer(type(get_lexer_by_name("python3"))):  # type: ignore[misc]
        ranges: tuple[tuple[int, int], ...] = ()

        def get_tokens(self, text: str) -> Any:
            length = 0
            for ttype, value in super().get_tokens(text):
                if any(start <= length < end for start, end in self.ranges):
                    ttype = ttype.ExecutingNode
                length += len(value)
                yield ttype, value

    def _pygmented_with_ranges(formatter: Any, code: str, ranges: Any) -> list[str]:
        lexer = RangeLexer(stripnl=False)
        lexer.ranges = tuple(ranges)
        try:
            highlighted = pygments.highlight(code, lexer, formatter)
        except Exception:  # as stack_data does: uncoloured code rather than no traceback
            highlighted = code
        return highlighted.splitlines()

    RangeLexer(stripnl=False)  # compiles the token definitions, before the kernels fork
    stack_data.utils._pygmented_with_ranges = _pygmented_with_ranges
    stack_data.core._pygmented_with_ranges = _pygmented_with_ranges  # imported by name there


def warm_tracebacks() -> None:
    """Format one traceback as a grading kernel does, so that kernels forked after inherit the work.

    The first traceback a process formats imports IPython's traceback machinery, prepares
    Pygments' colouring and has :mod:`inspect` map every loaded module to its file
    (``getmodule``): about a tenth of a second, paid by every kernel that shows an error,
    unless the parent has paid it once. Measured on twelve untouched submissions (six errors
    each): 0.09 CPU-s less per kernel.
    """
    import sys

    from IPython.core.ultratb import AutoFormattedTB

    def raises() -> None:
        raise ValueError("warm-up")

    try:
        raises()
    except ValueError:
        AutoFormattedTB(mode="Context", theme_name="neutral").structured_traceback(*sys.exc_info())

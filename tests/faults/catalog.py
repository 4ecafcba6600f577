"""The fault catalog: hostile or broken submissions, and what grading each must produce.

Every fault is a student whose submission is built from the released notebook (with
:func:`tests.support.submissions.fill`, the correct answers, and one fault added), at test
time, so big files are never committed. Each one states what the grader must record: the
score, whether the summary lists it as failed, the words of the reason its feedback gives,
and, for the attacks, what must still be true on the grader's machine afterwards.

The attacks know the absolute path of the course they are graded in (the strongest
position a student could be in) and print ``LEAK:`` or ``NETWORK: reachable`` if they ever
succeed; whether a write got out is checked on the grader's side.
"""

from __future__ import annotations

import base64
import hashlib
import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat

from notebook_grader.protocol.reference import is_reference_cell, strip_solution_markers
from tests.support.submissions import fill

ASSIGNMENT = "fisher_information"
NOTEBOOK = "exercises.ipynb"
#: Where the attacks whose printed findings the tests read put their cell: before the first test
#: cell, because the outputs of student cells that run after the tests have started are not kept
#: (they could show what the hidden checks used).
SPY_CELL = "setup"
#: A correct bernoulli_score but for a sign: exercise 1's first test (2 points) fails.
WRONG_EX1 = '''
def bernoulli_score(x, p):
    return x / p + (1 - x) / (1 - p)


def bernoulli_fisher(p):
    return 1.0 / (p * (1 - p))
'''


class Listener:
    """A TCP server on the grader's loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()


@dataclass
class FaultContext:
    """What building and checking the faults needs."""

    root: Path  # the course being graded
    token: str  # unique per run: names of files the attacks try to create outside the sandbox
    listener: Listener
    secret: str = ""  # in the grader's environment: no kernel may see it
    release: Any = None
    answers: dict[str, str] = field(default_factory=dict)
    alice_digest: str = ""

    def __post_init__(self) -> None:
        self.release = nbformat.read(self.root / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
        source = nbformat.read(self.root / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
        self.answers = {c.metadata["nbgrader"]["grade_id"]: strip_solution_markers(c.source)
                        for c in source.cells if is_reference_cell(c) and c.metadata["nbgrader"].get("solution")
                        and c.cell_type == "code"}

    def folder(self, student: str) -> Path:
        folder = self.root / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def correct(self, extra: dict[str, str] | None = None, **answers: str) -> Any:
        """The release, answered correctly (but for ``answers``), with ``extra`` code cells added."""
        return fill(self.release, {**self.answers, **answers}, extra)

    def write(self, student: str, nb: Any, name: str = NOTEBOOK) -> Path:
        path = self.folder(student) / name
        nbformat.write(nb, path)
        return path

    @property
    def test_points(self) -> dict[str, float]:
        """Points of every test cell, by grade id, in the notebook's order."""
        return {c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"]["points"])
                for c in self.release.cells
                if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("grade")}

    def points_before(self, grade_id: str) -> float:
        """Points of the test cells before the cell ``grade_id`` (what survives a fault placed after it)."""
        order = [c.metadata.get("nbgrader", {}).get("grade_id") for c in self.release.cells]
        cut = order.index(grade_id)
        return sum(p for g, p in self.test_points.items() if order.index(g) < cut)

    @property
    def full(self) -> float:
        return sum(self.test_points.values())

    @property
    def last_code_cell(self) -> str:
        return [c.metadata["nbgrader"]["grade_id"] for c in self.release.cells
                if c.cell_type == "code" and "nbgrader" in c.metadata][-1]


@dataclass(frozen=True)
class Fault:
    """One faulty submission and what grading it must record."""

    student: str
    build: Callable[[FaultContext], None]
    score: Callable[[FaultContext], float | tuple[float, float]]  # exact, or (at least, at most)
    failed: bool  # listed as failed in the summary (something went wrong while grading it)
    reason: str  # words its feedback (and the summary, if failed) must contain
    host_check: Callable[[FaultContext], None] | None = None
    #: Other words that mean the same outcome, where which process reports first is a race.
    also: tuple[str, ...] = ()

    def reasons(self) -> tuple[str, ...]:
        return (self.reason, *self.also)


def _loop(ctx: FaultContext) -> None:
    ctx.write("fault-infinite-loop", ctx.correct({"ex1_code": "while True:\n    pass"}))


def _stubborn_loop(ctx: FaultContext) -> None:
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"
    ctx.write("fault-stubborn-loop", ctx.correct({"ex2_code": code}))


def _memory_bomb(ctx: FaultContext) -> None:
    code = "blocks = []\nwhile True:\n    blocks.append(bytearray(256 * 2**20))"
    ctx.write("fault-memory-bomb", ctx.correct({ctx.last_code_cell: code}))


def _fork_bomb(ctx: FaultContext) -> None:
    code = "import os\nwhile True:\n    os.fork()"
    ctx.write("fault-fork-bomb", ctx.correct({ctx.last_code_cell: code}))


def _os_exit(ctx: FaultContext) -> None:
    ctx.write("fault-os-exit", ctx.correct({"ex2_code": "import os\nos._exit(3)"}))


def _sys_exit(ctx: FaultContext) -> None:
    ctx.write("fault-sys-exit", ctx.correct({"ex1_code": "import sys\nsys.exit('bye')"}))


def _quit(ctx: FaultContext) -> None:
    ctx.write("fault-exit", ctx.correct({"ex3_code": "exit()"}))


def _segfault(ctx: FaultContext) -> None:
    ctx.write("fault-segfault", ctx.correct({"ex4_code": "import ctypes\nctypes.string_at(0)"}))


def _output_flood(ctx: FaultContext) -> None:
    code = "for _ in range(100_000):\n    print('flood ' * 100)"
    ctx.write("fault-output-flood", ctx.correct({"ex1_code": code}))


def _record_flood(ctx: FaultContext) -> None:
    """Forged check records by the hundred: 10 MB, past both the records' and the outputs' budget.

    Last in the notebook, and fewer than the 1000 messages ZeroMQ queues before it drops some:
    a bigger burst took longer than the cell limit on a loaded machine, and could drop the
    records of test cells run right after it, so the outcome would depend on timing.
    """
    code = ("import json\nfrom IPython.display import display\n"
            "fake = json.dumps([{'index': 0, 'function': 'bernoulli_score', 'what': 'x = 0, p = 0.3',\n"
            "                    'shape': [4096], 'data': [0.0] * 4096}])\n"
            "for _ in range(500):\n    display({'text/x-cell-check-records': fake}, raw=True)")
    ctx.write("fault-record-flood", ctx.correct({ctx.last_code_cell: code}))


def _invalid_json(ctx: FaultContext) -> None:
    text = nbformat.writes(ctx.correct())
    (ctx.folder("fault-invalid-json") / NOTEBOOK).write_text(text[: len(text) // 2])


def _old_format(ctx: FaultContext) -> None:
    nb = nbformat.convert(ctx.correct(), 3)
    (ctx.folder("fault-old-nbformat") / NOTEBOOK).write_text(nbformat.writes(nb, version=3))


def _missing(ctx: FaultContext) -> None:
    (ctx.folder("fault-missing-notebook") / "answers.txt").write_text("I did it all in my head.\n")


def _renamed(ctx: FaultContext) -> None:
    ctx.write("fault-renamed-notebook", ctx.correct(), name="exercises (1).ipynb")


def _deleted_test(ctx: FaultContext) -> None:
    nb = ctx.correct(ex1_code=WRONG_EX1)
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "ex1a_bernoulli_score"]
    ctx.write("fault-deleted-test", nb)


def _edited_test(ctx: FaultContext) -> None:
    nb = ctx.correct(ex1_code=WRONG_EX1)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1a_bernoulli_score":
            cell.source = "print('all good')"
    ctx.write("fault-edited-test", nb)


def _broken_metadata(ctx: FaultContext) -> None:
    nb = ctx.correct()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1a_bernoulli_score":
            cell.metadata.nbgrader["schema_version"] = 99  # as if saved by a future nbgrader
    ctx.write("fault-broken-metadata", nb)


def _duplicated_ids(ctx: FaultContext) -> None:
    nb = ctx.correct()
    index = next(i for i, c in enumerate(nb.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "ex1a_bernoulli_score")
    nb.cells.insert(index + 1, nbformat.from_dict(json.loads(json.dumps(nb.cells[index]))))
    (ctx.folder("fault-duplicated-ids") / NOTEBOOK).write_text(json.dumps(nb, indent=1))


def _not_utf8(ctx: FaultContext) -> None:
    nb = ctx.correct()
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1c_written":
            cell.source = "Near p = 1/2, où the outcome is least predictable."
    (ctx.folder("fault-not-utf8") / NOTEBOOK).write_bytes(nbformat.writes(nb).encode("cp1252", errors="replace"))


def _huge(ctx: FaultContext) -> None:
    nb = ctx.correct()
    blob = base64.b64encode(bytes(range(256)) * (38 * 2**20 // 256)).decode()  # ~50 MB of "image"
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "ex1_code":
            cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": blob})]
    ctx.write("fault-huge-notebook", nb)


def _network(ctx: FaultContext) -> None:
    code = f'''
import socket
for host in ("127.0.0.1", "1.1.1.1"):
    try:
        socket.create_connection((host, {ctx.listener.port}), timeout=3).close()
        print("NETWORK: reachable", host)
    except OSError as exc:
        print("NETWORK: blocked", host, exc)
try:
    socket.getaddrinfo("example.com", 80)
    print("NETWORK: reachable dns")
except OSError as exc:
    print("NETWORK: blocked dns", exc)
'''
    ctx.write("fault-network", ctx.correct({SPY_CELL: code}))


def _targets(ctx: FaultContext) -> dict[str, str]:
    root, repo = ctx.root, Path(__file__).resolve().parents[2]
    return {
        "source": f"{root}/source/{ASSIGNMENT}/{NOTEBOOK}",
        "relative source": f"../../../source/{ASSIGNMENT}/{NOTEBOOK}",
        "repository source": f"{repo}/source/{ASSIGNMENT}/{NOTEBOOK}",
        "gradebook": f"{root}/gradebook.db",
        "other student": f"{root}/submitted/alice/{ASSIGNMENT}/{NOTEBOOK}",
        "course config": f"{root}/nbgrader_config.py",
        "grader's process": "/proc/1/root" + str(root) + "/gradebook.db",
    }


def _snoop(ctx: FaultContext) -> None:
    # exercise 1's answer tries to take the reference solution instead of solving it
    cheat = f'''
import json, re
for _path in {json.dumps([t for k, t in _targets(ctx).items() if "source" in k])}:
    try:
        _nb = json.load(open(_path))
    except Exception as exc:
        print("denied", _path, type(exc).__name__)
        continue
    print("LEAK: read", _path)
    for _cell in _nb["cells"]:
        if _cell["metadata"].get("nbgrader", {{}}).get("grade_id") == "ex1_code":
            exec(re.sub(r"#+ *(BEGIN|END) SOLUTION", "", "".join(_cell["source"])))
'''
    spy = f'''
import os, sqlite3
for _name, _path in {json.dumps(_targets(ctx))}.items():
    try:
        with open(_path, "rb") as _f:
            print("LEAK:", _name, _f.read(60))
    except Exception as exc:
        print("denied", _name, type(exc).__name__)
try:
    _db = sqlite3.connect({json.dumps(str(ctx.root / "gradebook.db"))})
    _db.execute("UPDATE grade SET auto_score = 1000")
    _db.commit()
    print("LEAK: rewrote the gradebook")
except Exception as exc:
    print("denied gradebook", type(exc).__name__)
print("visible:", sorted(os.listdir("/")), os.listdir("/proc")[:40])
print("environment:", dict(os.environ))
for _path in ("/proc/self/environ", "/proc/1/environ", "/proc/self/cmdline"):
    try:
        print("environment file:", _path, open(_path, "rb").read()[:4000])
    except Exception as exc:
        print("denied", _path, type(exc).__name__)
'''
    ctx.write("fault-snoop", ctx.correct({SPY_CELL: spy}, ex1_code=cheat))


def _writer(ctx: FaultContext) -> None:
    code = f'''
import os
for _path in {json.dumps(_write_targets(ctx))}:
    try:
        with open(_path, "ab") as _f:
            _f.write(b"pwned")
        print("wrote", _path)  # fine if it is the sandbox's own /tmp: the host check decides
    except Exception as exc:
        print("denied", _path, type(exc).__name__)
with open("scratch-file.txt", "w") as _f:
    _f.write("my own scratch space works")
print("scratch ok:", open("scratch-file.txt").read())
'''
    ctx.write("fault-writer", ctx.correct({SPY_CELL: code}))


def _write_targets(ctx: FaultContext) -> list[str]:
    return [f"{ctx.root}/pwned-{ctx.token}", f"{ctx.root}/gradebook.db",
            f"{ctx.root}/submitted/alice/{ASSIGNMENT}/{NOTEBOOK}",
            f"/tmp/pwned-{ctx.token}", f"/dev/shm/pwned-{ctx.token}", f"/var/tmp/pwned-{ctx.token}",
            str(Path.home() / f"pwned-{ctx.token}")]


def _check_network(ctx: FaultContext) -> None:
    assert ctx.listener.connections == 0, "the sandboxed kernel reached the grader's loopback"


def _check_writes(ctx: FaultContext) -> None:
    for path in _write_targets(ctx):
        assert b"pwned" not in _read(Path(path)), f"a submission wrote to {path}"
    alice = ctx.root / "submitted" / "alice" / ASSIGNMENT / NOTEBOOK
    assert hashlib.sha256(alice.read_bytes()).hexdigest() == ctx.alice_digest, "another student's notebook changed"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()[-64:]
    except OSError:
        return b""


FAULTS: list[Fault] = [
    Fault("fault-infinite-loop", _loop, lambda c: c.full, True, "ran longer than"),
    Fault("fault-stubborn-loop", _stubborn_loop, lambda c: c.points_before("ex2_code"), True,
          "did not recover"),
    # The bomb writes every page of each 256 MiB block: on a loaded machine, filling the
    # submission's 2 GiB can take longer than the cell's time limit (the catalog's is 10 s), and
    # the cell is then stopped as the endless loop it is. Both record a failure with a true reason.
    Fault("fault-memory-bomb", _memory_bomb, lambda c: c.full, True, "ran out of memory",
          also=("ran longer than",)),
    # Every forked child is a copy of the kernel on the same channels: usually the kernel reports
    # the refused fork, but a child may win the race, the copies may leave the kernel stuck, or
    # (on a loaded machine) the loop of refused forks may outlast the cell's time limit; and since
    # memory is limited per submission, the copies of the kernel the forks make may together pass
    # the submission's memory first. Each of these records a failure with its reason; all are
    # equally right.
    Fault("fault-fork-bomb", _fork_bomb, lambda c: c.full, True, "too many processes",
          also=("the kernel stopped responding", "the kernel was killed", "did not recover", "ran longer than",
                "used up its", "ran out of memory")),
    Fault("fault-os-exit", _os_exit, lambda c: c.points_before("ex2_code"), True, "exited with status 3"),
    # exit() asks the kernel to stop once the cell is done; it goes a few cells later
    Fault("fault-exit", _quit, lambda c: (c.points_before("ex3_code"), c.full), True, "exited with status 0"),
    Fault("fault-sys-exit", _sys_exit, lambda c: c.full, False, "SystemExit"),
    Fault("fault-segfault", _segfault, lambda c: c.points_before("ex4_code"), True, "segmentation fault"),
    Fault("fault-output-flood", _output_flood, lambda c: c.full, False, "output passed"),
    Fault("fault-record-flood", _record_flood, lambda c: c.full, False, "output passed"),
    Fault("fault-invalid-json", _invalid_json, lambda c: 0.0, True, "is not valid JSON"),
    Fault("fault-old-nbformat", _old_format, lambda c: c.full, False, "notebook format 3"),
    Fault("fault-missing-notebook", _missing, lambda c: 0.0, True, "No exercises.ipynb was submitted"),
    Fault("fault-renamed-notebook", _renamed, lambda c: c.full, False, "was graded in its place"),
    Fault("fault-deleted-test", _deleted_test, lambda c: c.full - c.test_points["ex1a_bernoulli_score"], False,
          "were deleted; they were put back"),
    Fault("fault-edited-test", _edited_test, lambda c: c.full - c.test_points["ex1a_bernoulli_score"], False,
          "were changed; the original tests were restored"),
    Fault("fault-duplicated-ids", _duplicated_ids, lambda c: c.full, False, "appear more than once"),
    Fault("fault-broken-metadata", _broken_metadata, lambda c: 0.0, True, "could not be processed by nbgrader"),
    Fault("fault-not-utf8", _not_utf8, lambda c: 0.0, True, "is not UTF-8"),
    Fault("fault-huge-notebook", _huge, lambda c: 0.0, True, "MiB, more than the 20 MiB"),
    Fault("fault-network", _network, lambda c: c.full, False, "NETWORK: blocked", _check_network),
    Fault("fault-snoop", _snoop,
          lambda c: c.full - c.test_points["ex1a_bernoulli_score"] - c.test_points["ex1b_bernoulli_fisher"], False,
          "denied gradebook"),
    Fault("fault-writer", _writer, lambda c: c.full, False, "scratch ok", _check_writes),
]

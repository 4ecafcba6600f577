"""Drawn checks: inputs drawn per submission, the same in the kernel and in the grader."""

from __future__ import annotations

import json

import nbformat
import pytest

import cell_checks
from notebook_grader.protocol.draws import submission_seed
from notebook_grader.protocol.reference import Reference
from notebook_grader.protocol.verdict import judge

pytestmark = pytest.mark.unit

SOLUTION = "import numpy as np\n\ndef f(x):\n    CALLS.append(x)\n    return 3.0 * np.asarray(x) ** 2\n"
TEST = """checks = Checks("f")
checks.close("x = 2", lambda: f(2.0), expected=12.0)
### BEGIN HIDDEN TESTS
checks.close("an array", lambda: f(np.array([1.0, -1.0])))
rng = checks.draws()
x = rng.uniform(-2, 2, size=3)
checks.close("inputs drawn for this submission", lambda: f(x))
### END HIDDEN TESTS
checks.done()
"""


def _source(tmp_path) -> Reference:
    def cell(source: str, **meta) -> nbformat.NotebookNode:
        made = nbformat.v4.new_code_cell(source)
        if meta:
            made.metadata["nbgrader"] = {"grade": False, "locked": True, "solution": False, "schema_version": 3,
                                         **meta}
        return made

    nb = nbformat.v4.new_notebook(cells=[
        cell("import numpy as np\nfrom cell_checks import Checks\nCALLS = []", grade_id="setup"),
        cell("### BEGIN SOLUTION\n" + SOLUTION + "### END SOLUTION", grade_id="f", solution=True, locked=False),
        cell(TEST, grade_id="f_test", grade=True, points=1),
    ])
    path = tmp_path / "source.ipynb"
    nbformat.write(nb, path)
    return Reference(path)


def _kernel_records(monkeypatch: pytest.MonkeyPatch, seed: str | None, student_f) -> list[dict]:
    """Run the test cell as a grading kernel does (records, no reviewer), with ``seed`` in its environment."""
    emitted: list[list[dict]] = []
    monkeypatch.setattr(cell_checks, "_emit", emitted.append)
    monkeypatch.setenv(cell_checks.EXECUTION_ENV, "autograde")
    if seed is None:
        monkeypatch.delenv(cell_checks.DRAW_SEED_ENV, raising=False)
    else:
        monkeypatch.setenv(cell_checks.DRAW_SEED_ENV, seed)
    import numpy as np

    exec(compile(TEST, "<kernel>", "exec"), {"np": np, "Checks": cell_checks.Checks, "f": student_f})
    return [{"output_type": "display_data", "data": {cell_checks.RECORD_MIME: json.dumps(batch)}}
            for batch in emitted]


def test_the_grader_expects_what_the_kernel_drew_and_recomputes_only_drawn_checks(
        tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    reference = _source(tmp_path)
    base = reference.expected_checks("f_test", TEST)
    assert [c.spec.drawn for c in base] == [False, False, True]
    calls = reference._reference_namespace()["CALLS"]
    calls.clear()
    seeded = reference.expected_checks("f_test", TEST, 12345)
    assert len(calls) == 1  # only the drawn check ran the reference again
    assert seeded[0].spec is base[0].spec and seeded[1].spec is base[1].spec
    assert seeded[2].spec.expected != base[2].spec.expected
    assert reference.expected_checks("f_test", TEST, 12345) is seeded and len(calls) == 1  # remembered

    def right(x):
        import numpy as np

        return 3.0 * np.asarray(x) ** 2

    outputs = _kernel_records(monkeypatch, "12345", right)
    assert judge(seeded, outputs).ok
    assert not judge(base, outputs).ok  # the default seed's draws are other inputs
    assert judge(base, _kernel_records(monkeypatch, None, right)).ok  # no seed anywhere: both use the default


def test_answers_recalled_at_inputs_seen_before_fail_the_drawn_check(tmp_path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A function that knows every answer of an earlier grading (its fixed and drawn inputs) and nothing else."""
    import numpy as np

    reference = _source(tmp_path)
    seen = {}

    def spy(x):
        seen[tuple(np.atleast_1d(np.asarray(x, dtype=float)))] = 3.0 * np.asarray(x) ** 2
        return 3.0 * np.asarray(x) ** 2

    _kernel_records(monkeypatch, "1", spy)

    def recall(x):
        return seen.get(tuple(np.atleast_1d(np.asarray(x, dtype=float))), np.zeros_like(np.asarray(x)))

    assert judge(reference.expected_checks("f_test", TEST, 1), _kernel_records(monkeypatch, "1", recall)).ok
    verdict = judge(reference.expected_checks("f_test", TEST, 2), _kernel_records(monkeypatch, "2", recall))
    assert not verdict.ok and verdict.passed == 2  # only the drawn check fails: the part is lost


def test_the_seed_is_new_for_every_change_and_the_same_for_the_same_submission() -> None:
    args = (b'{"cells": []}', "alice", "a1", "exercises", ["x = 1", "def f(x):\n    return x"])
    seed = submission_seed(*args)
    assert seed == submission_seed(*args) and 0 <= seed < 2 ** 63
    assert seed != submission_seed(b'{"cells": [1]}', *args[1:])  # another source notebook
    assert seed != submission_seed(args[0], "bob", *args[2:])
    assert seed != submission_seed(*args[:4], ["x = 1", "def f(x):\n    return  x"])  # one space more


def test_two_functions_of_one_cell_draw_independently(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cell_checks.DRAW_SEED_ENV, "7")
    a, b = cell_checks.Checks("f").draws(), cell_checks.Checks("g").draws()
    assert a.uniform() != b.uniform()
    assert cell_checks.Checks("f").draws().uniform() == cell_checks.Checks("f").draws().uniform()
    monkeypatch.setenv(cell_checks.DRAW_SEED_ENV, "not a number")
    assert cell_checks.draw_seed() == cell_checks.DEFAULT_DRAW_SEED


@pytest.mark.parametrize("unit", ["fisher_information", "fisher_estimation", "fisher_deep_learning"])
def test_recomputing_only_the_drawn_checks_changes_nothing_else(unit: str) -> None:
    """At the default seed, a collection that reuses every check that is not drawn equals the full
    one, for every test cell: no later check depends on what an earlier check's thunk did."""
    from tests.course_copy import REPO

    reference = Reference(REPO / "source" / unit / "exercises.ipynb")
    drawn_cells = 0
    for grade_id, source in reference.test_sources.items():
        full = reference.expected_checks(grade_id, source)
        reused = reference._collect(grade_id, source, cell_checks.DEFAULT_DRAW_SEED, tuple(c.spec for c in full))
        assert [(c.spec, c.visible) for c in reused] == [(c.spec, c.visible) for c in full], grade_id
        drawn_cells += any(c.spec.drawn for c in full)
    assert drawn_cells >= 13  # every test cell but the Monte Carlo and edge-case ones draws

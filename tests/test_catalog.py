"""The mutation catalogs, graded: the autograder tells right from wrong, explains, resists gaming.

Every entry of every assignment's catalog (``tests/catalog/<assignment>/``) becomes one student of
a temporary copy of the course (its ``nbgrader_config.py``, ``source/`` and ``release/``); each
assignment's entries are autograded in one batch by
:func:`notebook_grader.batch.coordinator.grade_all`, and each test below reads its batch's results:

* a mistake loses exactly its own parts, a correct alternative gets full marks, an attack stays
  below full marks and wins none of the parts it attacks;
* the kill rate (mistakes caught / mistakes), per exercise and overall, is 100%;
* the feedback of a failed test cell names the function, explains visible failures (input,
  expected, received, hint) and reveals nothing of the hidden checks;
* the Monte Carlo tolerance passes every valid estimator and fails every wrong-quantity one, and
  the check that estimates spread across seeds like a real estimator's passes every valid estimator.

The kill rate is printed in pytest's terminal summary. ``FISHER_CATALOG=full`` also grades the
catalog's ``extended`` mistakes (about twice the entries). An entry with a ``known_gap`` (the current
tests do not catch it) is a strict xfail naming the gap, so fixing the gap turns it into a failure
that asks for the marker to go.
"""

from __future__ import annotations

import ast
import functools
import html
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nbformat
import numpy as np
import pytest

from cell_checks import decode_value
from notebook_grader.batch.coordinator import BatchSummary, grade_all
from notebook_grader.course import Course
from notebook_grader.pipeline.offline_maths import mathjax_file
from notebook_grader.protocol.reference import (
    ExpectedCheck,
    hidden_line_ranges,
    is_test_cell,
    load_reference,
    strip_solution_markers,
)
from notebook_grader.release import generate_release
from notebook_grader.report.scores import student_scores
from tests.catalog import Contract, Entry, contracts
from tests.course_copy import REPO, copy_course, release_notebook, source_notebook
from tests.support.submissions import fill, reference_answers, write_submission

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CONTRACTS = contracts()
CATALOG = [e for contract in CONTRACTS.values() for e in contract.entries()]
MISTAKES = [e for e in CATALOG if e.kind == "mistake"]
CORRECT = [e for e in CATALOG if e.kind == "correct"]
ATTACKS = [e for e in CATALOG if e.kind == "attack"]
by_contract = pytest.mark.parametrize("contract", list(CONTRACTS.values()), ids=list(CONTRACTS))


def _params(entries: list[Entry], *, gaps: bool = True) -> list[Any]:
    """One pytest param per entry; with ``gaps``, an entry with a known gap is a strict xfail naming it."""
    return [
        pytest.param(e, id=f"{e.assignment}-{e.id}",
                     marks=[pytest.mark.xfail(strict=True, reason=e.known_gap)] if gaps and e.known_gap else [])
        for e in entries
    ]


def _source_notebook(contract: Contract) -> Any:
    return REPO / "source" / contract.assignment / contract.notebook


# --------------------------------------------------------------------------- the graded batch


@dataclass
class Graded:
    """The catalog's course copy after one assignment's ``grade_all`` batch."""

    contract: Contract
    course: Course
    summary: BatchSummary
    seconds: float  # how long the batch took
    scores: dict[str, dict[str, float | None]]  # student -> part -> score
    max_points: dict[str, float]  # autograded part -> points
    checks: dict[str, list[ExpectedCheck]]  # autograded part -> its checks, from the reference
    release_text: str
    submissions: dict[str, str]  # student -> the code and text the student wrote
    hidden_lines: set[str]  # hidden test code lines that appear nowhere in the release
    hidden_values: set[str]  # how hidden expected values would print, if they were printed

    def autograded(self, student: str, *, problems_allowed: bool = False) -> dict[str, float]:
        """The autograded parts' scores of ``student`` (a missing score counts as 0).

        A submission the batch could not grade fails the test; one it graded but reported a
        problem with (``summary.failed``) fails it too, unless ``problems_allowed`` (attacks).
        """
        errors = {**getattr(self.summary, "errors", {})}
        if not problems_allowed:
            errors.update(getattr(self.summary, "failed", {}))
        assert student not in errors, f"{student}: the grading engine failed: {errors[student]}"
        assert student in self.scores, f"{student} was not graded"
        parts = self.scores[student]
        return {part: float(parts.get(part) or 0.0) for part in self.max_points}

    def notebook(self, student: str) -> Any:
        path = self.course.folder("autograded", self.contract.assignment, student) / self.contract.notebook
        return nbformat.read(path, as_version=4)

    def feedback_text(self, student: str) -> str:
        """The feedback HTML's text: tags removed, entities decoded, and the MathJax library every
        page carries (a fixed file of the environment, nine tenths of the page, which no submission
        writes) left out, so that each search for a hidden value reads the page's own tenth."""
        html_name = self.contract.notebook.removesuffix(".ipynb") + ".html"
        path = self.course.folder("feedback", self.contract.assignment, student) / html_name
        page = path.read_text(encoding="utf-8").replace(_mathjax_library(), "")
        return html.unescape(re.sub(r"<[^>]+>", "", page))


@functools.cache
def _mathjax_library() -> str:
    return mathjax_file().read_text(encoding="utf-8")


def build_submission(entry: Entry, release: Any, reference: dict[str, str]) -> Any:
    base = reference if entry.base == "reference" else {}
    return fill(release, {**base, **entry.answers}, dict(entry.extra_cells))


def notebook_text(nb: Any) -> str:
    """Every cell's source and every output's text of a notebook, as one string."""
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")))
            parts.extend(str(v) for v in output.get("data", {}).values())
            parts.append(str(output.get("evalue", "")))
            parts.extend(str(t) for t in output.get("traceback", []))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Graded]:
    """``batches(assignment)``: that assignment's catalog, graded once (on first use) in one course copy."""
    course = copy_course(tmp_path_factory.mktemp("catalog_course"))  # config, source/, release/
    done: dict[str, Graded] = {}

    def graded_for(assignment: str) -> Graded:
        if assignment not in done:
            done[assignment] = _grade_catalog(course, CONTRACTS[assignment])
        return done[assignment]

    return graded_for


def _grade_catalog(course: Course, contract: Contract) -> Graded:
    assignment = contract.assignment
    # Regenerating the release in the copy registers the assignment and its test cells in the copy's
    # own gradebook, which autograde restores the test cells from.
    generate_release(course, assignment)
    release = nbformat.read(release_notebook(course, assignment), as_version=4)
    reference = reference_answers(source_notebook(course, assignment))
    submissions = {}
    for entry in contract.entries():
        nb = build_submission(entry, release, reference)
        write_submission(nb, course.root / "submitted", entry.id, assignment)
        submissions[entry.id] = "\n".join(c.source for c in nb.cells)
    started = time.monotonic()
    summary = grade_all(course, assignment, force=True)
    seconds = time.monotonic() - started

    source = nbformat.read(source_notebook(course, assignment), as_version=4)
    reference_checks = load_reference(source_notebook(course, assignment))
    max_points, checks = {}, {}
    for cell in source.cells:
        if is_test_cell(cell):
            part = cell.metadata["nbgrader"]["grade_id"]
            max_points[part] = float(cell.metadata["nbgrader"]["points"])
            checks[part] = reference_checks.expected_checks(part, cell.source)
    release_text = notebook_text(release)
    return Graded(
        contract=contract,
        course=course,
        summary=summary,
        seconds=seconds,
        scores={s.student: dict(s.parts) for s in student_scores(course.db_url, assignment)},
        max_points=max_points,
        checks=checks,
        release_text=release_text,
        submissions=submissions,
        hidden_lines=_hidden_source_lines(source, release_text),
        hidden_values=_hidden_values(checks, release_text),
    )


# --------------------------------------------------------------------------- the catalog itself


@by_contract
def test_catalog_matches_the_notebook(contract: Contract) -> None:
    """The catalog's contract (answer cells, functions, parts) is the notebook's."""
    EXERCISES = contract.exercises
    nb = nbformat.read(_source_notebook(contract), as_version=4)
    solution_code = [c.metadata["nbgrader"]["grade_id"] for c in nb.cells
                     if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    assert solution_code == list(EXERCISES)
    tests = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if is_test_cell(c)}
    assert set(tests) == set(contract.function_of_part)
    for part, function in contract.function_of_part.items():
        assert f'Checks("{function}")' in tests[part], f"{part} does not test {function}"
    for cell, functions in EXERCISES.items():
        source = next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == cell)
        for function in functions:
            assert f"def {function}(" in source, f"{cell} does not define {function}"


@by_contract
def test_catalog_size(contract: Contract) -> None:
    """At least three mistakes and two correct alternatives per exercise; a mistake per function."""
    entries = contract.entries(full=True)
    mistakes = defaultdict(int)
    alternatives = defaultdict(int)
    for e in entries:
        if e.kind == "mistake":
            mistakes[e.exercises[0]] += 1
        elif e.kind == "correct":
            for ex in e.exercises:
                alternatives[ex] += 1
    for ex in contract.exercise_of_cell.values():
        assert mistakes[ex] >= 3, f"{ex}: {mistakes[ex]} mistakes"
        assert alternatives[ex] >= 2, f"{ex}: {alternatives[ex]} correct alternatives"
    lost = {part for e in entries if e.kind == "mistake" for part in e.loses}
    parts = set(contract.function_of_part)
    assert lost == parts, f"no mistake for {sorted(parts - lost)}"
    for e in entries:
        if e.kind == "mistake":
            cell_parts = {part for fn in contract.exercises[f"{e.exercises[0]}_code"]
                          for part in contract.parts_of(fn)}
            assert set(e.loses) <= cell_parts, e.id


# --------------------------------------------------------------------------- grades


@pytest.mark.parametrize("entry", _params(MISTAKES))
def test_mistake_loses_exactly_its_parts(batches: Callable[[str], Graded], entry: Entry) -> None:
    graded = batches(entry.assignment)
    scores = graded.autograded(entry.id)
    for part in entry.loses:
        assert scores[part] == 0, f"{entry.description}: survives {part} ({scores[part]:g} points)"
    collateral = {p: s for p, s in scores.items() if p not in entry.loses and s != graded.max_points[p]}
    assert not collateral, f"{entry.description}: also loses {collateral}"


@pytest.mark.parametrize("entry", _params(CORRECT))
def test_correct_alternative_gets_full_marks(batches: Callable[[str], Graded], entry: Entry) -> None:
    graded = batches(entry.assignment)
    scores = graded.autograded(entry.id)
    missed = {p: s for p, s in scores.items() if s != graded.max_points[p]}
    assert not missed, f"{entry.description}: loses {missed}"


@pytest.mark.parametrize("entry", _params(ATTACKS))
def test_attack_stays_below_full_marks(batches: Callable[[str], Graded], entry: Entry,
                                       request: pytest.FixtureRequest) -> None:
    graded = batches(entry.assignment)
    if entry.needs_sandbox and not getattr(graded.summary, "sandboxed", False):
        request.node.add_marker(pytest.mark.xfail(
            strict=True,
            reason="reads the instructor's files: only the sandboxed grading engine (the kernel cannot "
                   "see source/) stops it, and grade_all did not run sandboxed"))
    scores = graded.autograded(entry.id, problems_allowed=True)
    won = {p: scores[p] for p in entry.loses if scores[p] != 0}
    assert not won, f"{entry.description}: wins {won}"
    assert sum(scores.values()) < sum(graded.max_points.values())


@by_contract
def test_kill_rate(batches: Callable[[str], Graded], contract: Contract,
                   terminal_summary: dict[str, list[str]]) -> None:
    """Mistakes caught (every part of theirs lost) / mistakes, per exercise and overall: 100%."""
    graded = batches(contract.assignment)
    mistakes = [e for e in MISTAKES if e.assignment == contract.assignment]
    caught: dict[str, list[bool]] = defaultdict(list)
    survivors = []
    for e in mistakes:
        scores = graded.autograded(e.id)
        killed = all(scores[p] == 0 for p in e.loses)
        caught[e.exercises[0]].append(killed)
        if not killed:
            survivors.append(f"{e.id} ({e.description})")
    lines = []
    for ex in contract.exercise_of_cell.values():
        k, n = sum(caught[ex]), len(caught[ex])
        lines.append(f"{ex:<5} {k:>3} / {n:<3} mistakes caught  {100 * k / n:5.1f}%")
    total = sum(sum(v) for v in caught.values())
    n_all = len(mistakes)
    lines.append(f"{'all':<5} {total:>3} / {n_all:<3} mistakes caught  {100 * total / n_all:5.1f}%")
    lines += [f"survivor: {s}" for s in survivors]
    n_correct = sum(e.assignment == contract.assignment for e in CORRECT)
    n_attacks = sum(e.assignment == contract.assignment for e in ATTACKS)
    lines.append(f"catalog: {n_all} mistakes, {n_correct} correct alternatives, {n_attacks} attacks; "
                 f"graded in {graded.seconds:.0f} s")
    terminal_summary[f"mutation catalog of {contract.assignment}: kill rate"] = lines
    print("\n" + "\n".join(lines))
    assert not survivors, "mistakes that keep their points: " + "; ".join(survivors)


# --------------------------------------------------------------------------- feedback


def _blocks(text: str) -> dict[str, list[str]]:
    """The PASS/FAIL blocks of a test cell's grader output: first line -> continuation lines."""
    blocks: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(("PASS - ", "FAIL - ")):
            current = blocks.setdefault(line, [])
        elif line.startswith("    ") and current is not None:
            current.append(line.strip())
    return blocks


def _test_cell(nb: Any, part: str) -> Any:
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == part)


def _hidden_source_lines(source: Any, release_text: str) -> set[str]:
    """Lines of hidden test code that are not also visible somewhere in the release.

    The region's marker lines are left out: :func:`_leaks` looks for the markers on their own.
    """
    lines = set()
    for cell in source.cells:
        if is_test_cell(cell):
            cell_lines = cell.source.splitlines()
            for start, end in hidden_line_ranges(cell.source):
                for line in cell_lines[start:end - 1]:
                    line = line.strip()
                    if len(line) >= 12 and line not in release_text:
                        lines.add(line)
    return lines


def _hidden_values(checks: dict[str, list[ExpectedCheck]], release_text: str) -> set[str]:
    """How the hidden checks' expected values would print (8 significant digits, or repr).

    Values a visible check also expects (e.g. the visible data set repeated twice) are public.
    """
    visible = [x for cell in checks.values() for c in cell if c.visible
               for x in decode_value(c.spec.expected).ravel().tolist()]
    values = set()
    for cell in checks.values():
        for check in cell:
            if check.visible:
                continue
            for x in decode_value(check.spec.expected).ravel().tolist():
                if any(np.isclose(x, v, rtol=1e-12, atol=0) for v in visible):
                    continue
                for text in (repr(x), f"{x:.8g}"):
                    digits = text.lstrip("-").split("e")[0].replace(".", "").lstrip("0")
                    if len(digits) >= 5 and text not in release_text:
                        values.add(text)
    return values


def _leaks(text: str, hidden_lines: set[str], hidden_values: set[str]) -> list[str]:
    """What of the hidden checks ``text`` shows. A visible check's ``received:`` line is the
    student's own value, which may equal a hidden expected value by coincidence: it is skipped."""
    if "BEGIN HIDDEN TESTS" in text or "END HIDDEN TESTS" in text:
        return ["the hidden-tests markers"]
    found = [f"hidden test code: {line!r}" for line in hidden_lines if line in text]
    text = re.sub(r"(?m)^\s*received: .*$", "", text)
    found += [f"hidden expected value {v}" for v in hidden_values
              if v in text and re.search(rf"(?<![\d.]){re.escape(v)}(?!\d)", text)]
    return found


def _hidden_secrets(graded: Graded, entry: Entry) -> tuple[set[str], set[str]]:
    """The hidden test lines and values to look for, less what the student wrote themselves."""
    own = graded.submissions[entry.id]
    return ({line for line in graded.hidden_lines if line not in own},
            {v for v in graded.hidden_values if v not in own})


@pytest.mark.parametrize("entry", _params(MISTAKES))
def test_mistake_feedback_explains_without_revealing(batches: Callable[[str], Graded], entry: Entry) -> None:
    graded = batches(entry.assignment)
    nb = graded.notebook(entry.id)
    feedback = graded.feedback_text(entry.id)
    for part in entry.loses:
        function = entry.contract.function_of_part[part]
        cell = _test_cell(nb, part)
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert any(o.get("output_type") == "error" for o in cell.outputs), f"{part}: no error output"
        blocks = _blocks(text)
        failed = [line for line in blocks if line.startswith("FAIL - ")]
        assert failed, f"{part}: no FAIL line in {text!r}"
        assert all(line.startswith(f"FAIL - {function}: ") for line in failed), f"{part}: {failed}"
        for check in graded.checks[part]:
            spec = check.spec
            tag = "" if check.visible else " [hidden test]"
            line = f"FAIL - {function}: {spec.what}{tag}"
            if line not in blocks:
                assert f"PASS - {function}: {spec.what}" in blocks, f"{part}: {spec.what!r} not reported"
                continue
            assert line in feedback, f"{part}: the feedback HTML lacks {line!r}"
            details = blocks[line]
            missing = [d for d in details if d not in feedback]
            assert not missing, f"{part}: the feedback HTML lacks {missing}"
            labels = {d.split(":")[0].strip() for d in details}
            if spec.hint:
                assert f"hint    : {spec.hint}" in details, f"{part}: {spec.what}: no hint"
            if check.visible:
                assert {"expected", "received"} <= labels or "problem" in labels, f"{part}: {details}"
            else:
                assert not labels & {"expected", "received"}, f"{part}: hidden check shows {details}"
    hidden_lines, hidden_values = _hidden_secrets(graded, entry)
    leaks = _leaks(notebook_text(nb), hidden_lines, hidden_values)
    assert not leaks, f"the autograded notebook reveals {leaks}"
    leaks = _leaks(feedback, hidden_lines, hidden_values)
    assert not leaks, f"the feedback reveals {leaks}"


@by_contract
def test_feedback_covers_visible_and_hidden_failures(batches: Callable[[str], Graded], contract: Contract) -> None:
    """The catalog exercises both kinds of feedback: a visible failure and a hidden-only one."""
    graded = batches(contract.assignment)
    visible = hidden_only = 0
    for e in MISTAKES:
        if e.assignment != contract.assignment:
            continue
        nb = graded.notebook(e.id)
        for part in e.loses:
            text = "".join(o.get("text", "") for o in _test_cell(nb, part).outputs)
            failed = [line for line in _blocks(text) if line.startswith("FAIL - ")]
            if any(not line.endswith("[hidden test]") for line in failed):
                visible += 1
            elif failed:
                hidden_only += 1
    assert visible >= 10 and hidden_only >= 5, (visible, hidden_only)


@by_contract
def test_leak_check_has_teeth(batches: Callable[[str], Graded], contract: Contract) -> None:
    """The leak check finds hidden code and hidden values, but not a student's own received value."""
    graded = batches(contract.assignment)
    assert len(graded.hidden_lines) >= 20 and len(graded.hidden_values) >= 20
    line, value = sorted(graded.hidden_lines)[0], sorted(graded.hidden_values)[0]
    assert _leaks(f"x\n{line}\ny", {line}, set()) == [f"hidden test code: {line!r}"]
    assert _leaks(f"problem : got {value} here", set(), {value}) == [f"hidden expected value {value}"]
    assert _leaks(f"FAIL - f: x = 1\n    received: {value}\n", set(), {value}) == []
    assert _leaks("### BEGIN HIDDEN TESTS", set(), set()) == ["the hidden-tests markers"]


@pytest.mark.parametrize("entry", _params([*CORRECT, *ATTACKS], gaps=False))
def test_no_hidden_test_leaks(batches: Callable[[str], Graded], entry: Entry) -> None:
    """Neither the autograded notebook nor the feedback shows hidden test code or values."""
    graded = batches(entry.assignment)
    hidden_lines, hidden_values = _hidden_secrets(graded, entry)
    assert not _leaks(notebook_text(graded.notebook(entry.id)), hidden_lines, hidden_values)
    assert not _leaks(graded.feedback_text(entry.id), hidden_lines, hidden_values)


# --------------------------------------------------------------------------- Monte Carlo tolerance


def _namespace(*sources: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"np": np, "__name__": "__catalog__"}
    for source in sources:
        exec(compile(source, "<catalog>", "exec"), namespace)
    return namespace


def test_mc_tolerance_passes_every_valid_estimator_and_no_wrong_quantity() -> None:
    """Unit 1's ex2b: over 200 seeds, the visible check's tolerance (six standard errors) accepts
    every valid estimator every time and rejects every estimator of a wrong quantity every time."""
    source_path = _source_notebook(CONTRACTS["fisher_information"])
    source = nbformat.read(source_path, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    test = cells["ex2b_mc_score_variance"].source
    reference = load_reference(source_path)
    near = [c for c in reference.expected_checks("ex2b_mc_score_variance", test)
            if c.visible and c.spec.cmp.kind == "near"]
    assert len(near) == 1 and "n = 20, sigma2 = 2.0" in near[0].spec.what
    expected = float(decode_value(near[0].spec.expected))
    rtol = near[0].spec.cmp.rtol
    assert expected == 20 / 2.0
    assert rtol == pytest.approx(6 * np.sqrt(2 / (20000 - 1)))

    def outside(estimator: Any, seed: int) -> bool:
        return not abs(float(estimator(20, 2.0, seed=seed)) - expected) <= rtol * expected

    solution = strip_solution_markers(cells["ex2_code"].source)
    valid = {"reference solution": _namespace(solution)["mc_score_variance"]}
    for e in CORRECT:
        # the loop estimator is graded, just not 200 times
        if e.assignment == "fisher_information" and "mc-valid" in e.tags and "mc-loop" not in e.tags:
            valid[e.id] = _namespace(e.answers["ex2_code"])["mc_score_variance"]
    wrong = {e.id: _namespace(e.answers["ex2_code"])["mc_score_variance"]
             for e in MISTAKES if e.assignment == "fisher_information" and "mc-wrong-quantity" in e.tags}
    assert len(valid) >= 3 and len(wrong) >= 3
    seeds = range(200)
    for name, estimator in valid.items():
        misses = [s for s in seeds if outside(estimator, s)]
        assert not misses, f"{name}: a valid estimator falls outside the tolerance for seeds {misses}"
    for name, estimator in wrong.items():
        hits = [s for s in seeds if not outside(estimator, s)]
        assert not hits, f"{name}: a wrong-quantity estimator falls inside the tolerance for seeds {hits}"


def _test_cell_function(test_source: str, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """A helper function a test cell defines (in its hidden region), bound to ``namespace``."""
    node = next(n for n in ast.parse(test_source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    exec(compile(ast.Module([node], type_ignores=[]), "<test cell>", "exec"), namespace)
    return namespace[name]


def test_mc_spread_check_passes_every_valid_estimator_and_no_seeded_closed_form() -> None:
    """Unit 1's ex2b checks that an estimator really estimates: the coefficient of variation of its
    estimates over 600 seeds must be within the tolerance of a sample variance's, sqrt(2/(reps-1)).
    Over eight disjoint blocks of seeds every valid estimator passes every time, and the closed form
    times 1% seeded noise fails every time (the noise of the right size is stopped by the check that
    an estimate is never negative, graded with the catalog)."""
    source_path = _source_notebook(CONTRACTS["fisher_information"])
    source = nbformat.read(source_path, as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in source.cells}
    test = cells["ex2b_mc_score_variance"].source
    reference = load_reference(source_path)
    spread = [c for c in reference.expected_checks("ex2b_mc_score_variance", test)
              if not c.visible and "across seeds" in c.spec.what]
    assert len(spread) == 1 and spread[0].spec.cmp.kind == "near"
    target, rtol = float(decode_value(spread[0].spec.expected)), spread[0].spec.cmp.rtol
    assert target == pytest.approx(np.sqrt(2 / 9))

    def statistic(estimator_source: str, block: int) -> float:
        namespace = _namespace(estimator_source)
        spread_across_seeds = _test_cell_function(test, "spread_across_seeds", namespace)
        return float(spread_across_seeds(10, seeds=range(600 * block, 600 * (block + 1))))

    valid = {"reference solution": strip_solution_markers(cells["ex2_code"].source)}
    for e in CORRECT:
        if e.assignment == "fisher_information" and "mc-valid" in e.tags and "mc-loop" not in e.tags:
            valid[e.id] = e.answers["ex2_code"]
    jitter = next(e for e in ATTACKS if e.id == "a_mc_closed_form_jitter")
    assert len(valid) >= 3
    for block in range(8):
        for name, estimator in valid.items():
            value = statistic(estimator, block)
            assert abs(value - target) <= rtol * target, f"{name}: spread {value:.3f} in seed block {block}"
        value = statistic(jitter.answers["ex2_code"], block)
        assert abs(value - target) > rtol * target, f"seeded 1% noise passes in seed block {block}"

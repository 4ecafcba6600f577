"""The instructor's picture of the class: ``course report ASSIGNMENT`` writes one HTML page.

From the gradebook (scores, the grading journal) and the autograded notebooks (each test cell's
verdict lines, written by the engine: ``PASS - f: label`` or ``FAIL - f: label`` with a
``problem :`` line naming the likely mistake), the page shows

* the score distribution of each part (full, partial, zero, awaiting hand grading);
* the fraction of students passing each check, visible and hidden (a check is visible when its
  label is in the released test cell);
* the diagnoses named most often;
* the submissions that failed to grade, and why;
* the grading time of each submission.

Each plot has a table of the same numbers under it. The plots are PNGs inside the page, which
loads nothing: it opens offline. Student-chosen text is escaped.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy import text

from notebook_grader.course import Course
from notebook_grader.protocol.cells import is_test_cell, nbgrader_metadata
from notebook_grader.report.scores import student_scores
from notebook_grader.storage.store import JOURNAL

VERDICT = re.compile(r"^(PASS|FAIL) - (?P<function>[^:]+): (?P<label>.*?)(?P<hidden> \[hidden test\])?$")
PROBLEM = re.compile(r"^\s+problem\s*:\s*(?P<what>.+)$")


@dataclass
class CheckTally:
    """One check (function and label) across the class."""

    part: str
    function: str
    label: str
    visible: bool
    passed: int = 0
    failed: int = 0

    @property
    def fraction(self) -> float:
        total = self.passed + self.failed
        return self.passed / total if total else 0.0


@dataclass
class PartTally:
    """One graded part's scores across the class."""

    name: str
    max_score: float
    full: int = 0
    partial: int = 0
    zero: int = 0
    awaiting: int = 0
    scores: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


@dataclass
class ClassReport:
    assignment: str
    students: int
    parts: list[PartTally]
    checks: list[CheckTally]
    diagnoses: Counter[str]
    failed: dict[str, str]
    seconds: dict[str, float]


def _natural(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _journal_rows(db_url: str, assignment: str) -> list[tuple[str, str, str | None, float | None]]:
    with Gradebook(db_url) as gb:
        try:
            rows = gb.db.execute(text(f"SELECT student, status, reason, seconds FROM {JOURNAL} WHERE assignment = :a"),
                                 {"a": assignment}).fetchall()
        except Exception:  # no course grade ever ran: no journal table
            return []
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _visible_labels(course: Course, assignment: str) -> dict[str, str]:
    """Each released test cell's source, by grade id (a check is visible if its label is there)."""
    sources: dict[str, str] = {}
    for path in sorted(course.folder("release", assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if is_test_cell(cell):
                sources[nbgrader_metadata(cell)["grade_id"]] = cell.source
    return sources


def collect(course: Course, assignment: str) -> ClassReport:
    """Everything the page shows, from the gradebook, the journal and the autograded notebooks."""
    rows = student_scores(course.db_url, assignment)
    parts: dict[str, PartTally] = {}
    with Gradebook(course.db_url) as gb:
        try:
            for sub in gb.assignment_submissions(assignment):
                for nb in sub.notebooks:
                    for grade in nb.grades:
                        tally = parts.setdefault(grade.name, PartTally(grade.name, float(grade.max_score)))
                        if grade.auto_score is None and grade.manual_score is None:
                            tally.awaiting += 1
                            continue
                        score = float(grade.score)
                        tally.scores.append(score)
                        if score >= tally.max_score > 0:
                            tally.full += 1
                        elif score > 0:
                            tally.partial += 1
                        else:
                            tally.zero += 1
        except MissingEntry:
            pass
    released = _visible_labels(course, assignment)
    checks: dict[tuple[str, str, str], CheckTally] = {}
    diagnoses: Counter[str] = Counter()
    for row in rows:
        folder = course.folder("autograded", assignment, row.student)
        for path in sorted(folder.glob("*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                if not is_test_cell(cell):
                    continue
                grade_id = nbgrader_metadata(cell)["grade_id"]
                outputs = cell.get("outputs", [])
                text_out = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
                failing = False
                for line in text_out.splitlines():
                    verdict = VERDICT.match(line)
                    if verdict:
                        label = verdict["label"]
                        key = (grade_id, verdict["function"], label)
                        shown = released.get(grade_id, "")
                        visible = f'"{label}"' in shown or f"'{label}'" in shown
                        tally = checks.setdefault(key, CheckTally(grade_id, verdict["function"], label, visible))
                        failing = verdict.group(1) == "FAIL"
                        if failing:
                            tally.failed += 1
                        else:
                            tally.passed += 1
                        continue
                    problem = PROBLEM.match(line)
                    if problem and failing:
                        diagnoses[problem["what"].strip()] += 1
    failed, seconds = {}, {}
    for student, status, reason, secs in _journal_rows(course.db_url, assignment):
        if status != "graded":
            failed[student] = reason or status
        if secs is not None:
            seconds[student] = float(secs)
    ordered_parts = sorted(parts.values(), key=lambda p: _natural(p.name))
    ordered_checks = sorted(checks.values(), key=lambda c: (_natural(c.part), c.function))
    return ClassReport(assignment, len(rows), ordered_parts, ordered_checks, diagnoses, failed, seconds)


# --------------------------------------------------------------------------- the page


def _png(fig: object) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")  # type: ignore[attr-defined]
    plt.close(fig)  # type: ignore[arg-type]
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _figures(report: ClassReport) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures = {}
    parts = report.parts
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(parts) + 1.2))
    names = [p.name for p in parts]
    left = [0.0] * len(parts)
    for kind, colour in (("full", "#2a9d8f"), ("partial", "#e9c46a"), ("zero", "#e76f51"), ("awaiting", "#bbbbbb")):
        values = [getattr(p, kind) for p in parts]
        ax.barh(names, values, left=left, color=colour, label=kind)
        left = [a + b for a, b in zip(left, values)]
    ax.invert_yaxis()
    ax.set_xlabel("students")
    ax.set_title(f"{report.assignment}: score of each part")
    ax.legend(loc="lower right", fontsize=8)
    figures["parts"] = _png(fig)

    checks = report.checks
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(checks) + 1.2))
    labels = [f"{c.function}: {c.label}"[:60] for c in checks]
    ax.barh(range(len(checks)), [c.fraction for c in checks],
            color=["#264653" if c.visible else "#8d99ae" for c in checks])
    ax.set_yticks(range(len(checks)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("fraction of students passing (dark: visible check, light: hidden check)")
    ax.set_title("checks")
    figures["checks"] = _png(fig)

    common = report.diagnoses.most_common(15)
    fig, ax = plt.subplots(figsize=(8, 0.35 * max(len(common), 1) + 1.2))
    ax.barh([what[:70] for what, _ in common], [n for _, n in common], color="#e76f51")
    ax.invert_yaxis()
    ax.set_xlabel("failed checks naming it")
    ax.set_title("diagnoses named most often")
    figures["diagnoses"] = _png(fig)

    times = sorted(report.seconds.items())
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.bar(range(len(times)), [s for _, s in times], color="#264653")
    ax.set_xticks(range(len(times)), [name for name, _ in times], rotation=90, fontsize=7)
    ax.set_ylabel("seconds")
    ax.set_title("grading time per submission")
    figures["time"] = _png(fig)
    return figures


def _table(header: list[str], rows: list[list[object]], css: str) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render(report: ClassReport) -> str:
    """The page: four plots, each with its numbers, and the failed submissions."""
    figures = _figures(report)
    img = lambda key, alt: f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{figures[key]}">'  # noqa: E731
    sections = [
        f"<h1>{html.escape(report.assignment)}: class report</h1>",
        f"<p>{report.students} graded submission(s).</p>",
        "<h2>Score of each part</h2>", img("parts", "score distribution of each part"),
        _table(["part", "max", "full", "partial", "zero", "awaiting", "mean"],
               [[p.name, f"{p.max_score:g}", p.full, p.partial, p.zero, p.awaiting, f"{p.mean:.2f}"]
                for p in report.parts], "parts"),
        "<h2>Checks passed</h2>", img("checks", "fraction of students passing each check"),
        _table(["part", "function", "check", "visible", "passed", "failed", "fraction"],
               [[c.part, c.function, c.label, "yes" if c.visible else "hidden", c.passed, c.failed,
                 f"{c.fraction:.2f}"] for c in report.checks], "checks"),
        "<h2>Diagnoses named most often</h2>", img("diagnoses", "diagnoses named most often"),
        _table(["diagnosis", "failed checks"], [[w, n] for w, n in report.diagnoses.most_common()], "diagnoses"),
        "<h2>Submissions that failed</h2>",
        _table(["student", "why"], sorted([s, w] for s, w in report.failed.items()), "failed")
        if report.failed else "<p>None: every submission was graded.</p>",
        "<h2>Grading time per submission</h2>", img("time", "grading time per submission"),
        _table(["student", "seconds"], [[s, f"{t:.1f}"] for s, t in sorted(report.seconds.items())], "time"),
    ]
    style = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse;"
             "margin:1em 0}td,th{border:1px solid #ccc;padding:2px 8px;font-size:90%}img{max-width:100%}")
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(report.assignment)}: '
            f"class report</title><style>{style}</style></head><body>{''.join(sections)}</body></html>")


def write_report(course: Course, assignment: str, path: Path | None = None) -> Path:
    """Write the page (default ``reports/<assignment>.html`` in the course); returns its path."""
    path = path or course.root / "reports" / f"{assignment}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(collect(course, assignment)), encoding="utf-8")
    return path

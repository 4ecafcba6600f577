"""What the instructor reads after grading: the score table and the grades CSV."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry


@dataclass(frozen=True)
class StudentScore:
    """One student's scores on one assignment, split as nbgrader splits them."""

    student: str
    autograded: float
    max_autograded: float
    written: float
    max_written: float
    needs_manual_grade: bool
    parts: dict[str, float | None]

    @property
    def total(self) -> float:
        return self.autograded + self.written

    @property
    def max_total(self) -> float:
        return self.max_autograded + self.max_written


def student_scores(db_url: str, assignment: str) -> list[StudentScore]:
    """Scores of every graded submission of ``assignment``, sorted by student id."""
    rows = []
    with Gradebook(db_url) as gb:
        try:
            submissions = gb.assignment_submissions(assignment)
        except MissingEntry:
            return []
        for sub in submissions:
            parts: dict[str, float | None] = {}
            for nb in sub.notebooks:
                for grade in nb.grades:
                    graded = grade.auto_score is not None or grade.manual_score is not None
                    parts[grade.name] = grade.score if graded else None
            rows.append(StudentScore(
                student=sub.student_id,
                autograded=float(sub.code_score), max_autograded=float(sub.max_code_score),
                written=float(sub.written_score), max_written=float(sub.max_written_score),
                needs_manual_grade=bool(sub.needs_manual_grade), parts=parts,
            ))
    return sorted(rows, key=lambda r: r.student)


def format_table(rows: list[StudentScore]) -> str:
    """A plain-text table: autograded, written and total points per student."""
    header = ("student", "autograded", "written", "total", "status")
    body = []
    for r in rows:
        written = f"{r.written:g}/{r.max_written:g}"
        status = "written answers to grade" if r.needs_manual_grade else "complete"
        body.append((r.student, f"{r.autograded:g}/{r.max_autograded:g}", written,
                     f"{r.total:g}/{r.max_total:g}", status))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, body)])


def write_csv(rows: list[StudentScore], path: Path) -> None:
    """One row per student: the totals, then every graded part's score (blank if ungraded)."""
    parts = sorted({name for r in rows for name in r.parts})
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "autograded", "max_autograded", "written", "max_written",
                         "total", "max_total", "needs_manual_grade", *parts])
        for r in rows:
            writer.writerow([r.student, r.autograded, r.max_autograded, r.written, r.max_written,
                             r.total, r.max_total, r.needs_manual_grade,
                             *("" if r.parts.get(p) is None else r.parts[p] for p in parts)])

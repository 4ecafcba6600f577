"""What the instructor reads after grading: the score tables, the grades CSV, and grade exports a
learning-management system imports (Canvas, Moodle).

Scores are read from the gradebook's tables with two SQL queries per assignment, computed as
nbgrader's own model computes them (``nbgrader.api``: a grade's score is its manual score if
given, else its automatic score, plus any extra credit; code and written scores sum the grades
of code and markdown grade cells; a submission needs manual grading if any of its grades does;
a test checks the two agree). Reading through nbgrader's model would import nbgrader, its
server extensions and nbconvert, which costs more than a second before the first row: this is
what ``course scores`` and the end of every ``course grade`` print.

A late submission's penalty (nbgrader's ``AssignLatePenalties``, charged by the grader's own
submission time: :mod:`notebook_grader.run.collection`) is shown and taken off the total, as
nbgrader's own export does.

Names and emails come from the roster (``course students import``, the gradebook's ``student``
table); any text a student or a roster controls is passed through ``csv_safe`` (or
``terminal_safe`` on the terminal) before it is written.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notebook_grader.identifiers import csv_safe, terminal_safe


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
    assignment: str = ""
    late_penalty: float = 0.0
    submitted_at: str = ""  # the submission time nbgrader stored (the grader's); "" if none
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    @property
    def name(self) -> str:
        """``Last, First`` (as formgrader lists students), or empty when the roster has no name."""
        return ", ".join(part for part in (self.last_name, self.first_name) if part)

    @property
    def total(self) -> float:
        """Points after the late penalty (never below 0)."""
        return max(0.0, self.autograded + self.written - self.late_penalty)

    @property
    def max_total(self) -> float:
        return self.max_autograded + self.max_written


_MAXIMA = """
SELECT gc.cell_type, SUM(gc.max_score)
FROM grade_cells gc
JOIN base_cell bc ON bc.id = gc.id
JOIN notebook n ON n.id = bc.notebook_id
JOIN assignment a ON a.id = n.assignment_id
WHERE a.name = :assignment
GROUP BY gc.cell_type
"""

_GRADES = """
SELECT sa.student_id, bc.name, gc.cell_type, g.auto_score, g.manual_score, g.extra_credit,
       g.needs_manual_grade
FROM submitted_assignment sa
JOIN assignment a ON a.id = sa.assignment_id
LEFT JOIN submitted_notebook sn ON sn.assignment_id = sa.id
LEFT JOIN grade g ON g.notebook_id = sn.id
LEFT JOIN base_cell bc ON bc.id = g.cell_id
LEFT JOIN grade_cells gc ON gc.id = g.cell_id
WHERE a.name = :assignment
"""


_LATE = """
SELECT sa.student_id, sa.timestamp, SUM(sn.late_submission_penalty)
FROM submitted_assignment sa
JOIN assignment a ON a.id = sa.assignment_id
LEFT JOIN submitted_notebook sn ON sn.assignment_id = sa.id
WHERE a.name = :assignment
GROUP BY sa.id, sa.student_id, sa.timestamp
"""

_NAMES = "SELECT id, first_name, last_name, email FROM student"


def _score(auto: float | None, manual: float | None, extra: float | None) -> float:
    """nbgrader's ``Grade.score``: manual if given, else automatic, plus extra credit; else 0."""
    if manual is not None:
        return float(manual) + float(extra or 0.0)
    if auto is not None:
        return float(auto) + float(extra or 0.0)
    return 0.0


def _sqlite_path(db_url: str) -> str | None:
    """The file of a ``sqlite:///PATH`` URL (None for any other database)."""
    prefix = "sqlite:///"
    if not db_url.startswith(prefix) or "?" in db_url or db_url == prefix:
        return None
    return db_url[len(prefix):]


def _rows(db_url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    path = _sqlite_path(db_url)
    if path is not None:  # the embedded default, read with the standard library (no import cost)
        import sqlite3
        from urllib.parse import quote

        if not Path(path).is_file():
            return []
        connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        try:
            return [tuple(row) for row in connection.execute(query, params)]
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []  # a gradebook nbgrader has not set up yet: nothing graded
            raise
        finally:
            connection.close()
    from sqlalchemy import create_engine, text  # SQLAlchemy alone: no nbgrader

    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query), params)]
    except Exception as exc:
        if "no such table" in str(exc) or "does not exist" in str(exc):
            return []  # a gradebook nbgrader has not set up yet: nothing graded
        raise
    finally:
        engine.dispose()


def student_scores(db_url: str, assignment: str) -> list[StudentScore]:
    """Scores of every submission of ``assignment`` in the gradebook, sorted by student id."""
    maxima = {cell_type: float(total or 0.0) for cell_type, total in _rows(db_url, _MAXIMA, assignment=assignment)}
    by_student: dict[str, dict[str, Any]] = {}
    for student, cell, cell_type, auto, manual, extra, needs_manual in _rows(db_url, _GRADES, assignment=assignment):
        row = by_student.setdefault(student, {"code": 0.0, "markdown": 0.0, "needs": False, "parts": {}})
        if cell is None:
            continue  # a submission with no grade yet
        score = _score(auto, manual, extra)
        if cell_type in ("code", "markdown"):
            row[cell_type] += score
        row["needs"] = row["needs"] or bool(needs_manual)
        graded = auto is not None or manual is not None
        row["parts"][cell] = score if graded else None
    late = {student: (float(penalty or 0.0), _iso(when))
            for student, when, penalty in _rows(db_url, _LATE, assignment=assignment)}
    names = {student: (first or "", last or "", email or "")
             for student, first, last, email in _rows(db_url, _NAMES)} if by_student else {}
    unnamed = ("", "", "")
    return [
        StudentScore(student=student, autograded=row["code"], max_autograded=maxima.get("code", 0.0),
                     written=row["markdown"], max_written=maxima.get("markdown", 0.0),
                     needs_manual_grade=row["needs"], parts=row["parts"], assignment=assignment,
                     late_penalty=late.get(student, (0.0, ""))[0], submitted_at=late.get(student, (0.0, ""))[1],
                     first_name=names.get(student, unnamed)[0], last_name=names.get(student, unnamed)[1],
                     email=names.get(student, unnamed)[2])
        for student, row in sorted(by_student.items())
    ]


def _iso(when: Any) -> str:
    """A stored timestamp (a datetime, or SQLite's text) as ISO 8601 to the second; "" if none."""
    if when is None:
        return ""
    if isinstance(when, str):
        return when.replace(" ", "T")[:19]
    return when.isoformat(timespec="seconds")


def course_scores(db_url: str, assignments: Sequence[str]) -> dict[str, list[StudentScore]]:
    """Every assignment's scores, by assignment (in the order given)."""
    return {assignment: student_scores(db_url, assignment) for assignment in assignments}


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> str:
    body = [[terminal_safe(cell) for cell in row] for row in body]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, body)])


def format_table(rows: list[StudentScore]) -> str:
    """A plain-text table: autograded, written and total points per student (and names, from the roster)."""
    named = any(r.name for r in rows)  # the name column only once a roster gave names
    body = []
    for r in rows:
        status = "written answers to grade" if r.needs_manual_grade else "complete"
        late = f"-{r.late_penalty:g}" if r.late_penalty else ""
        body.append((r.student, *([r.name] if named else []), f"{r.autograded:g}/{r.max_autograded:g}",
                     f"{r.written:g}/{r.max_written:g}", late, f"{r.total:g}/{r.max_total:g}", status))
    return _table(("student", *(["name"] if named else []), "autograded", "written", "late", "total", "status"),
                  body)


def course_totals(by_assignment: Mapping[str, list[StudentScore]]) -> dict[str, tuple[float, float]]:
    """Each student's (points, maximum) over every assignment; a missing submission scores 0 of its maximum."""
    maxima = {a: max((r.max_total for r in rows), default=0.0) for a, rows in by_assignment.items()}
    students = sorted({r.student for rows in by_assignment.values() for r in rows})
    totals = {}
    for student in students:
        points = sum(r.total for rows in by_assignment.values() for r in rows if r.student == student)
        totals[student] = (points, sum(maxima.values()))
    return totals


def format_course_table(by_assignment: Mapping[str, list[StudentScore]]) -> str:
    """One row per student: the total of each assignment (``-`` if not submitted) and the course total."""
    totals = course_totals(by_assignment)
    scores = {(r.assignment, r.student): r for rows in by_assignment.values() for r in rows}
    body = []
    for student, (points, maximum) in totals.items():
        cells = [f"{scores[a, student].total:g}/{scores[a, student].max_total:g}" if (a, student) in scores else "-"
                 for a in by_assignment]
        body.append((student, *cells, f"{points:g}/{maximum:g}"))
    return _table(("student", *by_assignment, "course total"), body)


def write_csv(by_assignment: Mapping[str, list[StudentScore]], path: Path) -> None:
    """One row per student and assignment: its totals, the student's course total, every part's score.

    Part columns are named ``<assignment>/<part>`` (the same part name may occur in several
    assignments); a part not graded is blank.
    Text a student controls is neutralized for spreadsheets (:func:`~notebook_grader.identifiers.csv_safe`).
    """
    parts = sorted({f"{a}/{p}" for a, rows in by_assignment.items() for r in rows for p in r.parts})
    totals = course_totals(by_assignment)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student_id", "first_name", "last_name", "email", "assignment", "autograded",
                         "max_autograded", "written", "max_written", "late_penalty", "total", "max_total",
                         "needs_manual_grade", "submitted_at", "course_total", "course_max_total", *parts])
        for assignment, rows in by_assignment.items():
            for r in rows:
                own = {f"{assignment}/{p}": s for p, s in r.parts.items()}
                writer.writerow([csv_safe(r.student), csv_safe(r.first_name), csv_safe(r.last_name),
                                 csv_safe(r.email), assignment, r.autograded, r.max_autograded, r.written,
                                 r.max_written, r.late_penalty, r.total, r.max_total, r.needs_manual_grade,
                                 r.submitted_at, *totals[r.student],
                                 *("" if own.get(p) is None else own[p] for p in parts)])


#: The learning-management systems :func:`write_lms_csv` writes a grade import for.
LMS_FORMATS = ("canvas", "moodle")


def write_lms_csv(rows: list[StudentScore], assignment: str, lms: str, path: Path) -> None:
    """The assignment's total per student, as the grade import of ``lms`` reads it.

    * ``canvas``: the columns of a Canvas Gradebook export, which its Gradebook import takes
      back: ``Student`` (``Last, First``), ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``,
      then one column per assignment, and a ``Points Possible`` row (Canvas Instructor Guide,
      "How do I import grades in the Gradebook?"). Canvas matches a student by ``ID``, ``SIS
      User ID`` or ``SIS Login ID``; the course's student id is written as the SIS ids (Canvas's
      own numeric ``ID`` is not known here and is left blank).
    * ``moodle``: the columns of a Moodle gradebook plain-text export, which its CSV grade
      import takes back: ``First name``, ``Last name``, ``ID number``, ``Email address``, then the
      grade column (MoodleDocs, "Grade import": at import, map ``Email address`` to
      ``useremail`` or ``ID number`` to ``useridnumber``, and the grade column to the grade item).

    A submission still awaiting hand grading is exported with its provisional total.
    """
    rows = sorted(rows, key=lambda r: r.student)
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        if lms == "canvas":
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", assignment])
            max_total = max((r.max_total for r in rows), default=0.0)
            writer.writerow(["Points Possible", "", "", "", "", f"{max_total:g}"])
            for r in rows:
                writer.writerow([csv_safe(r.name or r.student), "", csv_safe(r.student), csv_safe(r.student), "",
                                 f"{r.total:g}"])
        elif lms == "moodle":
            writer.writerow(["First name", "Last name", "ID number", "Email address", assignment])
            for r in rows:
                writer.writerow([csv_safe(r.first_name), csv_safe(r.last_name), csv_safe(r.student),
                                 csv_safe(r.email), f"{r.total:g}"])
        else:
            raise ValueError(f"unknown learning-management system {lms!r}: one of {', '.join(LMS_FORMATS)}")

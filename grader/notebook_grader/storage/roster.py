"""The class roster: who the students are (id, first and last name, email), loaded from a CSV.

``course students import roster.csv`` reads a CSV whose header names the columns ``id``,
``first_name``, ``last_name`` and ``email`` (spaces or capitals allowed: ``First Name``; ``student_id``
for ``id``), checks every row first and stores them all in one gradebook transaction: a file
with any bad row stores nothing, and each bad row is reported with its line number. A student
already in the gradebook keeps their grades and gets the roster's names. Formgrader, ``course
scores`` and ``grades.csv`` then show the names.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from notebook_grader.errors import CourseError
from notebook_grader.identifiers import BadStudentId, check_student_id, terminal_safe

#: The roster's columns, and the header names each may go by.
COLUMNS = {
    "id": ("id", "student_id", "student id"),
    "first_name": ("first_name", "first name", "firstname", "given name"),
    "last_name": ("last_name", "last name", "lastname", "surname", "family name"),
    "email": ("email", "e-mail", "email address"),
}
#: Longest name or email the gradebook is given.
MAX_TEXT = 128
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


class RosterInvalid(CourseError):
    """A roster file that cannot be imported: every problem, one per line, with its line number."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"{path.name}: nothing imported, {len(problems)} problem(s):\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class RosterEntry:
    """One student of the roster."""

    id: str
    first_name: str
    last_name: str
    email: str


def _column_map(header: list[str]) -> tuple[dict[str, int], list[str]]:
    """Which header position holds each roster column, and what is missing."""
    names = [" ".join(h.strip().lower().replace("_", " ").split()) for h in header]
    found, problems = {}, []
    for column, aliases in COLUMNS.items():
        spelled = {" ".join(a.replace("_", " ").split()) for a in aliases}
        where = [i for i, name in enumerate(names) if name in spelled]
        if not where:
            problems.append(f"line 1: no column {column!r} (the header must name id, first_name, last_name, email)")
        else:
            found[column] = where[0]
    return found, problems


def _text_problem(what: str, value: str) -> str | None:
    if len(value) > MAX_TEXT:
        return f"{what} is longer than {MAX_TEXT} characters"
    if any(unicodedata.category(ch)[0] == "C" for ch in value):
        return f"{what} {terminal_safe(value)} holds control characters"
    return None


def read_roster(path: Path) -> list[RosterEntry]:
    """Every entry of the roster at ``path``; :class:`RosterInvalid` lists every bad row."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise RosterInvalid(path, [f"no such file: {path}"]) from exc
    except UnicodeDecodeError as exc:
        raise RosterInvalid(path, [f"not UTF-8 text (byte {exc.start}); save the roster as CSV UTF-8"]) from exc
    rows = list(csv.reader(text.splitlines()))
    if not rows:
        raise RosterInvalid(path, ["line 1: the file is empty; it needs a header: id,first_name,last_name,email"])
    columns, problems = _column_map(rows[0])
    if problems:
        raise RosterInvalid(path, problems)
    entries: list[RosterEntry] = []
    seen: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue  # blank lines (a trailing one, say) are not students
        if len(row) != len(rows[0]):
            problems.append(f"line {line}: {len(row)} fields, the header has {len(rows[0])}")
            continue
        value = {column: row[i].strip() for column, i in columns.items()}
        row_problems = []
        try:
            check_student_id(value["id"])
        except BadStudentId as exc:
            row_problems.append(str(exc))
        if value["id"] in seen:
            row_problems.append(f"student id {value['id']} is also on line {seen[value['id']]}")
        if not (value["first_name"] or value["last_name"]):
            row_problems.append("no first or last name")
        for column in ("first_name", "last_name", "email"):
            problem = _text_problem(column.replace("_", " "), value[column])
            if problem:
                row_problems.append(problem)
        if value["email"] and not _EMAIL.fullmatch(value["email"]):
            row_problems.append(f"email {terminal_safe(value['email'])} is not an address")
        if row_problems:
            problems.extend(f"line {line}: {p}" for p in row_problems)
            continue
        seen[value["id"]] = line
        entries.append(RosterEntry(**value))
    if problems:
        raise RosterInvalid(path, problems)
    if not entries:
        raise RosterInvalid(path, ["no student rows under the header"])
    return entries


def import_roster(db_url: str, entries: list[RosterEntry]) -> tuple[int, int]:
    """Store ``entries`` in the gradebook in one transaction: (students added, students updated)."""
    from nbgrader.api import Gradebook, Student

    added = updated = 0
    with Gradebook(db_url) as gb:
        session = gb.db
        try:
            for entry in entries:
                student = session.query(Student).filter(Student.id == entry.id).one_or_none()
                if student is None:
                    student = Student(id=entry.id)
                    session.add(student)
                    added += 1
                else:
                    updated += 1
                student.first_name = entry.first_name or None
                student.last_name = entry.last_name or None
                student.email = entry.email or None
            session.commit()
        except Exception:
            session.rollback()
            raise
    return added, updated


def display_name(first_name: str | None, last_name: str | None) -> str:
    """``Last, First`` as formgrader lists students; one of them alone if the other is missing."""
    return ", ".join(part for part in (last_name, first_name) if part)

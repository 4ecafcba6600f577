"""What a student may name, and how a name a student chose is shown to anyone else.

A student id becomes a folder name, a gradebook key, a column of the grades CSV, a line on the
instructor's terminal and text in formgrader's pages. Ids are therefore held to one safe pattern
(refused otherwise, with the reason), and any text a student controls (an id that reached the
gradebook by another door, a file name) is neutralized before it is printed or exported.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import CourseError

#: A student id: starts with a letter or digit; then letters, digits, ``.``, ``_``, ``-``; at most 64.
STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

#: First characters a spreadsheet reads as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BadStudentId(CourseError):
    """A student id that does not match :data:`STUDENT_ID`."""


def is_student_id(text: str) -> bool:
    """True when ``text`` is a safe student id (see :data:`STUDENT_ID`)."""
    return STUDENT_ID.fullmatch(text) is not None


def check_student_id(text: str) -> str:
    """Return ``text`` if it is a safe student id; raise :class:`BadStudentId` saying why not."""
    if not is_student_id(text):
        raise BadStudentId(
            f"student id {terminal_safe(text)!s} is not allowed: use 1 to 64 letters, digits, "
            "'.', '_' or '-', starting with a letter or digit"
        )
    return text


def terminal_safe(text: str) -> str:
    """``text`` with control and format characters (escape sequences, bidi overrides) shown escaped."""
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text)
    )


def csv_safe(text: str) -> str:
    """``text`` for a CSV cell: control characters escaped, a leading formula character quoted.

    Spreadsheets run a cell that starts with ``= + - @`` as a formula; a leading apostrophe is the
    convention (OWASP) that makes them show it as text.
    """
    text = terminal_safe(text)
    return "'" + text if text.startswith(_FORMULA_START) else text

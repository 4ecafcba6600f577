"""Student ids and student-chosen text shown to the instructor (terminal, CSV)."""

from __future__ import annotations

import pytest

from notebook_grader.identifiers import BadStudentId, check_student_id, csv_safe, terminal_safe

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("good", ["alice", "s1234567", "Jean-Luc.Picard_2", "0" * 64])
def test_safe_ids_pass(good: str) -> None:
    assert check_student_id(good) == good


@pytest.mark.parametrize("bad", ["", "../bob", "a/b", ".hidden", "-rf", "a b", "<script>", "x" * 65,
                                 "é", "a\nb", "=cmd"])
def test_unsafe_ids_are_refused_with_the_rule(bad: str) -> None:
    with pytest.raises(BadStudentId, match="letters, digits"):
        check_student_id(bad)


def test_terminal_safe_escapes_control_and_bidi_characters() -> None:
    assert terminal_safe("a\x1b[2Jb\u202ec\n") == "a\\x1b[2Jb\\u202ec\\n"
    assert terminal_safe("Zoë") == "Zoë"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "-2+3"])
def test_csv_safe_quotes_formula_starts(cell: str) -> None:
    assert csv_safe(cell).startswith("'")


def test_csv_safe_leaves_plain_text() -> None:
    assert csv_safe("alice") == "alice"


def test_csv_safe_escapes_a_leading_tab() -> None:
    assert csv_safe("\t=1") == "\\t=1"

"""What the cells of an nbgrader notebook are, for the test-cell protocol.

One home for cell semantics: which cells are autograder tests, which make up the reference
solution, and where a test cell's hidden region is (nbgrader's ``### BEGIN HIDDEN TESTS``).
"""

from __future__ import annotations

import re
from typing import Any

HIDDEN_BEGIN = "BEGIN HIDDEN TESTS"
HIDDEN_END = "END HIDDEN TESTS"


def nbgrader_metadata(cell: Any) -> dict[str, Any]:
    return dict(cell.get("metadata", {}).get("nbgrader", {}))


def is_test_cell(cell: Any) -> bool:
    """An autograder test cell: a graded, non-solution code cell."""
    meta = nbgrader_metadata(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_reference_cell(cell: Any) -> bool:
    """A cell the reference solution consists of: a solution code cell or a ``setup*`` cell."""
    meta = nbgrader_metadata(cell)
    if cell.get("cell_type") != "code":
        return False
    return bool(meta.get("solution")) or str(meta.get("grade_id", "")).startswith("setup")


def hidden_line_ranges(source: str) -> list[tuple[int, int]]:
    """1-based inclusive line ranges of the hidden-test regions of a cell's source."""
    ranges, start = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        if HIDDEN_BEGIN in line and start is None:
            start = number
        elif HIDDEN_END in line and start is not None:
            ranges.append((start, number))
            start = None
    if start is not None:
        raise ValueError("a hidden-test region is not closed")
    return ranges


def strip_solution_markers(source: str) -> str:
    """Drop the ``### BEGIN/END SOLUTION`` marker lines, keeping the code between them."""
    return "\n".join(
        line for line in source.splitlines() if not re.search(r"#+\s*(BEGIN|END) SOLUTION", line)
    )

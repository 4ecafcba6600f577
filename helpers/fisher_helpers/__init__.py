"""Shared helpers for the Fisher information course notebooks.

One import serves the theory notebook, the exercises, submissions and CI alike::

    from fisher_helpers import check_close, check_true, header, COLORS, use_course_style

It holds the plot style and the self-checks, and no function a graded exercise asks for: a
student's kernel can import this package while it is autograded, so any such function here
would earn its points without the student writing it (``tests/test_checks.py`` keeps it so).
The theory notebook defines its model functions itself, next to their derivations.
"""

from fisher_helpers.checks import check_close, check_true, header
from fisher_helpers.style import COLORS, use_course_style

__all__ = ["COLORS", "check_close", "check_true", "header", "use_course_style"]

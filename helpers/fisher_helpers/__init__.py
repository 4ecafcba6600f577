"""Shared helpers for the Fisher information course notebooks.

One import serves the theory notebook, the exercises, submissions and CI alike::

    from fisher_helpers import check_close, check_true, header, COLORS, use_course_style
"""

from fisher_helpers.checks import check_close, check_true, header
from fisher_helpers.style import COLORS, use_course_style

__all__ = ["COLORS", "check_close", "check_true", "header", "use_course_style"]

"""The one base of every error a ``course`` command reports to its user as a plain message.

Each layer raises its own subclass (no course found, an undeclared or unreleased assignment, a
release that would lose grades, a bad zip, no feedback to write); the command line catches this
base alone, so it needs to import none of the layers to report them.
"""

from __future__ import annotations


class CourseError(RuntimeError):
    """Something the user can fix: the message says what and how."""

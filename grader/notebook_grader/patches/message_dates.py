"""The dates of a kernel's messages, read by the standard library rather than by dateutil.

For every message a worker receives from a kernel (five or more per cell), jupyter_client's
``Session.deserialize`` turns the ISO 8601 date of its header and of its parent's header into a
``datetime`` with ``dateutil``'s pure-Python ``isoparse`` (``jsonutil.extract_dates``): about
14 microseconds a header, 3% of a grading worker's CPU. Kernels stamp every header in UTC
with a ``Z`` suffix (``2026-12-01T15:11:39.123456Z``).

:func:`fast_message_dates` gives ``jupyter_client.session`` an ``extract_dates`` that reads such
a string with ``datetime.fromisoformat``: the same instant, printed the same, with
``timezone.utc`` as its time zone instead of dateutil's equal ``tzutc()``. Anything else (no
``Z``, a form ``fromisoformat`` refuses, a list, a value of another type) goes to
jupyter_client's own function, so it is read exactly as before. The test compares both
functions over every form jupyter_client's pattern accepts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notebook_grader.patches import Patch


def fast_message_dates() -> None:
    """Replace ``jupyter_client.session.extract_dates`` (see the module)."""
    from jupyter_client import jsonutil, session

    original = jsonutil.extract_dates
    pattern = jsonutil.ISO8601_PAT

    def read(text: str) -> Any:
        if len(text) < 19 or text[10] != "T":  # not "YYYY-MM-DDTHH:MM:SS...": the pattern cannot match
            return text
        if text.endswith("Z") and pattern.match(text):
            try:
                return datetime.fromisoformat(text[:-1] + "+00:00")
            except ValueError:
                pass
        return original(text)

    def extract_dates(obj: Any) -> Any:
        kind = type(obj)
        if kind is dict:
            return {key: extract_dates(value) for key, value in obj.items()}
        if kind is str:
            return read(obj)
        return original(obj)

    extract_dates.__doc__ = original.__doc__
    extract_dates.__wrapped__ = original  # type: ignore[attr-defined]
    session.extract_dates = extract_dates


JUPYTER_CLIENT = ">=8.6,<9"

FAST_MESSAGE_DATES = Patch("fast_message_dates", "jupyter_client", JUPYTER_CLIENT,
                           ("jupyter_client.session:extract_dates", "jupyter_client.jsonutil:ISO8601_PAT"),
                           fast_message_dates)

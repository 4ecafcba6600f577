"""The wire format between a test cell's kernel half and the grader: check records.

A test cell (the kernel half of the protocol, the ``cell_checks`` package) reports the value of
each check as a record; the records of a cell travel as one display output of this MIME type,
holding a JSON list. The grader (:mod:`notebook_grader.protocol.verdict`) reads them back and
never trusts anything else a cell printed.
"""

from __future__ import annotations

from cell_checks import RECORD_MIME

__all__ = ["RECORD_MIME"]

"""The kernel messages' dates read by the standard library (patches/message_dates.py) are the ones
jupyter_client's own function reads, for every form its pattern accepts."""

from __future__ import annotations

import warnings
from datetime import datetime
from typing import Any

import pytest
from jupyter_client import jsonutil, session
from jupyter_client.session import Session

from notebook_grader.patches import message_dates

DATES = (
    "2026-12-01T15:11:39.123456Z", "2026-12-01T15:11:39.1Z", "2026-12-01T15:11:39.12345Z", "2026-12-01T15:11:39Z",
    "2026-12-01T15:11:39.123456+01:00", "2026-12-01T15:11:39+0530", "2026-12-01T15:11:39-05:30",
    "2026-12-01T15:11:39.5", "2026-12-01T15:11:39", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
    "2026-12-01T24:00:00Z", "not a date", "", "2026-12-01", "2026-12-01T15:11:39.123456ZZ", "2026-12-01 15:11:39Z",
    "2026-12-01T15:11:3", "x" * 30, "2026-12-01T15:11:39.123456+01:00Z",
)


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The fast ``extract_dates``, installed in jupyter_client's session module for the test only."""
    monkeypatch.setattr(session, "extract_dates", jsonutil.extract_dates)
    message_dates.fast_message_dates()
    assert session.extract_dates is not jsonutil.extract_dates
    return session.extract_dates


def _read(function: Any, value: Any) -> tuple[str, Any]:
    """What ``function`` makes of ``value``: its result (datetimes as instant, text and offset), or its error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = function(value)
        except Exception as exc:  # the same error, or none, from both
            return ("raises", type(exc).__name__)
    return ("returns", _plain(result), [str(w.category.__name__) for w in caught])


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value, value.isoformat(), value.utcoffset(), value.tzname() if value.tzinfo else None)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", DATES)
def test_each_form_reads_as_jupyter_client_reads_it(text: str, fast: Any) -> None:
    assert _read(fast, text) == _read(jsonutil.extract_dates, text)


def test_a_kernels_utc_stamp_takes_the_quick_path(fast: Any) -> None:
    value = fast("2026-12-01T15:11:39.123456Z")
    assert value == datetime.fromisoformat("2026-12-01T15:11:39.123456+00:00") and value.tzinfo is not None
    assert type(value.tzinfo).__module__ == "datetime"  # read by the standard library, not dateutil


def test_headers_and_nested_values_read_the_same(fast: Any) -> None:
    header = {"msg_id": "a1", "date": DATES[0], "session": "s", "version": "5.3", "n": 3, "none": None,
              "nested": {"when": DATES[4], "list": [DATES[1], {"deep": DATES[3]}, 7], "pair": (DATES[2], "x")}}
    assert _read(fast, header) == _read(jsonutil.extract_dates, header)


def test_a_message_deserializes_the_same(fast: Any) -> None:
    sender = Session(key=b"secret")
    msg = sender.msg("execute_reply", content={"status": "ok", "when": DATES[0]},
                     parent=sender.msg("execute_request", content={"code": "1"}))
    wire = sender.serialize(msg)[1:]
    received = Session(key=b"secret").deserialize(wire)
    session.extract_dates = fast.__wrapped__
    plain = Session(key=b"secret").deserialize(wire)
    assert _plain(received["header"]) == _plain(plain["header"])
    assert _plain(received["parent_header"]) == _plain(plain["parent_header"])
    assert received["content"] == plain["content"] and received["header"]["date"] == msg["header"]["date"]

"""Redaction of credentials in log lines: a table of what reaches the log."""

from __future__ import annotations

import logging
import sys

import pytest

from server.logs import RedactingFilter, redact

ROOM = "v1.12.34.host.1795871016.2.u7cb5Ql5kUKAM9enxEHaCAk5EirWYPhgOj5WCcq5uTg"
STATUS = "c5.1.abcdefghijklmnopqrstuv"
KEY = "kyk_Zm9vYmFyYmF6cXV4LWhlbGxvLXdvcmxkLTEyMzQ1Njc4"


@pytest.mark.parametrize(
    ("line", "logged"),
    [
        (
            f'127.0.0.1 "GET /room/12/{ROOM} HTTP/1.1" 200',
            '127.0.0.1 "GET /room/12/v1.12.34.host.1795871016.2.*** HTTP/1.1" 200',
        ),
        (
            f"unhandled error on /room/12/{ROOM}/screenshots/5.jpg",
            "unhandled error on /room/12/v1.12.34.host.1795871016.2.***/screenshots/5.jpg",
        ),
        (f"GET /s/{STATUS}/uploads/u1", "GET /s/c5.1.***/uploads/u1"),
        (f"https://kanyan.example/s/{STATUS}?lang=en", "https://kanyan.example/s/c5.1.***?lang=en"),
        ("GET /room/12/not-a-token", "GET /room/12/***"),
        (
            f'{{"type": "hello", "token": "{ROOM}"}}',
            '{"type": "hello", "token": "v1.12.34.host.1795871016.2.***"}',
        ),
        (f"status link {STATUS} sent", "status link c5.1.*** sent"),
        (f"Authorization: Bearer {KEY}", "Authorization: Bearer ***"),
        (f"key {KEY} used", "key kyk_*** used"),
        (
            "Cookie: kanyan_session=s1.1.2.3.n.sig; kanyan_csrf=abc",
            "Cookie: kanyan_session=***; kanyan_csrf=***",
        ),
        ("GET /static/js/room.js HTTP/1.1", "GET /static/js/room.js HTTP/1.1"),
        ("GET /cases/12?state=intake", "GET /cases/12?state=intake"),
    ],
)
def test_credentials_never_reach_the_log(line, logged):
    assert redact(line) == logged


def test_the_filter_redacts_arguments_and_tracebacks():
    record = logging.LogRecord(
        "t", logging.ERROR, __file__, 1, "error on %s", (f"/s/{STATUS}",), None
    )
    try:
        raise ValueError(f"bad link /room/1/{ROOM}")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert RedactingFilter().filter(record)
    text = logging.Formatter().format(record)
    assert STATUS not in text and ROOM not in text and ROOM.rsplit(".", 1)[1] not in text
    assert (
        "error on /s/c5.1.***" in text and "bad link /room/1/v1.12.34.host.1795871016.2.***" in text
    )

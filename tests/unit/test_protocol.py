"""Parsing client messages: every malformed input gets a named error."""

from __future__ import annotations

import json

import pytest

from server.errors import ProtocolError
from server.live import protocol


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        ("[1, 2]", "malformed_message"),
        ('"hello"', "malformed_message"),
        ("{}", "unknown_type"),
        ('{"type": 5}', "unknown_type"),
        ('{"type": "explode"}', "unknown_type"),
        ('{"type": "admit"}', "bad_field"),
        ('{"type": "admit", "participant": "3"}', "bad_field"),
        ('{"type": "admit", "participant": true}', "bad_field"),
        ('{"type": "admit", "participant": 3, "extra": 1}', "bad_field"),
        ('{"type": "answer", "sdp": 7}', "bad_field"),
        ('{"type": "media", "audio": 1, "video": true}', "bad_field"),
        ('{"type": "hello", "version": 1, "token": "x"}', "bad_field"),
        ('{"type": "candidate", "candidate": 5}', "bad_field"),
    ],
)
def test_bad_messages_are_named(raw, code):
    with pytest.raises(ProtocolError) as err:
        protocol.parse(raw)
    assert err.value.code == code
    assert err.value.message


def test_every_client_message_type_parses_with_its_fields():
    samples = {
        "hello": {"version": 1, "inspection": 2, "token": "t"},
        "answer": {"sdp": "v=0"},
        "candidate": {"candidate": None, "sdpMid": "0", "sdpMLineIndex": 0},
        "admit": {"participant": 3},
        "deny": {"participant": 3},
        "remove": {"participant": 3},
        "start": {},
        "end": {},
        "media": {"audio": True, "video": False},
        "leave": {},
        "ping": {},
        "pong": {},
        "screenshot": {"participant": 3, "note": "门头招牌"},
    }
    assert set(samples) == set(protocol.CLIENT_MESSAGES)
    for kind, fields in samples.items():
        message = protocol.parse(json.dumps({"type": kind, **fields}))
        assert message.type == kind and message.fields == fields


def test_unknown_type_message_does_not_echo_unbounded_input():
    with pytest.raises(ProtocolError) as err:
        protocol.parse(json.dumps({"type": "x" * 10000}))
    assert len(err.value.message) <= 120

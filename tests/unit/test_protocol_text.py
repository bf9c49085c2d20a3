"""Client message fields hold what the archive can: text fields real text, integers 64 bits.

Text fields of client messages must be text: JSON can carry lone surrogates ("\\ud800"),
which passed the parser and failed in the archive's UTF-8 (found by fuzzing the room: 中止 with
such a reason was an internal error that left the room ended and the archive live)."""

from __future__ import annotations

import json

import pytest

from server.errors import ProtocolError
from server.live.protocol import parse

BAD = "勘验\ud800"
MESSAGES = [
    {"type": "hello", "version": 1, "inspection": 1, "token": BAD},
    {"type": "answer", "sdp": BAD},
    {"type": "candidate", "candidate": BAD},
    {"type": "candidate", "candidate": None, "sdpMid": BAD},
    {"type": "screenshot", "participant": 1, "note": BAD},
    {"type": "mark", "item": 1, "verdict": BAD},
    {"type": "mark", "item": 1, "verdict": "conforms", "note": BAD},
    {"type": "note", "text": BAD},
    {"type": "conclude", "verdict": "pass", "reasons": BAD},
    {"type": "conclude", "verdict": "rectify", "reasons": "整改", "deadline": "\udfff"},
    {
        "type": "conclude",
        "verdict": "rectify",
        "reasons": "整改",
        "rectifications": [{"item": None, "text": BAD}],
    },
    {"type": "interrupt", "reason": BAD},
    {"type": "confirm", "accepted": True, "note": BAD},
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m["type"])
def test_a_lone_surrogate_is_a_bad_field(message):
    raw = json.dumps(message)  # escaped as \ud800 on the wire, as a hostile client sends it
    with pytest.raises(ProtocolError) as refused:
        parse(raw)
    assert refused.value.code == "bad_field"


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: m["type"])
def test_the_same_message_with_real_text_parses(message):
    good = json.loads(json.dumps(message).replace("\\ud800", "").replace("\\udfff", "2026-12-01"))
    assert parse(json.dumps(good)).type == message["type"]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "move_screenshot", "screenshot": 2**63, "item": None},
        {"type": "move_screenshot", "screenshot": 1, "item": -(2**63) - 1},
        {"type": "mark", "item": 10**30, "verdict": "conforms"},
        {"type": "current", "item": 2**64},
        {"type": "admit", "participant": 2**70},
        {"type": "screenshot", "participant": 2**63},
        {"type": "hello", "version": 1, "inspection": 2**63, "token": "x"},
    ],
    ids=lambda m: m["type"],
)
def test_an_integer_beyond_64_bits_is_a_bad_field(message):
    """Such ids reached SQLite, which refuses them (OverflowError): an internal error."""
    with pytest.raises(ProtocolError) as refused:
        parse(json.dumps(message))
    assert refused.value.code == "bad_field"


def test_the_largest_64_bit_id_is_still_an_id():
    assert parse(json.dumps({"type": "current", "item": 2**63 - 1}))["item"] == 2**63 - 1

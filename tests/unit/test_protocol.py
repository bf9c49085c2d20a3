"""Parsing client messages: every malformed input gets a named error."""

from __future__ import annotations

import json

import pytest

from server.errors import CloseCode, ProtocolError
from server.live import protocol
from tests.support.server import ROOT


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "malformed_json"),
        (b"\xff\xfe", "malformed_json"),
        ("[" * 50000, "too_deep"),
        ('{"type": "note", "text": ' + "[" * 50000 + "]" * 50000 + "}", "too_deep"),
        ('{"a":' * 50000, "too_deep"),
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
        ('{"type": "mark", "item": 1}', "bad_field"),
        ('{"type": "mark", "item": 1, "verdict": "' + "x" * 21 + '"}', "bad_field"),
        ('{"type": "conclude", "verdict": "pass"}', "bad_field"),
        (
            '{"type": "conclude", "verdict": "pass", "reasons": "r", "rectifications": {}}',
            "bad_field",
        ),
        (
            '{"type": "conclude", "verdict": "p", "reasons": "r", "rectifications": [{"x": 1}]}',
            "bad_field",
        ),
        (
            '{"type": "conclude", "verdict": "p", "reasons": "r", "rectifications": [{"text": 5}]}',
            "bad_field",
        ),
        ('{"type": "note", "text": "' + "长" * 1001 + '"}', "bad_field"),
        ('{"type": "confirm", "accepted": "yes"}', "bad_field"),
        ('{"type": "move_screenshot", "screenshot": 1}', "bad_field"),
        ('{"type": "device", "uplink": "excellent"}', "bad_field"),
        ('{"type": "device", "background": "yes"}', "bad_field"),
        ('{"type": "device", "battery": 50}', "bad_field"),
        ('{"type": "camera_request", "participant": 3, "what": "flash"}', "bad_field"),
        ('{"type": "camera_request", "what": "torch"}', "bad_field"),
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
        "current": {"item": 4},
        "mark": {"item": 4, "verdict": "conforms", "note": "见截图"},
        "move_screenshot": {"screenshot": 9, "item": None},
        "note": {"text": "后厨有独立洗手池", "item": 4},
        "conclude": {
            "verdict": "rectify",
            "reasons": "冷藏设备不足",
            "deadline": "2026-12-20",
            "rectifications": [{"item": 4, "text": "增设冷藏柜"}, {"item": None, "text": "补证"}],
        },
        "interrupt": {"reason": "申请人网络中断"},
        "confirm": {"accepted": True, "note": None},
        "device": {"background": False, "uplink": "poor", "torch": True},
        "camera_request": {"participant": 3, "what": "switch_camera"},
    }
    assert set(samples) == set(protocol.CLIENT_MESSAGES)
    for kind, fields in samples.items():
        message = protocol.parse(json.dumps({"type": kind, **fields}))
        assert message.type == kind and message.fields == fields


def test_unknown_type_message_does_not_echo_unbounded_input():
    with pytest.raises(ProtocolError) as err:
        protocol.parse(json.dumps({"type": "x" * 10000}))
    assert len(err.value.message) <= 120


# -- server → client ---------------------------------------------------------------------------

SERVER_SAMPLES = {
    "welcome": lambda: protocol.welcome(
        you={"id": 1, "name": "张", "role": "host"},
        inspection={"id": 2},
        permissions=["admit"],
        ice_servers=[],
        video_kbps=600,
        heartbeat={"ping_after_s": 20, "drop_after_s": 45},
    ),
    "lobby": lambda: protocol.lobby(host_online=True),
    "admitted": protocol.admitted,
    "roster": lambda: protocol.roster("open", [{"id": 1}]),
    "offer": lambda: protocol.offer("v=0", {"own": {}, "remote": {}}),
    "state": lambda: protocol.state("live", "2026-11-27T02:00:00.000Z", None),
    "notice": lambda: protocol.notice("screenshot_saved", "info", "截图已保存"),
    "error": lambda: protocol.error("forbidden", "不允许", "admit"),
    "ping": protocol.ping,
    "pong": protocol.pong,
    "bye": lambda: protocol.bye("denied", "主持人未准入"),
    "recording": lambda: protocol.recording("recording", None, 1.5, 1),
    "screenshot": lambda: protocol.screenshot({"id": 3}),
    "screenshots": lambda: protocol.screenshots([{"id": 3}]),
    "checklist": lambda: protocol.checklist({"version": 1, "current": None, "items": []}),
    "record": lambda: protocol.record([]),
    "conclusion": lambda: protocol.conclusion({"verdict": "pass"}),
    "camera_request": lambda: protocol.camera_request("torch", "张主持"),
    "moved": lambda: protocol.moved("wss://kanyan-2.example/ws"),
}


def test_every_server_message_has_a_builder_and_is_documented():
    assert set(SERVER_SAMPLES) == set(protocol.SERVER_MESSAGES)
    document = (ROOT / "docs" / "protocol.md").read_text()
    for kind, build in SERVER_SAMPLES.items():
        message = build()
        assert message["type"] == kind
        # Every frame is JSON that a browser's JSON.parse reads back unchanged.
        assert json.loads(protocol.encode(message)) == message
        assert f"`{kind}`" in document, f"{kind} is not in docs/protocol.md"


def test_the_welcome_carries_the_protocol_version():
    assert SERVER_SAMPLES["welcome"]()["version"] == protocol.VERSION


def test_messages_are_built_only_in_the_protocol_module():
    """No dict literal with a "type" anywhere else in the server: one place to read them all."""
    offenders = []
    for folder in ("server", "recorder", "web"):
        for path in (ROOT / folder).rglob("*.py"):
            if path.name == "protocol.py" and path.parent.name == "live":
                continue
            if '"type": "' in path.read_text():
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_close_codes_are_the_documented_ones():
    document = (ROOT / "docs" / "protocol.md").read_text()
    for code in CloseCode:
        assert f"| {int(code)} |" in document, code

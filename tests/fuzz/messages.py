"""Hypothesis strategies for the room protocol's client messages (docs/protocol.md):
valid shapes with hostile values, and invalid shapes.

FIELDS mirrors server.live.protocol.CLIENT_MESSAGES field by field (a test keeps them equal), so
a new message type or field fails the fuzz set until it is fuzzed too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

# field → what kind of value it holds
FIELDS: dict[str, dict[str, str]] = {
    "hello": {"version": "int", "inspection": "int", "token": "str"},
    "answer": {"sdp": "sdp"},
    "candidate": {"candidate": "candidate", "sdpMid": "opt_str", "sdpMLineIndex": "opt_int"},
    "admit": {"participant": "participant"},
    "deny": {"participant": "participant"},
    "remove": {"participant": "participant"},
    "start": {},
    "end": {},
    "media": {"audio": "bool", "video": "bool"},
    "leave": {},
    "ping": {},
    "pong": {},
    "screenshot": {"participant": "participant", "note": "opt_note"},
    "current": {"item": "item"},
    "mark": {"item": "item", "verdict": "verdict", "note": "opt_note"},
    "move_screenshot": {"screenshot": "screenshot", "item": "opt_item"},
    "note": {"text": "text", "item": "opt_item"},
    "conclude": {
        "verdict": "conclusion",
        "reasons": "text",
        "deadline": "date",
        "rectifications": "rectifications",
    },
    "interrupt": {"reason": "reason"},
    "confirm": {"accepted": "bool", "note": "opt_note"},
    "device": {"background": "bool", "uplink": "uplink", "torch": "bool"},
    "camera_request": {"participant": "participant", "what": "camera_what"},
}

HOSTILE_TEXT = [
    "",
    " ",
    "\x00",
    "\u0000\u0001\u001f\u007f",
    "'; DROP TABLE events; --",
    '" OR 1=1 --',
    "../../../../etc/passwd",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "%s%s%s%n",
    "\u202e\u2066RTL\u2069",
    "\ufeff",
    "\ud800",  # a lone surrogate: valid JSON, not encodable as UTF-8
    "\udfff\ud800",
    "😀" * 300,
    "勘" * 1001,
    "a" * 501,
    "x" * 20_000,
    "\r\n" * 200,
    "null",
    "NaN",
]
HOSTILE_INTS = [0, -1, 1, 2**31 - 1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
VERDICTS = ["verified", "conforms", "not_conforms", "rectify", "pass", "fail", "VERIFIED"]
CONCLUSIONS = ["pass", "rectify", "fail", "conforms"]
SDP_LINES = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=rtpmap:96 VP8/90000",
    "a=ice-ufrag:x",
    "a=ice-pwd:" + "y" * 24,
    "a=fingerprint:sha-256 " + ":".join(["AB"] * 32),
    "a=setup:active",
    "a=mid:0",
    "a=group:BUNDLE 0 1 2 3 4 5 6 7 8 9",
    "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    "c=IN IP4 0.0.0.0",
    "m=audio 0 RTP/AVP 0",
    "a=ssrc:4294967296 cname:x",
]
CANDIDATES = [
    "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host",
    "candidate:1 1 udp 2130706431 169.254.169.254 80 typ host",
    "candidate:1 1 tcp 2130706431 10.0.0.1 9 typ host tcptype active",
    "candidate:1 1 udp 1 ::1 9 typ host",
    "candidate:1 1 udp 1 x.local 9 typ host",
    "candidate:1 1 udp 1 127.0.0.1 99999 typ host",
    "candidate:1 1 udp -5 127.0.0.1 -1 typ srflx raddr 0.0.0.0 rport 0",
    "candidate:",
    "candidate:1",
    "candidate:1 1 udp 1 127.0.0.1 9 typ",
    "candidate:1 1 udp 1 127.0.0.1 9 typ relay generation x",
    "a=candidate:1 1 udp 1 127.0.0.1 9 typ host",
]


@dataclass
class Targets:
    """Real ids of the room being fuzzed: hostile values are mixed with these so that deep
    paths (the archive, the recorder) are reached, not only the checks at the door."""

    participants: list[int] = field(default_factory=list)
    items: list[int] = field(default_factory=list)
    screenshots: list[int] = field(default_factory=list)
    inspection: int = 0
    tokens: list[str] = field(default_factory=list)


PLAUSIBLE = [
    "门头招牌与申请材料一致",
    "冷藏设施温度显示 -18℃",
    "Fire exit blocked",
    "整改：更换灭火器",
]


def any_text() -> st.SearchStrategy[str]:
    """Text a person might write (so that it gets past the checks and into the archive), text
    from anywhere in Unicode — surrogates included: json.dumps escapes them and json.loads
    brings them back — and the classics."""
    words = st.text(st.characters(categories=["L", "N", "P", "Zs", "So"]), min_size=1, max_size=80)
    return st.one_of(
        st.sampled_from(PLAUSIBLE),
        words,
        st.tuples(words, st.sampled_from(HOSTILE_TEXT), words).map("".join),
        st.sampled_from(HOSTILE_TEXT),
        st.text(st.characters(codec=None, exclude_categories=()), max_size=60),
        st.text(max_size=1200),
    )


def any_int(real: list[int]) -> st.SearchStrategy[int]:
    choices: list[st.SearchStrategy[int]] = [
        st.sampled_from(HOSTILE_INTS),
        st.integers(min_value=-(2**70), max_value=2**70),
    ]
    if real:
        choices.insert(0, st.sampled_from(real))
    return st.one_of(*choices)


def any_json() -> st.SearchStrategy[Any]:
    """Any JSON value, shallow (deep nesting is tested on its own)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True),
        any_text(),
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=5)
            | st.dictionaries(st.text(max_size=10), children, max_size=5)
        ),
        max_leaves=12,
    )


def value_of(kind: str, targets: Targets) -> st.SearchStrategy[Any]:
    text = any_text()
    if kind == "int":
        return any_int([targets.inspection, 1])
    if kind == "str":
        return st.one_of(text, st.sampled_from(targets.tokens or [""]))
    if kind == "bool":
        return st.booleans()
    if kind == "opt_str":
        return st.one_of(st.none(), text, st.sampled_from(["0", "1", "9"]))
    if kind == "opt_int":
        return st.one_of(st.none(), any_int([0, 1]))
    if kind == "participant":
        return any_int([*targets.participants, 0])
    if kind == "item":
        return any_int(targets.items)
    if kind == "opt_item":
        return st.one_of(st.none(), any_int(targets.items))
    if kind == "screenshot":
        return any_int(targets.screenshots)
    if kind == "opt_note":
        return st.one_of(st.none(), text.map(lambda t: t[:500]))
    if kind == "text":
        return text.map(lambda t: t[:1000])
    if kind == "reason":
        return text.map(lambda t: t[:300])
    if kind == "verdict":
        return st.one_of(st.sampled_from(VERDICTS), text.map(lambda t: t[:20]))
    if kind == "conclusion":
        return st.one_of(st.sampled_from(CONCLUSIONS), text.map(lambda t: t[:20]))
    if kind == "date":
        return st.one_of(
            st.none(),
            st.dates().map(lambda d: d.isoformat()),
            st.sampled_from(["2026-02-30", "9999-12-31", "0001-01-01", "2026-1-1", "昨天"]),
            text.map(lambda t: t[:10]),
        )
    if kind == "rectifications":
        entry = st.fixed_dictionaries(
            {"text": text.map(lambda t: t[:300])},
            optional={"item": st.none() | any_int(targets.items)},
        )
        return st.one_of(st.none(), st.lists(entry, max_size=8))
    if kind == "uplink":
        return st.one_of(st.sampled_from(["good", "fair", "poor", "GOOD", ""]), text)
    if kind == "camera_what":
        return st.one_of(st.sampled_from(["torch", "switch_camera", "zoom", ""]), text)
    if kind == "sdp":
        lines = st.lists(st.one_of(st.sampled_from(SDP_LINES), text), max_size=30)
        return st.one_of(text, lines.map("\r\n".join))
    if kind == "candidate":
        return st.one_of(st.none(), st.sampled_from(CANDIDATES), text)
    raise AssertionError(f"no strategy for field kind {kind}")


@st.composite
def valid_shape(draw: st.DrawFn, kinds: list[str], targets: Targets) -> dict[str, Any]:
    """A message of the right shape (every required field, right types) with hostile values."""
    from server.live.protocol import CLIENT_MESSAGES

    kind = draw(st.sampled_from(kinds))
    message: dict[str, Any] = {"type": kind}
    for name, what in FIELDS[kind].items():
        required = CLIENT_MESSAGES[kind][name][1]
        if required or draw(st.booleans()):
            message[name] = draw(value_of(what, targets))
    return message


@st.composite
def invalid_shape(draw: st.DrawFn, kinds: list[str]) -> str:
    """A text frame that is not a valid client message."""
    kind = draw(st.sampled_from(kinds))
    fields = FIELDS[kind]
    how = draw(
        st.sampled_from(
            ["not_json", "not_object", "no_type", "bad_type", "wrong_types", "missing", "extra"]
        )
    )
    if how == "not_json":  # a WebSocket text frame is UTF-8: no raw surrogates on the wire
        text = draw(st.one_of(any_text(), st.sampled_from(["{", "[1,", '{"type":', "\\", "{}}"])))
        return text.encode("utf-8", "replace").decode("utf-8")
    if how == "not_object":
        return json.dumps(draw(any_json().filter(lambda v: not isinstance(v, dict))))
    if how == "no_type":
        return json.dumps(draw(st.dictionaries(st.text(max_size=8), any_json(), max_size=4)))
    if how == "bad_type":
        return json.dumps({"type": draw(any_json()), **dict.fromkeys(fields, 1)})
    message: dict[str, Any] = {"type": kind}
    for name in fields:
        message[name] = draw(any_json())
    if how == "missing" and fields:
        del message[draw(st.sampled_from(sorted(fields)))]
    if how == "extra" or not fields:
        extra = st.text(min_size=1, max_size=12).filter(lambda n: n not in fields and n != "type")
        message[draw(extra)] = draw(any_json())
    return json.dumps(message)

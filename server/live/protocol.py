"""Signalling messages (docs/protocol.md): every type, its fields, and the parser.

Messages are JSON objects with a `type`. The parser accepts exactly the fields listed for each
client message, with their types; anything else is a ProtocolError whose code names the fault,
so a broken or hostile client gets a clear answer and never reaches the room.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import ProtocolError

VERSION = 1


INT_MIN, INT_MAX = -(2**63), 2**63 - 1  # ids are the archive's 64-bit integers


def _int(v: Any) -> bool:
    """An integer that fits in 64 bits: no id is larger, and SQLite refuses what is."""
    return isinstance(v, int) and not isinstance(v, bool) and INT_MIN <= v <= INT_MAX


def _str(v: Any) -> bool:
    """Text that is text: JSON may carry lone surrogates (\\ud800), which no UTF-8 store or
    page can hold."""
    if not isinstance(v, str):
        return False
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _opt_str(v: Any) -> bool:
    return v is None or _str(v)


def _opt_int(v: Any) -> bool:
    return v is None or _int(v)


def _opt_note(v: Any) -> bool:
    return v is None or (_str(v) and len(v) <= 500)


def _text(limit: int) -> Any:
    return lambda v: _str(v) and len(v) <= limit


def _opt_text(limit: int) -> Any:
    return lambda v: v is None or (_str(v) and len(v) <= limit)


def _one_of(*values: str) -> Any:
    return lambda v: isinstance(v, str) and v in values


# What the host may ask of a participant's camera (the applicant's phone shows the request).
CAMERA_REQUESTS = ("torch", "switch_camera")
UPLINK_LEVELS = ("good", "fair", "poor")


def _rectifications(v: Any) -> bool:
    """[{"item": id or null, "text": "…"}], at most 50."""
    return v is None or (
        isinstance(v, list)
        and len(v) <= 50
        and all(
            isinstance(r, dict)
            and set(r) <= {"item", "text"}
            and _opt_int(r.get("item"))
            and _str(r.get("text"))
            and len(r["text"]) <= 300
            for r in v
        )
    )


# type → {field: (check, required)}. The single source of what a client may send.
CLIENT_MESSAGES: dict[str, dict[str, tuple[Any, bool]]] = {
    "hello": {"version": (_int, True), "inspection": (_int, True), "token": (_str, True)},
    "answer": {"sdp": (_str, True)},
    "candidate": {
        "candidate": (_opt_str, True),
        "sdpMid": (_opt_str, False),
        "sdpMLineIndex": (_opt_int, False),
    },
    "admit": {"participant": (_int, True)},
    "deny": {"participant": (_int, True)},
    "remove": {"participant": (_int, True)},
    "start": {},
    "end": {},
    "media": {"audio": (_bool, True), "video": (_bool, True)},
    "leave": {},
    "ping": {},
    "pong": {},
    "screenshot": {"participant": (_int, True), "note": (_opt_note, False)},
    "current": {"item": (_int, True)},
    "mark": {"item": (_int, True), "verdict": (_text(20), True), "note": (_opt_note, False)},
    "move_screenshot": {"screenshot": (_int, True), "item": (_opt_int, True)},
    "note": {"text": (_text(1000), True), "item": (_opt_int, False)},
    "conclude": {
        "verdict": (_text(20), True),
        "reasons": (_text(1000), True),
        "deadline": (_opt_text(10), False),
        "rectifications": (_rectifications, False),
    },
    "interrupt": {"reason": (_text(300), True)},
    "confirm": {"accepted": (_bool, True), "note": (_opt_note, False)},
    "device": {
        "background": (_bool, False),
        "uplink": (_one_of(*UPLINK_LEVELS), False),
        "torch": (_bool, False),
    },
    "camera_request": {"participant": (_int, True), "what": (_one_of(*CAMERA_REQUESTS), True)},
}


@dataclass(frozen=True)
class Message:
    type: str
    fields: dict[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.fields.get(key)


def parse(raw: str | bytes) -> Message:
    """Parse one client message or raise ProtocolError naming what is wrong."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError(
            "消息不是有效的 JSON / message is not valid JSON", code="malformed_json"
        ) from None
    except RecursionError:
        # Thousands of nested brackets fit in a small message; no message nests more than 3.
        raise ProtocolError(
            "消息嵌套层数过多 / message nested too deeply", code="too_deep"
        ) from None
    if not isinstance(data, dict):
        raise ProtocolError(
            "消息必须是 JSON 对象 / message must be a JSON object", code="malformed_message"
        )
    kind = data.get("type")
    if not isinstance(kind, str) or kind not in CLIENT_MESSAGES:
        raise ProtocolError(
            f"未知的消息类型 / unknown message type {kind!r}"[:120], code="unknown_type"
        )
    schema = CLIENT_MESSAGES[kind]
    fields: dict[str, Any] = {}
    for name, value in data.items():
        if name == "type":
            continue
        if name not in schema:
            raise ProtocolError(
                f"{kind}: 不支持的字段 / unexpected field {name!r}"[:120], code="bad_field"
            )
        check, _ = schema[name]
        if not check(value):
            raise ProtocolError(f"{kind}.{name}: 类型错误 / wrong type", code="bad_field")
        fields[name] = value
    for name, (_, required) in schema.items():
        if required and name not in data:
            raise ProtocolError(f"{kind}: 缺少字段 / missing field {name!r}", code="bad_field")
    return Message(kind, fields)


# -- server → client: every message the server sends is built here --------------------------------


def welcome(
    *,
    you: dict[str, Any],
    inspection: dict[str, Any],
    permissions: list[str],
    ice_servers: list[dict[str, Any]],
    video_kbps: int,
    heartbeat: dict[str, int],
) -> dict[str, Any]:
    return {
        "type": "welcome",
        "version": VERSION,
        "you": you,
        "inspection": inspection,
        "permissions": permissions,
        "ice_servers": ice_servers,
        "video_kbps": video_kbps,
        "heartbeat": heartbeat,
    }


def moved(url: str) -> dict[str, Any]:
    """The room is held by another of the province's nodes: connect to `url` instead."""
    return {"type": "moved", "url": url}


def lobby(host_online: bool) -> dict[str, Any]:
    return {"type": "lobby", "host_online": host_online}


def admitted() -> dict[str, Any]:
    return {"type": "admitted"}


def roster(state: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "roster", "state": state, "members": members}


def offer(sdp: str, media: dict[str, Any]) -> dict[str, Any]:
    return {"type": "offer", "sdp": sdp, "media": media}


def state(state: str, started_at: str | None, ended_at: str | None) -> dict[str, Any]:
    return {"type": "state", "state": state, "started_at": started_at, "ended_at": ended_at}


def notice(code: str, level: str, message: str) -> dict[str, Any]:
    return {"type": "notice", "code": code, "level": level, "message": message}


def error(code: str, message: str, ref: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if ref is not None:
        body["ref"] = ref
    return body


def ping() -> dict[str, Any]:
    return {"type": "ping"}


def pong() -> dict[str, Any]:
    return {"type": "pong"}


def bye(code: str, message: str) -> dict[str, Any]:
    return {"type": "bye", "code": code, "message": message}


def recording(state: str, started_at: str | None, elapsed_s: float, segment: int) -> dict[str, Any]:
    return {
        "type": "recording",
        "state": state,
        "started_at": started_at,
        "elapsed_s": elapsed_s,
        "segment": segment,
    }


def screenshot(shot: dict[str, Any]) -> dict[str, Any]:
    return {"type": "screenshot", "screenshot": shot}


def screenshots(shots: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "screenshots", "screenshots": shots}


def checklist(view: dict[str, Any]) -> dict[str, Any]:
    return {"type": "checklist", "checklist": view}


def record(entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "record", "entries": entries}


def conclusion(view: dict[str, Any]) -> dict[str, Any]:
    return {"type": "conclusion", "conclusion": view}


def camera_request(what: str, by: str) -> dict[str, Any]:
    return {"type": "camera_request", "what": what, "by": by}


SERVER_MESSAGES = (
    "welcome",
    "moved",
    "lobby",
    "admitted",
    "roster",
    "offer",
    "state",
    "notice",
    "error",
    "ping",
    "pong",
    "bye",
    "recording",
    "screenshot",
    "screenshots",
    "checklist",
    "record",
    "conclusion",
    "camera_request",
)


def encode(message: dict[str, Any]) -> str:
    """The text frame of a server message."""
    return json.dumps(message, ensure_ascii=False)

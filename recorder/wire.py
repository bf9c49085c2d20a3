"""The pipe between the server and its recorder process.

Server → recorder, on the recorder's stdin: length-prefixed records. A frame record carries one
encoded frame exactly as the room received it; a control record carries JSON (start, roster,
finish). Recorder → server, on its stdout: one JSON object per line (events).
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

# kind(1) keyframe(1) publisher(4) epoch(4) timestamp(8) arrival(8)
_FRAME = struct.Struct("<BBIIqd")
_RECORD = struct.Struct("<IB")  # payload length, record type
FRAME, CONTROL = 1, 2
KIND_CODES = {"audio": 0, "video": 1}
KIND_NAMES = {0: "audio", 1: "video"}
MAX_RECORD = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class WireFrame:
    kind: str
    keyframe: bool
    publisher: int
    epoch: int
    timestamp: int
    arrival: float
    data: bytes


def encode_frame(
    kind: str,
    keyframe: bool,
    publisher: int,
    epoch: int,
    timestamp: int,
    arrival: float,
    data: bytes,
) -> bytes:
    header = _FRAME.pack(KIND_CODES[kind], keyframe, publisher, epoch, timestamp, arrival)
    return _RECORD.pack(len(header) + len(data), FRAME) + header + data


def encode_control(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()
    return _RECORD.pack(len(body), CONTROL) + body


def read_record(stream: BinaryIO) -> WireFrame | dict[str, Any] | None:
    """The next record, or None at the end of the stream."""
    head = _read_exactly(stream, _RECORD.size)
    if head is None:
        return None
    length, kind = _RECORD.unpack(head)
    if length > MAX_RECORD:
        raise ValueError(f"record of {length} bytes is larger than allowed")
    body = _read_exactly(stream, length)
    if body is None:
        return None
    if kind == CONTROL:
        message: dict[str, Any] = json.loads(body)
        return message
    if kind != FRAME:
        raise ValueError(f"unknown record type {kind}")
    code, keyframe, publisher, epoch, timestamp, arrival = _FRAME.unpack_from(body)
    return WireFrame(
        KIND_NAMES[code],
        bool(keyframe),
        publisher,
        epoch,
        timestamp,
        arrival,
        body[_FRAME.size :],
    )


def _read_exactly(stream: BinaryIO, count: int) -> bytes | None:
    chunks = []
    while count:
        chunk = stream.read(count)
        if not chunk:
            return None
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)


def event_line(event: str, **fields: Any) -> bytes:
    return (json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n").encode()

"""Frames for the recorder keep coming when a packet is lost for good.

aiortc assembles a publisher's video frames in a ring buffer that hands out a frame only when
every packet from its head on is there. A packet lost and then lost again on retransmission (or
too old for the publisher's history) blocks it until 512 newer packets have come: on a phone's
weak uplink at 15 packets a second, half a minute with no frame for the recorder, the
screenshots and the stall watchdog, while the subscribers (who get packets, not frames) see
the phone fine.

`GapSkipper` wraps that buffer (hook 2 of server/live/hooks.py): a gap that has blocked it for
`wait_s` (time for a NACK and its retransmission on a slow mobile link) is given up. A whole
frame before the gap still goes out; the rest up to the gap is dropped, and so is every frame
after it until a keyframe, because a VP8 frame after a lost one decodes to smeared garbage that
would be recorded as evidence. The publisher is asked for that keyframe at once, and again
every `wait_s` while none comes. The check costs little next to aiortc's own `add`: a scan of
the slots between the buffer's head and the newest packet, a frame's worth.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiortc.jitterbuffer import JitterFrame
from aiortc.rtp import RtpPacket

WAIT_S = 0.6  # a NACK and its retransmission over a 4G uplink with 150-250 ms each way


def _delta(a: int, b: int) -> int:
    """How far sequence number `a` is ahead of `b`, modulo 2**16."""
    return (a - b) & 0xFFFF


def vp8_is_keyframe(data: bytes) -> bool:
    """RFC 6386 §9.1: bit 0 of the frame tag is 0 on a keyframe, whose start code follows."""
    return len(data) >= 6 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"


def starts_frame(packet: RtpPacket) -> bool:
    """RFC 7741 §4.2: the VP8 payload descriptor's S bit with partition index 0."""
    return bool(packet.payload) and packet.payload[0] & 0x17 == 0x10


class GapSkipper:
    """aiortc's video JitterBuffer, with lost packets given up after `wait_s`."""

    def __init__(
        self, buffer: Any, wait_s: float = WAIT_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._buffer = buffer
        self._wait = wait_s
        self._clock = clock
        self._blocked_since: float | None = None
        self._want_keyframe = False
        self._asked_at = -1e9
        self.skipped = 0  # gaps given up

    def __getattr__(self, name: str) -> Any:
        return getattr(self._buffer, name)

    def add(self, packet: RtpPacket) -> tuple[bool, Any]:
        pli, frame = self._buffer.add(packet)
        now = self._clock()
        if frame is not None and self._want_keyframe:
            if vp8_is_keyframe(frame.data):
                self._want_keyframe = False
            else:
                frame = None  # it refers to a picture the recorder never got
        if frame is not None or not self._gap_before(packet.sequence_number):
            self._blocked_since = None
        elif self._blocked_since is None:
            self._blocked_since = now
        elif now - self._blocked_since >= self._wait:
            head = self._skip(packet.sequence_number)  # the whole one before the gap, if any
            if head is not None and (not self._want_keyframe or vp8_is_keyframe(head.data)):
                frame = head
            self._blocked_since = None
            self._want_keyframe = True
            self.skipped += 1
        if pli:
            self._asked_at = now
        elif self._want_keyframe and now - self._asked_at >= self._wait:
            pli, self._asked_at = True, now
        return pli, frame

    def _gap_before(self, newest: int) -> bool:
        """Whether a packet is missing between the buffer's head and `newest`."""
        origin = self._buffer._origin
        if origin is None:
            return False
        packets, capacity = self._buffer._packets, self._buffer.capacity
        span = _delta(newest, origin)
        if span >= capacity:
            return False  # `newest` is an old packet the buffer refused
        return any(packets[(origin + i) % capacity] is None for i in range(span))

    def _skip(self, newest: int) -> JitterFrame | None:
        """Drop everything up to the last missing packet, then up to the next frame start.
        The frame at the head, when whole (its last packet has the marker bit, RFC 7741 §4.1)
        and only the start of the next one is missing, is returned rather than dropped."""
        buffer = self._buffer
        packets, capacity, origin = buffer._packets, buffer.capacity, buffer._origin
        span = _delta(newest, origin)
        slots = [packets[(origin + i) % capacity] for i in range(span + 1)]
        head: JitterFrame | None = None
        first_gap = slots.index(None)
        if first_gap and slots[first_gap - 1].marker:  # type: ignore[union-attr]
            whole = slots[:first_gap]
            if all(p.timestamp == whole[0].timestamp for p in whole):  # type: ignore[union-attr]
                data = b"".join(p._data for p in whole)  # type: ignore[union-attr]
                head = JitterFrame(data=data, timestamp=whole[0].timestamp)  # type: ignore[union-attr]
        drop = max(i for i, p in enumerate(slots) if p is None) + 1
        while drop <= span and not (slots[drop] is not None and starts_frame(slots[drop])):
            drop += 1
        buffer.remove(min(drop, capacity))
        return head

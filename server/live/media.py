"""Media forwarding: publishers' encoded frames fan out to subscribers untouched.

A `Publication` is one member's audio or video in a room. It outlives the member's connection:
when they reconnect, a new upstream attaches to the same publication and every subscriber keeps
its transceiver, so nobody renegotiates. Sinks are `ForwardedTrack`s (one per subscriber
transceiver, packed by aiortc's sender without encoding, see server.hooks) and in-process
consumers such as the recorder. A new or lagging video sink waits for a keyframe and asks the
publisher for one; requests are rate-limited per publication.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender
from aiortc.mediastreams import MediaStreamError

from . import hooks

CLOCK_RATES = {"audio": 48000, "video": 90000}
KINDS = ("audio", "video")


def vp8_is_keyframe(data: bytes) -> bool:
    """RFC 6386 §9.1: bit 0 of the frame tag is 0 on a keyframe, whose start code follows."""
    return len(data) >= 6 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"


@dataclass(frozen=True, slots=True)
class EncodedFrame:
    """One whole encoded frame as it arrived from a publisher."""

    kind: str
    data: bytes
    timestamp: int  # codec clock (48 kHz audio, 90 kHz video), from 0 for each upstream
    keyframe: bool
    arrival: float  # server wall clock (time.time()) when the frame was complete
    source: tuple[int, int]  # (publisher id, upstream epoch): changes when they reconnect

    @property
    def clock_rate(self) -> int:
        return CLOCK_RATES[self.kind]


class MediaStats:
    """What one server's forwarding did since it started, by kind: the counters of /metrics
    (server.ops.metrics). Plain integers: this is on every frame's path."""

    __slots__ = (
        "dropped_frames",
        "forwarded_bytes",
        "forwarded_frames",
        "keyframe_requests",
        "received_bytes",
        "received_frames",
    )

    def __init__(self) -> None:
        self.received_frames = dict.fromkeys(KINDS, 0)
        self.received_bytes = dict.fromkeys(KINDS, 0)
        self.forwarded_frames = dict.fromkeys(KINDS, 0)  # handed to a subscriber's sender
        self.forwarded_bytes = dict.fromkeys(KINDS, 0)
        # (kind, reason): "overflow" (a subscriber fell a whole queue behind) or
        # "keyframe_wait" (a new or skipped subscriber waits for a keyframe).
        self.dropped_frames: dict[tuple[str, str], int] = {}
        self.keyframe_requests = 0

    def dropped(self, kind: str, reason: str, frames: int = 1) -> None:
        key = (kind, reason)
        self.dropped_frames[key] = self.dropped_frames.get(key, 0) + frames


class FrameSink(Protocol):
    def push(self, frame: EncodedFrame) -> None: ...


class Upstream(Protocol):
    """The publisher's end: the receiver that brings its frames in."""

    def request_keyframe(self) -> None: ...


class Publication:
    """A member's audio or video, fanned out to sinks."""

    def __init__(
        self,
        publisher_id: int,
        kind: str,
        keyframe_interval_s: float = 0.5,
        stats: MediaStats | None = None,
    ) -> None:
        self.publisher_id = publisher_id
        self.kind = kind
        self.stats = stats if stats is not None else MediaStats()
        self.epoch = 0
        self.frames = 0
        self.last_arrival = 0.0
        # The publisher's last answer sends this kind (not inactive): frames are expected.
        self.sending = False
        self._sinks: list[FrameSink] = []
        self._upstream: Upstream | None = None
        self._interval = keyframe_interval_s
        self._last_request = -1e9
        self._deferred: asyncio.TimerHandle | None = None
        self.keyframe_requests = 0
        self.on_close: list[Callable[[], None]] = []

    @property
    def live(self) -> bool:
        return self._upstream is not None

    def attach(self, upstream: Upstream) -> None:
        """A (new) connection of the publisher starts bringing frames."""
        self._upstream = upstream
        self.epoch += 1

    def detach(self, upstream: Upstream) -> None:
        if self._upstream is upstream:
            self._upstream = None

    def add_sink(self, sink: FrameSink) -> None:
        if sink not in self._sinks:
            self._sinks.append(sink)

    def remove_sink(self, sink: FrameSink) -> None:
        if sink in self._sinks:
            self._sinks.remove(sink)

    @property
    def sinks(self) -> tuple[FrameSink, ...]:
        return tuple(self._sinks)

    def deliver(self, data: bytes, timestamp: int) -> None:
        """A whole frame arrived from the upstream: hand it to every sink."""
        arrival = time.time()
        frame = EncodedFrame(
            self.kind,
            data,
            timestamp,
            self.kind == "video" and vp8_is_keyframe(data),
            arrival,
            (self.publisher_id, self.epoch),
        )
        self.frames += 1
        self.last_arrival = arrival
        self.stats.received_frames[self.kind] += 1
        self.stats.received_bytes[self.kind] += len(data)
        for sink in tuple(self._sinks):
            sink.push(frame)

    def request_keyframe(self) -> None:
        """Ask the publisher for a keyframe, at most once per interval (later ones deferred)."""
        if self.kind != "video" or self._upstream is None:
            return
        now = time.monotonic()
        wait = self._last_request + self._interval - now
        if wait <= 0:
            self._last_request = now
            self.keyframe_requests += 1
            self.stats.keyframe_requests += 1
            self._upstream.request_keyframe()
        elif self._deferred is None:
            self._deferred = asyncio.get_running_loop().call_later(wait, self._deferred_request)

    def _deferred_request(self) -> None:
        self._deferred = None
        self.request_keyframe()

    def close(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        self._sinks.clear()
        self._upstream = None
        for callback in self.on_close:
            callback()
        self.on_close.clear()


class SlotTrack(MediaStreamTrack):
    """The track of one subscriber slot: carries whichever publication it is attached to."""

    def attach(self, publication: Publication) -> None:
        raise NotImplementedError

    def detach(self) -> None:
        raise NotImplementedError


@dataclass(slots=True)  # not frozen: one per subscriber frame, and frozen __init__ is 3x slower
class OutgoingFrame:
    """What aiortc's sender packs without encoding: bytes(), pts and time_base (hook 2)."""

    data: bytes
    pts: int
    time_base: Fraction

    def __bytes__(self) -> bytes:
        return self.data


class ForwardedTrack(SlotTrack):
    """A subscriber's slot: carries whichever publication it is attached to.

    A slot stays bound to its transceiver for the life of the connection; attaching another
    publication reuses the m-line. Output timestamps stay continuous across publishers and
    reconnects, so the browser's jitter buffer never sees time run backwards.
    """

    def __init__(self, kind: str, max_queue: int = 30) -> None:
        super().__init__()
        self.kind = kind
        self.publication: Publication | None = None
        self.forwarded = 0
        self.skipped = 0
        self._max_queue = max_queue
        # A deque and one waiter rather than an asyncio.Queue: this runs for every frame of
        # every subscriber leg, and the sender's task is the only reader.
        self._queue: deque[EncodedFrame] = deque()
        self._wakeup: asyncio.Future[None] | None = None
        self._waiting_keyframe = kind == "video"
        self._time_base = Fraction(1, CLOCK_RATES[kind])
        self._source: tuple[int, int] | None = None
        self._push_source: tuple[int, int] | None = None
        self._offset = 0
        self._last_pts: int | None = None
        self._last_arrival = 0.0
        self._stats = MediaStats()  # the server's, once attached

    def attach(self, publication: Publication) -> None:
        self.detach()
        self.publication = publication
        self._stats = publication.stats
        self._waiting_keyframe = self.kind == "video"
        publication.add_sink(self)
        publication.request_keyframe()

    def detach(self) -> None:
        if self.publication is not None:
            self.publication.remove_sink(self)
            self.publication = None
        self._drain()

    def _drain(self) -> None:
        self._queue.clear()

    def push(self, frame: EncodedFrame) -> None:
        if frame.source != self._push_source:
            # A new upstream (the publisher reconnected): its first decodable frame is a key.
            self._push_source = frame.source
            self._waiting_keyframe = self.kind == "video"
        if self._waiting_keyframe:
            if not frame.keyframe:
                self.skipped += 1
                self._stats.dropped(self.kind, "keyframe_wait")
                if self.publication is not None:
                    self.publication.request_keyframe()
                return
            self._waiting_keyframe = False
        if len(self._queue) >= self._max_queue:
            # The subscriber's connection cannot keep up: skip ahead rather than lag.
            self.skipped += len(self._queue)
            self._stats.dropped(self.kind, "overflow", len(self._queue))
            self._drain()
            if self.kind == "video":
                self._stats.dropped(self.kind, "keyframe_wait")
                self._waiting_keyframe = True
                if self.publication is not None:
                    self.publication.request_keyframe()
                return
        self._queue.append(frame)
        self._wake()

    def _wake(self) -> None:
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None and not wakeup.done():
            wakeup.set_result(None)

    async def recv(self) -> OutgoingFrame:  # type: ignore[override]
        while not self._queue:
            if self.readyState != "live":
                raise MediaStreamError
            self._wakeup = asyncio.get_running_loop().create_future()
            await self._wakeup
        frame = self._queue.popleft()
        if frame.source != self._source:
            if self._last_pts is None:
                self._offset = -frame.timestamp
            else:
                gap = max(1, int((frame.arrival - self._last_arrival) * frame.clock_rate))
                self._offset = self._last_pts + gap - frame.timestamp
            self._source = frame.source
        pts = frame.timestamp + self._offset
        self._last_pts, self._last_arrival = pts, frame.arrival
        self.forwarded += 1
        self._stats.forwarded_frames[self.kind] += 1
        self._stats.forwarded_bytes[self.kind] += len(frame.data)
        return OutgoingFrame(frame.data, pts, self._time_base)

    def stop(self) -> None:
        self.detach()
        super().stop()
        self._wake()  # a sender waiting in recv() ends


class Forwarding(Protocol):
    """How a room's media goes from a publisher's receiver to each subscriber's sender."""

    def receive(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        """Before `receiver` starts: make its media feed `publication`."""

    def answered(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        """After each answer, when the receiver's track exists."""

    def slot_track(self, kind: str, queue_frames: int) -> SlotTrack:
        """The track a new subscriber slot sends."""

    def wire_sender(self, sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
        """Route the subscriber's keyframe requests (PLI/FIR) on `sender`."""


class EncodedForwarding:
    """Kanyan's forwarding: a receiver's whole encoded frames go straight to the publication
    (hook 1), each slot is a ForwardedTrack its sender packs without encoding (hook 2), and a
    subscriber's keyframe request goes to the publisher (hook 3). Nothing is decoded."""

    def receive(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        hooks.tap_receiver(
            receiver, lambda codec, frame: publication.deliver(frame.data, frame.timestamp)
        )

    def answered(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        pass

    def slot_track(self, kind: str, queue_frames: int) -> ForwardedTrack:
        return ForwardedTrack(kind, queue_frames)

    def wire_sender(self, sender: RTCRtpSender, on_keyframe_request: Callable[[], None]) -> None:
        hooks.on_keyframe_request(sender, on_keyframe_request)


class MediaHub:
    """The publications of one room, by (member, kind)."""

    def __init__(
        self,
        keyframe_interval_s: float = 0.5,
        forwarding: Forwarding | None = None,
        stats: MediaStats | None = None,
    ) -> None:
        self._interval = keyframe_interval_s
        self.stats = stats if stats is not None else MediaStats()
        self.forwarding: Forwarding = forwarding or EncodedForwarding()
        self._publications: dict[tuple[int, str], Publication] = {}
        self.on_publication: list[Callable[[Publication], None]] = []

    def publication(self, member_id: int, kind: str) -> Publication:
        key = (member_id, kind)
        publication = self._publications.get(key)
        if publication is None:
            publication = Publication(member_id, kind, self._interval, self.stats)
            self._publications[key] = publication
            for callback in tuple(self.on_publication):
                callback(publication)
        return publication

    def find(self, member_id: int, kind: str) -> Publication | None:
        return self._publications.get((member_id, kind))

    def publications(self) -> list[Publication]:
        return list(self._publications.values())

    def drop(self, member_id: int) -> None:
        for kind in KINDS:
            publication = self._publications.pop((member_id, kind), None)
            if publication is not None:
                publication.close()

    def close(self) -> None:
        for publication in self._publications.values():
            publication.close()
        self._publications.clear()

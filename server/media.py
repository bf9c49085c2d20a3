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
from typing import Any, Protocol

from aiortc import MediaStreamTrack
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

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


class FrameSink(Protocol):
    def push(self, frame: EncodedFrame) -> None: ...


class Upstream(Protocol):
    """The publisher's end: the receiver that brings its frames in."""

    def request_keyframe(self) -> None: ...


class Publication:
    """A member's audio or video, fanned out to sinks."""

    def __init__(self, publisher_id: int, kind: str, keyframe_interval_s: float = 0.5) -> None:
        self.publisher_id = publisher_id
        self.kind = kind
        self.epoch = 0
        self.frames = 0
        self.last_arrival = 0.0
        self._sinks: list[FrameSink] = []
        self._upstream: Upstream | None = None
        self._interval = keyframe_interval_s
        self._last_request = -1e9
        self._deferred: asyncio.TimerHandle | None = None
        self.keyframe_requests = 0
        # Only for media.forwarding = "reencode" (the benchmark's naive reference).
        self._decoded: DecodedSource | None = None
        self._relay: MediaRelay | None = None
        self._reader: asyncio.Task[None] | None = None

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
            self._upstream.request_keyframe()
        elif self._deferred is None:
            self._deferred = asyncio.get_running_loop().call_later(wait, self._deferred_request)

    def _deferred_request(self) -> None:
        self._deferred = None
        self.request_keyframe()

    # -- media.forwarding = "reencode" only ------------------------------------------------------

    def _decoding(self) -> tuple[DecodedSource, MediaRelay]:
        if self._decoded is None or self._relay is None:
            self._decoded, self._relay = DecodedSource(self.kind), MediaRelay()
            # Keep reading even while nobody subscribes: the receiver's decoded-frame queue is
            # unbounded, and a late subscriber would otherwise be served stale frames first.
            self._reader = asyncio.ensure_future(
                _read_forever(self._relay.subscribe(self._decoded, buffered=False))
            )
        return self._decoded, self._relay

    def decode_from(self, track: MediaStreamTrack) -> None:
        """(reencode) The publisher's (new) connection delivers decoded frames on `track`."""
        self._decoding()[0].use(track)

    def relayed(self) -> MediaStreamTrack:
        """(reencode) A new subscriber's view of the decoded frames, through MediaRelay."""
        decoded, relay = self._decoding()
        return relay.subscribe(decoded, buffered=False)

    def close(self) -> None:
        if self._deferred is not None:
            self._deferred.cancel()
            self._deferred = None
        self._sinks.clear()
        self._upstream = None
        if self._decoded is not None:
            self._decoded.stop()  # ends the relay, its subscribers' proxies and the drain


@dataclass(slots=True)  # not frozen: one per subscriber frame, and frozen __init__ is 3x slower
class OutgoingFrame:
    """What aiortc's sender packs without encoding: bytes(), pts and time_base (hook 2)."""

    data: bytes
    pts: int
    time_base: Fraction

    def __bytes__(self) -> bytes:
        return self.data


class ForwardedTrack(MediaStreamTrack):
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

    def attach(self, publication: Publication) -> None:
        self.detach()
        self.publication = publication
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
                if self.publication is not None:
                    self.publication.request_keyframe()
                return
            self._waiting_keyframe = False
        if len(self._queue) >= self._max_queue:
            # The subscriber's connection cannot keep up: skip ahead rather than lag.
            self.skipped += len(self._queue)
            self._drain()
            if self.kind == "video":
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
        return OutgoingFrame(frame.data, pts, self._time_base)

    def stop(self) -> None:
        self.detach()
        super().stop()
        self._wake()  # a sender waiting in recv() ends


# The one clock every re-encoded stream is stamped with, so that a subscriber slot moving from
# one publisher (or publisher connection) to the next never sees its timestamps run backwards.
_RELAY_EPOCH = time.monotonic()


class DecodedSource(MediaStreamTrack):
    """media.forwarding = "reencode": a publication's decoded frames, across reconnects.

    Each new upstream track starts its timestamps at 0; they are moved onto the server clock
    (keeping the publisher's own spacing within one connection) before MediaRelay fans the frame
    out, which is the only point where rewriting a frame's pts is safe.
    """

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._upstream: MediaStreamTrack | None = None
        self._changed = asyncio.Event()
        self._offset: int | None = None
        self._last_pts = -1

    def use(self, track: MediaStreamTrack) -> None:
        self._upstream = track
        self._offset = None
        self._changed.set()

    async def recv(self):  # type: ignore[no-untyped-def]
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            track = self._upstream
            if track is None:
                self._changed.clear()
                await self._changed.wait()
                continue
            try:
                frame = await track.recv()
            except MediaStreamError:
                # That connection is gone; the publisher may come back on a new one.
                if self._upstream is track:
                    self._upstream = None
                continue
            if track is not self._upstream:
                continue  # a frame still in flight from the connection just replaced
            if frame.pts is None or frame.time_base is None:
                return frame
            if self._offset is None:
                now = int((time.monotonic() - _RELAY_EPOCH) / frame.time_base)
                self._offset = max(now, self._last_pts + 1) - frame.pts
            frame.pts += self._offset
            self._last_pts = frame.pts
            return frame

    def stop(self) -> None:
        super().stop()
        self._upstream = None
        self._changed.set()


async def _read_forever(track: MediaStreamTrack) -> None:
    try:
        while True:
            await track.recv()
    except MediaStreamError:
        pass


class RelayedTrack(MediaStreamTrack):
    """media.forwarding = "reencode": decoded frames through aiortc's MediaRelay, encoded again
    by each subscriber's sender. Kept only as the benchmark's naive reference."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.publication: Publication | None = None
        self.forwarded = 0
        self._proxy: MediaStreamTrack | None = None
        self._pending_recv: asyncio.Future[Any] | None = None
        self._attached = asyncio.Event()

    def attach(self, publication: Publication) -> None:
        self.detach()
        self.publication = publication
        self._attached.set()

    def detach(self) -> None:
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        self.publication = None
        self._attached.clear()
        if self._pending_recv is not None:
            # The sender is waiting on the old publication's proxy, which will never deliver
            # again: wake it so it moves on to whatever is attached next.
            self._pending_recv.cancel()

    async def recv(self):  # type: ignore[no-untyped-def]
        while True:
            if self.readyState != "live":
                raise MediaStreamError
            publication = self.publication
            if publication is None:
                await self._attached.wait()
                continue
            if self._proxy is None:
                self._proxy = publication.relayed()
            proxy = self._proxy
            self._pending_recv = asyncio.ensure_future(proxy.recv())
            try:
                frame = await self._pending_recv
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if task is not None and task.cancelling():
                    raise  # the sender itself is stopping
                continue  # detached while waiting
            except MediaStreamError:
                # The publication was closed (its member left): wait to be given another.
                if self.publication is publication:
                    self.detach()
                continue
            finally:
                self._pending_recv = None
            self.forwarded += 1
            return frame

    def stop(self) -> None:
        self.detach()
        super().stop()
        self._attached.set()


class MediaHub:
    """The publications of one room, by (member, kind)."""

    def __init__(self, keyframe_interval_s: float = 0.5) -> None:
        self._interval = keyframe_interval_s
        self._publications: dict[tuple[int, str], Publication] = {}
        self.on_publication: list[Callable[[Publication], None]] = []

    def publication(self, member_id: int, kind: str) -> Publication:
        key = (member_id, kind)
        publication = self._publications.get(key)
        if publication is None:
            publication = Publication(member_id, kind, self._interval)
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

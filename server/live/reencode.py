"""media.forwarding = "reencode": the naive design, kept only as bench/forwarding.py's reference.

Each publisher's frames are decoded once (aiortc's receiver decodes them), fanned out through
aiortc's MediaRelay, and encoded again by every subscriber's sender: one encode per subscriber
leg. `ReencodeForwarding` plugs this into a Peer in place of `media.PacketForwarding`; nothing
on the product's forwarding path depends on it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import Any

from aiortc import MediaStreamTrack, RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError

from .media import Publication, ReceiverUpstream

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

    def __init__(self, kind: str, relayed: Callable[[Publication], MediaStreamTrack]) -> None:
        super().__init__()
        self.kind = kind
        self.publication: Publication | None = None
        self.forwarded = 0
        self._relayed = relayed
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
                self._proxy = self._relayed(publication)
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


class TrackSlot:
    """A subscriber slot in the naive design: a RelayedTrack on its own sender."""

    def __init__(self, transceiver: RTCRtpTransceiver, track: RelayedTrack) -> None:
        self.transceiver = transceiver
        self.track = track

    @property
    def forwarded(self) -> int:
        return self.track.forwarded

    def attach(self, publication: Publication) -> None:
        self.track.attach(publication)

    def detach(self) -> None:
        self.track.detach()

    def close(self) -> None:
        self.track.detach()


class _Decoding:
    """One publication's decoded frames and the relay that fans them out."""

    def __init__(self, kind: str) -> None:
        self.source = DecodedSource(kind)
        self.relay = MediaRelay()
        # Keep reading even while nobody subscribes: the receiver's decoded-frame queue is
        # unbounded, and a late subscriber would otherwise be served stale frames first.
        self.reader = asyncio.ensure_future(
            _read_forever(self.relay.subscribe(self.source, buffered=False))
        )

    def stop(self) -> None:
        self.source.stop()  # ends the relay, its subscribers' proxies and the drain


class ReencodeForwarding:
    """The Forwarding of one room's media hub in the naive design (see media.Forwarding)."""

    def __init__(self) -> None:
        self._decoding: dict[int, _Decoding] = {}  # by id(publication)
        self._decoded_receivers: weakref.WeakSet[RTCRtpReceiver] = weakref.WeakSet()

    def _of(self, publication: Publication) -> _Decoding:
        key = id(publication)
        decoding = self._decoding.get(key)
        if decoding is None:
            decoding = self._decoding[key] = _Decoding(publication.kind)

            def closed() -> None:
                self._decoding.pop(key, None)
                decoding.stop()

            publication.on_close.append(closed)
        return decoding

    def receive(self, receiver: RTCRtpReceiver, publication: Publication) -> ReceiverUpstream:
        """aiortc decodes the receiver's frames itself; they are read once answered."""
        return ReceiverUpstream(receiver, publication)

    def answered(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        track = receiver.track
        if track is not None and receiver not in self._decoded_receivers:
            self._decoded_receivers.add(receiver)
            self._of(publication).source.use(track)

    def open_slot(self, pc: RTCPeerConnection, kind: str) -> TrackSlot:
        """A sender whose own encoder answers keyframe requests."""
        track = RelayedTrack(kind, self.relayed)
        return TrackSlot(pc.addTransceiver(track, direction="sendonly"), track)

    def counters(self) -> dict[str, int]:
        return {}

    def relayed(self, publication: Publication) -> MediaStreamTrack:
        """A new subscriber's view of the publication's decoded frames, through MediaRelay."""
        decoding = self._of(publication)
        return decoding.relay.subscribe(decoding.source, buffered=False)

"""Media forwarding: publishers' encoded media fans out to subscribers untouched.

A `Publication` is one member's audio or video in a room. It outlives the member's connection:
when they reconnect, a new upstream attaches to the same publication and every subscriber keeps
its transceiver, so nobody renegotiates. Subscribers get the publisher's RTP packets, each
renumbered and encrypted for their own m-line (`PacketForwarding`: rtp_forward.py, srtp.py,
rtcp.py); in-process consumers such as the recorder get whole frames, assembled once per
publisher by aiortc's receiver (`FrameSink`), which gives up a packet lost for good (jitter.py).
A new video leg waits for a keyframe and asks the publisher for one; requests are rate-limited
per publication.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpTransceiver
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpSrPacket, RtpPacket, pack_remb_fci

from . import hooks, rtcp, rtp_hooks
from .jitter import GapSkipper, vp8_is_keyframe
from .rtp_forward import CLOCK_RATES, Leg, RtpFanout
from .srtp import SrtpLink

KINDS = ("audio", "video")


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


# What each subscriber leg counts of itself (rtp_forward.Leg), as /metrics and
# MediaHub.counters() name it.
LEG_COUNTS = ("packets", "bytes", "frames", "retransmitted", "keyframe_requests", "keyframe_wait")


def leg_counts(leg: Leg) -> tuple[int, ...]:
    """`leg`'s counts, in LEG_COUNTS' order."""
    return (
        leg.packets,
        leg.octets,
        leg.frames,
        leg.retransmitted,
        leg.keyframe_requests,
        leg.waited,
    )


class LegTally:
    """The counts of a set of subscriber legs, open and closed. Nothing is added up per
    packet: every leg counts its own, read here when asked; a closed leg's counts are kept
    once it is retired."""

    def __init__(self) -> None:
        self._open: weakref.WeakSet[Leg] = weakref.WeakSet()
        self._retired: dict[tuple[str, str], int] = {}  # (count, kind) -> value

    def add(self, leg: Leg) -> None:
        self._open.add(leg)

    def retire(self, leg: Leg) -> None:
        if leg in self._open:
            self._open.discard(leg)
            self._fold(self._retired, leg)

    def totals(self) -> dict[tuple[str, str], int]:
        """(count, kind) -> total, for every name of LEG_COUNTS and both kinds."""
        totals = {(name, kind): 0 for name in LEG_COUNTS for kind in KINDS}
        for key, value in self._retired.items():
            totals[key] += value
        for leg in list(self._open):
            self._fold(totals, leg)
        return totals

    @staticmethod
    def _fold(into: dict[tuple[str, str], int], leg: Leg) -> None:
        for name, value in zip(LEG_COUNTS, leg_counts(leg), strict=True):
            key = (name, leg.kind)
            into[key] = into.get(key, 0) + value


class MediaStats:
    """What one server's forwarding did since it started: the counters of /metrics
    (server.ops.metrics). What comes in is counted per frame (plain integers); what goes out,
    per packet and per leg, is counted by the legs themselves (`legs`)."""

    __slots__ = ("keyframe_requests", "legs", "received_bytes", "received_frames", "send_errors")

    def __init__(self) -> None:
        self.received_frames = dict.fromkeys(KINDS, 0)  # assembled from publishers' packets
        self.received_bytes = dict.fromkeys(KINDS, 0)
        self.keyframe_requests = 0  # PLIs sent to publishers
        # Packets a subscriber connection could not write (a full socket buffer, a connection
        # closing): lost, like a packet lost on the network.
        self.send_errors = 0
        self.legs = LegTally()  # every subscriber leg of every room

    def send_error(self) -> None:
        self.send_errors += 1


class FrameSink(Protocol):
    def push(self, frame: EncodedFrame) -> None: ...


class Upstream(Protocol):
    """The publisher's end: the receiver that brings its media in."""

    def request_keyframe(self) -> None:
        """Send the publisher a picture loss indication."""

    def send_remb(self, bps: int) -> None: ...


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
        self._last_keyframe = -1e9
        self._awaited = False  # a request is out and its keyframe has not come yet
        self._deferred: asyncio.TimerHandle | None = None
        self._retry: asyncio.TimerHandle | None = None
        self.keyframe_requests = 0
        self.on_close: list[Callable[[], None]] = []
        self.packets = RtpFanout(kind, self.request_keyframe, self.keyframe_arrived)
        if kind == "video":
            self.packets.bitrate = rtcp.SubscriberBitrate()
            self.packets.bitrate.send = self._send_remb

    @property
    def live(self) -> bool:
        return self._upstream is not None

    @property
    def upstream(self) -> Upstream | None:
        return self._upstream

    def _send_remb(self, bps: int) -> None:
        if self._upstream is not None:
            self._upstream.send_remb(bps)

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

    def request_keyframe(self, prompt: bool = True) -> None:
        """Ask the publisher for a keyframe. While one is on its way, asking again does
        nothing (it will serve everyone waiting); an unanswered request is repeated after the
        interval. A prompt request (a new subscriber, the recorder) goes at once; a
        subscriber's picture-loss report waits until half an interval has passed since the
        last keyframe, so that one lossy subscriber cannot make a publisher send nothing else."""
        if self.kind != "video" or self._upstream is None:
            return
        now = time.monotonic()
        if self._awaited and now - self._last_request < self._interval:
            return
        wait = 0.0 if prompt else self._last_keyframe + self._interval / 2 - now
        if wait > 0:
            if self._deferred is None:
                self._deferred = asyncio.get_running_loop().call_later(wait, self._deferred_request)
            return
        self._send_request(now)

    def _send_request(self, now: float) -> None:
        assert self._upstream is not None
        self._awaited, self._last_request = True, now
        self.keyframe_requests += 1
        self.stats.keyframe_requests += 1
        self._upstream.request_keyframe()
        if self._retry is not None:
            self._retry.cancel()
        self._retry = asyncio.get_running_loop().call_later(self._interval, self._unanswered)

    def _unanswered(self) -> None:
        self._retry = None
        if self._awaited and self._upstream is not None:
            self._send_request(time.monotonic())  # the request or its keyframe was lost

    def _deferred_request(self) -> None:
        self._deferred = None
        self.request_keyframe(prompt=True)

    def keyframe_arrived(self) -> None:
        """The first packet of a keyframe came in: whoever asked gets it now."""
        self._awaited, self._last_keyframe = False, time.monotonic()
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def close(self) -> None:
        for timer in (self._deferred, self._retry):
            if timer is not None:
                timer.cancel()
        self._deferred = self._retry = None
        self._sinks.clear()
        for leg in self.packets.legs:
            leg.detach()
        self._upstream = None
        for callback in self.on_close:
            callback()
        self.on_close.clear()


class SlotOutput(Protocol):
    """What one subscriber slot sends: whichever publication it is attached to."""

    transceiver: RTCRtpTransceiver

    @property
    def forwarded(self) -> int:
        """Packets (or frames) sent so far."""

    def attach(self, publication: Publication) -> None: ...

    def detach(self) -> None: ...

    def close(self) -> None: ...


class Forwarding(Protocol):
    """How a room's media goes from a publisher's receiver to each subscriber's sender."""

    def receive(self, receiver: RTCRtpReceiver, publication: Publication) -> Upstream:
        """Before `receiver` starts: make its media feed `publication`; its upstream."""

    def answered(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        """After each answer, when the receiver's track exists."""

    def open_slot(self, pc: RTCPeerConnection, kind: str) -> SlotOutput:
        """A new sendonly m-line on `pc` for a subscriber slot."""

    def counters(self) -> dict[str, int]:
        """Totals since the room opened (monotonic)."""


class ReceiverUpstream:
    """A publication's upstream: the receiver of the publisher's connection."""

    def __init__(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        self.receiver = receiver
        self.publication = publication
        self._tasks: set[asyncio.Task[None]] = set()
        # aiortc's REMB to the publisher goes out capped by what the subscribers can take.
        bitrate = publication.packets.bitrate
        self._send_rtcp = rtp_hooks.filter_receiver_rtcp(
            receiver, bitrate.upstream if bitrate is not None else (lambda packet: packet)
        )

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def request_keyframe(self) -> None:
        self._spawn(rtp_hooks.send_pli(self.receiver, self.publication.packets.media_ssrc))

    def send_remb(self, bps: int) -> None:
        ssrc, media = (
            rtp_hooks.receiver_rtcp_ssrc(self.receiver),
            self.publication.packets.media_ssrc,
        )
        if ssrc is not None and media is not None:
            fci = pack_remb_fci(bps, [media])
            self._spawn(self._send_rtcp(RtcpPsfbPacket(RTCP_PSFB_APP, ssrc, 0, fci)))


class PacketSlot:
    """A subscriber slot on the packet path: an idle aiortc sender and its leg."""

    def __init__(self, transceiver: RTCRtpTransceiver, leg: Leg, owner: PacketForwarding) -> None:
        self.transceiver = transceiver
        self.leg = leg
        self._owner = owner

    @property
    def forwarded(self) -> int:
        return self.leg.packets

    def attach(self, publication: Publication) -> None:
        self.leg.attach(publication.packets)

    def detach(self) -> None:
        self.leg.detach()

    def close(self) -> None:
        self.leg.detach()
        self._owner.retire(self.leg)


class PacketForwarding:
    """Kanyan's forwarding: a publisher's RTP packets, decrypted once, go to every subscriber
    leg renumbered and encrypted for it (rtp_forward, srtp, rtcp); aiortc assembles frames
    once per publisher for the recorder and screenshots. Nothing is decoded or encoded."""

    def __init__(self, stats: MediaStats | None = None) -> None:
        self._links: weakref.WeakKeyDictionary[RTCDtlsTransport, SrtpLink] = (
            weakref.WeakKeyDictionary()
        )
        self._stats = stats if stats is not None else MediaStats()
        self._legs = LegTally()  # this room's

    def receive(self, receiver: RTCRtpReceiver, publication: Publication) -> ReceiverUpstream:
        upstream = ReceiverUpstream(receiver, publication)
        fanout = publication.packets

        def on_frame(codec: Any, frame: Any) -> None:
            if publication.upstream is upstream:
                publication.deliver(frame.data, frame.timestamp)

        def on_packet(packet: RtpPacket) -> None:
            if publication.upstream is upstream:
                fanout.packet(upstream, packet)

        def on_report(report: RtcpSrPacket) -> None:
            if publication.upstream is upstream:
                info = report.sender_info
                fanout.sender_report(report.ssrc, info.ntp_timestamp, info.rtp_timestamp)

        hooks.tap_receiver(receiver, on_frame)
        if publication.kind == "video":
            rtp_hooks.wrap_jitter_buffer(receiver, GapSkipper)
        rtp_hooks.tap_packets(receiver, on_packet)
        rtp_hooks.replace_bitrate_estimator(receiver, rtcp.GroupedEstimator)
        rtp_hooks.observe_receiver_rtcp(receiver, on_report)
        return upstream

    def answered(self, receiver: RTCRtpReceiver, publication: Publication) -> None:
        rtp_hooks.receive_without_queue(receiver.transport)  # bundled by now: the connection's

    def open_slot(self, pc: RTCPeerConnection, kind: str) -> PacketSlot:
        transceiver = pc.addTransceiver(rtp_hooks.IdleTrack(kind), direction="sendonly")
        sender = transceiver.sender
        leg = Leg(kind)
        self._legs.add(leg)
        self._stats.legs.add(leg)

        def started(identity: rtp_hooks.SenderIdentity) -> None:
            leg.start(identity, self._link(sender.transport))

        rtp_hooks.on_sender_start(sender, started)
        rtp_hooks.route_sender_rtcp(sender, lambda packet: rtcp.subscriber_feedback(leg, packet))
        rtp_hooks.rewrite_sender_reports(sender, lambda report: rtcp.leg_report(leg, report))
        return PacketSlot(transceiver, leg, self)

    def _link(self, transport: RTCDtlsTransport) -> SrtpLink:
        link = self._links.get(transport)
        if link is None:
            link = self._links[transport] = SrtpLink(transport, self._stats.send_error)
        return link

    def retire(self, leg: Leg) -> None:
        self._legs.retire(leg)
        self._stats.legs.retire(leg)

    def counters(self) -> dict[str, int]:
        totals = dict.fromkeys(LEG_COUNTS, 0)
        for (name, _), value in self._legs.totals().items():
            totals[name] += value
        return totals


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
        self.forwarding: Forwarding = forwarding or PacketForwarding(self.stats)
        self._publications: dict[tuple[int, str], Publication] = {}
        self.on_publication: list[Callable[[Publication], None]] = []
        self._upstream_requests = 0  # keyframe requests of publications already dropped

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
                self._upstream_requests += publication.keyframe_requests
                publication.close()

    def counters(self) -> dict[str, int]:
        """This room's forwarding since it opened: packets, bytes and frames sent to
        subscribers, packets retransmitted on their NACKs, keyframe requests they sent,
        packets not sent while a leg waited for a keyframe (`keyframe_wait`), and keyframe
        requests sent to publishers (`upstream_keyframe_requests`)."""
        totals = self.forwarding.counters()
        totals["upstream_keyframe_requests"] = self._upstream_requests + sum(
            p.keyframe_requests for p in self._publications.values()
        )
        return totals

    def close(self) -> None:
        for publication in self._publications.values():
            publication.close()
        self._publications.clear()

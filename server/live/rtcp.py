"""RTCP on the forwarding path: what a subscriber tells its leg, the leg's sender reports, and
the bitrate a publisher is asked to keep.

- NACK: the leg sends the packets again from its history (in RTX when negotiated).
- PLI/FIR: the publisher is asked for a keyframe, rate-limited per publication.
- REMB: each subscriber's estimate is kept; the publisher is told the weakest subscriber's,
  but not less than a floor (one subscriber on a bad link must not blur everyone's picture)
  and never more than its own uplink was estimated at.
- Receiver reports: the leg's loss and round-trip time.
- The publisher's uplink: aiortc's receive-side estimator (GCC's delay-based part) works on
  groups of packets sent within 5 ms (a frame); it is fed one call per group
  (`GroupedEstimator`) rather than one per packet, which cost ~20 µs each.
- Sender reports: the leg's own packet counts, and its RTP time at the report's wall clock
  on the leg's rewritten timeline, so that subscribers keep each publisher's lip sync.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSenderInfo,
    RtcpSrPacket,
    pack_remb_fci,
    unpack_remb_fci,
)

from .rtp_forward import MASK32, NTP_UNIX_OFFSET

if TYPE_CHECKING:
    from .rtp_forward import Leg

VIDEO_FLOOR_BPS = 150_000  # below this VP8 at 640x480 is a slideshow: not worth everyone's loss
FRESH_S = 5.0  # a subscriber's estimate older than this no longer counts
UPDATE_S = 1.0  # a rising estimate goes upstream at most this often; a falling one at once


def ntp_time(wall: float) -> int:
    """The 64-bit NTP timestamp of a Unix wall-clock time."""
    seconds = wall + NTP_UNIX_OFFSET
    whole = int(seconds)
    return whole << 32 | int((seconds - whole) * 2**32)


def subscriber_feedback(leg: Leg, packet: AnyRtcpPacket) -> None:
    """RTCP from the subscriber about `leg`'s stream (routed by aiortc, hooks 6)."""
    if isinstance(packet, RtcpRtpfbPacket):
        if packet.fmt == RTCP_RTPFB_NACK:
            leg.retransmit(packet.lost)
    elif isinstance(packet, RtcpPsfbPacket):
        if packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
            leg.keyframe_requested()
        elif packet.fmt == RTCP_PSFB_APP:
            try:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
            except ValueError:
                return
            if leg.identity is not None and leg.identity.ssrc in ssrcs:
                leg.estimated(bitrate)
    elif isinstance(packet, RtcpRrPacket | RtcpSrPacket):
        now = time.time()
        for report in packet.reports:
            if leg.identity is None or report.ssrc != leg.identity.ssrc:
                continue
            leg.fraction_lost = report.fraction_lost / 256
            sent = leg.reports_sent.get(report.lsr)
            if sent is not None and report.dlsr:
                leg.rtt = max(0.0, now - sent - report.dlsr / 65536)


def leg_report(leg: Leg, report: RtcpSrPacket) -> RtcpSrPacket | None:
    """The SR aiortc's sender task is about to send, made the leg's (hooks 6); None (send no
    RTCP) before the leg sent anything."""
    now = time.time()
    rtp_time = leg.timestamp_at(now)
    if rtp_time is None or leg.identity is None:
        return None
    ntp = ntp_time(now)
    leg.reports_sent[(ntp >> 16) & MASK32] = now
    while len(leg.reports_sent) > 8:
        del leg.reports_sent[next(iter(leg.reports_sent))]
    info = RtcpSenderInfo(
        ntp_timestamp=ntp,
        rtp_timestamp=rtp_time,
        packet_count=leg.packets & MASK32,
        octet_count=leg.octets & MASK32,
    )
    return RtcpSrPacket(ssrc=leg.identity.ssrc, sender_info=info, reports=report.reports)


GROUP_UNITS = 1311  # 5 ms in abs-send-time units (6.18 fixed point seconds, 24 bits)


class GroupedEstimator:
    """Stands in for an aiortc receiver's RemoteBitrateEstimator (hooks 3): packets sent within
    5 ms of a group's first are summed and handed to the estimator as one, with the group's
    last send time and last arrival, when the next group starts. The estimator's inter-arrival
    filter groups the same way, so its deltas are the same, one group later."""

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        self._first: int | None = None  # abs-send-time of the group's first packet
        self._last = 0
        self._arrival = 0
        self._size = 0
        self._ssrc = 0

    def add(
        self, arrival_time_ms: int, abs_send_time: int, payload_size: int, ssrc: int
    ) -> tuple[int, list[int]] | None:
        first = self._first
        if first is not None:
            delta = ((abs_send_time - first + 0x800000) & 0xFFFFFF) - 0x800000
            if delta <= GROUP_UNITS:
                self._size += payload_size
                if delta >= 0 and ((abs_send_time - self._last) & 0xFFFFFF) < 0x800000:
                    self._last, self._arrival = abs_send_time, arrival_time_ms
                return None
        result = None
        if first is not None:
            result = self.estimator.add(
                arrival_time_ms=self._arrival,
                abs_send_time=self._last,
                payload_size=self._size,
                ssrc=self._ssrc,
            )
        self._first = self._last = abs_send_time
        self._arrival, self._size, self._ssrc = arrival_time_ms, payload_size, ssrc
        return result  # type: ignore[no-any-return]


class SubscriberBitrate:
    """The bitrate one video publication's subscribers can take, and telling its publisher."""

    def __init__(self, floor_bps: int = VIDEO_FLOOR_BPS) -> None:
        self.floor_bps = floor_bps
        self.send: Callable[[int], None] | None = None  # REMB to the publisher, when connected
        self._estimates: dict[int, tuple[int, float]] = {}  # by id(leg): (bps, monotonic)
        self._uplink: int | None = None  # what the publisher's own link was estimated at
        self._sent: tuple[int, float] | None = None
        self.sent_bps: int | None = None

    def cap(self, now: float | None = None) -> int | None:
        """The weakest fresh subscriber estimate, raised to the floor; None without any."""
        now = time.monotonic() if now is None else now
        fresh = [bps for bps, at in self._estimates.values() if now - at < FRESH_S]
        return max(self.floor_bps, min(fresh)) if fresh else None

    def estimated(self, leg: object, bps: int) -> None:
        """A subscriber's REMB: tell the publisher when the target falls, or rose a while ago."""
        now = time.monotonic()
        self._estimates[id(leg)] = (bps, now)
        target = self.cap(now)
        if target is None or self.send is None:
            return
        if self._uplink is not None:
            target = min(target, self._uplink)
        if self._sent is not None:
            last, at = self._sent
            falling = target < last * 0.95
            rising = target > last * 1.05 and now - at >= UPDATE_S
            if not (falling or rising):
                return
        self._sent = (target, now)
        self.sent_bps = target
        self.send(target)

    def forget(self, leg: object) -> None:
        self._estimates.pop(id(leg), None)

    def upstream(self, packet: AnyRtcpPacket) -> AnyRtcpPacket:
        """aiortc's own REMB to the publisher (its estimate of the publisher's uplink), capped
        by what the subscribers can take (hooks 3)."""
        if not (isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP):
            return packet
        try:
            bps, ssrcs = unpack_remb_fci(packet.fci)
        except ValueError:
            return packet
        self._uplink = bps
        now = time.monotonic()
        cap = self.cap(now)
        value = bps if cap is None else min(bps, cap)
        self._sent = (value, now)
        self.sent_bps = value
        if value == bps:
            return packet
        return RtcpPsfbPacket(
            fmt=RTCP_PSFB_APP,
            ssrc=packet.ssrc,
            media_ssrc=packet.media_ssrc,
            fci=pack_remb_fci(value, ssrcs),
        )

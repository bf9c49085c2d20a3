"""Packet-level forwarding: a publisher's RTP packets to each subscriber's leg.

A publication's packets arrive once, decrypted and parsed by aiortc's receiver (hooks 2).
`RtpFanout` puts them on one continuous numbering per publication — a publisher who reconnects
(new SSRC, new numbers) or whose timestamps jump (aiortc restarts them when a track is
replaced) carries on where it left off — and hands each packet to every `Leg`.

A leg is one subscriber's m-line. It rewrites SSRC, sequence number, timestamp, payload type
and header extensions to its own, keeps what it sent for NACKs, and writes through its
connection's SRTP link without awaiting. A video leg starts at a keyframe (and starts again at
one after its publisher reconnected); its sequence numbers run on across that wait without a
gap, and its timestamps never run backwards, whichever publisher it carries.
"""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiortc.rtp import RtpPacket

if TYPE_CHECKING:
    from .rtp_hooks import SenderIdentity
    from .srtp import SrtpLink

CLOCK_RATES = {"audio": 48000, "video": 90000}
MASK16, MASK32 = 0xFFFF, 0xFFFFFFFF
HISTORY = 512  # packets a video leg keeps for NACKs: ~2-5 s of 0.5-1.5 Mbps video
NTP_UNIX_OFFSET = 2208988800  # seconds from 1900 (NTP) to 1970 (Unix)
# A newer packet whose timestamp runs backwards, or ahead of the wall clock by more than this,
# starts a new timeline (a replaced track), not a network stall. (VP8 and Opus have no
# B-frames: a newer packet never carries an earlier time.)
TIMESTAMP_AHEAD_S = 2.0
BASE_WINDOW = 4096  # how far back a leg still recognises packets from before its start
KEEP_KEYFRAME_S = 0.5  # a newcomer starts on a keyframe this recent rather than ask for one

URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

_FIXED = struct.Struct("!BBHI")  # V/P/X/CC, M/PT, sequence number, timestamp
_LEVELS = [bytes((value,)) for value in range(256)]


def vp8_keyframe_start(payload: bytes) -> bool:
    """The packet starts a VP8 keyframe: its payload descriptor (RFC 7741 §4.2) has S=1 and
    PID=0, and the frame tag that follows has P=0 (RFC 6386 §9.1)."""
    size = len(payload)
    if not size or payload[0] & 0x17 != 0x10:
        return False
    first, pos = payload[0], 1
    if first & 0x80:  # X: extended control bits
        if size < 2:
            return False
        extended, pos = payload[1], 2
        if extended & 0x80:  # I: picture id, 7 or 15 bits
            if size <= pos:
                return False
            pos += 2 if payload[pos] & 0x80 else 1
        if extended & 0x40:  # L: TL0PICIDX
            pos += 1
        if extended & 0x30:  # T or K: TID/Y/KEYIDX
            pos += 1
    return size > pos and not payload[pos] & 1


def _layout(ssrc: bytes, head: bytes, extra_id: bytes, extra_size: int) -> tuple[int, bytes, bytes]:
    """A leg's header after the timestamp, split where the per-packet value goes: RFC 8285
    one-byte elements (the mid, then the value's element), padded to 32 bits."""
    size = len(head) + len(extra_id) + extra_size
    if not size:
        return 0x80, ssrc, b""
    padding = -size % 4
    block = struct.pack("!HH", 0xBEDE, (size + padding) // 4)
    return 0x90, ssrc + block + head + extra_id, bytes(padding)


def _nowhere(plain: bytes) -> None:
    pass


def abs_send_time(wall: float) -> bytes:
    """The abs-send-time header extension's value: NTP seconds, 6.18 fixed point, 24 bits."""
    return (int((wall + NTP_UNIX_OFFSET) * 262144) & 0xFFFFFF).to_bytes(3, "big")


def older(seq: int, than: int) -> bool:
    """RTP sequence numbers wrap: `seq` comes before `than`."""
    return (seq - than) & MASK16 >= 0x8000


class RtpFanout:
    """One publication's packets, renumbered continuously, to its legs."""

    def __init__(
        self,
        kind: str,
        keyframe_wanted: Callable[[bool], None],
        keyframe_arrived: Callable[[], None] = lambda: None,
    ) -> None:
        self.kind = kind
        self.video = kind == "video"
        self.clock_rate = CLOCK_RATES[kind]
        self.keyframe_wanted = keyframe_wanted  # (prompt): a new leg, or a subscriber's PLI
        self._keyframe_arrived = keyframe_arrived
        self._legs: list[Leg] = []
        self._snapshot: tuple[Leg, ...] = ()
        self._source: object = None
        self.media_ssrc: int | None = None
        self._seq_offset = 0
        self._ts_offset = 0
        self._in_ts = 0  # the newest packet's timestamp as the publisher sent it
        self.seq: int | None = None  # the newest packet's number on this publication's line
        self.ts = 0
        self.arrival = 0.0  # wall clock when the newest packet arrived
        self._report: tuple[float, int] | None = None  # publisher's SR: (its wall, our ts)
        self.bitrate: Any = None  # rtcp.SubscriberBitrate of a video publication
        # The latest keyframe's packets and those since, for a newcomer (video, kept briefly).
        self._since_keyframe: list[tuple[int, int, int, bytes, bool]] | None = None
        self._keyframe_at = 0.0
        self.packets = 0
        self.bytes = 0

    @property
    def legs(self) -> tuple[Leg, ...]:
        return self._snapshot

    def add(self, leg: Leg) -> None:
        if leg not in self._legs:
            self._legs.append(leg)
            self._snapshot = tuple(self._legs)

    def remove(self, leg: Leg) -> None:
        if leg in self._legs:
            self._legs.remove(leg)
            self._snapshot = tuple(self._legs)

    def packet(self, source: object, packet: RtpPacket) -> None:
        """A packet from the publisher's current connection `source`: to every leg."""
        now = time.time()
        seq_in, ts_in = packet.sequence_number, packet.timestamp
        if source is not self._source or self.seq is None:
            self._new_source(source, packet.ssrc, seq_in, ts_in, now)
        seq = (seq_in + self._seq_offset) & MASK16
        if not older(seq, self.seq):  # type: ignore[arg-type]
            jump = ((ts_in - self._in_ts + 0x80000000) & MASK32) - 0x80000000
            if jump < 0 or jump > (now - self.arrival + TIMESTAMP_AHEAD_S) * self.clock_rate:
                self._continue_timeline(ts_in, now)
            self._in_ts = ts_in
            self.seq = seq
            self.ts = (ts_in + self._ts_offset) & MASK32
            self.arrival = now
            ts = self.ts
            if self.packets & 1023 == 0:
                self._forget_old_bases(seq)
        else:
            ts = (ts_in + self._ts_offset) & MASK32
        payload = packet.payload
        self.packets += 1
        self.bytes += len(payload)
        marker = packet.marker
        if self.video:
            keystart = vp8_keyframe_start(payload) if payload else False
            if keystart:
                self._keyframe_arrived()
                self._since_keyframe, self._keyframe_at = [], now
            if self._since_keyframe is not None:
                if now - self._keyframe_at < KEEP_KEYFRAME_S:
                    self._since_keyframe.append((seq, ts, marker, payload, keystart))
                else:
                    self._since_keyframe = None
            extra = abs_send_time(now)
        else:
            keystart = True  # audio: any packet can start a leg
            level = packet.extensions.audio_level
            extra = b"" if level is None else _LEVELS[(0x80 if level[0] else 0) | level[1]]
        for leg in self._snapshot:
            leg.send(seq, ts, marker, payload, keystart, extra)

    def catch_up(self, leg: Leg) -> bool:
        """Start a waiting video leg on the latest keyframe, if it came less than
        KEEP_KEYFRAME_S ago: the packets since go out now (with this moment's send time), so a
        newcomer sees a picture without waiting for a keyframe it would have to ask for."""
        kept = self._since_keyframe
        if kept is None or time.time() - self._keyframe_at >= KEEP_KEYFRAME_S:
            return False
        extra = abs_send_time(time.time())
        for seq, ts, marker, payload, keystart in kept:
            leg.send(seq, ts, marker, payload, keystart, extra)
        leg.caught_up += 1
        return True

    def _new_source(self, source: object, ssrc: int, seq_in: int, ts_in: int, now: float) -> None:
        """The publisher (re)connected: carry on after the newest packet of the last one."""
        if self.seq is None:
            self._seq_offset = self._ts_offset = 0
            self.seq = (seq_in - 1) & MASK16
        else:
            self._seq_offset = (self.seq + 1 - seq_in) & MASK16
            self._continue_timeline(ts_in, now)
            for leg in self._snapshot:
                leg.restart()  # a video leg needs the new stream's keyframe
        self._source, self.media_ssrc = source, ssrc
        self._in_ts = ts_in
        self._report = None
        self._since_keyframe = None  # the old stream's pictures: no start for the new one

    def _continue_timeline(self, ts_in: int, now: float) -> None:
        gap = max(1, int((now - self.arrival) * self.clock_rate))
        self._ts_offset = (self.ts + gap - ts_in) & MASK32
        self._report = None

    def _forget_old_bases(self, seq: int) -> None:
        for leg in self._snapshot:
            leg.forget_base_before((seq - BASE_WINDOW) & MASK16)

    def sender_report(self, ssrc: int, ntp: int, rtp_ts: int) -> None:
        """The publisher's RTCP SR: its wall clock (NTP) for one of its RTP timestamps."""
        if ssrc == self.media_ssrc and self.seq is not None:
            wall = (ntp >> 32) + (ntp & MASK32) / 2**32 - NTP_UNIX_OFFSET
            self._report = (wall, (rtp_ts + self._ts_offset) & MASK32)

    def timestamp_at(self, wall: float) -> int:
        """This publication's RTP time at `wall`: from the publisher's sender report when there
        is one (it keeps the publisher's audio and video in sync), else from arrival times."""
        at, ts = self._report or (self.arrival, self.ts)
        return (ts + round((wall - at) * self.clock_rate)) & MASK32


class Leg:
    """One subscriber's m-line: its numbering, its history, its transport."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.video = kind == "video"
        self.clock_rate = CLOCK_RATES[kind]
        self.fanout: RtpFanout | None = None
        self.identity: SenderIdentity | None = None
        self.link: SrtpLink | None = None
        self._waiting = True  # for a keyframe (video), or to set the numbering (audio)
        self._same_line = False  # the wait is on the same fanout: keep the timestamps' offset
        self._seq_offset = 0
        self._ts_offset = 0
        self._base = 0
        self.seq: int | None = None  # the newest number sent, once paused
        self.ts = 0
        self._paused_at = 0.0
        self._rtx_seq = random.randrange(0x8000)
        self._history: list[bytes | None] = [None] * HISTORY
        self._write: Callable[[bytes], None] = _nowhere
        # (first header byte, bytes before the per-packet value, bytes after it): without and
        # with the value (abs-send-time for video, the audio level for audio).
        self._plain: tuple[int, bytes, bytes] = (0x80, b"", b"")
        self._extra = self._plain
        self._with_extra = False
        self._pt = 0
        self.packets = 0
        self.octets = 0
        self._marked = 0  # packets with the marker bit: a video frame's last
        self.retransmitted = 0
        self.keyframe_requests = 0
        self.waited = 0  # packets not sent while the leg waited for a keyframe
        self.caught_up = 0  # starts on a kept keyframe
        self.remb_bps: int | None = None
        self.fraction_lost = 0.0
        self.rtt: float | None = None
        self.reports_sent: dict[int, float] = {}  # our SRs' middle NTP bits -> wall clock

    # -- configuration ------------------------------------------------------------------------

    def start(self, identity: SenderIdentity, link: SrtpLink) -> None:
        """The subscriber's sender was negotiated and its connection is up: send from now."""
        self.identity, self.link = identity, link
        self._write = link.write
        self._pt = identity.payload_type
        ssrc = struct.pack("!I", identity.ssrc)
        ids = identity.extensions
        mid = (identity.mid or "").encode()[:16]
        head = b""
        if ids.get(URI_MID) and mid:
            head = bytes((ids[URI_MID] << 4 | (len(mid) - 1),)) + mid
        self._plain = _layout(ssrc, head, b"", 0)
        extra_id = ids.get(URI_ABS_SEND_TIME if self.video else URI_AUDIO_LEVEL)
        if extra_id:
            size = 3 if self.video else 1  # abs-send-time 6.18 fixed point; audio level byte
            self._extra = _layout(ssrc, head, bytes((extra_id << 4 | (size - 1),)), size)
        self._with_extra = bool(extra_id)
        link.when_ready(self._ready)

    def _ready(self) -> None:
        """The subscriber can take packets: start on a kept keyframe, or ask for one."""
        if self.fanout is not None and self.video and self._waiting:
            if not self.fanout.catch_up(self):
                self.fanout.keyframe_wanted(True)

    @property
    def frames(self) -> int:
        """Frames sent: video frames end on a marked packet; an Opus packet is a frame."""
        return self._marked if self.video else self.packets

    @property
    def live(self) -> bool:
        return self.link is not None and self.link.ready

    # -- what it carries ----------------------------------------------------------------------

    def attach(self, fanout: RtpFanout) -> None:
        """Carry `fanout` from its next keyframe (video) or packet (audio)."""
        self.detach()
        self.fanout = fanout
        self._waiting, self._same_line = True, False
        fanout.add(self)
        if self.video and not (self.live and fanout.catch_up(self)):
            # Even before this leg's connection is up: the keyframe will be here by then.
            fanout.keyframe_wanted(True)

    def detach(self) -> None:
        if self.fanout is not None:
            self._pause()
            self.fanout.remove(self)
            if self.fanout.bitrate is not None:
                self.fanout.bitrate.forget(self)
            self.fanout = None

    def restart(self) -> None:
        """The publication's stream restarted (its publisher reconnected): a video leg waits
        for the new stream's keyframe, its numbering running on."""
        if self.video and not self._waiting:
            self._pause()
            self._waiting, self._same_line = True, True

    def _pause(self) -> None:
        if not self._waiting and self.fanout is not None and self.fanout.seq is not None:
            self.seq = (self.fanout.seq + self._seq_offset) & MASK16
            self.ts = (self.fanout.ts + self._ts_offset) & MASK32
            self._paused_at = time.time()

    def _resume(self, seq: int, ts: int) -> None:
        if self.seq is None:  # a new leg: numbers start at random, in the lower half (aiortc)
            self._seq_offset = (random.randrange(0x8000) - seq) & MASK16
            self._ts_offset = (random.getrandbits(32) - ts) & MASK32
        else:
            self._seq_offset = (self.seq + 1 - seq) & MASK16
            if not self._same_line:
                gap = max(1, int((time.time() - self._paused_at) * self.clock_rate))
                self._ts_offset = (self.ts + gap - ts) & MASK32
        self._base = seq
        self._waiting = False

    def forget_base_before(self, seq: int) -> None:
        """Keep the start mark within reach of 16-bit comparison as numbers wrap."""
        if not self._waiting and older(self._base, seq):
            self._base = seq

    # -- the hot path -------------------------------------------------------------------------

    def send(
        self, seq: int, ts: int, marker: int, payload: bytes, keystart: bool, extra: bytes
    ) -> None:
        """One packet of the fanout, on its line's numbering: rewrite, keep, protect, write."""
        if self._waiting:
            link = self.link
            if link is None or not link.ready:
                return
            if not keystart:
                self.waited += 1
                self.fanout.keyframe_wanted(True)  # type: ignore[union-attr]
                return
            self._resume(seq, ts)
        elif (seq - self._base) & 0x8000:
            return  # from before this leg started: its numbers are someone else's
        out_seq = (seq + self._seq_offset) & MASK16
        out_ts = (ts + self._ts_offset) & MASK32
        if extra and self._with_extra:
            b0, pre, post = self._extra
        else:
            b0, pre, post = self._plain
            extra = b""
        fixed = _FIXED.pack(b0, marker << 7 | self._pt, out_seq, out_ts)
        plain = b"".join((fixed, pre, extra, post, payload))
        self._history[out_seq % HISTORY] = plain
        self._write(plain)
        self.packets += 1
        self.octets += len(payload)
        self._marked += marker

    # -- feedback -----------------------------------------------------------------------------

    def retransmit(self, lost: list[int]) -> None:
        """NACK: send again what is still in the history, in RTX when negotiated."""
        if self.link is None or self.identity is None:
            return
        rtx_pt = self.identity.rtx_payload_type
        for seq in lost:
            plain = self._history[seq % HISTORY]
            if plain is None or plain[2] << 8 | plain[3] != seq:
                continue  # too old, or lost before it reached us
            if rtx_pt is not None:
                size = 12 + (4 + 4 * (plain[14] << 8 | plain[15]) if plain[0] & 0x10 else 0)
                header = struct.pack(
                    "!BBH4sI",
                    plain[0],
                    plain[1] & 0x80 | rtx_pt,
                    self._rtx_seq,
                    plain[4:8],
                    self.identity.rtx_ssrc,
                )
                plain = b"".join((header, plain[12:size], plain[2:4], plain[size:]))
                self._rtx_seq = (self._rtx_seq + 1) & MASK16
            self.link.write(plain)
            self.retransmitted += 1

    def timestamp_at(self, wall: float) -> int | None:
        """This leg's RTP time at `wall`, for its sender reports (None before it sent)."""
        if self.fanout is not None and not self._waiting:
            return (self.fanout.timestamp_at(wall) + self._ts_offset) & MASK32
        if self.seq is None:
            return None
        return (self.ts + round((wall - self._paused_at) * self.clock_rate)) & MASK32

    def estimated(self, bps: int) -> None:
        """The subscriber's REMB: what it thinks its link can take."""
        self.remb_bps = bps
        if self.fanout is not None and self.fanout.bitrate is not None:
            self.fanout.bitrate.estimated(self, bps)

    def keyframe_requested(self) -> None:
        """The subscriber lost its picture (PLI/FIR): ask the publisher."""
        self.keyframe_requests += 1
        if self.fanout is not None:
            self.fanout.keyframe_wanted(False)

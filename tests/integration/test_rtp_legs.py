"""One subscriber leg between two real aiortc peer connections, without the server: the
server-side connection sends through `PacketForwarding`'s slot, the subscriber is plain aiortc
(negotiation, ICE, DTLS, SRTP, its receiver's NACKs, PLIs and parsing are all aiortc's). The
test plays the publisher by handing packets to the leg's fanout."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable

import aioice.ice
import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpSrPacket, RtpPacket, pack_remb_fci

from server.live import hooks, rtcp, rtp_hooks
from server.live.media import PacketForwarding, PacketSlot
from server.live.peer import codec_preferences
from server.live.rtp_forward import RtpFanout

KEY = b"\x10" + b"\x10\x02\x00\x9d\x01\x2a" + bytes(300)  # VP8 descriptor S=1, keyframe tag
DELTA = b"\x10" + b"\x01" + bytes(200)  # start of an interframe
MORE = b"\x00" + bytes(200)  # a frame's later packet


class Subscriber:
    """The far end: a plain aiortc peer connection that records every RTP packet it accepts
    (decrypted, RTX unwrapped) and every sender report."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.packets: list[RtpPacket] = []
        self.reports: list[RtcpSrPacket] = []
        self.arrivals: list[RtpPacket | RtcpSrPacket] = []  # both, in the order they came
        self.drop: set[int] = set()  # sequence numbers lost once on the way in
        self._changed = asyncio.Event()

    def watch(self) -> None:
        receiver = self.pc.getTransceivers()[0].receiver
        rtp_hooks.tap_packets(receiver, self._packet)
        rtp_hooks.observe_receiver_rtcp(receiver, self._report)
        original = receiver._handle_rtp_packet

        async def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
            if packet.sequence_number in self.drop and packet.ssrc != self.rtx_ssrc:
                self.drop.discard(packet.sequence_number)
                return  # the network lost it
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = lossy
        self.rtx_ssrc = -1

    def _packet(self, packet: RtpPacket) -> None:
        self.packets.append(packet)
        self.arrivals.append(packet)
        self._changed.set()

    def _report(self, report: RtcpSrPacket) -> None:
        self.reports.append(report)
        self.arrivals.append(report)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[], bool], what: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.2)
            except TimeoutError:
                pass

    @property
    def receiver(self):  # type: ignore[no-untyped-def]
        return self.pc.getTransceivers()[0].receiver


@pytest.fixture
async def leg_to():
    """`await leg_to(kind)` -> (slot, subscriber, fanout, keyframe requests list)."""
    before = aioice.ice.get_host_addresses
    hooks.use_host_addresses(["127.0.0.1"])
    closing: list[RTCPeerConnection] = []

    async def connect(kind: str) -> tuple[PacketSlot, Subscriber, RtpFanout, list[int]]:
        forwarding = PacketForwarding()
        server = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        slot = forwarding.open_slot(server, kind)
        slot.transceiver.setCodecPreferences(codec_preferences(kind))
        subscriber = Subscriber()
        closing.extend((server, subscriber.pc))
        await server.setLocalDescription(await server.createOffer())
        await subscriber.pc.setRemoteDescription(server.localDescription)
        subscriber.watch()
        await subscriber.pc.setLocalDescription(await subscriber.pc.createAnswer())
        await server.setRemoteDescription(subscriber.pc.localDescription)
        requests: list[int] = []
        fanout = RtpFanout(kind, requests.append)
        slot.attach(_Publication(fanout))  # type: ignore[arg-type]
        deadline = time.monotonic() + 10
        while not slot.leg.live or slot.leg.identity is None:
            assert time.monotonic() < deadline, "the leg never started"
            await asyncio.sleep(0.02)
        subscriber.rtx_ssrc = slot.leg.identity.rtx_ssrc
        return slot, subscriber, fanout, requests

    yield connect
    for pc in closing:
        await pc.close()
    aioice.ice.get_host_addresses = before


class _Publication:
    """PacketSlot.attach takes what carries the packets: a publication's fanout."""

    def __init__(self, fanout: RtpFanout) -> None:
        self.packets = fanout


def rtp(seq: int, ts: int, payload: bytes, marker: int = 1, ssrc: int = 1111) -> RtpPacket:
    return RtpPacket(
        payload_type=96,
        marker=marker,
        sequence_number=seq & 0xFFFF,
        timestamp=ts & 0xFFFFFFFF,
        ssrc=ssrc,
        payload=payload,
    )


def contiguous(packets: list[RtpPacket]) -> bool:
    numbers = [p.sequence_number for p in packets]
    return all((b - a) & 0xFFFF == 1 for a, b in itertools.pairwise(numbers))


def monotonic(packets: list[RtpPacket]) -> bool:
    stamps = [p.timestamp for p in packets]
    return all(((b - a) & 0xFFFFFFFF) < 0x80000000 for a, b in itertools.pairwise(stamps))


async def play(
    fanout: RtpFanout, source: object, frames: list[bytes], seq: int, ts: int, ssrc: int = 1111
) -> tuple[int, int]:
    """One packet per frame at 15 fps, paced like a camera; returns the next (seq, ts)."""
    for payload in frames:
        fanout.packet(source, rtp(seq, ts, payload, ssrc=ssrc))
        seq, ts = seq + 1, ts + 6000
        await asyncio.sleep(1 / 60)
    return seq, ts


async def test_a_video_leg_starts_at_a_keyframe_with_its_own_numbering(leg_to):
    slot, subscriber, fanout, requests = await leg_to("video")
    source = object()
    seq, ts = await play(fanout, source, [DELTA, DELTA], 40000, 123456)
    assert subscriber.packets == [] and requests  # nothing before a keyframe, which it asked for
    await play(fanout, source, [KEY, DELTA, DELTA], seq, ts)
    await subscriber.wait_for(lambda: len(subscriber.packets) == 3, "three packets")
    first = subscriber.packets[0]
    identity = slot.leg.identity
    assert first.payload == KEY
    assert {p.ssrc for p in subscriber.packets} == {identity.ssrc}
    assert {p.payload_type for p in subscriber.packets} == {identity.payload_type}
    assert contiguous(subscriber.packets) and monotonic(subscriber.packets)
    assert first.extensions.mid == slot.transceiver.mid  # its own m-line's mid
    assert first.extensions.abs_send_time is not None


async def test_a_newcomer_starts_on_a_keyframe_that_just_came_without_asking(leg_to):
    slot, subscriber, _, _ = await leg_to("video")
    requests: list[bool] = []
    other = RtpFanout("video", requests.append)
    source = object()
    await play(other, source, [DELTA, KEY, DELTA, DELTA], 900, 0)  # before the leg joins
    slot.attach(_Publication(other))  # type: ignore[arg-type]
    await subscriber.wait_for(lambda: len(subscriber.packets) == 3, "the kept packets")
    assert [p.payload for p in subscriber.packets] == [KEY, DELTA, DELTA]
    assert requests == [] and slot.leg.caught_up == 1
    await play(other, source, [DELTA], 904, 24000)
    await subscriber.wait_for(lambda: len(subscriber.packets) == 4, "the live packet")
    assert contiguous(subscriber.packets) and monotonic(subscriber.packets)


async def test_numbering_runs_on_across_a_reconnect_a_keyframe_wait_and_a_timestamp_jump(leg_to):
    _slot, subscriber, fanout, _ = await leg_to("video")
    first = object()
    seq, ts = await play(fanout, first, [KEY, DELTA, DELTA, DELTA], 65530, 4_000_000_000)
    # The publisher reconnects: new SSRC, new numbers. Its first frames are not decodable yet.
    second = object()
    seq, ts = await play(fanout, second, [DELTA, MORE, KEY, DELTA], 7, 1000, ssrc=2222)
    # Its camera is replaced and aiortc restarts the timestamps: 10 s back in time.
    await play(fanout, second, [DELTA, DELTA], seq, ts - 900_000, ssrc=2222)
    await subscriber.wait_for(lambda: len(subscriber.packets) == 8, "eight packets")
    got = subscriber.packets
    assert [p.payload for p in got] == [KEY, DELTA, DELTA, DELTA, KEY, DELTA, DELTA, DELTA]
    assert contiguous(got), [p.sequence_number for p in got]  # the skipped two left no gap
    assert monotonic(got), [p.timestamp for p in got]
    assert len({p.ssrc for p in got}) == 1


async def test_a_slot_moved_to_another_publication_runs_on(leg_to):
    slot, subscriber, fanout, _ = await leg_to("video")
    await play(fanout, object(), [KEY, DELTA], 100, 5_000)
    other = RtpFanout("video", lambda prompt: None)
    slot.attach(_Publication(other))  # type: ignore[arg-type]
    await play(other, object(), [DELTA, KEY, DELTA], 30000, 2_000_000_000, ssrc=3333)
    await subscriber.wait_for(lambda: len(subscriber.packets) == 4, "four packets")
    assert contiguous(subscriber.packets) and monotonic(subscriber.packets)
    assert fanout.legs == () and other.legs == (slot.leg,)


async def test_a_packet_lost_on_the_way_to_the_subscriber_comes_back_on_its_nack(leg_to):
    slot, subscriber, fanout, _ = await leg_to("video")
    source = object()
    seq, ts = await play(fanout, source, [KEY, DELTA], 500, 0)
    await subscriber.wait_for(lambda: len(subscriber.packets) == 2, "two packets")
    lost = (subscriber.packets[-1].sequence_number + 2) & 0xFFFF  # the fourth packet sent
    subscriber.drop.add(lost)
    await play(fanout, source, [DELTA, DELTA, DELTA, DELTA], seq, ts)
    await subscriber.wait_for(
        lambda: lost in {p.sequence_number for p in subscriber.packets}, "the retransmission"
    )
    assert lost not in subscriber.drop  # it was really dropped once
    assert slot.leg.retransmitted >= 1
    numbers = sorted(p.sequence_number for p in subscriber.packets)
    assert numbers == list(range(numbers[0], numbers[0] + 6))


async def test_sender_reports_carry_the_legs_timeline_and_counts(leg_to):
    slot, subscriber, fanout, _ = await leg_to("audio")
    source = object()
    for i in range(120):  # 2.4 s of 20 ms Opus packets
        fanout.packet(source, rtp(i, 960 * i, b"\xfc" + bytes(60), marker=0))
        await asyncio.sleep(0.02)
    await subscriber.wait_for(lambda: subscriber.reports, "a sender report", timeout=5)
    position = next(i for i, a in enumerate(subscriber.arrivals) if isinstance(a, RtcpSrPacket))
    report = subscriber.arrivals[position]
    before = [a for a in subscriber.arrivals[:position] if isinstance(a, RtpPacket)]
    assert report.ssrc == slot.leg.identity.ssrc
    assert report.sender_info.packet_count == len(before)
    # On the leg's own timeline (its random origin, not the publisher's): at or after the last
    # packet sent before the report, by no more than the time the test ran.
    ahead = (report.sender_info.rtp_timestamp - before[-1].timestamp) & 0xFFFFFFFF
    assert ahead < 48000 * 10


async def test_audio_levels_go_through_and_audio_needs_no_keyframe(leg_to):
    slot, subscriber, fanout, requests = await leg_to("audio")
    packet = rtp(9, 960, b"\xfc" + bytes(60), marker=0)
    packet.extensions.audio_level = (True, 42)
    fanout.packet(object(), packet)
    await subscriber.wait_for(lambda: subscriber.packets, "the packet")
    assert subscriber.packets[0].extensions.audio_level == (True, 42)
    assert subscriber.packets[0].extensions.mid == slot.transceiver.mid
    assert requests == []


async def test_picture_loss_and_bitrate_feedback_reach_the_publication(leg_to):
    slot, subscriber, fanout, requests = await leg_to("video")
    sent: list[int] = []
    fanout.bitrate = rtcp.SubscriberBitrate()
    fanout.bitrate.send = sent.append
    await play(fanout, object(), [KEY], 1, 0)
    await subscriber.wait_for(lambda: subscriber.packets, "the keyframe")
    asked = len(requests)
    ssrc = slot.leg.identity.ssrc
    await subscriber.receiver._send_rtcp_pli(ssrc)
    own = rtp_hooks.receiver_rtcp_ssrc(subscriber.receiver)
    await subscriber.receiver._send_rtcp(
        RtcpPsfbPacket(RTCP_PSFB_APP, own, 0, pack_remb_fci(80_000, [ssrc]))
    )
    await subscriber.wait_for(lambda: sent and len(requests) > asked, "PLI and REMB", timeout=5)
    assert slot.leg.keyframe_requests == 1
    assert slot.leg.remb_bps == 80_000
    assert sent == [rtcp.VIDEO_FLOOR_BPS]  # the weakest subscriber, within reason

"""The arithmetic of packet forwarding, without a network: keyframe detection, sequence
number order, a publication's continuous numbering, the subscribers' bitrate."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtpPacket, pack_remb_fci, unpack_remb_fci

from server.live import rtcp
from server.live.media import Publication
from server.live.rtp_forward import RtpFanout, older, vp8_keyframe_start

TAG_KEY, TAG_DELTA = b"\x10\x02\x00\x9d\x01\x2a", b"\x11\x02\x00"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\x10" + TAG_KEY, True),  # S=1, PID=0, keyframe
        (b"\x10" + TAG_DELTA, False),  # interframe
        (b"\x00" + TAG_KEY, False),  # not the start of the frame
        (b"\x11" + TAG_KEY, False),  # a later partition
        (b"\x90\x80\x05" + TAG_KEY, True),  # X, I with a 7-bit picture id
        (b"\x90\x80\x85\x05" + TAG_KEY, True),  # 15-bit picture id
        (b"\x90\xe0\x85\x05\x07\x40" + TAG_KEY, True),  # I, L and T
        (b"\x90\xe0\x85\x05\x07\x40" + TAG_DELTA, False),
        (b"\x90\x80", False),  # truncated
        (b"\x10", False),
        (b"", False),
    ],
)
def test_vp8_keyframe_start(payload, expected):
    assert vp8_keyframe_start(payload) is expected


@pytest.mark.parametrize(
    ("seq", "than", "expected"),
    [(1, 2, True), (2, 1, False), (65535, 0, True), (0, 65535, False), (5, 5, False)],
)
def test_sequence_numbers_wrap(seq, than, expected):
    assert older(seq, than) is expected


def packet(seq: int, ts: int, ssrc: int = 1) -> RtpPacket:
    return RtpPacket(payload_type=111, sequence_number=seq, timestamp=ts, ssrc=ssrc, payload=b"x")


def test_a_publication_numbers_its_packets_continuously_across_reconnects():
    fanout = RtpFanout("audio", lambda prompt: None)
    first, second = object(), object()
    fanout.packet(first, packet(65534, 4294967000))
    fanout.packet(first, packet(65535, 4294967000 + 960))
    line = fanout.seq
    ts = fanout.ts
    time.sleep(0.05)
    fanout.packet(second, packet(100, 777, ssrc=2))  # a new connection: its own numbers
    assert fanout.seq == (line + 1) & 0xFFFF
    assert 0 < (fanout.ts - ts) & 0xFFFFFFFF < 48000  # later, by about the time that passed
    assert fanout.media_ssrc == 2


def test_a_publication_keeps_time_running_when_the_publisher_timestamps_jump():
    fanout = RtpFanout("video", lambda prompt: None)
    source = object()
    fanout.packet(source, packet(1, 900_000))
    before = fanout.ts
    fanout.packet(source, packet(2, 0))  # 10 s back: a restarted timeline, not reordering
    assert 0 < (fanout.ts - before) & 0xFFFFFFFF < 90000
    fanout.packet(source, packet(3, 6000))
    assert (fanout.ts - before) & 0xFFFFFFFF > 6000 - 1


def test_reordered_packets_keep_their_place():
    fanout = RtpFanout("video", lambda prompt: None)
    source = object()
    fanout.packet(source, packet(10, 6000))
    fanout.packet(source, packet(12, 12000))
    fanout.packet(source, packet(11, 6000))  # late: the newest stays the newest
    assert fanout.seq == 12 and fanout.ts == 12000


def test_sender_reports_map_the_publishers_clock():
    fanout = RtpFanout("audio", lambda prompt: None)
    fanout.packet(object(), packet(1, 48000, ssrc=7))
    wall = time.time()
    ntp = rtcp.ntp_time(wall)
    fanout.sender_report(7, ntp, 96000)  # the publisher says: 96000 was at `wall`
    assert fanout.timestamp_at(wall + 1) == 96000 + 48000
    fanout.sender_report(8, ntp, 0)  # another SSRC's report: ignored
    assert fanout.timestamp_at(wall) == 96000


def remb(bps: int) -> RtcpPsfbPacket:
    return RtcpPsfbPacket(RTCP_PSFB_APP, 1, 0, pack_remb_fci(bps, [5]))


def test_the_publisher_is_told_what_the_weakest_subscriber_can_take():
    bitrate = rtcp.SubscriberBitrate(floor_bps=150_000)
    sent: list[int] = []
    bitrate.send = sent.append
    a, b = object(), object()
    bitrate.estimated(a, 900_000)
    bitrate.estimated(b, 400_000)
    assert sent == [900_000, 400_000]  # a falling target goes at once
    bitrate.estimated(b, 410_000)
    assert sent == [900_000, 400_000]  # a small change does not
    bitrate.estimated(b, 50_000)
    assert sent[-1] == 150_000  # never below the floor
    bitrate.forget(b)
    assert bitrate.cap() == 900_000


def test_the_uplink_estimate_is_capped_by_the_subscribers():
    bitrate = rtcp.SubscriberBitrate()
    assert bitrate.upstream(remb(2_000_000)).fci == remb(2_000_000).fci  # nobody to cap for
    bitrate.estimated(object(), 600_000)
    capped = bitrate.upstream(remb(2_000_000))
    assert unpack_remb_fci(capped.fci) == (600_000, [5])
    kept = remb(300_000)
    assert bitrate.upstream(kept) is kept  # the uplink itself is the weaker


def congested_trace(seconds: float = 30, capacity_bps: int = 1_000_000):
    """Frames at 15 fps through a 1 Mbps bottleneck: 600 kbps for the first half, 1.6 Mbps
    for the second (a queue builds). Yields (arrival ms, abs-send-time, size) per packet."""
    free_at = 0.0
    for frame in range(int(seconds * 15)):
        sent = frame / 15
        rate = 600_000 if sent < seconds / 2 else 1_600_000
        size = rate / 8 / 15
        packets = max(1, round(size / 1100))
        for i in range(packets):
            at = sent + i * 0.0005  # the pacer's burst
            free_at = max(free_at, at) + size / packets * 8 / capacity_bps
            abs_send = int(at * (1 << 18)) & 0xFFFFFF
            yield int((free_at + 0.02) * 1000), abs_send, int(size / packets)


def test_the_uplink_estimate_fed_per_group_follows_aiortc_fed_per_packet():
    from aiortc.rate import RemoteBitrateEstimator

    per_packet, grouped = RemoteBitrateEstimator(), rtcp.GroupedEstimator(RemoteBitrateEstimator())
    reports: dict[str, list[int]] = {"packet": [], "group": []}
    for arrival, abs_send, size in congested_trace():
        for name, estimator in (("packet", per_packet), ("group", grouped)):
            result = estimator.add(
                arrival_time_ms=arrival, abs_send_time=abs_send, payload_size=size, ssrc=5
            )
            if result is not None:
                reports[name].append(result[0])
    for values in reports.values():
        assert values and max(values) > values[0] * 1.4  # it grew while the link had room
        assert values[-1] < 1_000_000  # and stays under the link, not the 1.6 Mbps sent
    ratio = reports["group"][-1] / reports["packet"][-1]
    assert 0.8 < ratio < 1.25, (reports["group"][-1], reports["packet"][-1])


class Upstream:
    """The publisher's end, as a publication sees it: counts what it is asked."""

    def __init__(self) -> None:
        self.keyframes = 0
        self.rembs: list[int] = []

    def request_keyframe(self) -> None:
        self.keyframes += 1

    def send_remb(self, bps: int) -> None:
        self.rembs.append(bps)


async def until(predicate, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_a_keyframe_on_its_way_serves_everyone_who_asks():
    publication = Publication(1, "video", keyframe_interval_s=30)
    upstream = Upstream()
    publication.attach(upstream)
    publication.request_keyframe()
    publication.request_keyframe()  # a second subscriber, before the keyframe came
    publication.request_keyframe(prompt=False)
    assert upstream.keyframes == 1
    publication.keyframe_arrived()
    publication.request_keyframe()  # a new subscriber after it: asked at once
    assert upstream.keyframes == 2
    publication.close()


async def test_an_unanswered_request_is_repeated():
    publication = Publication(1, "video", keyframe_interval_s=0.05)
    upstream = Upstream()
    publication.attach(upstream)
    publication.request_keyframe()
    await until(lambda: upstream.keyframes >= 2, "a repeated request")
    publication.keyframe_arrived()
    repeated = upstream.keyframes
    await asyncio.sleep(0.15)
    assert upstream.keyframes == repeated  # answered: no more repeats
    publication.close()


async def test_picture_loss_right_after_a_keyframe_waits_a_little():
    publication = Publication(1, "video", keyframe_interval_s=0.2)
    upstream = Upstream()
    publication.attach(upstream)
    publication.keyframe_arrived()
    publication.request_keyframe(prompt=False)
    assert upstream.keyframes == 0  # deferred, not dropped
    await until(lambda: upstream.keyframes == 1, "the deferred request")
    publication.close()


def test_audio_publications_ask_for_no_keyframes():
    publication = Publication(1, "audio")
    upstream = Upstream()
    publication.attach(upstream)
    publication.request_keyframe()
    assert upstream.keyframes == 0


class FakeLink:
    """A subscriber connection that takes packets at once."""

    ready = True

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, plain: bytes) -> None:
        self.written.append(plain)

    def when_ready(self, callback) -> None:
        callback()


def test_legs_count_themselves_and_a_retired_legs_counts_are_kept():
    import gc

    from server.live.media import MediaStats
    from server.live.rtp_forward import Leg
    from server.live.rtp_hooks import SenderIdentity

    stats = MediaStats()
    fanout = RtpFanout("video", lambda prompt: None)
    leg = Leg("video")
    stats.legs.add(leg)
    identity = SenderIdentity(1, 2, "1", "cname", 96, 90000, "video/vp8", 97, {})
    link = FakeLink()
    leg.start(identity, link)
    leg.attach(fanout)
    source = object()

    def send(seq: int, payload: bytes, marker: int) -> None:
        fanout.packet(
            source,
            RtpPacket(
                payload_type=96,
                sequence_number=seq,
                timestamp=seq * 3000,
                ssrc=5,
                payload=payload,
                marker=marker,
            ),
        )

    send(1, b"\x10" + TAG_DELTA, 1)  # no keyframe yet: skipped
    send(2, b"\x10" + TAG_KEY, 0)  # a keyframe in two packets
    send(3, b"\x00" + b"y" * 10, 1)
    send(4, b"\x10" + TAG_DELTA, 1)
    totals = stats.legs.totals()
    assert totals[("keyframe_wait", "video")] == 1
    assert totals[("packets", "video")] == 3 == len(link.written)
    assert totals[("frames", "video")] == 2  # frames end on marked packets
    assert totals[("bytes", "video")] == 7 + 11 + 4
    assert totals[("packets", "audio")] == 0
    stats.legs.retire(leg)
    leg.detach()
    del leg
    gc.collect()
    assert stats.legs.totals() == totals  # the closed leg still counts

"""A publisher's video packet lost for good no longer stops the frames the recorder gets
(server/live/jitter.py), around aiortc's own jitter buffer as the receiver builds it."""

from __future__ import annotations

from aiortc.jitterbuffer import JitterBuffer
from aiortc.rtp import RtpPacket

from server.live.jitter import GapSkipper

KEY = b"\x50\x12\x00\x9d\x01\x2a\x80\x02\xe0\x01"  # a VP8 keyframe's first bytes (640×480)
INTER = b"\x31\x05\x00\x11\x22\x33"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def frame_packets(first_seq: int, timestamp: int, data: bytes, count: int) -> list[RtpPacket]:
    """One VP8 frame in `count` packets: the descriptor's S bit on the first (RFC 7741)."""
    packets = []
    for i in range(count):
        chunk = data if i == 0 else bytes([0xAA, i])
        packet = RtpPacket(
            payload_type=96,
            sequence_number=(first_seq + i) & 0xFFFF,
            timestamp=timestamp,
            marker=i == count - 1,
            payload=(b"\x10" if i == 0 else b"\x00") + chunk,
        )
        packet._data = chunk  # type: ignore[attr-defined]  # what aiortc's depayloader leaves
        packets.append(packet)
    return packets


def stream(start_seq: int, frames: list[bytes], per_frame: int = 2) -> list[RtpPacket]:
    packets: list[RtpPacket] = []
    for n, data in enumerate(frames):
        packets += frame_packets(start_seq + n * per_frame, 3000 * n, data, per_frame)
    return packets


def feed(buffer, packets, clock: Clock, step: float = 1 / 30):  # type: ignore[no-untyped-def]
    """Each packet `step` seconds after the last: the frames that come out, and PLIs asked."""
    frames, plis = [], 0
    for packet in packets:
        clock.now += step
        pli, frame = buffer.add(packet)
        plis += pli
        if frame is not None:
            frames.append(frame)
    return frames, plis


def test_a_packet_lost_for_good_blocks_aiortcs_buffer_for_hundreds_of_packets():
    # The problem, as the receiver has it: nothing after the gap, for 200 more packets.
    clock, buffer = Clock(), JitterBuffer(capacity=512, is_video=True)
    packets = stream(100, [KEY] + [INTER] * 100)
    del packets[5]
    frames, plis = feed(buffer, packets, clock)
    assert len(frames) == 2 and plis == 0


def test_a_gap_is_given_up_and_frames_resume_at_the_keyframe_it_asks_for():
    clock = Clock()
    buffer = GapSkipper(JitterBuffer(capacity=512, is_video=True), wait_s=0.6, clock=clock)
    packets = stream(100, [KEY] + [INTER] * 40)
    del packets[5]  # frame 2's second packet, never to come
    frames, plis = feed(buffer, packets, clock)
    # Frames 0 and 1 come out; after the gap nothing, since an inter frame after a lost one
    # decodes to garbage; the publisher is asked for a keyframe when the gap is given up
    # (0.6 s on) and again every 0.6 s while none comes.
    assert len(frames) == 2 and buffer.skipped == 1
    waited = len(packets) / 30 - 0.6
    assert plis == 1 + int(waited / 0.6) or plis == int(waited / 0.6), plis
    # The keyframe comes: it and every frame after it go to the recorder, in order, and
    # nobody asks for another.
    after = stream(packets[-1].sequence_number + 1, [KEY] + [INTER] * 10)
    for packet in after:
        packet.timestamp += 3000 * 100
    more, _ = feed(buffer, after[:3], clock)
    rest, asked = feed(buffer, after[3:], clock)
    assert [f.data[0] for f in more + rest] == [KEY[0]] + [INTER[0]] * 9
    assert asked == 0


def test_a_retransmission_in_time_loses_nothing():
    clock = Clock()
    buffer = GapSkipper(JitterBuffer(capacity=512, is_video=True), wait_s=0.6, clock=clock)
    packets = stream(65530, [KEY] + [INTER] * 20)  # across the sequence-number wrap
    late = packets.pop(7)
    packets.insert(12, late)  # 5 packets (0.17 s) late: a NACK answered
    frames, plis = feed(buffer, packets, clock)
    assert len(frames) == 20 and plis == 0 and buffer.skipped == 0


def test_a_lost_first_packet_of_a_frame_is_given_up_too():
    clock = Clock()
    buffer = GapSkipper(JitterBuffer(capacity=512, is_video=True), wait_s=0.6, clock=clock)
    packets = stream(1, [KEY, INTER, INTER, KEY] + [INTER] * 30, per_frame=3)
    del packets[6]  # frame 2's start
    frames, plis = feed(buffer, packets[:12], clock, step=0.2)  # the keyframe comes late
    more, _ = feed(buffer, packets[12:], clock)
    assert buffer.skipped == 1 and plis >= 1
    # Frames 0 and 1, then the keyframe (frame 3) and all after it but the last, unfinished.
    assert [f.timestamp // 3000 for f in frames + more] == [0, 1, *range(3, 33)]
    assert (frames + more)[2].data.startswith(KEY)


def test_while_a_keyframe_is_awaited_a_second_gap_lets_nothing_stale_through():
    clock = Clock()
    buffer = GapSkipper(JitterBuffer(capacity=512, is_video=True), wait_s=0.6, clock=clock)
    packets = stream(1, [KEY] + [INTER] * 60, per_frame=2)
    del packets[40]  # a second loss while the keyframe asked for the first is on its way
    del packets[10]
    frames, plis = feed(buffer, packets, clock)
    assert [f.timestamp // 3000 for f in frames] == [0, 1, 2, 3, 4]  # up to frame 5, lost
    assert buffer.skipped == 2 and plis >= 2

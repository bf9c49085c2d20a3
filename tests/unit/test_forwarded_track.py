"""ForwardedTrack, the per-subscriber slot on the forwarding path, without a network."""

from __future__ import annotations

import asyncio

import pytest
from aiortc.mediastreams import MediaStreamError

from server.live.media import ForwardedTrack, Publication

KEY = b"\x00\x00\x00\x9d\x01\x2a" + b"k" * 20  # RFC 6386 keyframe tag and start code
DELTA = b"\x01" + b"d" * 20


class Upstream:
    def __init__(self) -> None:
        self.requests = 0

    def request_keyframe(self) -> None:
        self.requests += 1


def video(max_queue: int = 30) -> tuple[Publication, Upstream, ForwardedTrack]:
    publication = Publication(7, "video", keyframe_interval_s=0)
    upstream = Upstream()
    publication.attach(upstream)
    track = ForwardedTrack("video", max_queue)
    track.attach(publication)
    return publication, upstream, track


async def test_a_new_subscriber_waits_for_a_keyframe_and_asks_for_one():
    publication, upstream, track = video()
    publication.deliver(DELTA, 0)
    publication.deliver(DELTA, 3000)
    assert track.skipped == 2
    assert upstream.requests >= 1
    publication.deliver(KEY, 6000)
    publication.deliver(DELTA, 9000)
    first, second = await track.recv(), await track.recv()
    assert bytes(first) == KEY and bytes(second) == DELTA
    assert second.pts - first.pts == 3000


async def test_a_subscriber_that_lags_skips_to_the_next_keyframe():
    publication, upstream, track = video(max_queue=3)
    publication.deliver(KEY, 0)
    for i in range(1, 4):
        publication.deliver(DELTA, i * 3000)  # the fourth frame finds the queue full
    asked = upstream.requests
    publication.deliver(DELTA, 12000)
    assert upstream.requests > asked
    publication.deliver(KEY, 15000)
    frame = await asyncio.wait_for(track.recv(), 1)
    assert bytes(frame) == KEY


async def test_time_runs_on_when_the_publisher_reconnects():
    publication, _, track = video()
    publication.deliver(KEY, 90000)
    before = await track.recv()
    publication.attach(Upstream())  # a new connection: its timestamps start again
    await asyncio.sleep(0.05)
    publication.deliver(KEY, 0)
    after = await track.recv()
    assert after.pts > before.pts


async def test_a_sender_waiting_for_frames_ends_when_the_slot_stops():
    _, _, track = video()
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    track.stop()
    with pytest.raises(MediaStreamError):
        await asyncio.wait_for(waiting, 1)

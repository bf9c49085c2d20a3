"""The applicant on a weak network, made by the test on this machine (tests/support/wan.py):
a network namespace whose link to the server delays, loses and throttles packets.

At 400 kbit/s with 5% loss and 150 ms each way the applicant still gets through to the server
and to the host: the server's NACKs are answered with retransmissions and its keyframe
requests with keyframes, so the host's picture and the recorded composite keep moving. A 10 s
outage ends in a reconnect, with the room and its recording alive afterwards."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from recorder import files
from recorder.layout import Seat, arrange, fit
from server.archive import ArchiveStore
from server.clock import parse
from server.live import hooks
from tests.integration.test_forwarding import admit
from tests.support.peers import ColourTrack
from tests.support.reconnecting import ReconnectingClient
from tests.support.recordings import SCALE, Decoded, close_to, decode, wait_recordings
from tests.support.server import ROOT, ServerProcess, archive_at, write_config
from tests.support.wan import Impairment, NetworkUnavailable, WeakLink

RED, BLUE = (220, 30, 30), (40, 60, 230)
WEAK = Impairment(delay_ms=150, loss=0.05, rate_kbit=400)
OUTAGE = Impairment(loss=1.0)
MOVED = 10  # pixels that changed: the applicant's moving block, not encoder noise


@pytest.fixture
def link():
    try:
        made = WeakLink()
    except NetworkUnavailable as exc:
        pytest.skip(f"cannot make a network namespace for the weak link: {exc}")
    # The host's peer, in this process, gathers on this side of the link like the server.
    hooks.use_host_addresses([made.server_address])
    try:
        yield made
    finally:
        hooks.use_host_addresses(["127.0.0.1"])
        made.close()


class Applicant:
    """tests.support.netpeer running in the link's namespace; `state` is its latest report."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self.state: dict[str, Any] = {}
        self._reader: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()

    async def start(self, link: WeakLink, base_url: str, inspection: int, token: str) -> None:
        argv = [sys.executable, "-m", "tests.support.netpeer", base_url, str(inspection), token]
        self.proc = await asyncio.create_subprocess_exec(
            *link.command(*argv),
            cwd=ROOT,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            self.state = json.loads(line)
            self._changed.set()

    async def wait_for(self, predicate, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not (self.state and predicate(self.state)):
            if self.proc is not None and self.proc.returncode is not None:
                raise AssertionError(f"the applicant's peer exited ({self.proc.returncode})")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for the applicant: {what}; {self.state}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), 1.0)

    async def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            await asyncio.wait_for(self.proc.wait(), 15)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            await self._reader


async def room_over(link: WeakLink, tmp_path: Path):  # type: ignore[no-untyped-def]
    """The server on this side of the link, the host beside it, the applicant beyond it,
    admitted and seen by the host."""
    config = write_config(
        tmp_path,
        demo={"enabled": True},
        server={"host": link.server_address},
        # The server's media candidates on the link, and only the link's private /30 allowed
        # for the peers' candidates (the phone's, and the host's on this side of it).
        ice={"host_addresses": [link.server_address], "peer_networks": [link.network]},
    )
    server = ServerProcess(config, tmp_path).start()
    links = server.links()
    _, _, inspection, token = urlsplit(links["host"]).path.split("/")
    host = ReconnectingClient(
        server.base_url, int(inspection), token, video=ColourTrack(RED, 160, 120)
    )
    applicant = Applicant()
    await host.connect()
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    await applicant.start(
        link, server.base_url, int(inspection), links["applicant"].rsplit("/", 1)[1]
    )
    await applicant.wait_for(lambda s: s["status"] == "lobby", "in the lobby")
    await host.send({"type": "admit", "participant": applicant.state["id"]})
    await applicant.wait_for(lambda s: s["status"] == "admitted", "admitted")
    await host.frames_from(applicant.state["id"], 15, timeout=60)
    return server, host, applicant


def changes(video: Decoded, rect, start: float, end: float) -> list[int]:  # type: ignore[no-untyped-def]
    """For each frame between the times, how many pixels of `rect` (at the decoded scale)
    differ clearly from the frame before: 0 while the picture stands still."""
    x0, y0, x1, y1 = rect.x // SCALE, rect.y // SCALE, rect.right // SCALE, rect.bottom // SCALE
    first, last = video.at(start), video.at(end)
    tiles = [video.small[i][y0:y1, x0:x1].astype(np.int16) for i in range(first, last + 1)]
    return [int((np.abs(b - a).max(axis=2) > 24).sum()) for a, b in itertools.pairwise(tiles)]


def shares(video: Decoded, rect, start: float, end: float) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """What `rect` showed between the times, sampled every half second: the applicant (blue),
    someone else (the host's red), or neither (the recorder's grey placeholder)."""
    times = np.arange(start, end, 0.5)
    seen = [video.colour(float(t), rect) for t in times]
    applicant = sum(close_to(c, BLUE) for c in seen)
    someone_else = sum(close_to(c, RED) for c in seen)
    return {"applicant": applicant / len(seen), "someone else": someone_else / len(seen)}


def longest_still(moved: list[int], fps: float) -> float:
    """The longest run of frames in which the picture did not move, in seconds."""
    longest = run = 0
    for count in moved:
        run = run + 1 if count < MOVED else 0
        longest = max(longest, run)
    return longest / fps


async def recorded(tmp_path: Path, server: ServerProcess):  # type: ignore[no-untyped-def]
    archive = await ArchiveStore.open(archive_at(tmp_path))
    try:
        inspection_id = int(urlsplit(server.links()["host"]).path.split("/")[2])
        rows = await wait_recordings(archive, inspection_id)
        events = await archive.events.find(inspection_id=inspection_id)
    finally:
        await archive.close()
    composite = next(r for r in rows if r.kind == "composite")
    assert composite.state == "finished" and len([r for r in rows if r.kind == "composite"]) == 1
    return composite, decode(files.resolve_inside(tmp_path / "recordings", composite.path)), events


def applicant_rect(*staff: int, applicant_id: int | None = None):  # type: ignore[no-untyped-def]
    seats = [Seat(i, "staff") for i in staff] + [Seat(applicant_id or 0, "applicant")]
    return next(fit(640, 480, p.cell) for p in arrange(seats) if p.seat.id == applicant_id)


async def test_the_applicant_gets_through_at_400_kbit_with_loss_and_delay(link, tmp_path):
    link.impair(up=WEAK, down=WEAK)  # from the first packet on: the phone joins on it
    server, host, applicant = await room_over(link, tmp_path)
    me = applicant.state["id"]
    clerk = None
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        before = dict(applicant.state)
        weak_from = time.time()
        seen = [host.seen[me].frames]
        await asyncio.sleep(10)
        seen.append(host.seen[me].frames)
        # A clerk joins now: to see the applicant, a keyframe must cross the weak link.
        asked = dict(applicant.state)
        _, _, inspection, token = urlsplit(server.links()["clerk"]).path.split("/")
        clerk = ReconnectingClient(server.base_url, int(inspection), token, observe=True)
        await clerk.connect()
        await clerk.wait_for(lambda: clerk.welcome is not None, what="clerk welcome")
        await admit(host, clerk)
        await clerk.frames_from(me, 15, timeout=60)
        await asyncio.sleep(max(0.0, weak_from + 30 - time.time()))
        seen.append(host.seen[me].frames)
        after = dict(applicant.state)
        weak_to = time.time()
        link_counters = link.counters()
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", what="session ended")
    finally:
        await applicant.stop()
        for client in (host, clerk):
            if client is not None:
                await client.die()
        server.stop()

    # The link did its worst, both ways, and what was lost was asked for again.
    assert link_counters["up"]["lost"] > 0 and link_counters["down"]["lost"] > 0
    assert after["retransmitted"] > before["retransmitted"], (before, after)
    assert after["keyframes"] > asked["keyframes"], (asked, after)  # the clerk's keyframe
    assert after["connections"] == 1, after["reconnects"]  # it held on: no reconnect needed
    assert close_to(clerk.seen[me].colour, BLUE), clerk.seen[me].colour
    # The host saw the applicant all along: new frames in each half, in the right colour.
    assert seen[0] < seen[1] < seen[2], seen
    assert close_to(host.seen[me].colour, BLUE), host.seen[me].colour

    composite, video, _ = await recorded(tmp_path, server)
    rect = applicant_rect(host.id, clerk.id, applicant_id=me)
    zero = parse(composite.started_at).timestamp()
    start, end = weak_from - zero, min(weak_to - zero, video.duration - 0.5)
    middle = (start + end) / 2
    for first, last in ((start, middle), (middle, end)):
        moved = changes(video, rect, first, last)
        assert max(moved) >= MOVED, f"the applicant's tile froze from {first:.1f} s to {last:.1f} s"
        # A keyframe lost twice over can leave the tile on its placeholder for a moment (the
        # recorder shows one after 2 s without a picture); most of each half is the applicant.
        shown = shares(video, rect, first, last)
        print(f"\nfrom {first:.1f} s to {last:.1f} s the tile showed {shown}")
        assert shown["applicant"] >= 0.6 and shown["someone else"] == 0, (first, last, shown)
    still = longest_still(changes(video, rect, start, end), video.fps)
    print(
        f"\nweak link (400 kbit/s, 5% loss, 150 ms each way): the host got "
        f"{(seen[2] - seen[0]) / (weak_to - weak_from):.1f} applicant frames/s over "
        f"{weak_to - weak_from:.0f} s; the phone retransmitted "
        f"{after['retransmitted'] - before['retransmitted']} packets on NACK and sent "
        f"{after['keyframes'] - before['keyframes']} keyframes on request; its video bitrate "
        f"settled at {after['video_kbps']} kbit/s; longest still stretch of its tile in the "
        f"recording: {still:.2f} s; link counters {link_counters}"
    )


async def test_a_10_s_outage_ends_in_a_reconnect_and_the_room_goes_on(link, tmp_path):
    server, host, applicant = await room_over(link, tmp_path)
    me = applicant.state["id"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await host.frames_from(me, 30, timeout=60)
        cut = time.time()
        link.impair(up=OUTAGE, down=OUTAGE)
        await asyncio.sleep(10)
        link.impair(up=Impairment(), down=Impairment())
        restored = time.time()
        frames = host.seen[me].frames
        await applicant.wait_for(
            lambda s: s["connections"] >= 2 and s["status"] == "admitted", "back after the outage"
        )
        await host.frames_from(me, 30, timeout=60)
        media_back = time.time()
        await host.wait_for(
            lambda: any(m["id"] == me and m["status"] == "admitted" for m in host.roster),
            what="the applicant admitted in the roster",
        )
        reconnects = applicant.state["reconnects"]
        await asyncio.sleep(3)
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", what="session ended")
    finally:
        await applicant.stop()
        await host.die()
        server.stop()

    assert host.seen[me].frames > frames
    gave_up = [t for t, why in reconnects if why.startswith("gave up")]
    assert gave_up and cut < gave_up[0], reconnects  # the phone noticed, it was not told
    composite, video, events = await recorded(tmp_path, server)
    back = [
        e
        for e in events
        if e.type == "participant.reconnected"
        and e.actor == str(me)
        and parse(e.at).timestamp() > cut
    ]
    assert back, "no reconnect in the event log"
    rect = applicant_rect(host.id, applicant_id=me)
    zero = parse(composite.started_at).timestamp()
    after = max(parse(back[0].at).timestamp(), media_back) - zero
    moved = changes(video, rect, after, video.duration - 0.5)
    assert max(moved) >= MOVED, "the applicant's tile does not move after the reconnect"
    assert close_to(video.colour(video.duration - 1.0, rect), BLUE)
    print(
        f"\noutage: the phone gave up its connection {gave_up[0] - cut:.1f} s into the 10 s "
        f"outage, was admitted again {applicant.state['admitted_at'][-1] - restored:.1f} s and "
        f"the host saw its video again {media_back - restored:.1f} s after the link came back"
    )

"""kill -9 of the server in the middle of a live session, then the restart a service manager
does: the host and a clerk (aiortc peers that reconnect as the page does) and the applicant's
phone (real Chromium) come back by themselves without a new admission, the session is still
live with its checklist, and the recording goes on as the next segment; the two segments,
decoded with PyAV, cover the session but for the gap.

The server gets its listening socket from the test, as from a systemd socket unit, so the
restarted server is at the same address (web/listening.py)."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from recorder import files
from recorder.layout import Seat, arrange, fit
from recorder.writer import probe
from server.archive import ArchiveStore
from server.clock import parse
from tests.integration.test_forwarding import admit
from tests.support.browser import CHROMIUM, PHONE, TILE_VIDEO, launch, make_y4m
from tests.support.peers import ColourTrack, ToneTrack
from tests.support.reconnecting import ReconnectingClient
from tests.support.recordings import close_to, decode, wait_recordings
from tests.support.server import ServerProcess, write_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (40, 60, 230)


def client_for(server: ServerProcess, role: str, **tracks) -> ReconnectingClient:  # type: ignore[no-untyped-def]
    _, _, inspection, token = urlsplit(server.links()[role]).path.split("/")
    return ReconnectingClient(server.base_url, int(inspection), token, observe=False, **tracks)


def member_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1].split(".")[2])


def item_of(client: ReconnectingClient, item_id: int) -> dict:
    assert client.checklist is not None
    return next(i for i in client.checklist["items"] if i["id"] == item_id)


async def until(check, what: str, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def composite_written(tmp_path: Path, seconds: float) -> bool:
    """Whether the unfinished composite on disk already plays for `seconds`."""
    for path in (tmp_path / "recordings").glob(f"*/*/*-composite{files.TEMP_MARK}.mp4"):
        try:
            stats = await asyncio.get_running_loop().run_in_executor(None, probe, path)
        except Exception:  # nothing readable yet
            return False
        return stats.duration_s >= seconds
    return False


async def phone_frames(phone, participant: int) -> int:  # type: ignore[no-untyped-def]
    state = await phone.evaluate(TILE_VIDEO, participant)
    return state["frames"] if state and state["width"] else 0


async def test_kill_9_mid_session_everyone_comes_back_and_the_recording_goes_on(tmp_path):
    from playwright.async_api import async_playwright

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    config = write_config(tmp_path, demo={"enabled": True})
    server = ServerProcess(config, tmp_path, listen=listener).start()
    links = server.links()
    applicant_id = member_id(links["applicant"])
    host = client_for(server, "host", video=ColourTrack(RED, 320, 240), audio=ToneTrack(440))
    clerk = client_for(server, "clerk", video=ColourTrack(GREEN, 320, 240))
    restarted: ServerProcess | None = None
    playwright = await async_playwright().start()
    browser = await launch(playwright, make_y4m(tmp_path / "site.y4m", BLUE))
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted", what="host seated")
        await clerk.connect()
        await clerk.wait_for(lambda: clerk.welcome is not None, what="clerk welcome")
        await admit(host, clerk)
        context = await browser.new_context(ignore_https_errors=True, **PHONE)
        phone = await context.new_page()
        await phone.goto(links["applicant"])
        await phone.tap("#join")
        await phone.wait_for_selector("#status-line[data-status=status_lobby]", timeout=30000)
        await host.send({"type": "admit", "participant": applicant_id})
        await phone.wait_for_selector("#status-line[data-status=status_connected]", timeout=30000)
        await host.frames_from(applicant_id, 10, timeout=40)

        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        # Checklist state before the crash: the identity step verified, point 2 current.
        assert host.checklist is not None
        items = host.checklist["items"]
        identity = next(i for i in items if i["kind"] == "identity")
        point = next(i for i in items if i["kind"] == "point")
        await host.send({"type": "mark", "item": identity["id"], "verdict": "verified"})
        await host.send({"type": "current", "item": point["id"]})
        await host.wait_for(
            lambda: (
                host.checklist["current"] == point["id"]
                and item_of(host, identity["id"])["mark"] is not None
            ),
            what="checklist marked",
        )
        # Kill once the composite holds a few seconds (on a busy machine the recorder may be
        # slow to start: a kill before its first fragment would leave nothing to recover).
        await until(lambda: composite_written(tmp_path, 5.0), "5 s of composite on disk")
        await phone.evaluate(
            "window.oldPc = window.kanyan.client.pc; window.statuses = [];"
            "window.kanyan.client.addEventListener('status',"
            " (e) => window.statuses.push(e.detail.status))"
        )
        before = {c: c.connections for c in (host, clerk)}

        killed_at = time.time()
        server.kill(signal.SIGKILL)  # the whole process group: the recorder dies with it
        restarted = ServerProcess(config, tmp_path, listen=listener).start()
        serving_at = time.time()

        # Everyone comes back by themselves, and nobody has to be admitted again.
        for client in (host, clerk):
            await client.wait_for(
                lambda c=client: c.connections > before[c] and c.status == "admitted",
                timeout=60,
                what="back in the room",
            )
        # (Polled with evaluate: the page's CSP refuses the eval that wait_for_function uses.)
        await until(
            lambda: phone.evaluate(
                "() => Boolean(window.kanyan.client.pc && window.kanyan.client.pc !== window.oldPc"
                " && window.kanyan.client.status === 'connected')"
            ),
            "the phone back on a new connection",
        )
        await host.wait_for(
            lambda: (
                {(m["id"], m["status"]) for m in host.roster}
                == {(host.id, "admitted"), (clerk.id, "admitted"), (applicant_id, "admitted")}
            ),
            timeout=60,
            what="the whole roster admitted",
        )
        back_at = time.time()
        assert host.state == "live"
        assert [m["type"] for m in clerk.messages].count("lobby") == 1  # before admission
        statuses = await phone.evaluate("window.statuses")
        assert "lobby" not in statuses and statuses[0] == "reconnecting", statuses
        assert await phone.get_attribute("#status-line", "data-status") == "status_connected"
        # The checklist comes back from the archive.
        await host.wait_for(lambda: host.checklist["current"] == point["id"], what="current")
        assert item_of(host, identity["id"])["mark"]["verdict"] == "verified"
        assert point["id"] == int(await phone.get_attribute("#now-verifying", "data-item"))
        # Media flows again, both ways.
        await host.frames_from(applicant_id, 15, timeout=40)
        await clerk.frames_from(host.id, 10, timeout=40)
        seen = await phone_frames(phone, host.id)
        await until(lambda: _more(phone, host.id, seen), "the phone sees the host again")

        await asyncio.sleep(5)
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", what="session ended")
    finally:
        await browser.close()
        await playwright.stop()
        for client in (host, clerk):
            await client.die()
        server.stop()
        if restarted is not None:
            restarted.stop()
        listener.close()

    archive = await ArchiveStore.open(tmp_path / "data" / "kanyan.sqlite3")
    try:
        inspection_id = int(urlsplit(links["host"]).path.split("/")[2])
        rows = await wait_recordings(archive, inspection_id)
        events = await archive.events.find(inspection_id=inspection_id)
    finally:
        await archive.close()
    started = parse(next(e for e in events if e.type == "session.started").data["started_at"])
    ended = parse(next(e for e in events if e.type == "session.ended").data["ended_at"])
    started, ended = started.timestamp(), ended.timestamp()
    composites = sorted((r for r in rows if r.kind == "composite"), key=lambda r: r.segment)
    assert [(r.segment, r.state) for r in composites] == [(1, "interrupted"), (2, "finished")]
    gap = next(e for e in events if e.type == "recording.gap")
    assert gap.data["reason"] == "server_restarted"
    restored = next(e for e in events if e.type == "room.restored")
    assert sorted(restored.data["seated"]) == sorted([host.id, clerk.id, applicant_id])

    # What PyAV decodes of the two segments, on the server's clock.
    root = tmp_path / "recordings"
    spans = []
    for row in composites:
        video = decode(files.resolve_inside(root, row.path))
        assert (video.width, video.height) == (1280, 720)
        assert abs(video.duration - row.duration_s) < 0.2
        begin = parse(row.started_at).timestamp()
        spans.append((begin, begin + video.duration, video))
    (start1, end1, video1), (start2, end2, video2) = spans
    # The first segment starts with the session, the gap takes over where it ends and the
    # second segment starts where the gap does; it runs to the end of the session.
    assert abs(start1 - started) < 0.1
    assert abs(parse(gap.data["start"]).timestamp() - end1) < 0.2
    assert parse(gap.data["end"]).timestamp() == start2
    assert start1 < end1 <= killed_at < start2 < ended
    assert abs(end2 - ended) < 1.0
    # Both segments show the people: the applicant large, the host and the clerk beside.
    seats = [Seat(host.id, "host"), Seat(clerk.id, "clerk"), Seat(applicant_id, "applicant")]
    rects = {p.seat.id: fit(640, 480, p.cell) for p in arrange(seats)}
    for video in (video1, video2):
        late = video.duration - 1.0
        assert close_to(video.colour(late, rects[applicant_id]), BLUE), video.colour(
            late, rects[applicant_id]
        )
    print(
        f"\nrestart: server down {serving_at - killed_at:.2f} s (kill → serving); everyone back "
        f"{back_at - serving_at:.2f} s after it served ({back_at - killed_at:.2f} s after the "
        f"kill); recording gap {gap.data['seconds']:.2f} s; segments {end1 - start1:.1f} s + "
        f"{end2 - start2:.1f} s of a {ended - started:.1f} s session"
    )


async def _more(phone, participant: int, than: int) -> bool:  # type: ignore[no-untyped-def]
    return await phone_frames(phone, participant) > than + 10

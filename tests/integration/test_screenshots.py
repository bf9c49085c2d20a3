"""Screenshots: from the source video at its own resolution, watermarked, hashed, archived,
shown to staff, and refused to those who may not take them."""

from __future__ import annotations

import hashlib
import io

import aiohttp
import numpy as np
from PIL import Image

from recorder import files
from tests.integration.test_forwarding import admit
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.recordings import wait_recordings

BLUE = (40, 60, 230)


def messages(client: RoomClient, kind: str) -> list[dict]:
    return [m for m in client.messages if m["type"] == kind]


async def room_with_hd_applicant(server):
    invited = await server.invite("host", "applicant", "observer")
    host = RoomClient.of(
        server, invited, "host", video=ColourTrack((200, 200, 200), 320, 240), audio=ToneTrack(440)
    )
    applicant = RoomClient.of(
        server,
        invited,
        "applicant",
        video=ColourTrack(BLUE, 1280, 720),
        audio=ToneTrack(880),
        observe=False,
    )
    observer = RoomClient.of(server, invited, "observer", observe=False)
    for client in (host, applicant, observer):
        await client.connect()
        await client.wait_for(lambda c=client: c.welcome is not None, what="welcome")
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    await admit(host, applicant)
    await admit(host, observer)
    await host.frames_from(applicant.id, 10)
    return invited, host, applicant, observer


async def fetch(server, inspection_id: int, token: str, shot_id: int) -> tuple[int, str, bytes]:
    url = f"{server.base_url}/room/{inspection_id}/{token}/screenshots/{shot_id}.jpg"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, ssl=False) as response:
            return response.status, response.headers.get("Content-Type", ""), await response.read()


async def test_screenshot_at_source_resolution_without_a_recording(server):
    invited, host, applicant, observer = await room_with_hd_applicant(server)
    try:
        # The session has not started: nothing is being recorded, screenshots still work.
        assert host.state != "live"
        await host.send({"type": "screenshot", "participant": applicant.id, "note": "营业执照"})
        await host.wait_for(lambda: messages(host, "screenshot"), what="screenshot message")
        shot = messages(host, "screenshot")[0]["screenshot"]
        await applicant.wait_for(
            lambda: any(m.get("code") == "screenshot_saved" for m in messages(applicant, "notice")),
            what="applicant told",
        )

        # The applicant and the observer may not take screenshots: refused by the server.
        for refused in (applicant, observer):
            await refused.send({"type": "screenshot", "participant": host.id})
            await refused.wait_for(lambda r=refused: r.errors, what="refusal")
            assert refused.errors[-1]["code"] == "forbidden"
            assert refused.errors[-1]["ref"] == "screenshot"
        # Nor can a screenshot name someone who is not in the room.
        await host.send({"type": "screenshot", "participant": 999999})
        await host.wait_for(lambda: host.errors, what="unknown participant")
        assert host.errors[-1]["code"] == "not_found"
        assert not messages(observer, "screenshot")  # observers do not get the strip

        status, kind, body = await fetch(
            server, invited.inspection.id, invited.token("host"), shot["id"]
        )
        for role in ("observer", "applicant"):
            refused_status, _, _ = await fetch(
                server, invited.inspection.id, invited.token(role), shot["id"]
            )
            assert refused_status == 403
        missing, _, _ = await fetch(
            server, invited.inspection.id, invited.token("host"), shot["id"] + 1
        )
        assert missing == 404
    finally:
        for client in (host, applicant, observer):
            await client.close()

    rows = await server.archive.evidence.screenshots(invited.inspection.id)
    assert len(rows) == 1
    row = rows[0]
    assert (row.participant_id, row.taker_id, row.note) == (applicant.id, host.id, "营业执照")
    assert row.recording_id is None and row.offset_s is None and row.checklist_item_id is None
    path = files.resolve_inside(server.settings.recordings_dir, row.path)
    data = path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == row.sha256 == shot["sha256"]
    assert (path.stat().st_mode & 0o777) == 0o600
    assert path.parent.name == str(invited.inspection.id)
    assert status == 200 and kind == "image/jpeg" and body == data

    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG" and image.size == (1280, 720) == (row.width, row.height)
    pixels = np.asarray(image.convert("RGB")).astype(int)
    top = pixels[200:500].reshape(-1, 3).mean(axis=0)
    assert all(abs(a - b) < 25 for a, b in zip(top, BLUE, strict=True)), top
    # The watermark: a darkened band at the foot carrying white text.
    band = pixels[-50:]
    assert band.mean() < 0.6 * pixels[200:500].mean()
    assert np.count_nonzero(band.min(axis=2) > 200) > 300
    events = await server.archive.events.find(inspection_id=invited.inspection.id)
    taken = [e for e in events if e.type == "screenshot.taken"]
    assert len(taken) == 1 and taken[0].data["sha256"] == row.sha256


async def test_screenshot_during_recording_knows_its_place_in_it(server):
    invited, host, applicant, observer = await room_with_hd_applicant(server)
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await host.wait_for(
            lambda: any(m["state"] == "recording" for m in messages(host, "recording")),
            what="recording mark",
        )
        await host.send({"type": "screenshot", "participant": applicant.id})
        await host.wait_for(lambda: messages(host, "screenshot"), what="screenshot")
        await host.end_session()
        rows = await wait_recordings(server.archive, invited.inspection.id)
    finally:
        for client in (host, applicant, observer):
            await client.close()
    shot = (await server.archive.evidence.screenshots(invited.inspection.id))[0]
    composite = next(r for r in rows if r.kind == "composite")
    assert shot.recording_id == composite.id
    assert 0 < shot.offset_s < composite.duration_s
    # Everyone is told the session is recorded, with the time since it started.
    for client in (host, applicant, observer):
        marks = messages(client, "recording")
        assert marks and marks[0]["state"] == "recording" and marks[0]["elapsed_s"] >= 0

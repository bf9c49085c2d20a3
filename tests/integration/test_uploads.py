"""The applicant's resumable upload (tus 1.0) and the checks that decide on the video, against
the real server: every protocol rule, a connection cut mid-chunk, the tuspy client, accepted and
rejected videos, HEVC made playable, and a reviewer's screenshot equal to the source frame."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import io

import aiohttp
import numpy as np
import pytest
from PIL import Image

from server import clock
from server.archive import GroupMember
from server.cases.checklist import catalog_points
from server.services import STATUS_LINKS, VIDEO
from server.video import processing
from tests.support.server import make_settings, running_server
from tests.support.videos import make_video

CATALOG = """
[[item]]
code = "TEST-VIDEO"
name = "测试事项"
video_allowed = true
checklist = ["申请人出示身份证件并承诺所展示现场真实", "门头招牌", "经营场所"]
[item.shooting]
min_duration_s = 10
min_width = 320
min_height = 240
must_show = ["门头", "经营场所"]
"""
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def settings(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    return make_settings(
        tmp_path, cases={"catalog": str(catalog)}, uploads={"max_bytes": 4 * 1024**2}
    )


@pytest.fixture
async def server(settings):
    async with running_server(settings) as running:
        yield running


async def awaiting_video(server) -> tuple[object, str]:
    """A case whose self-recorded inspection awaits the video; (case, its uploads URL)."""
    archive = server.archive
    case = await archive.cases.create(
        application_no=f"V-{clock.now().timestamp()}",
        applicant_name="陈申请",
        item_code="TEST-VIDEO",
        item_name="测试事项",
    )
    [version] = await archive.catalog.versions("TEST-VIDEO")
    await archive.inspections.schedule(
        case.id,
        clock.now_iso(),
        version.id,
        [GroupMember("host", "张审查"), GroupMember("applicant", "陈申请")],
        actor="test",
        checklist=catalog_points(version.data["checklist"]),
        method="video",
    )
    path = await server.app[STATUS_LINKS].path(case)
    return case, f"{server.base_url}{path}/uploads"


def meta(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


async def create(session, url: str, length: int, **headers) -> aiohttp.ClientResponse:
    return await session.post(
        url,
        headers={
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": meta(filename="site.mp4"),
            **headers,
        },
        ssl=False,
    )


async def patch(session, location: str, offset: int, body, **headers):
    return await session.patch(
        location,
        data=body,
        headers={
            **TUS,
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
        ssl=False,
    )


async def offset_of(session, location: str) -> int:
    async with session.head(location, headers=TUS, ssl=False) as response:
        assert response.status == 200, response.status
        return int(response.headers["Upload-Offset"])


async def wait_checked(session, location: str) -> dict:
    for _ in range(300):
        async with session.get(location, ssl=False) as response:
            state = await response.json()
        if state["state"] in ("accepted", "rejected"):
            return state
        await asyncio.sleep(0.1)
    raise AssertionError(f"not checked: {state}")


async def test_the_tus_protocol_rules(server, tmp_path):
    _case, url = await awaiting_video(server)
    data = make_video(tmp_path / "site.mp4", seconds=11, size=(320, 240)).read_bytes()
    async with aiohttp.ClientSession() as session:
        async with session.options(url, ssl=False) as response:
            assert response.status == 204
            assert "creation" in response.headers["Tus-Extension"]
            assert "termination" in response.headers["Tus-Extension"]
            assert int(response.headers["Tus-Max-Size"]) == 4 * 1024**2
        # Without the protocol version: 412 naming the one spoken.
        async with session.post(url, headers={"Upload-Length": "10"}, ssl=False) as response:
            assert response.status == 412 and response.headers["Tus-Version"] == "1.0.0"
        # Over the cap: 413 before a byte is sent.
        async with await create(session, url, 5 * 1024**2) as response:
            assert response.status == 413
        async with await create(session, url, len(data)) as response:
            assert response.status == 201, await response.text()
            location = server.base_url + response.headers["Location"]
            assert response.headers["Upload-Expires"].endswith("GMT")
        assert await offset_of(session, location) == 0
        # Wrong content type: 415; wrong offset: 409; nothing written.
        async with await patch(
            session, location, 0, data[:10], **{"Content-Type": "text/plain"}
        ) as r:
            assert r.status == 415
        async with await patch(session, location, 5, data[:10]) as r:
            assert r.status == 409
        assert await offset_of(session, location) == 0
        # A wrong checksum discards the chunk (460); a right one keeps it.
        bad = base64.b64encode(hashlib.sha1(b"other").digest()).decode()
        async with await patch(
            session, location, 0, data[:1000], **{"Upload-Checksum": f"sha1 {bad}"}
        ) as r:
            assert r.status == 460
        assert await offset_of(session, location) == 0
        good = base64.b64encode(hashlib.sha1(data[:1000]).digest()).decode()
        async with await patch(
            session, location, 0, data[:1000], **{"Upload-Checksum": f"sha1 {good}"}
        ) as r:
            assert r.status == 204 and r.headers["Upload-Offset"] == "1000"
        # More bytes than announced: 413.
        async with await patch(session, location, 1000, data[1000:] + b"extra") as r:
            assert r.status == 413
        # The rest, in two chunks.
        offset = await offset_of(session, location)
        half = (len(data) + offset) // 2
        async with await patch(session, location, offset, data[offset:half]) as r:
            assert r.status == 204
        async with await patch(session, location, half, data[half:]) as r:
            assert r.status == 204 and int(r.headers["Upload-Offset"]) == len(data)
        state = await wait_checked(session, location)
        assert state["state"] == "accepted", state
        # Another case's link does not see this upload.
        _other, other_url = await awaiting_video(server)
        upload_id = location.rsplit("/", 1)[1]
        async with session.head(f"{other_url}/{upload_id}", headers=TUS, ssl=False) as r:
            assert r.status == 404


async def test_a_connection_cut_mid_chunk_resumes_from_the_last_byte(server, tmp_path):
    case, url = await awaiting_video(server)
    data = make_video(tmp_path / "site.mp4", seconds=11, size=(320, 240)).read_bytes()
    async with aiohttp.ClientSession() as session:
        async with await create(session, url, len(data)) as response:
            location = server.base_url + response.headers["Location"]

        async def cut_short():
            yield data[:20000]
            await asyncio.sleep(0.3)  # let the server write what arrived
            raise ConnectionResetError("the 4G signal dropped")

        with pytest.raises((aiohttp.ClientError, ConnectionResetError)):
            async with await patch(session, location, 0, cut_short()):
                pass
    async with aiohttp.ClientSession() as session:  # a new connection, as after a network change
        for _ in range(50):
            offset = await offset_of(session, location)
            if offset:
                break
            await asyncio.sleep(0.1)
        assert 0 < offset <= 20000
        async with await patch(session, location, offset, data[offset:]) as r:
            assert r.status == 204
        state = await wait_checked(session, location)
    assert state["state"] == "accepted"
    [upload] = await server.archive.uploads.of_case(case.id)
    original = await server.archive.evidence.recording(upload.recording_id)
    assert original.sha256 == hashlib.sha256(data).hexdigest()


async def test_a_resume_while_the_old_connection_hangs_takes_over_from_it(server, tmp_path):
    """Wi-Fi to 4G: the old connection is dead but the server has not noticed (no reset came),
    and the phone resumes on a new one. The resume's HEAD stops the old request, which keeps
    what arrived, and gives its final offset; the PATCH goes on from there."""
    case, url = await awaiting_video(server)
    data = make_video(tmp_path / "site.mp4", seconds=11, size=(320, 240)).read_bytes()
    hang = asyncio.Event()
    async with aiohttp.ClientSession() as old, aiohttp.ClientSession() as new:
        async with await create(new, url, len(data)) as response:
            location = server.base_url + response.headers["Location"]

        async def then_silence():
            yield data[:30000]
            await hang.wait()  # the radio went away: nothing more, no reset either
            yield b""

        stalled = asyncio.ensure_future(patch(old, location, 0, then_silence()))
        await asyncio.sleep(1.0)  # the server is reading the old request
        offset = await offset_of(new, location)
        assert offset == 30000  # all that arrived is kept
        async with await patch(new, location, offset, data[offset:]) as r:
            assert r.status == 204, await r.text()
        state = await wait_checked(new, location)
        stalled.cancel()
        with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
            await stalled
    assert state["state"] == "accepted"
    [upload] = await server.archive.uploads.of_case(case.id)
    original = await server.archive.evidence.recording(upload.recording_id)
    assert original.sha256 == hashlib.sha256(data).hexdigest()


async def test_termination_and_expiry(server, tmp_path):
    case, url = await awaiting_video(server)
    async with aiohttp.ClientSession() as session:
        async with await create(session, url, 1000) as response:
            first = server.base_url + response.headers["Location"]
        async with session.delete(first, headers=TUS, ssl=False) as response:
            assert response.status == 204
        async with session.head(first, headers=TUS, ssl=False) as response:
            assert response.status == 410
        async with await create(session, url, 1000) as response:
            second = server.base_url + response.headers["Location"]
        async with await patch(session, second, 0, b"x" * 100) as r:
            assert r.status == 204
        async with server.archive.db.transaction() as tx:  # as if a day had passed
            await tx.execute("UPDATE uploads SET expires_at = '2000-01-01T00:00:00.000Z'")
        assert await server.app[VIDEO].expire_stale() == 1
        async with session.head(second, headers=TUS, ssl=False) as response:
            assert response.status == 410
        async with await patch(session, second, 100, b"x" * 100) as r:
            assert r.status == 410
    assert not list((server.settings.data_dir / "uploads").glob("*.part"))
    states = [u.state for u in await server.archive.uploads.of_case(case.id)]
    assert states == ["cancelled", "expired"]


async def test_the_tuspy_client_uploads(server, tmp_path):
    from tusclient import client

    case, url = await awaiting_video(server)
    video = make_video(tmp_path / "site.mp4", seconds=11, size=(320, 240))

    def upload() -> None:
        uploader = client.TusClient(url).uploader(
            str(video), chunk_size=64 * 1024, verify_tls_cert=False, upload_checksum=True
        )
        uploader.upload()

    await asyncio.to_thread(upload)
    [made] = await server.archive.uploads.of_case(case.id)
    async with aiohttp.ClientSession() as session:
        state = await wait_checked(session, f"{url}/{made.id}")
    assert state["state"] == "accepted"


async def test_each_failure_is_told_and_another_attempt_is_kept(server, tmp_path):
    case, url = await awaiting_video(server)
    short = make_video(tmp_path / "short.mp4", seconds=3, size=(320, 240)).read_bytes()
    async with aiohttp.ClientSession() as session:
        async with await create(session, url, len(short)) as response:
            location = server.base_url + response.headers["Location"]
        async with await patch(session, location, 0, short):
            pass
        state = await wait_checked(session, location)
    assert state["state"] == "rejected"
    assert [f["code"] for f in state["failures"]] == ["too_short"]
    assert "少于要求的 10 秒" in state["failures"][0]["message"]
    inspection = (await server.archive.inspections.of_case(case.id))[0]
    assert inspection.state == "scheduled"  # still awaiting a video: the applicant tries again
    [rejected] = await server.archive.uploads.of_case(case.id)
    kept = await server.archive.evidence.recording(rejected.recording_id)
    assert kept.kind == "upload" and kept.sha256 == hashlib.sha256(short).hexdigest()
    events = await server.archive.events.find(case_id=case.id, types=["video.rejected"])
    assert events[0].data["failures"][0]["code"] == "too_short"


async def test_hevc_is_made_playable_and_a_screenshot_is_the_source_frame(server, tmp_path):
    case, url = await awaiting_video(server)
    source = make_video(tmp_path / "iphone.mp4", seconds=11, size=(320, 240), codec="libx265")
    data = source.read_bytes()
    async with aiohttp.ClientSession() as session:
        async with await create(session, url, len(data)) as response:
            location = server.base_url + response.headers["Location"]
        async with await patch(session, location, 0, data):
            pass
        state = await wait_checked(session, location)
    assert state["state"] == "accepted", state
    [upload] = await server.archive.uploads.of_case(case.id)
    kinds = {r.kind: r for r in await server.archive.evidence.recordings(upload.inspection_id)}
    assert {"upload", "playable", "poster", "strip"} <= set(kinds)
    assert upload.playable_id == kinds["playable"].id
    playable = server.settings.recordings_dir / kinds["playable"].path
    from server.video.checks import inspect

    facts = await asyncio.to_thread(inspect, playable)
    assert facts.video_codec == "h264" and facts.browser_playable
    inspection = await server.archive.inspections.get(upload.inspection_id)
    assert inspection.state == "reviewing"
    assert (await server.archive.cases.get(case.id)).state == "awaiting_conclusion"

    [applicant] = [
        i for i in await server.archive.inspections.invitees(inspection.id) if i.role == "applicant"
    ]
    shot = await server.app[VIDEO].screenshot(
        inspection,
        4.0,
        taker=(0, "张审查", "host"),
        subject=(applicant.id, applicant.name),
        item_id=None,
    )
    assert (shot.width, shot.height) == (320, 240) and shot.offset_s == 4.0
    stored = Image.open(io.BytesIO((server.settings.recordings_dir / shot.path).read_bytes()))
    expected = await asyncio.to_thread(
        processing.frame_image, server.settings.recordings_dir / kinds["upload"].path, 4.0
    )
    # Above the watermark band the screenshot is the source frame (JPEG noise aside).
    top = slice(0, 150)
    got = np.asarray(stored.convert("RGB"))[top].astype(int)
    want = np.asarray(expected.convert("RGB"))[top].astype(int)
    assert np.abs(got - want).mean() < 3
    neighbour = await asyncio.to_thread(
        processing.frame_image, server.settings.recordings_dir / kinds["upload"].path, 4.5
    )
    assert np.abs(got - np.asarray(neighbour.convert("RGB"))[top].astype(int)).mean() > 3

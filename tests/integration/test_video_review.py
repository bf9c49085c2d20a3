"""The review of a self-recorded video and the applicant's side of it, against the real server:
who may do what, a screenshot at an instant equal to the source frame at that instant, marks and
notes stamped with the video's instant, the conclusion (the inspection and case move, the record
names the video and its hash), 要求重新拍摄, and the status page showing the shooting requirements
and the upload only while a video is awaited."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import time
from datetime import timedelta

import aiohttp
import numpy as np
import pypdf
import pytest
from PIL import Image

from server import clock
from server.archive import GroupMember
from server.cases.checklist import catalog_points
from server.errors import UserError
from server.services import CASES, STATUS_LINKS
from server.video import processing
from tests.support.server import make_settings, running_server
from tests.support.staff import INTAKE_FORM, StaffBrowser, make_account
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
must_show = ["门头招牌", "经营场所内部全貌"]
"""
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def settings(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    return make_settings(tmp_path, cases={"catalog": str(catalog)})


@pytest.fixture
async def server(settings):
    async with running_server(settings) as running:
        yield running


@pytest.fixture
async def people(server):
    """Logged-in staff: an inspector and a clerk in the group, a clerk outside it, an archivist,
    an admin, and an inspector who holds no seat."""
    archive = server.archive
    accounts = {
        "host": await make_account(archive, "zhang", "inspector"),
        "clerk": await make_account(archive, "li", "clerk"),
        "other_clerk": await make_account(archive, "wang", "clerk"),
        "archivist": await make_account(archive, "zhao", "archivist"),
        "admin": await make_account(archive, "root", "admin"),
        "inspector": await make_account(archive, "sun", "inspector"),
    }
    tabs = {}
    for who, account in accounts.items():
        tab = StaffBrowser(server.base_url)
        assert (await tab.login(account.username)).status == 303
        tab.account = account
        tabs[who] = tab
    yield tabs
    for tab in tabs.values():
        await tab.close()


async def video_case(server, people, *, application_no: str | None = None):
    """A case whose self-recorded inspection awaits the video: (case, inspection, uploads URL)."""
    archive = server.archive
    case = await archive.cases.create(
        application_no=application_no or f"V-{time.time_ns()}",
        applicant_name="陈申请",
        item_code="TEST-VIDEO",
        item_name="测试事项",
        section=INTAKE_FORM["section"],  # the clerks' section: they see their sections' cases
    )
    [version] = await archive.catalog.versions("TEST-VIDEO")
    inspection = await archive.inspections.schedule(
        case.id,
        clock.iso(clock.now() + timedelta(days=3)),
        version.id,
        [
            GroupMember("host", "张审查", user_id=people["host"].account.id),
            GroupMember("clerk", "李审批", user_id=people["clerk"].account.id),
            GroupMember("applicant", "陈申请"),
        ],
        actor="test",
        checklist=catalog_points(version.data["checklist"]),
        method="video",
    )
    path = await server.app[STATUS_LINKS].path(case)
    return case, inspection, f"{server.base_url}{path}/uploads"


async def send(url: str, data: bytes) -> str:
    """One tus upload in one PATCH; the attempt's id once it is checked."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url, headers={**TUS, "Upload-Length": str(len(data))}, ssl=False
        ) as response:
            assert response.status == 201, await response.text()
            location = response.headers["Location"]
        async with session.patch(
            url.split("/s/")[0] + location,
            data=data,
            headers={
                **TUS,
                "Upload-Offset": "0",
                "Content-Type": "application/offset+octet-stream",
            },
            ssl=False,
        ) as response:
            assert response.status == 204
        upload_id = location.rsplit("/", 1)[1]
        for _ in range(300):
            async with session.get(f"{url}/{upload_id}", ssl=False) as response:
                state = (await response.json())["state"]
            if state in ("accepted", "rejected"):
                return upload_id
            await asyncio.sleep(0.1)
    raise AssertionError("the upload was not checked")


@pytest.fixture
async def reviewing(server, people, tmp_path):
    """A case whose video passed its checks and is under review."""
    case, inspection, url = await video_case(server, people)
    video = make_video(tmp_path / "site.mp4", seconds=11, size=(320, 240))
    upload_id = await send(url, video.read_bytes())
    upload = await server.archive.uploads.get(upload_id)
    assert upload.state == "accepted", upload.failures
    return case, await server.archive.inspections.get(inspection.id), upload, video


async def post_json(tab: StaffBrowser, path: str, body: dict) -> tuple[int, dict]:
    async with tab.session.post(
        tab.base_url + path,
        json=body,
        headers={"X-CSRF-Token": tab.csrf, "Accept": "application/json"},
    ) as response:
        return response.status, await response.json()


async def get_json(tab: StaffBrowser, path: str) -> tuple[int, dict]:
    async with tab.session.get(tab.base_url + path, headers={"Accept": "application/json"}) as r:
        return r.status, await r.json()


async def test_who_may_watch_mark_and_conclude(server, people, reviewing):
    case, inspection, upload, _ = reviewing
    base = f"/inspections/{inspection.id}"
    items = await server.archive.checklists.items(inspection.id)
    mark = {"item": items[0].id, "verdict": "verified", "note": "", "at": 1.0}

    # Watching: every role that sees cases, not the admin.
    for who in ("host", "clerk", "other_clerk", "archivist", "inspector"):
        status, view = await get_json(people[who], f"{base}/review")
        assert status == 200, who
        assert view["video"]["sha256"] == upload.sha256
    assert (await people["admin"].get(f"{base}/review")).status == 403
    _, view = await get_json(people["clerk"], f"{base}/review")
    assert view["may"] == {"review": True, "conclude": False}
    _, view = await get_json(people["other_clerk"], f"{base}/review")
    assert view["may"] == {"review": False, "conclude": False}
    _, view = await get_json(people["inspector"], f"{base}/review")
    assert view["may"] == {"review": True, "conclude": True}

    # Marking: inspectors and the group's members by account; not a clerk outside the group,
    # nor an archivist.
    for who, expected in (
        ("clerk", 200),
        ("inspector", 200),
        ("host", 200),
        ("other_clerk", 403),
        ("archivist", 403),
        ("admin", 403),
    ):
        status, _ = await post_json(people[who], f"{base}/review/marks", mark)
        assert status == expected, who
    # Concluding and asking again: inspectors only.
    conclusion = {"verdict": "pass", "reasons": "现场符合要求", "at": 2.0}
    for who in ("clerk", "other_clerk", "archivist"):
        status, body = await post_json(people[who], f"{base}/review/conclusion", conclusion)
        assert status == 403, who
        assert "无权" in body["error"]["message"]
        status, _ = await post_json(people[who], f"{base}/review/ask-again", {"reason": "看不清"})
        assert status == 403, who
    # Without the form token: refused like every other staff post.
    async with people["host"].session.post(
        people["host"].base_url + f"{base}/review/marks", json=mark
    ) as response:
        assert response.status == 403
    # The case page shows the review tools only to those who may use them.
    page = await people["clerk"].get(f"/cases/{case.id}")
    assert 'data-may-review="1"' in page.text and 'data-may-conclude="0"' in page.text
    assert "review-conclusion" not in page.text
    page = await people["archivist"].get(f"/cases/{case.id}")
    assert 'data-may-review="0"' in page.text and "review-shot" not in page.text
    page = await people["host"].get(f"/cases/{case.id}")
    assert "review-conclusion" in page.text and "ask-again-form" in page.text
    assert upload.sha256 in page.text
    assert 'id="schedule-link"' not in page.text  # the video under review holds the case


async def test_the_video_plays_with_range_requests(server, people, reviewing):
    _, inspection, _, video = reviewing
    tab = people["archivist"]
    async with tab.session.get(
        f"{tab.base_url}/inspections/{inspection.id}/video", headers={"Range": "bytes=100-199"}
    ) as response:
        assert response.status == 206
        assert response.headers["Content-Type"] == "video/mp4"
        assert response.headers["Content-Range"].startswith("bytes 100-199/")
        assert await response.read() == video.read_bytes()[100:200]
    for kind in ("poster", "strip"):
        picture = await tab.get(f"/inspections/{inspection.id}/video/{kind}.jpg")
        assert picture.status == 200 and picture.headers["Content-Type"] == "image/jpeg"
    # Nothing to play for an inspection whose video has not come yet.
    _, waiting, _ = await video_case(server, people)
    assert (await tab.get(f"/inspections/{waiting.id}/video")).status == 404


async def test_a_screenshot_is_the_source_frame_at_that_instant(server, people, reviewing):
    _, inspection, upload, video = reviewing
    tab = people["clerk"]
    base = f"/inspections/{inspection.id}/review"
    items = await server.archive.checklists.items(inspection.id)
    status, _ = await post_json(tab, f"{base}/current", {"item": items[1].id, "at": 3.5})
    assert status == 200
    status, view = await post_json(tab, f"{base}/screenshots", {"at": 4.0})
    assert status == 201, view
    shot = await server.archive.evidence.screenshot(view["screenshot"])
    assert shot.offset_s == 4.0 and shot.checklist_item_id == items[1].id
    assert shot.recording_id == upload.recording_id
    assert (shot.width, shot.height) == (320, 240)
    stored = Image.open(io.BytesIO((server.settings.recordings_dir / shot.path).read_bytes()))
    expected = await asyncio.to_thread(processing.frame_image, video, 4.0)
    neighbour = await asyncio.to_thread(processing.frame_image, video, 4.5)
    top = slice(0, 150)  # above the watermark band
    got = np.asarray(stored.convert("RGB"))[top].astype(int)
    assert np.abs(got - np.asarray(expected.convert("RGB"))[top].astype(int)).mean() < 3
    assert np.abs(got - np.asarray(neighbour.convert("RGB"))[top].astype(int)).mean() > 3
    # It shows in the review, and on the timeline at its instant.
    assert [s["id"] for s in view["screenshots"]] == [shot.id]
    markers = [(m["kind"], m["at"]) for m in view["timeline"]["markers"]]
    assert ("screenshot", 4.0) in markers and ("current", 3.5) in markers
    # The staff route serves it.
    assert (await tab.get(f"/screenshots/{shot.id}.jpg")).status == 200
    # An instant outside the video, or none, is refused.
    for body in ({"at": 99.0}, {}, {"at": "4"}, {"at": -1}):
        status, _ = await post_json(tab, f"{base}/screenshots", body)
        assert status == 400, body


async def test_marks_and_notes_carry_the_instant_in_the_video(server, people, reviewing):
    _, inspection, upload, _ = reviewing
    tab = people["host"]
    base = f"/inspections/{inspection.id}/review"
    items = await server.archive.checklists.items(inspection.id)
    status, view = await post_json(
        tab,
        f"{base}/marks",
        {"item": items[1].id, "verdict": "rectify", "note": "招牌破损", "at": 6.25},
    )
    assert status == 200
    status, view = await post_json(
        tab, f"{base}/notes", {"text": "门头已拍清楚", "item": items[1].id, "at": 7.5}
    )
    assert status == 200
    [mark] = await server.archive.checklists.marks(inspection.id)
    assert (mark.offset_s, mark.recording_id) == (6.25, upload.recording_id)
    assert (mark.actor, mark.actor_name, mark.actor_role) == ("staff:zhang", "zhang", "host")
    [entry] = await server.archive.checklists.entries(inspection.id)
    assert entry.offset_s == 7.5 and entry.item_id == items[1].id
    point = next(i for i in view["checklist"]["items"] if i["id"] == items[1].id)
    assert point["mark"]["verdict"] == "rectify" and point["mark"]["offset_s"] == 6.25
    assert [(m["kind"], m["at"]) for m in view["timeline"]["markers"]] == [
        ("mark", 6.25),
        ("note", 7.5),
    ]
    # An inspector without a seat is stamped as an inspector.
    status, _ = await post_json(
        people["inspector"],
        f"{base}/marks",
        {"item": items[2].id, "verdict": "conforms", "at": 9.0},
    )
    assert status == 200
    last = (await server.archive.checklists.marks(inspection.id))[-1]
    assert (last.actor, last.actor_role) == ("staff:sun", "inspector")
    # The rules of the checklist still hold: the identity step is verified, not "conforms".
    status, body = await post_json(
        tab, f"{base}/marks", {"item": items[0].id, "verdict": "conforms", "at": 1.0}
    )
    assert status == 400 and body["error"]["code"] == "bad_verdict"
    status, _ = await post_json(tab, f"{base}/marks", {"item": "x", "verdict": "conforms"})
    assert status == 400


async def test_the_conclusion_finishes_the_inspection_and_the_record_names_the_video(
    server, people, reviewing
):
    case, inspection, upload, _ = reviewing
    tab = people["host"]
    base = f"/inspections/{inspection.id}/review"
    items = await server.archive.checklists.items(inspection.id)
    await post_json(tab, f"{base}/marks", {"item": items[0].id, "verdict": "verified", "at": 1.0})
    await post_json(
        people["inspector"],
        f"{base}/marks",
        {"item": items[1].id, "verdict": "conforms", "at": 5.0},
    )
    status, _ = await post_json(tab, f"{base}/screenshots", {"at": 2.0})
    assert status == 201
    # The rules of the room: a rectify conclusion needs its deadline and rectifications.
    status, body = await post_json(
        tab, f"{base}/conclusion", {"verdict": "rectify", "reasons": "招牌破损", "at": 3.0}
    )
    assert status == 400 and "deadline" in body["error"]["fields"]
    status, view = await post_json(
        tab, f"{base}/conclusion", {"verdict": "pass", "reasons": "现场与申请材料一致", "at": 10.0}
    )
    assert status == 200, view
    assert view["conclusion"]["verdict"] == "pass"
    assert view["may"] == {"review": False, "conclude": False}
    assert (await server.archive.inspections.get(inspection.id)).state == "concluded"
    assert (await server.archive.cases.get(case.id)).state == "passed"
    conclusion = await server.archive.conclusions.of_inspection(inspection.id)
    assert conclusion.offset_s == 10.0 and conclusion.actor == "staff:zhang"
    # Once only; and nothing more is marked on a concluded inspection.
    status, _ = await post_json(tab, f"{base}/conclusion", {"verdict": "pass", "reasons": "再次"})
    assert status == 409
    status, _ = await post_json(
        tab, f"{base}/marks", {"item": items[1].id, "verdict": "conforms", "at": 1.0}
    )
    assert status == 409

    record = await wait_record(server, inspection.id)
    pdf = server.settings.recordings_dir / record.pdf_path
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    flat = re.sub(r"\s+", "", text)
    assert upload.sha256 in flat
    assert "申请人自行录制现场视频" in flat
    assert "320×240" in flat and "现场视频" in flat
    assert "通过" in flat
    html = (server.settings.recordings_dir / record.html_path).read_text()
    assert "一次不间断拍摄" in html and "site.mp4" not in html  # no name sent: none shown
    # Who signs: the group's host, clerk and expert, and the inspector who reviewed without a
    # seat in the group.
    signing = html.split("八、签名", 1)[1]
    assert "张审查" in signing and "李审批" in signing
    assert "<td>勘验人员</td><td>sun</td>" in signing
    # The case page shows the conclusion, the record, and the video read-only.
    page = await tab.get(f"/cases/{case.id}")
    assert f"/records/{record.id}.pdf" in page.text
    assert "review-conclusion" not in page.text and 'data-video="1"' in page.text


async def wait_record(server, inspection_id: int, timeout: float = 90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = await server.archive.records.of_inspection(inspection_id)
        if records:
            return records[-1]
        await asyncio.sleep(0.2)
    raise AssertionError("no record")


async def test_asking_again_returns_the_inspection_to_awaiting_a_video(
    server, people, reviewing, tmp_path
):
    case, inspection, upload, _ = reviewing
    tab = people["inspector"]
    base = f"/inspections/{inspection.id}/review"
    status, _ = await post_json(tab, f"{base}/ask-again", {"reason": " "})
    assert status == 400
    status, _ = await post_json(tab, f"{base}/ask-again", {"reason": "门头招牌没有拍到"})
    assert status == 200
    assert (await server.archive.inspections.get(inspection.id)).state == "scheduled"
    assert (await server.archive.cases.get(case.id)).state == "scheduled"
    # The video stays archived; the applicant sees why and uploads again.
    assert (await server.archive.uploads.get(upload.id)).state == "accepted"
    status_path = await server.app[STATUS_LINKS].path(case)
    async with aiohttp.ClientSession() as session:
        async with session.get(server.base_url + status_path, ssl=False) as response:
            page = await response.text()
    assert 'id="video-upload"' in page and "门头招牌没有拍到" in page
    # Awaiting a video again, the case page offers no room: no personal links, no room QR.
    staff_page = await tab.get(f"/cases/{case.id}")
    assert staff_page.status == 200 and "/room/" not in staff_page.text
    assert 'id="applicant-room-qr"' not in staff_page.text
    assert f"/inspections/{inspection.id}/notice" not in staff_page.text
    second = make_video(tmp_path / "again.mp4", seconds=12, size=(320, 240))
    again = await send(f"{server.base_url}{status_path}/uploads", second.read_bytes())
    assert (await server.archive.uploads.get(again)).state == "accepted"
    assert (await server.archive.inspections.get(inspection.id)).state == "reviewing"
    _, view = await get_json(tab, base)
    assert view["video"]["upload"] == again
    assert view["video"]["sha256"] == hashlib.sha256(second.read_bytes()).hexdigest()


async def test_the_status_page_shows_requirements_and_upload_only_while_a_video_is_awaited(
    server, people, tmp_path
):
    _, inspection, url = await video_case(server, people)
    status_url = url.rsplit("/uploads", 1)[0]
    async with aiohttp.ClientSession() as session:

        async def page() -> str:
            async with session.get(status_url, ssl=False) as response:
                assert response.status == 200
                return await response.text()

        text = await page()
        assert 'id="video-upload"' in text and 'id="video-requirements"' in text
        assert 'accept="video/*" capture="environment"' in text
        assert "vendor/tus.min.js" in text and "js/upload.js" in text
        assert "门头招牌" in text and "经营场所内部全貌" in text  # must_show
        assert "10 秒" in text and "320×240" in text and "自我介绍" in text
        assert "一次拍完" in text
        assert clock.shanghai(inspection.submission_deadline, "%Y-%m-%d %H:%M") in text
        assert "<script>" not in text  # no inline scripts: the config is JSON data
        async with session.get(status_url + "?lang=en", ssl=False) as response:
            english = await response.text()
        assert "How to film it" in english and "At least <strong>10 seconds long" in english
        # A rejected video is listed with what to do; the upload stays.
        short = make_video(tmp_path / "short.mp4", seconds=3, size=(320, 240))
        await send(url, short.read_bytes())
        text = await page()
        assert 'id="video-upload"' in text and 'data-state="rejected"' in text
        assert "少于要求的 10 秒" in text
        # Accepted: under review, no upload.
        good = make_video(tmp_path / "good.mp4", seconds=11, size=(320, 240))
        await send(url, good.read_bytes())
        text = await page()
        assert 'id="video-upload"' not in text and "upload.js" not in text
        assert 'id="video-under-review"' in text and 'data-state="accepted"' in text
        assert "视频审查中" in text
        # Concluded: the conclusion as for a live inspection, still no upload.
        await post_json(
            people["host"],
            f"/inspections/{inspection.id}/review/conclusion",
            {"verdict": "pass", "reasons": "现场符合要求"},
        )
        text = await page()
        assert 'id="video-upload"' not in text and 'id="conclusion"' in text
        assert 'data-verdict="pass"' in text


async def test_a_live_inspection_shows_no_upload(server):
    invited = await server.invite("host", "applicant")
    case = await server.archive.cases.get(invited.inspection.case_id)
    path = await server.app[STATUS_LINKS].path(case)
    async with aiohttp.ClientSession() as session:
        async with session.get(server.base_url + path, ssl=False) as response:
            text = await response.text()
    assert 'id="video-upload"' not in text and "upload.js" not in text


async def test_a_reviewed_video_holds_the_case(server, people, reviewing):
    case, inspection, _, _ = reviewing
    tab = people["host"]
    await tab.get(f"/cases/{case.id}")
    # Not moved (only asking for another video sends it back), nor a second one scheduled.
    response = await tab.post(
        f"/inspections/{inspection.id}/reschedule",
        {"scheduled_at": "2099-01-01T09:30", "reason": "改期"},
    )
    assert response.status in (400, 409)
    assert (await server.archive.inspections.get(inspection.id)).state == "reviewing"
    with pytest.raises(UserError, match="已有待进行的勘验"):
        await server.app[CASES].schedule(
            case.id,
            clock.now() + timedelta(days=1),
            [GroupMember("host", "张审查"), GroupMember("applicant", "陈申请")],
            actor="test",
            method="video",
        )


async def test_moving_a_video_inspection_moves_its_deadline(server, people):
    _, inspection, _ = await video_case(server, people)
    when = clock.now() + timedelta(days=5)
    moved = await server.app[CASES].reschedule(inspection.id, when, "申请人请求延期", actor="test")
    assert moved.submission_deadline == moved.scheduled_at == clock.iso(when)

"""The archive in real Chromium: a real session is recorded (aiortc peers in this process,
the server in its own), concluded and archived; an archivist logs in, finds the case by the
applicant's name, plays the recording, clicks a checklist mark on the evidence timeline and the
video is there, downloads the recording and the case package, and the package verifies."""

from __future__ import annotations

import asyncio
import hashlib
import re
from pathlib import Path

import pytest

from server.archive import ArchiveStore
from server.archive.package import verify
from tests.support.browser import ARGS, CHROMIUM
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.server import ServerProcess, write_config
from tests.support.staff import PASSWORD, StaffBrowser, make_account

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


def peer(server: ServerProcess, link: str, **kwargs) -> RoomClient:  # type: ignore[no-untyped-def]
    inspection, token = link.split("/room/", 1)[1].split("/", 1)
    return RoomClient(server.base_url, int(inspection), token, observe=False, **kwargs)


async def record_and_archive(server: ServerProcess, database: Path) -> dict:
    """The demo inspection held by aiortc peers — a point marked 4 s in, a screenshot, 通过 —
    then closed (办结) by an inspector in the staff pages, which archives it."""
    links = server.links()
    host = peer(server, links["host"])
    applicant = peer(
        server, links["applicant"], video=ColourTrack((40, 60, 230)), audio=ToneTrack(660)
    )
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted")
        await applicant.connect()
        await applicant.wait_for(lambda: applicant.welcome is not None)
        await host.send({"type": "admit", "participant": applicant.id})
        await host.frames_from(applicant.id, 5)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live")
        await host.wait_for(lambda: host.checklist is not None)
        assert host.checklist is not None
        point = host.checklist["items"][1]["id"]
        await asyncio.sleep(1.5)
        await host.send({"type": "current", "item": point})
        await asyncio.sleep(2.5)
        await host.send({"type": "mark", "item": point, "verdict": "conforms", "note": "一致"})
        await asyncio.sleep(2.5)
        await host.send({"type": "screenshot", "participant": applicant.id})
        await host.wait_for(lambda: any(m["type"] == "screenshot" for m in host.messages))
        await asyncio.sleep(2.5)
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed")
    finally:
        await host.close()
        await applicant.close()

    inspection_id = host.inspection
    archive = await ArchiveStore.open(database)
    try:
        await make_account(archive, "zhangsan", "inspector")
        await make_account(archive, "wangwu", "archivist")
        for _ in range(600):
            rows = await archive.evidence.recordings(inspection_id)
            records = await archive.records.of_inspection(inspection_id)
            if rows and all(r.state != "recording" for r in rows) and records:
                break
            await asyncio.sleep(0.1)
        inspection = await archive.inspections.get(inspection_id)
        async with StaffBrowser(server.base_url) as inspector:
            await inspector.login("zhangsan")
            await inspector.get(f"/cases/{inspection.case_id}")
            response = await inspector.post(f"/cases/{inspection.case_id}/close", {"note": "办结"})
            assert response.status == 303, response.text[:500]
        case = await archive.cases.get(inspection.case_id)
        assert case.state == "archived"
        composite = next(
            r for r in await archive.evidence.recordings(inspection_id) if r.kind == "composite"
        )
        [mark] = await archive.events.find(inspection_id=inspection_id, types=["checklist.marked"])
        return {
            "case": case,
            "inspection": inspection_id,
            "composite": composite,
            "mark_event": mark.id,
        }
    finally:
        await archive.close()


async def downloads_by(database: Path, case_id: int, actor: str) -> list:
    archive = await ArchiveStore.open(database)
    try:
        events = await archive.events.find(case_id=case_id, types=["file.downloaded"])
        exports = await archive.events.find(case_id=case_id, types=["case.exported"])
        return [e for e in events + exports if e.actor == actor]
    finally:
        await archive.close()


def test_an_archivist_finds_plays_seeks_and_downloads(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    server = ServerProcess(write_config(tmp_path, demo={"enabled": True}), tmp_path).start()
    database = tmp_path / "data" / "kanyan.sqlite3"
    try:
        made = asyncio.run(record_and_archive(server, database))
        case, composite = made["case"], made["composite"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = browser.new_context(
                    ignore_https_errors=True,
                    locale="zh-CN",
                    viewport={"width": 1280, "height": 900},
                    accept_downloads=True,
                )
                page = context.new_page()
                page.on("dialog", lambda dialog: dialog.accept())
                page.goto(server.base_url + "/login")
                page.fill("input[name=username]", "wangwu")
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                page.wait_for_url("**/dashboard")

                # Find the case by the applicant's name.
                page.click("nav >> text=档案")
                page.wait_for_url("**/archive")
                page.fill("#archive-search input[name=applicant]", "示例餐饮店")
                page.click("#archive-search button[type=submit]")
                rows = page.locator("#archive-results tr.archive-row")
                expect(rows).to_have_count(1)
                expect(rows.first).to_contain_text(case.case_no)
                rows.first.locator("a").first.click()
                page.wait_for_url(f"**/archive/cases/{case.id}")
                expect(page.locator("#case-state")).to_have_text("已归档")
                case_url = page.url

                # Play the recording.
                page.click(f"#inspection-{made['inspection']} a.play-link")
                page.wait_for_url(f"**/archive/inspections/{made['inspection']}*")
                expect(page.locator("#player[data-ready='1'] video")).to_be_attached()
                video = page.locator("#player video")
                page.evaluate(
                    "() => { const v = document.querySelector('#player video');"
                    " v.muted = true; return v.play(); }"
                )
                page.wait_for_function(
                    "() => document.querySelector('#player video').currentTime > 1",
                    timeout=20000,
                )
                width = video.evaluate("v => v.videoWidth")
                assert width == 1280

                # Click the checklist mark on the timeline: the video is at its instant.
                video.evaluate("v => v.pause()")
                marker = page.locator(
                    f".timeline-bar .timeline-marker.kind-mark[data-event='{made['mark_event']}']"
                )
                at = float(marker.get_attribute("data-at"))
                assert 2.5 < at < composite.duration_s, at
                marker.click()
                page.wait_for_function(
                    "(at) => { const v = document.querySelector('#player video');"
                    " return !v.seeking && Math.abs(v.currentTime - at) < 0.3; }",
                    arg=at,
                    timeout=10000,
                )
                now = video.evaluate("v => v.currentTime")
                assert abs(now - at) < 0.3, (now, at)
                expect(page.locator(".timeline-list")).to_contain_text("第 2 项 符合")

                # Download the recording from the case page: the very bytes archived.
                page.goto(case_url)
                link = page.locator(f"tr.recording-row[data-recording='{composite.id}'] a.download")
                with page.expect_download() as download_info:
                    link.click()
                download = download_info.value
                # Chromium takes the RFC 5987 name: case, inspection, Beijing time, segment.
                name = download.suggested_filename
                assert name.startswith(f"{case.case_no}-第1次勘验-") and name.endswith(
                    "合成录像-s01.mp4"
                )
                saved = tmp_path / "recording.mp4"
                download.save_as(saved)
                assert hashlib.sha256(saved.read_bytes()).hexdigest() == composite.sha256

                # The case package, streamed; it verifies.
                size = int(page.get_attribute("#package-size", "data-bytes"))
                with page.expect_download(timeout=60000) as download_info:
                    page.click("#export-package")
                download = download_info.value
                assert re.fullmatch(
                    rf"{case.case_no}-案件包-\d{{8}}-\d{{6}}\.zip", download.suggested_filename
                )
                package = tmp_path / "package.zip"
                download.save_as(package)
                # "About" the size the page said (records and the manifest are compressed).
                assert abs(package.stat().st_size - size) < 0.1 * size + 65536
                verdict = verify(package)
                assert verdict.ok, verdict.problem
                assert verdict.files >= 4 and verdict.events > 10
            finally:
                browser.close()
        # The archive's log has the archivist's every transfer, with its range, and the export.
        events = asyncio.run(downloads_by(database, case.id, "staff:wangwu"))
        ranges = [e.data.get("range") for e in events if e.type == "file.downloaded"]
        assert any(r.startswith("bytes 0-") for r in ranges), ranges  # the player's requests
        assert "whole" in ranges  # the download
        assert [e.data["complete"] for e in events if e.type == "case.exported"] == [True]
    finally:
        server.stop()

"""A self-recorded inspection in real Chromium, from the applicant's phone to the conclusion.

An inspector schedules the case for a self-recorded video. On an emulated phone the applicant
opens the status link, reads what to film and chooses a video; tus-js-client uploads it in
pieces; the network drops mid-upload and comes back, and the upload goes on from where it
stopped; paused and reloaded, it goes on again once the same file is chosen (one attempt in the
archive, its bytes those of the file); the page shows 已通过自动检查.
The inspector opens the case on the desktop, plays the video, sets the current point, takes a
screenshot of the frame shown, marks the points and pronounces 通过; the applicant's status page
shows the result."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.support.browser import ARGS, CHROMIUM, PHONE
from tests.support.server import ROOT, ServerProcess, write_config
from tests.support.staff import beijing
from tests.support.videos import make_video

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

CATALOG = """
[[item]]
code = "SHOP-VIDEO"
name = "小型商铺登记"
video_allowed = true
checklist = ["申请人出示身份证件并承诺所展示现场真实", "门头招牌", "经营场所"]
[item.shooting]
min_duration_s = 10
min_width = 640
min_height = 360
must_show = ["门头招牌", "经营场所内部全貌"]
"""
CHUNK = 128 * 1024
NEW_PASSWORD = "Kanyan-2026-review"
ADD_INSPECTOR = ["user", "add", "zhangsan", "--role", "inspector", "--display-name", "张三"]
# Upload progress at least `percent` and in the middle of a piece of `chunk` bytes.
MID_PIECE = """([chunk, percent]) => {
  const sent = Number(document.querySelector('#upload-file').dataset.sent || 0);
  const into = sent % chunk;
  return Number(document.querySelector('#upload-bar').value) >= percent
    && into > chunk * 0.2 && into < chunk * 0.8;
}"""
DESKTOP = {"viewport": {"width": 1366, "height": 900}, "ignore_https_errors": True}


@pytest.fixture
def server(tmp_path):
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(CATALOG)
    config = write_config(tmp_path, cases={"catalog": str(catalog)}, uploads={"chunk_bytes": CHUNK})
    added = subprocess.run(
        [sys.executable, "-m", "server", "--config", str(config), *ADD_INSPECTOR],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    process = ServerProcess(config, tmp_path).start()
    process.one_time = re.search(r"one-time password: (\S+)", added.stdout).group(1)
    yield process
    process.stop()


def schedule_video_inspection(page, base: str, one_time: str) -> tuple[str, str]:
    """Log in (a new password first), register a case, schedule it for a self-recorded video:
    (the case page's address, the applicant's status link)."""
    page.goto(base + "/login")
    page.fill("input[name=username]", "zhangsan")
    page.fill("input[name=password]", one_time)
    page.click("button[type=submit]")
    page.wait_for_url("**/account/password")
    page.fill("input[name=current]", one_time)
    page.fill("input[name=new]", NEW_PASSWORD)
    page.fill("input[name=repeat]", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/dashboard?notice=password_changed")
    page.click("nav >> text=登记案件")
    page.fill("input[name=application_no]", "SQ20261127000888")
    page.select_option("select[name=item_code]", "SHOP-VIDEO")
    page.fill("input[name=applicant_name]", "柳江区示例商铺")
    page.fill("input[name=applicant_id_no]", "91450221MA5KDEM012")
    page.fill("input[name=applicant_phone]", "13812345678")
    page.fill("input[name=site_address]", "柳州市柳江区拉堡镇示例路 2 号")
    page.fill("input[name=section]", "行政审批股")
    page.click("#intake-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+\?notice=created"))
    page.click("#schedule-link")
    page.check("input[name=method][value=video]")
    page.fill("input[name=scheduled_at]", beijing(timedelta(days=2)))
    page.click("#schedule-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/cases/\d+\?notice=scheduled"))
    return page.url.split("?")[0], page.input_value("#status-link input.link-field")


def test_phone_upload_survives_a_network_drop_then_review_and_conclusion(server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    base = server.base_url
    # 1280×720, 11 s, with a band of noise so that it takes a good many pieces.
    video = make_video(tmp_path / "现场.mp4", seconds=11, size=(1280, 720), noise_rows=16)
    data = video.read_bytes()
    assert len(data) > 8 * CHUNK
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            desk = browser.new_context(**DESKTOP, locale="zh-CN")
            staff = desk.new_page()
            staff.on("dialog", lambda dialog: dialog.accept())
            case_url, status_link = schedule_video_inspection(staff, base, server.one_time)
            case_id = int(case_url.rsplit("/", 1)[1])

            # The applicant's phone: the status link says what to film and by when.
            phone_context = browser.new_context(**PHONE, ignore_https_errors=True, locale="zh-CN")
            phone = phone_context.new_page()
            requests: list[tuple[str, str]] = []
            phone.on(
                "request",
                lambda r: (
                    requests.append((r.method, r.headers.get("upload-offset", "")))
                    if "/uploads" in r.url and r.method in ("POST", "PATCH")
                    else None
                ),
            )
            phone.goto(status_link)
            expect(phone.locator("#video-requirements")).to_contain_text("门头招牌")
            expect(phone.locator("#video-requirements")).to_contain_text("640×360")
            assert phone.locator("#video-record").get_attribute("capture") == "environment"
            assert phone.locator("#video-record").get_attribute("accept") == "video/*"

            # A slow uplink, so that the network can drop mid-upload.
            cdp = phone_context.new_cdp_session(phone)
            cdp.send("Network.enable")
            slow = {
                "offline": False,
                "latency": 20,
                "downloadThroughput": -1,
                "uploadThroughput": 400 * 1024,
            }
            cdp.send("Network.emulateNetworkConditions", slow)
            phone.set_input_files("#video-choose", str(video))
            expect(phone.locator("#upload-status")).to_have_attribute(
                "data-state", "uploading", timeout=10000
            )
            # The network drops in the middle of a piece.
            phone.wait_for_function(MID_PIECE, arg=[CHUNK, 25], timeout=30000)
            phone_context.set_offline(True)
            expect(phone.locator("#upload-status")).to_have_attribute(
                "data-state", "offline", timeout=10000
            )
            expect(phone.locator("#upload-status")).to_contain_text("网络已断开")
            sent_before = int(phone.get_attribute("#upload-file", "data-sent") or 0)
            assert 0 < sent_before < len(data)
            phone.wait_for_timeout(1500)
            dropped = len(requests)
            phone_context.set_offline(False)
            cdp.send("Network.emulateNetworkConditions", slow)
            expect(phone.locator("#upload-status")).to_have_attribute(
                "data-state", "uploading", timeout=10000
            )

            # Paused, the page reloaded: choosing the same file again goes on where it stopped.
            phone.wait_for_function(MID_PIECE, arg=[CHUNK, 60], timeout=30000)
            phone.click("#upload-pause")
            expect(phone.locator("#upload-status")).to_have_attribute("data-state", "paused")
            paused = len(requests)
            phone.reload()
            expect(phone.locator("#upload-resume-hint")).to_contain_text("现场.mp4")
            cdp.send("Network.emulateNetworkConditions", {**slow, "uploadThroughput": -1})
            phone.set_input_files("#video-choose", str(video))
            expect(phone.locator("#upload-status")).to_have_attribute(
                "data-state", "accepted", timeout=120000
            )
            expect(phone.locator("#upload-status")).to_have_text("已通过自动检查")
            expect(phone.locator("#attempts li")).to_have_count(1)

            # One attempt, created once and continued from where it stopped: after the drop
            # (and after the reload) the next piece starts at the byte the server kept, inside
            # the piece that was cut, never at 0.
            posts = [offset for method, offset in requests if method == "POST"]
            assert len(posts) == 1, requests
            before = [int(o) for method, o in requests[:dropped] if method == "PATCH"]
            after = [int(o) for method, o in requests[dropped:paused] if method == "PATCH"]
            assert before[0] == 0 and after, requests
            assert 0 < before[-1] <= after[0] <= before[-1] + CHUNK, (before, after)
            assert after == sorted(after) and after[-1] < len(data), after
            reloaded = [int(o) for method, o in requests[paused:] if method == "PATCH"]
            assert 0 < after[-1] <= reloaded[0] <= after[-1] + CHUNK, (after, reloaded)
            database = sqlite3.connect(tmp_path / "data" / "kanyan.sqlite3")
            uploads = database.execute(
                "SELECT state, length, recording_id, sha256 FROM uploads WHERE case_id = ?",
                (case_id,),
            ).fetchall()
            assert len(uploads) == 1, uploads
            state, length, recording_id, sha256 = uploads[0]
            assert (state, length, sha256) == (
                "accepted",
                len(data),
                hashlib.sha256(data).hexdigest(),
            )
            [path] = database.execute(
                "SELECT path FROM recordings WHERE id = ?", (recording_id,)
            ).fetchone()
            assert (tmp_path / "recordings" / path).read_bytes() == data
            database.close()

            # The reviewer plays it, walks the checklist against it and concludes.
            staff.goto(case_url)
            expect(staff.locator("#case-state")).to_have_text("视频审查中")
            review = staff.locator(".video-review[data-video]")
            expect(review.locator(".video-sha256")).to_have_text(sha256)
            points = review.locator(".review-points li.point")
            expect(points).to_have_count(3, timeout=20000)
            player = review.locator("video.evidence-video")
            staff.wait_for_function(
                "() => document.querySelector('video.evidence-video').readyState >= 1"
            )
            player.evaluate("v => { v.muted = true; return v.play(); }")
            staff.wait_for_function(
                "() => document.querySelector('video.evidence-video').currentTime > 1.5",
                timeout=20000,
            )
            player.evaluate("v => v.pause()")

            points.nth(0).locator("button.set-current").click()
            expect(points.nth(0)).to_have_class(re.compile(r"\bcurrent\b"))
            points.nth(0).locator("button.mark-verified").click()
            expect(points.nth(0)).to_have_attribute("data-verdict", "verified")
            at = player.evaluate("v => v.currentTime")
            review.locator(".review-shot").click()
            expect(review.locator(".review-gallery figure")).to_have_count(1, timeout=20000)
            expect(review.locator(".review-message")).to_contain_text("截图已保存")
            expect(review.locator(".review-gallery img")).to_have_js_property("complete", True)
            assert review.locator(".review-gallery img").evaluate("i => i.naturalWidth") == 1280
            # The screenshot and the mark are on the timeline.
            expect(review.locator(".timeline-marker.kind-screenshot")).to_have_count(1)
            expect(review.locator(".timeline-marker.kind-mark")).to_have_count(1)
            shot_at = float(
                review.locator(".timeline-marker.kind-screenshot").get_attribute("data-at")
            )
            assert abs(shot_at - at) < 0.01

            player.evaluate("v => { v.currentTime = 6; }")
            staff.wait_for_function(
                "() => Math.abs(document.querySelector('video.evidence-video').currentTime - 6)"
                " < 0.2"
            )
            for index in (1, 2):
                points.nth(index).locator("button.set-current").click()
                expect(points.nth(index)).to_have_class(re.compile(r"\bcurrent\b"))
                points.nth(index).locator("input.mark-note").fill("清楚可见")
                points.nth(index).locator("button.mark-conforms").click()
                expect(points.nth(index)).to_have_attribute("data-verdict", "conforms")
            expect(review.locator(".timeline-marker.kind-mark")).to_have_count(3)

            form = review.locator(".review-conclusion")
            form.locator("input[name=verdict][value=pass]").check()
            form.locator("textarea[name=reasons]").fill("现场与申请材料一致，符合要求")
            form.locator("button[type=submit]").click()  # the confirm dialog is accepted
            expect(staff.locator("#case-state")).to_have_text("勘验通过", timeout=20000)
            expect(
                staff.locator(f"#inspection-{review.get_attribute('data-inspection')}")
            ).to_have_attribute("data-state", "concluded")

            # The applicant's status page shows the result.
            phone.reload()
            expect(phone.locator("#conclusion")).to_have_attribute("data-verdict", "pass")
            expect(phone.locator("#conclusion .verdict")).to_contain_text("通过")
            assert phone.locator("#video-upload").count() == 0
        finally:
            browser.close()

"""In real Chromium: the host sees the recording mark, clicks 截图 and the thumbnail appears,
pronounces the conclusion and ends the session; the recording that session leaves plays and
seeks in Chromium's own <video>."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, launch, make_y4m
from tests.support.server import ServerProcess, write_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


def test_host_takes_a_screenshot_and_the_recording_plays_in_chromium(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    camera = make_y4m(tmp_path / "camera.y4m", (30, 160, 60))
    server = ServerProcess(write_config(tmp_path, demo={"enabled": True}), tmp_path).start()
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, camera)
            page = browser.new_page(ignore_https_errors=True)
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(server.links()["host"])
            page.click("#join")
            expect(page.locator("#status-line")).to_have_attribute(
                "data-status", "status_connected", timeout=20000
            )
            tile = page.locator("#grid .tile").first
            expect(tile.locator("video")).to_be_visible(timeout=20000)

            page.click("#start-session")
            mark = page.locator("#rec-mark")
            expect(mark).to_be_visible(timeout=10000)
            expect(mark).to_contain_text("录制中 00:00:0", timeout=5000)
            page.wait_for_timeout(3000)
            expect(mark).not_to_contain_text("00:00:00")

            tile.hover()
            tile.locator(".tile-shot").click()
            thumbnail = page.locator("#shot-strip img").first
            expect(thumbnail).to_be_visible(timeout=5000)
            page.wait_for_function(
                "() => { const i = document.querySelector('#shot-strip img');"
                " return i && i.complete && i.naturalWidth === 640; }",
                timeout=5000,
            )
            # The S key captures the tile under the pointer.
            page.keyboard.press("s")
            expect(page.locator("#shot-strip img")).to_have_count(2, timeout=5000)

            page.wait_for_timeout(2000)
            # The session ends only after the conclusion: pronounce 通过 first.
            page.click("#tab-conclusion")
            page.check("input[name=verdict][value=pass]")
            page.fill("#conclusion-reasons", "现场与申请材料一致")
            page.click("#announce")
            expect(page.locator("#conclusion-view .verdict")).to_have_text("通过", timeout=5000)
            page.click("#end-session")
            expect(page.locator("#status-line")).not_to_have_attribute(
                "data-status", "status_connected", timeout=10000
            )

            composite = finished_composite(tmp_path)
            playable = tmp_path / "play"
            playable.mkdir()
            shutil.copy(composite, playable / "recording.mp4")
            (playable / "index.html").write_text(
                '<video id="v" src="recording.mp4" muted preload="auto"></video>'
            )
            player = browser.new_page()
            player.goto((playable / "index.html").as_uri())
            duration = player.evaluate(
                """() => new Promise((resolve, reject) => {
                    const v = document.getElementById('v');
                    v.onerror = () => reject(new Error('cannot play: ' + v.error?.message));
                    if (v.readyState >= 1) resolve(v.duration);
                    v.onloadedmetadata = () => resolve(v.duration);
                })"""
            )
            assert 4 <= duration <= 30, duration
            seeked = player.evaluate(
                """(to) => new Promise((resolve) => {
                    const v = document.getElementById('v');
                    v.onseeked = () => resolve([v.currentTime, v.videoWidth, v.videoHeight]);
                    v.currentTime = to;
                })""",
                duration / 2,
            )
            assert abs(seeked[0] - duration / 2) < 1.1 and seeked[1:] == [1280, 720]
            browser.close()
    finally:
        server.stop()


def finished_composite(tmp_path: Path) -> Path:
    """The composite of the demo session, once the recorder has finalised it."""
    import time

    deadline = time.monotonic() + 60
    database = tmp_path / "data" / "kanyan.sqlite3"
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as db:
            row = db.execute(
                "SELECT state, path FROM recordings WHERE kind = 'composite' ORDER BY id"
            ).fetchone()
        if row and row[0] == "finished":
            return tmp_path / "recordings" / row[1]
        time.sleep(0.3)
    raise AssertionError("the recording was not finalised")

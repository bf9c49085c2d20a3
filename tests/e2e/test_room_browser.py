"""The room in real Chromium: a desktop host and an applicant's phone (mobile emulation)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from server.cases.links import LinkSigner
from tests.support.browser import PHONE, TILE_VIDEO, launch, make_y4m
from tests.support.server import ServerProcess, write_config

pytestmark = pytest.mark.browser

RED, BLUE = (210, 40, 40), (40, 70, 220)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    config = write_config(tmp, demo={"enabled": True})
    process = ServerProcess(config, tmp).start()
    yield process, tmp
    process.stop()


def member_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1].split(".")[2])


def wait_video(page: Page, participant: int, timeout: float = 40.0) -> dict:
    """Wait until the tile's video plays: frames decoded and still rising."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        state = page.evaluate(TILE_VIDEO, participant)
        if state and state["width"] > 0 and last and state["frames"] > last["frames"] + 5:
            return state
        if state and state["width"] > 0:
            last = last or state
        page.wait_for_timeout(300)
    raise AssertionError(f"video of {participant} never played: {last} / {state}")


def close_to(colour, rgb, tol=45) -> bool:
    return colour is not None and all(abs(a - b) <= tol for a, b in zip(colour, rgb, strict=True))


def test_applicant_waits_is_admitted_and_both_see_each_other(demo, tmp_path):
    server, _ = demo
    links = server.links()
    host_id, applicant_id = member_id(links["host"]), member_id(links["applicant"])
    with sync_playwright() as p:
        desk = launch(p, make_y4m(tmp_path / "host.y4m", RED))
        phone_browser = launch(p, make_y4m(tmp_path / "site.y4m", BLUE, 480, 640))
        try:
            host = desk.new_context(ignore_https_errors=True).new_page()
            host.goto(links["host"])
            host.click("#join")
            host.wait_for_selector("#status-line[data-status=status_connected]")

            phone = phone_browser.new_context(ignore_https_errors=True, **PHONE).new_page()
            phone.goto(links["applicant"])
            assert phone.evaluate("window.innerWidth") == 360
            phone.tap("#join")
            phone.wait_for_selector("#status-line[data-status=status_lobby]")
            assert phone.inner_text("#status-line") == "等待主持人准入"

            # The host sees the applicant in the lobby (the tab title says so) and admits them.
            # Waits are functions: the page's policy refuses eval, which a string predicate needs.
            host.wait_for_function("() => document.title.startsWith('（1）等候室')")
            host.click(f"#lobby-list li[data-participant='{applicant_id}'] button.admit")
            phone.wait_for_selector("#status-line[data-status=status_connected]")
            assert phone.inner_text("#status-line") == "已连接"
            assert not phone.is_visible("#prejoin") and not host.is_visible("#prejoin")

            seen_by_host = wait_video(host, applicant_id)
            seen_by_phone = wait_video(phone, host_id)
            assert close_to(seen_by_host["colour"], BLUE), seen_by_host
            assert close_to(seen_by_phone["colour"], RED), seen_by_phone
            # The phone films in portrait, and the host's tile shows it in portrait.
            assert seen_by_host["height"] > seen_by_host["width"]
            assert not seen_by_host["paused"] and not seen_by_phone["paused"]
            # The applicant's phone is a viewfinder: what it films large, the host small.
            assert phone.locator(f"#pip .tile[data-participant='{host_id}']").count() == 1
            own = phone.locator("#own-video").bounding_box()
            pip = phone.locator(f"#pip .tile[data-participant='{host_id}']").bounding_box()
            assert own and pip and own["width"] * own["height"] > pip["width"] * pip["height"]

            # Switching camera: new track on the same sender, no renegotiation.
            offers = phone.evaluate("window.kanyan.client.offers")
            before = phone.evaluate(
                "window.kanyan.client.local.video && window.kanyan.client.local.video.id"
            )
            phone.tap("#switch-camera")
            phone.wait_for_function(
                "(before) => window.kanyan.client.local.video && "
                "window.kanyan.client.local.video.id !== before",
                arg=before,
            )
            frames = host.evaluate(TILE_VIDEO, applicant_id)["frames"]
            host.wait_for_function(
                f"(n) => ({TILE_VIDEO})({applicant_id}).frames > n + 15", arg=frames, timeout=30000
            )
            assert phone.evaluate("window.kanyan.client.offers") == offers

            # Wi-Fi → 4G: the phone drops its connection and comes back with a new one,
            # without a new admission; the host's tile says so and the video resumes.
            phone.evaluate(
                "window.oldPc = window.kanyan.client.pc;"
                "window.kanyan.client._reconnectNow('network changed')"
            )
            phone.wait_for_function(
                "() => window.kanyan.client.pc && window.kanyan.client.pc !== window.oldPc"
                " && window.kanyan.client.status === 'connected'"
            )
            host.wait_for_selector(
                f".tile[data-participant='{applicant_id}'] .flags:has-text('已重连')"
            )
            frames = host.evaluate(TILE_VIDEO, applicant_id)["frames"]
            host.wait_for_function(
                f"(n) => ({TILE_VIDEO})({applicant_id}).frames > n + 15", arg=frames, timeout=30000
            )
            assert close_to(wait_video(phone, host_id)["colour"], RED)  # on the new connection

            host.screenshot(path=str(tmp_path / "host.png"))
            phone.screenshot(path=str(tmp_path / "phone.png"))
            assert (tmp_path / "host.png").stat().st_size > 10000
            assert (tmp_path / "phone.png").stat().st_size > 5000
        finally:
            desk.close()
            phone_browser.close()


def test_an_expired_link_shows_the_error_page(demo, tmp_path):
    server, tmp = demo
    host_link = server.links()["host"]
    inspection = int(host_link.split("/room/")[1].split("/")[0])
    secret = (Path(tmp) / "data" / "link-secret").read_bytes().strip()
    token = LinkSigner(secret).issue(
        inspection, member_id(host_link), "host", int(time.time()) - 60, 1
    )
    with sync_playwright() as p:
        browser = launch(p, make_y4m(tmp_path / "cam.y4m", RED, frames=2))
        try:
            page = browser.new_context(ignore_https_errors=True, **PHONE).new_page()
            response = page.goto(f"{server.base_url}/room/{inspection}/{token}")
            assert response is not None and response.status == 410
            assert "链接已过期" in page.inner_text(".error-message")
            page.screenshot(path=str(tmp_path / "expired.png"))
        finally:
            browser.close()

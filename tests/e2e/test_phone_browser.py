"""The applicant's phone in real Chromium with phone emulation (Playwright's Pixel 5): the help
for apps' own browsers and a refused camera, the lobby's live preview and microphone meter,
the viewfinder in portrait and landscape, the camera tools, the host's requests, the wake lock,
the background and the return, and the cues of a weak and a dead uplink (CDP network
conditions). One Chromium for the module: contexts grant the camera, or do not."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.support.browser import (
    CHROMIUM,
    COUNT_CAMERA_REQUESTS,
    IN_APP_AGENTS,
    PERMITTED,
    TILE_VIDEO,
    launch_asking,
    make_y4m,
)
from tests.support.server import ServerProcess, write_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

BLUE = (40, 70, 220)
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "ignore_https_errors": True}
LONG = 60000  # ms: for what waits on the network (reconnects, ICE, the freeze cues)
SWAPPED = re.compile(r"\bswapped\b")
# What the Content-Security-Policy refused in a page (none of Kanyan's own code may be). The
# policy refuses eval, so the tests' waits are functions (an expression is evaluated as a string).
WATCH_POLICY = """
window.__refused = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__refused.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phone")
    # The watchdog's rule at a shorter time, so the dead-uplink test stays short.
    config = write_config(tmp, demo={"enabled": True}, media={"stall_after_s": 4})
    process = ServerProcess(config, tmp).start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def playwright():
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def chromium(playwright, tmp_path_factory):
    y4m = make_y4m(tmp_path_factory.mktemp("camera") / "site.y4m", BLUE, 480, 640, frames=15)
    browser = launch_asking(playwright, y4m)
    yield browser
    browser.close()


def member_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1].split(".")[2])


def phone_page(playwright, chromium, *, grant: bool = True, **overrides) -> Page:
    context = chromium.new_context(
        ignore_https_errors=True, **{**playwright.devices["Pixel 5"], **overrides}
    )
    if grant:
        context.grant_permissions(PERMITTED)
    context.add_init_script(COUNT_CAMERA_REQUESTS)
    context.add_init_script(WATCH_POLICY)
    return context.new_page()


def host_page(chromium, url: str) -> Page:
    context = chromium.new_context(**DESKTOP)
    context.grant_permissions(PERMITTED)
    context.add_init_script(WATCH_POLICY)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(url)
    page.click("#join")
    expect(page.locator("#status-line")).to_have_attribute(
        "data-status", "status_connected", timeout=LONG
    )
    return page


def box(page: Page, selector: str) -> dict:
    found = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not shown"
    return found


def area(b: dict) -> float:
    return b["width"] * b["height"]


def centre(b: dict) -> dict:
    """The middle third of a box, across and down: what the inspectors look at."""
    return {
        "x": b["x"] + b["width"] / 3,
        "y": b["y"] + b["height"] / 3,
        "width": b["width"] / 3,
        "height": b["height"] / 3,
    }


def overlaps(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["width"]
        and b["x"] < a["x"] + a["width"]
        and a["y"] < b["y"] + b["height"]
        and b["y"] < a["y"] + a["height"]
    )


# Frames a tile gains from call to call of the predicate, across a new stream (whose count
# starts again) after a reconnect.
GAINED = (
    """([id, key]) => {
  const v = (TILE_VIDEO)(id);
  const seen = (window.__gained = window.__gained || {});
  const was = seen[key];
  if (!v) return 0;
  if (!was) seen[key] = {last: v.frames, gained: 0};
  else {
    was.gained += Math.max(0, v.frames - was.last);
    was.last = v.frames;
  }
  return seen[key].gained;
}"""
).replace("TILE_VIDEO", TILE_VIDEO)


def frames_rise(page: Page, participant: int, more: int = 10) -> None:
    """The tile's video plays: it gains `more` frames (a reconnect in between, as when the
    emulated network changes, gives it a new stream whose count starts again)."""
    key = f"{participant}-{page.evaluate('performance.now()')}"
    page.wait_for_function(
        f"(args) => ({GAINED})(args) >= {more}", arg=[participant, key], timeout=LONG
    )


def uncovered(page: Page) -> None:
    """Nothing over the middle of the viewfinder: the status band, the point being verified,
    the recording mark, the small picture, the tools and the buttons all keep clear of it."""
    middle = centre(box(page, "#own-video"))
    for selector in ("#status-line", "#now-verifying", "#rec-mark", "#pip", "#controls"):
        assert not overlaps(box(page, selector), middle), f"{selector} covers the centre"


def set_visibility(page: Page, state: str) -> None:
    """What the browser does when the applicant switches app, or comes back."""
    page.evaluate(
        """(state) => {
          const define = (name, value) =>
            Object.defineProperty(document, name, {configurable: true, get: () => value});
          define("visibilityState", state);
          define("hidden", state !== "visible");
          document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_apps_own_browsers_get_the_way_out_before_any_camera_prompt(demo, playwright, chromium):
    link = demo.links()["applicant"]
    for app, agent in IN_APP_AGENTS.items():
        page = phone_page(playwright, chromium, grant=False, user_agent=agent)
        page.goto(link)
        expect(page.locator("h1")).to_have_text("请用手机浏览器打开", timeout=LONG)
        expect(page.locator(".help-lead")).to_have_attribute("data-app", app, timeout=LONG)
        assert page.locator("svg.help-picture").count() == 1, app  # where the ⋯ menu is
        assert page.input_value("#room-link") == link
        assert page.evaluate("window.__cameraRequests") == 0, app
        if app == "wechat":
            expect(page.locator(".help-steps-list li").first).to_contain_text(
                "右上角", timeout=LONG
            )
            expect(page.locator(".help-steps-list")).to_contain_text("在浏览器打开", timeout=LONG)
            page.context.grant_permissions(["clipboard-read", "clipboard-write"])
            page.tap("#copy-link")
            expect(page.locator("#copy-done")).to_be_visible(timeout=LONG)
            assert page.evaluate("navigator.clipboard.readText()") == link
            assert page.evaluate("window.__refused") == []
            page.screenshot(path=str(demo.cwd / "wechat.png"), full_page=True)
        page.context.close()

    # A browser without WebRTC: the same way out, from the page itself, and no camera prompt.
    page = phone_page(playwright, chromium, grant=False)
    page.add_init_script("delete window.RTCPeerConnection")
    page.goto(link)
    expect(page.locator("#browser-help")).to_be_visible(timeout=LONG)
    expect(page.locator("#browser-help")).to_have_attribute(
        "data-reason", "RTCPeerConnection", timeout=LONG
    )
    expect(page.locator("#browser-help h1")).to_have_text("请用手机浏览器打开", timeout=LONG)
    assert not page.is_visible("#prejoin")
    assert page.evaluate("window.__cameraRequests") == 0
    page.context.close()


def test_a_refused_camera_shows_the_steps_for_android_and_ios(demo, playwright, chromium):
    link = demo.links()["applicant"]
    for device, first in (("Pixel 5", "android"), ("iPhone 13", "ios")):
        page = phone_page(playwright, chromium, grant=False, **playwright.devices[device])
        page.goto(link)
        help_ = page.locator("#camera-help")
        expect(help_).to_be_visible(timeout=LONG)
        expect(help_).to_have_attribute("data-reason", "denied", timeout=LONG)
        expect(help_.locator("h1:visible")).to_have_text("摄像头或麦克风未被允许", timeout=LONG)
        platforms = help_.locator(".help-platform")
        expect(platforms).to_have_count(2, timeout=LONG)
        assert platforms.first.get_attribute("data-platform") == first, device
        expect(help_.locator("[data-platform=android]")).to_contain_text("权限", timeout=LONG)
        expect(help_.locator("[data-platform=ios]")).to_contain_text("网站设置", timeout=LONG)
        assert not page.is_visible("#prejoin")
        assert page.evaluate("window.__cameraRequests") == 1
        if first == "android":
            # Allowed afterwards (as in the browser's settings): 重试 opens the lobby.
            page.context.grant_permissions(PERMITTED)
            page.tap("#camera-retry")
            expect(page.locator("#prejoin")).to_be_visible(timeout=LONG)
            expect(help_).to_be_hidden(timeout=LONG)
        page.context.close()


def test_lobby_then_viewfinder_tools_requests_and_the_return_from_the_background(
    demo, playwright, chromium
):
    links = demo.links()
    applicant_id, host_id = member_id(links["applicant"]), member_id(links["host"])
    phone = phone_page(playwright, chromium)
    phone.goto(links["applicant"])

    # The lobby: the live preview, a microphone meter that moves with the (fake) voice, when
    # and with whom, and what to prepare.
    phone.wait_for_function(
        "() => { const v = document.querySelector('#preview');"
        " return v.videoWidth > 0 && !v.paused; }"
    )
    meter = phone.locator("#mic-meter")
    phone.wait_for_function("() => Number(document.querySelector('#mic-meter').dataset.peak) > 5")
    level = meter.get_attribute("data-level")
    phone.wait_for_function(
        "(v) => document.querySelector('#mic-meter').dataset.level !== v", arg=level
    )
    expect(phone.locator("#host-name")).to_have_text("张主持", timeout=LONG)
    expect(phone.locator("#scheduled-at")).to_contain_text("北京时间", timeout=LONG)
    expect(phone.locator(".prepare")).to_contain_text("身份证", timeout=LONG)
    assert phone.locator(".must-show li").count() > 0
    expect(phone.locator("#host-presence")).to_have_attribute(
        "data-online", "unknown", timeout=LONG
    )
    # The fake camera has neither torch nor zoom: the page offers neither.
    assert phone.evaluate("window.kanyan.camera.tools") == {
        "torch": False,
        "zoom": None,
        "focus": False,
    }
    phone.screenshot(path=str(demo.cwd / "lobby.png"), full_page=True)

    phone.tap("#join")
    expect(phone.locator("#status-line")).to_have_attribute(
        "data-status", "status_lobby", timeout=LONG
    )
    expect(phone.locator("#host-presence")).to_have_attribute("data-online", "false", timeout=LONG)
    expect(phone.locator("#host-presence")).to_contain_text("主持人尚未上线", timeout=LONG)
    expect(phone.locator("#preview")).to_be_visible(timeout=LONG)  # still the preview
    assert phone.evaluate("window.kanyan.screen.state") == "held"  # the screen stays on
    assert phone.evaluate("window.kanyan.screen.requests") == 1

    host = host_page(chromium, links["host"])
    expect(phone.locator("#host-presence")).to_have_attribute("data-online", "true", timeout=LONG)
    expect(phone.locator("#host-presence")).to_contain_text("主持人已上线", timeout=LONG)
    host.click(f"#lobby-list li[data-participant='{applicant_id}'] button.admit")
    expect(phone.locator("#status-line")).to_have_attribute(
        "data-status", "status_connected", timeout=LONG
    )
    host.click("#start-session")
    points = host.locator("#checklist li.point")
    expect(points).to_have_count(8, timeout=LONG)
    points.nth(1).locator("button.set-current").click()
    expect(phone.locator("#now-verifying")).to_contain_text("正在核实：第 2 项", timeout=LONG)
    expect(phone.locator("#rec-mark")).to_be_visible(timeout=LONG)
    frames_rise(phone, host_id)
    frames_rise(host, applicant_id)

    # The viewfinder: one's own picture large, not mirrored (the rear camera); the host small.
    small = f"#pip .tile[data-participant='{host_id}']"
    expect(phone.locator("#prejoin")).to_be_hidden(timeout=LONG)
    assert phone.evaluate("getComputedStyle(document.querySelector('#own-video')).transform") in (
        "none",
        "matrix(1, 0, 0, 1, 0, 0)",
    )
    assert area(box(phone, "#own-video")) > 4 * area(box(phone, small))
    uncovered(phone)
    expect(phone.locator("#torch")).to_be_hidden(timeout=LONG)
    expect(phone.locator("#zoom-box")).to_be_hidden(timeout=LONG)
    phone.screenshot(path=str(demo.cwd / "portrait.png"))
    phone.set_viewport_size(playwright.devices["Pixel 5 landscape"]["viewport"])
    phone.wait_for_function("() => innerWidth > innerHeight")
    assert area(box(phone, "#own-video")) > 4 * area(box(phone, small))
    uncovered(phone)
    phone.screenshot(path=str(demo.cwd / "landscape.png"))
    phone.set_viewport_size(playwright.devices["Pixel 5"]["viewport"])
    phone.wait_for_function("() => innerWidth < innerHeight")

    # A tap on the small picture swaps the two; a tap on the (now small) own picture swaps back.
    phone.tap("#pip")
    expect(phone.locator("#room")).to_have_class(SWAPPED, timeout=LONG)
    assert area(box(phone, small)) > 4 * area(box(phone, "#own-video"))
    phone.tap("#viewfinder")
    expect(phone.locator("#room")).not_to_have_class(SWAPPED, timeout=LONG)
    # A drag moves the small picture out of the way without swapping.
    before = box(phone, "#pip")
    x, y = before["x"] + before["width"] / 2, before["y"] + before["height"] / 2
    phone.mouse.move(x, y)
    phone.mouse.down()
    phone.mouse.move(x - 60, y - 200, steps=8)
    phone.mouse.up()
    after = box(phone, "#pip")
    assert after["y"] < before["y"] - 150 and after["x"] < before["x"] - 40
    expect(phone.locator("#room")).not_to_have_class(SWAPPED, timeout=LONG)

    # The host asks for the torch: the phone shows the request, and says this phone has none.
    tile = host.locator(f".tile[data-participant='{applicant_id}']")
    tile.locator("button.ask-torch").click()
    # The phone told the server it has no torch: the host hears what the applicant was told.
    expect(host.locator("#toast")).to_contain_text("对方手机不能在网页中打开手电筒", timeout=LONG)
    request = phone.locator("#camera-request")
    expect(request).to_be_visible(timeout=LONG)
    expect(phone.locator("#camera-request-text")).to_have_text(
        "张主持请您打开手电筒照亮", timeout=LONG
    )
    expect(phone.locator("#camera-request-hint")).to_contain_text(
        "不能在网页中打开手电筒", timeout=LONG
    )
    expect(phone.locator("#camera-request-do")).to_be_hidden(timeout=LONG)
    phone.tap("#camera-request-dismiss")
    expect(request).to_be_hidden(timeout=LONG)
    # … and for the other camera: one tap on the phone switches it, with no renegotiation.
    offers = phone.evaluate("window.kanyan.client.offers")
    track = phone.evaluate("window.kanyan.client.local.video.id")
    tile.locator("button.ask-switch_camera").click()
    expect(phone.locator("#camera-request-text")).to_have_text("张主持请您切换摄像头", timeout=LONG)
    phone.tap("#camera-request-do")
    phone.wait_for_function("(id) => window.kanyan.client.local.video.id !== id", arg=track)
    frames_rise(host, applicant_id)
    assert phone.evaluate("window.kanyan.client.offers") == offers

    # To the background: the host is told at once.
    alert = tile.locator(".tile-alert")
    set_visibility(phone, "hidden")
    expect(alert).to_have_text("申请人已切到后台", timeout=LONG)
    # Meanwhile the phone took its camera back and its connection died, without a word…
    phone.evaluate(
        """() => {
          window.oldPc = window.kanyan.client.pc;
          window.oldCamera = window.kanyan.camera.video;
          window.kanyan.camera.video.stop();
          window.kanyan.client.pc.close();
        }"""
    )
    # … so on return it opens the camera again and reconnects at once.
    set_visibility(phone, "visible")
    phone.wait_for_function(
        "() => window.kanyan.client.pc && window.kanyan.client.pc !== window.oldPc"
        " && window.kanyan.client.status === 'connected'"
        " && window.kanyan.camera.video !== window.oldCamera"
        " && window.kanyan.camera.video.readyState === 'live'",
        timeout=LONG,
    )
    expect(alert).to_be_hidden(timeout=LONG)
    expect(tile.locator(".flags")).to_contain_text("已重连", timeout=LONG)
    frames_rise(host, applicant_id)
    assert phone.evaluate("window.kanyan.screen.state") == "held"
    assert phone.evaluate("window.__refused") == [] and host.evaluate("window.__refused") == []
    phone.context.close()
    host.context.close()


def test_weak_and_dead_uplinks_are_said_on_both_sides(demo, playwright, chromium):
    links = demo.links()
    applicant_id = member_id(links["applicant"])
    host = host_page(chromium, links["host"])
    phone = phone_page(playwright, chromium)
    phone.goto(links["applicant"])
    expect(phone.locator("#join")).to_be_enabled(timeout=LONG)
    phone.tap("#join")
    phone.wait_for_function("() => ['lobby', 'connected'].includes(window.kanyan.client.status)")
    if phone.evaluate("window.kanyan.client.status") == "lobby":
        host.click(f"#lobby-list li[data-participant='{applicant_id}'] button.admit")
    expect(phone.locator("#status-line")).to_have_attribute(
        "data-status", "status_connected", timeout=LONG
    )
    tile = host.locator(f".tile[data-participant='{applicant_id}']")
    cdp = phone.context.new_cdp_session(phone)
    cdp.send("Network.enable")
    # Emulated conditions change what navigator.connection says (a new bandwidth estimate, as
    # a phone's does all the time): the page keeps its connection — only another kind of
    # network (Wi-Fi to cellular) makes it start a new one.
    network = {"offline": False, "latency": 20, "downloadThroughput": 4e6, "uploadThroughput": 4e6}
    # Why the page reconnects, as it decides it (on a loaded machine "media lost" may happen
    # too, which is not what this checks).
    phone.evaluate(
        """() => {
          const client = window.kanyan.client, reconnect = client._reconnectNow.bind(client);
          window.reasons = [];
          client._reconnectNow = (why) => { window.reasons.push(why); reconnect(why); };
        }"""
    )
    cdp.send("Network.emulateNetworkConditions", {**network, "packetLoss": 0})
    frames_rise(host, applicant_id)
    assert "network changed" not in phone.evaluate("window.reasons")
    phone.evaluate("() => { window.oldPc = window.kanyan.client.pc; }")
    # Chromium applies emulated conditions to WebRTC connections made after them: the network
    # "comes back" (the browser's `online` event), the page starts a new connection, and from
    # then on only the loss varies, which a page sees only in its statistics.
    phone.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_for_function(
        "() => window.kanyan.client.pc !== window.oldPc"
        " && window.kanyan.client.status === 'connected'",
        timeout=LONG,
    )
    frames_rise(host, applicant_id)
    cue = phone.locator("#signal-cue")
    expect(cue).to_be_hidden(timeout=LONG)

    # A weak uplink: a quarter of the packets lost.
    cdp.send("Network.emulateNetworkConditions", {**network, "packetLoss": 25})
    expect(cue).to_be_visible(timeout=LONG)
    expect(cue).to_have_text("网络较差，请靠近窗口或切换网络", timeout=LONG)
    expect(tile.locator(".flags")).to_contain_text("网络较差", timeout=LONG)
    expect(tile.locator(".quality")).to_have_attribute("data-level", "poor", timeout=LONG)
    phone.screenshot(path=str(demo.cwd / "weak.png"))

    # A dead uplink (the WebSocket still answers): after ten seconds both sides say what is
    # happening; the server, which counts the frames it receives, tells the host too.
    cdp.send("Network.emulateNetworkConditions", {**network, "packetLoss": 100})
    freeze = phone.locator("#freeze-cue")
    expect(freeze).to_contain_text("网络中断", timeout=LONG)
    expect(freeze).to_contain_text("对方暂时看不到您的画面", timeout=LONG)
    alert = tile.locator(".tile-alert")
    expect(alert).to_contain_text("画面已停止", timeout=LONG)
    expect(alert).to_contain_text("服务器也未收到", timeout=LONG)
    expect(host.locator("#toast")).to_contain_text("未到达服务器", timeout=LONG)
    phone.screenshot(path=str(demo.cwd / "dead.png"))
    host.screenshot(path=str(demo.cwd / "host-dead.png"))

    # The network comes back: the cues go, the picture moves again.
    cdp.send("Network.emulateNetworkConditions", {**network, "packetLoss": 0})
    expect(freeze).to_be_hidden(timeout=LONG)
    expect(cue).to_be_hidden(timeout=LONG)
    frames_rise(host, applicant_id)
    expect(alert).to_be_hidden(timeout=LONG)
    assert phone.evaluate("window.__refused") == [] and host.evaluate("window.__refused") == []
    phone.context.close()
    host.context.close()

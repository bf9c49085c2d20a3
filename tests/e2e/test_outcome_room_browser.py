"""The outcome of an inspection in real Chromium: the host walks the checklist (逐项核实) on the
desktop page — current point, a screenshot attached to it, marks with notes, a work-record
line — and pronounces 整改; the applicant's phone shows the point being verified and then the
conclusion at once, the applicant confirms, the host sees 已确认 and ends the session. The
archive holds all of it."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.support.browser import ARGS, CHROMIUM, PHONE, launch, make_y4m
from tests.support.server import ServerProcess, write_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

RED, BLUE = (210, 40, 40), (40, 70, 220)
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "ignore_https_errors": True}
PLAYING = """(id) => {
  const v = document.querySelector(`.tile[data-participant="${id}"] video`);
  return Boolean(v && v.videoWidth > 0 && v.getVideoPlaybackQuality().totalVideoFrames > 5);
}"""


def link_parts(url: str) -> tuple[int, int]:
    """(inspection id, invitee id) of a room link /room/<inspection>/v1.<i>.<invitee>.…"""
    inspection, token = url.split("/room/", 1)[1].split("/", 1)
    return int(inspection), int(token.split(".")[2])


def test_checklist_marks_record_rectify_conclusion_and_confirmation(tmp_path: Path):
    from playwright.sync_api import expect, sync_playwright

    server = ServerProcess(write_config(tmp_path, demo={"enabled": True}), tmp_path).start()
    links = server.links()
    inspection, applicant_id = link_parts(links["applicant"])
    deadline = (datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(days=7)).date()
    try:
        with sync_playwright() as playwright:
            desk = launch(playwright, make_y4m(tmp_path / "host.y4m", RED))
            phone_browser = launch(playwright, make_y4m(tmp_path / "site.y4m", BLUE, 480, 640))
            try:
                host = desk.new_context(**DESKTOP).new_page()
                host.on("dialog", lambda dialog: dialog.accept())
                host.goto(links["host"])
                host.click("#join")
                expect(host.locator("#status-line")).to_have_attribute(
                    "data-status", "status_connected", timeout=20000
                )

                phone = phone_browser.new_context(ignore_https_errors=True, **PHONE).new_page()
                phone.goto(links["applicant"])
                phone.tap("#join")
                expect(phone.locator("#status-line")).to_have_attribute(
                    "data-status", "status_lobby", timeout=20000
                )
                host.click(f"#lobby-list li[data-participant='{applicant_id}'] button.admit")
                expect(phone.locator("#status-line")).to_have_attribute(
                    "data-status", "status_connected", timeout=20000
                )
                host.click("#start-session")
                expect(host.locator("#rec-mark")).to_be_visible(timeout=10000)

                # The checklist beside the videos: all points, none marked; the page fits
                # a 1280×800 screen without sideways scrolling, the side panel above the
                # footer's buttons (it scrolls by itself).
                points = host.locator("#checklist li.point")
                expect(points).to_have_count(8, timeout=10000)
                expect(points.locator(".mark-badge").first).to_have_text("未标记")
                side, grid, controls = (
                    host.locator(selector).bounding_box()
                    for selector in ("aside.side", "#grid", "#controls")
                )
                assert side and grid and controls and side["x"] >= grid["x"] + grid["width"]
                assert side["y"] + side["height"] <= controls["y"]  # nothing under the buttons
                assert host.evaluate("document.documentElement.scrollWidth") <= 1280

                first, second, third = (points.nth(n) for n in range(3))
                ids = [p.get_attribute("data-item") for p in (first, second, third)]
                assert first.get_attribute("data-kind") == "identity"
                # The identity step is marked 已核验 / 不符合, the others 符合 / 不符合 / 需整改.
                expect(first.locator("button.mark")).to_have_text(["已核验", "不符合"])
                expect(second.locator("button.mark")).to_have_text(["符合", "不符合", "需整改"])

                # Ending before the conclusion: the server's message says why not.
                host.click("#end-session")
                expect(host.locator("#toast")).to_contain_text("请先宣布勘验结论", timeout=5000)
                expect(host.locator("#conclusion-form")).to_be_visible()
                host.click("#tab-points")

                # Point 1 is current: highlighted for the host, named on the applicant's phone
                # in one line at the top of the viewfinder, clear of the middle of the picture.
                first.locator("button.set-current").click()
                expect(first).to_have_class(re.compile(r"\bcurrent\b"))
                banner = phone.locator("#now-verifying")
                expect(banner).to_contain_text("正在核实：第 1 项", timeout=5000)
                box, view = banner.bounding_box(), phone.locator("#own-video").bounding_box()
                assert box and view and box["height"] < 60
                assert box["y"] + box["height"] <= view["y"] + view["height"] / 3

                # A screenshot of the applicant's camera belongs to the current point.
                host.wait_for_function(PLAYING, arg=applicant_id, timeout=40000)
                tile = host.locator(f".tile[data-participant='{applicant_id}']")
                tile.hover()
                tile.locator(".tile-shot").click()
                shot = host.locator("#shot-strip li").first
                expect(shot).to_have_attribute("data-item", ids[0], timeout=15000)
                expect(shot.locator("select.shot-point")).to_have_value(ids[0])
                expect(first).to_have_attribute("data-shots", "1")
                first.locator("button.mark-verified").click()
                badge = first.locator(".mark-badge")
                expect(badge).to_have_text("已核验")
                expect(badge).to_have_attribute("data-verdict", "verified")

                # Point 2 conforms, with a note; point 3 needs rectifying.
                second.locator("button.set-current").click()
                expect(banner).to_contain_text("第 2 项", timeout=5000)
                expect(first).not_to_have_class(re.compile(r"\bcurrent\b"))
                second.locator("input.mark-note").fill("门头招牌与营业执照一致")
                second.locator("button.mark-conforms").click()
                expect(second.locator(".mark-badge")).to_have_text("符合")
                expect(second.locator(".mark-info")).to_contain_text("门头招牌与营业执照一致")
                expect(second.locator(".mark-info")).to_contain_text("张主持")
                third.locator("input.mark-note").fill("功能区划分与平面图不一致")
                third.locator("button.mark-rectify").click()
                expect(third.locator(".mark-badge")).to_have_text("需整改")
                expect(third.locator(".mark-badge")).to_have_attribute("data-verdict", "rectify")

                # A line of the work record, tied to the current point, in Beijing time.
                host.click("#tab-record")
                host.fill("#record-text", "申请人展示了门头及周边参照物")
                host.click("#record-add")
                entry = host.locator("#record-list li").first
                expect(entry).to_contain_text("申请人展示了门头及周边参照物")
                expect(entry.locator(".point-tag")).to_have_text("第 2 项")
                expect(entry.locator(".time")).to_have_text(re.compile(r"^\d\d:\d\d:\d\d$"))
                expect(entry.locator(".by")).to_contain_text("张主持")

                # 整改: the form suggests point 3 (marked 需整改) as the rectification.
                host.click("#tab-conclusion")
                host.check("input[name=verdict][value=rectify]")
                rows = host.locator("#rect-list .rect-row")
                expect(rows).to_have_count(1)
                expect(rows.first.locator("select.rect-item")).to_have_value(ids[2])
                rows.first.locator("input.rect-text").fill("按平面图重新划分食品处理区与就餐区")
                host.fill("#conclusion-deadline", deadline.isoformat())
                host.fill("#conclusion-reasons", "功能区划分与平面图不一致，整改后申请复勘")
                host.click("#announce")
                expect(host.locator("#conclusion-view .verdict")).to_have_text("整改")
                expect(host.locator("#conclusion-form")).to_be_hidden()
                confirmation = host.locator("#confirmation")
                expect(confirmation).to_have_text("等待申请人确认")

                # The applicant sees it at once, in plain words, and confirms.
                expect(phone.locator("#result")).to_be_visible(timeout=5000)
                expect(phone.locator("#result-verdict")).to_have_text("需整改")
                written = f"{deadline.year}年{deadline.month}月{deadline.day}日"
                expect(phone.locator("#result-words")).to_contain_text(written)
                rectification = phone.locator("#result-rectifications li")
                expect(rectification).to_have_count(1)
                expect(rectification).to_contain_text("按平面图重新划分食品处理区与就餐区")
                expect(rectification).to_contain_text("第 3 项")
                phone.tap("#result-confirm")
                expect(phone.locator("#result-recorded")).to_have_attribute(
                    "data-state", "confirmed"
                )
                expect(phone.locator("#result-confirm")).to_be_hidden()
                expect(confirmation).to_have_attribute("data-state", "confirmed", timeout=5000)
                expect(confirmation).to_contain_text("已确认")
                host.screenshot(path=str(tmp_path / "host.png"))
                phone.screenshot(path=str(tmp_path / "phone.png"))

                host.click("#end-session")
                expect(host.locator("#status-line")).to_have_attribute(
                    "data-status", "status_closed", timeout=10000
                )
                expect(phone.locator("#status-line")).to_have_text("本次勘验已结束，感谢配合。")
            finally:
                desk.close()
                phone_browser.close()
    finally:
        server.stop()

    with sqlite3.connect(f"file:{tmp_path / 'data' / 'kanyan.sqlite3'}?mode=ro", uri=True) as db:
        seq = dict(
            db.execute("SELECT id, seq FROM checklist_items WHERE inspection_id = ?", (inspection,))
        )
        marks = db.execute(
            "SELECT item_id, verdict, note, actor_role FROM checklist_marks"
            " WHERE inspection_id = ? ORDER BY id",
            (inspection,),
        ).fetchall()
        assert [(seq[i], v, n, r) for i, v, n, r in marks] == [
            (1, "verified", "", "host"),
            (2, "conforms", "门头招牌与营业执照一致", "host"),
            (3, "rectify", "功能区划分与平面图不一致", "host"),
        ]
        shots = db.execute(
            "SELECT checklist_item_id FROM screenshots WHERE inspection_id = ?", (inspection,)
        ).fetchall()
        assert [seq[item] for (item,) in shots] == [1]
        entries = db.execute(
            "SELECT item_id, text FROM record_entries WHERE inspection_id = ?", (inspection,)
        ).fetchall()
        assert [(seq[i], text) for i, text in entries] == [(2, "申请人展示了门头及周边参照物")]
        conclusion = db.execute(
            "SELECT id, verdict, reasons, deadline, confirmation, confirmed_at, confirm_agent"
            " FROM conclusions WHERE inspection_id = ?",
            (inspection,),
        ).fetchone()
        assert conclusion[1:5] == (
            "rectify",
            "功能区划分与平面图不一致，整改后申请复勘",
            deadline.isoformat(),
            "confirmed",
        )
        assert conclusion[5] and "Android" in conclusion[6]
        rectifications = db.execute(
            "SELECT item_id, text FROM rectifications WHERE conclusion_id = ?", (conclusion[0],)
        ).fetchall()
        assert [(seq[i], text) for i, text in rectifications] == [
            (3, "按平面图重新划分食品处理区与就餐区")
        ]
        (state,) = db.execute(
            "SELECT state FROM inspections WHERE id = ?", (inspection,)
        ).fetchone()
        assert state == "concluded"


# The pages' pure outcome rules (web/static/js/outcome.js) and the client's checklist versions,
# run in Chromium from the server's own static files.
PURE = """async () => {
  const o = await import('/static/js/outcome.js');
  const { KanyanClient } = await import('/static/js/protocol.js');
  const checklist = {version: 1, current: 2, items: [
    {id: 1, seq: 1, kind: 'identity', text: 'id', mark: {verdict: 'not_conforms', note: 'x'}},
    {id: 2, seq: 2, kind: 'point', text: 'door', mark: {verdict: 'rectify', note: 'sign'}},
    {id: 3, seq: 3, kind: 'point', text: 'plan', mark: {verdict: 'not_conforms', note: ''}},
    {id: 4, seq: 4, kind: 'point', text: 'cold', mark: {verdict: 'conforms', note: ''}},
    {id: 5, seq: 5, kind: 'point', text: 'staff', mark: null},
  ]};
  const shots = new o.ShotPlacement();
  shots.fromShot({id: 7, item: 2});
  const placed = [shots.itemOf(7), shots.count(2)];
  shots.fromChecklist({items: [{id: 2, screenshots: []}, {id: 3, screenshots: [7, 8]}]});
  shots.fromShot({id: 7, item: 2});  // an old message does not undo a move
  placed.push(shots.itemOf(7), shots.count(3));
  shots.fromChecklist({items: [{id: 3, screenshots: [8]}]});
  placed.push(shots.itemOf(7), shots.count(3));

  const client = new KanyanClient({inspection: 1, token: 't', url: 'wss://127.0.0.1:9/ws'});
  const seen = [];
  client.addEventListener('checklist', (e) => seen.push(e.detail.version));
  for (const version of [3, 2, 4, 4]) {
    await client._handle({type: 'checklist', checklist: {version, items: []}});
  }
  await client._handle({type: 'welcome', heartbeat: {ping_after_s: 20}});  // a restarted server
  await client._handle({type: 'checklist', checklist: {version: 1, items: []}});
  clearInterval(client._heartbeat);

  return {
    suggested: o.suggestRectifications(checklist),
    problems: [
      o.conclusionProblems({verdict: 'pass', reasons: '符合要求', rectifications: []}),
      o.conclusionProblems({verdict: 'rectify', reasons: '需整改', deadline: '',
                            rectifications: [{item: 2, text: ' '}]}),
      o.conclusionProblems({verdict: '', reasons: 'x', rectifications: []}),
    ],
    dates: ['zh', 'en'].map((lang) => o.formatDate('2026-12-04', lang))
      .concat([o.formatDate('soon', 'zh')]),
    times: ['2026-11-27T16:05:09.000Z', '2026-11-27T02:00:00Z', null].map(o.beijingTime),
    tomorrow: o.beijingDate(1, Date.UTC(2026, 10, 27, 17, 0)),
    rows: o.rectificationRows({rectifications: [
      {item: 3, point: 'plan', text: 'redo'}, {item: null, point: '', text: 'sign'},
    ]}, checklist),
    placed,
    versions: seen,
  };
}"""


def test_outcome_rules_in_the_browser(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    server = ServerProcess(write_config(tmp_path), tmp_path).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                page = browser.new_page(ignore_https_errors=True)
                page.goto(server.base_url + "/login")
                result = page.evaluate(PURE)
            finally:
                browser.close()
    finally:
        server.stop()
    # Points marked 需整改 or 不符合 become rectifications; never the identity step.
    assert result["suggested"] == [{"item": 2, "text": "sign"}, {"item": 3, "text": ""}]
    assert result["problems"] == [
        [],
        ["room_need_deadline", "room_need_rect"],
        ["room_need_verdict", "room_need_reasons"],
    ]
    assert result["dates"] == ["2026年12月4日", "2026-12-04", "soon"]
    assert result["times"] == ["00:05:09", "10:00:00", ""]
    assert result["tomorrow"] == "2026-11-29"  # 01:00 on the 28th in Beijing, plus a day
    assert result["rows"] == [
        {"seq": 3, "point": "plan", "text": "redo"},
        {"seq": None, "point": "", "text": "sign"},
    ]
    assert result["placed"] == [2, 1, 3, 2, None, 1]
    assert result["versions"] == [3, 4, 1]

"""From intake to the room in real Chromium: an inspector logs in (changing the one-time
password), registers a case, schedules it with a group, opens the host link from the case page;
the applicant's link opens the room on an emulated phone and the host sees the phone's camera;
after a reschedule the applicant's old link shows the error page."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta

import pytest

from tests.support.browser import ARGS as CHROMIUM_ARGS
from tests.support.browser import CHROMIUM
from tests.support.server import ROOT, ServerProcess, write_config
from tests.support.staff import beijing

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")

NEW_PASSWORD = "Kanyan-2026-inspect"


@pytest.fixture
def server(tmp_path):
    config = write_config(tmp_path)
    command = ["user", "add", "zhangsan", "--role", "inspector", "--display-name", "张三"]
    added = subprocess.run(
        [sys.executable, "-m", "server", "--config", str(config), *command],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    one_time = re.search(r"one-time password: (\S+)", added.stdout).group(1)
    process = ServerProcess(config, tmp_path).start()
    process.one_time = one_time
    yield process
    process.stop()


def test_intake_to_scheduled_room_and_a_revoked_link(server):
    base = server.base_url
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            desk = browser.new_context(ignore_https_errors=True, locale="zh-CN")
            # Every page runs under the Content-Security-Policy: nothing may be refused.
            refused: list[str] = []

            def watch(opened) -> None:  # type: ignore[no-untyped-def]
                opened.on(
                    "console",
                    lambda m: (
                        refused.append(m.text) if "Content Security Policy" in m.text else None
                    ),
                )

            desk.on("page", watch)
            page = desk.new_page()

            # Log in with the one-time password; the first thing asked is a new one.
            page.goto(base + "/login")
            page.fill("input[name=username]", "zhangsan")
            page.fill("input[name=password]", server.one_time)
            page.click("button[type=submit]")
            page.wait_for_url("**/account/password")
            page.fill("input[name=current]", server.one_time)
            page.fill("input[name=new]", NEW_PASSWORD)
            page.fill("input[name=repeat]", NEW_PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url("**/dashboard?notice=password_changed")

            # Register a case.
            page.click("nav >> text=登记案件")
            page.fill("input[name=application_no]", "SQ20261126000777")
            page.select_option("select[name=item_code]", "FOOD-OPERATION")
            page.fill("input[name=applicant_name]", "柳江区示例餐饮店")
            page.fill("input[name=applicant_id_no]", "91450221MA5KDEM012")
            page.fill("input[name=applicant_phone]", "13812345678")
            page.fill("input[name=site_address]", "柳州市柳江区拉堡镇示例路 1 号")
            page.fill("input[name=section]", "食品药品审批股")
            page.click("#intake-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/cases/\d+\?notice=created"))
            assert page.text_content("#case-state").strip() == "待安排勘验"

            # Schedule it now, with a group; the host is me (preselected).
            page.click("#schedule-link")
            page.fill("input[name=scheduled_at]", beijing(timedelta(minutes=2)))
            assert page.input_value("#host-account") != ""
            page.fill(".group-rows[data-role=clerk] input[name=clerk_name] >> nth=0", "李审批")
            page.fill(".group-rows[data-role=expert] input[name=expert_name] >> nth=0", "王专家")
            page.fill(".group-rows[data-role=expert] input[name=expert_unit] >> nth=0", "专家库")
            page.fill(
                ".group-rows[data-role=observer] input[name=observer_name] >> nth=0", "赵观察"
            )
            page.click("#schedule-form button[type=submit]")
            page.wait_for_url(re.compile(r".*/cases/\d+\?notice=scheduled"))
            case_url = page.url.split("?")[0]
            roles = page.eval_on_selector_all(
                "#group tbody tr", "rows => rows.map(r => r.dataset.role)"
            )
            assert roles == ["host", "clerk", "expert", "observer", "applicant"]
            applicant_link = page.input_value("input.link-field[data-role=applicant]")
            assert page.locator("#applicant-room-qr svg").count() == 1

            # Open the host link from the case page and join.
            with desk.expect_page() as opened:
                page.click("#open-host-link")
            host = opened.value
            host.wait_for_load_state()
            host.click("#join")
            host.wait_for_selector("#status-line[data-status=status_connected]", timeout=30000)

            # The applicant's link on a phone.
            phone_context = browser.new_context(
                **playwright.devices["Pixel 7"], ignore_https_errors=True, locale="zh-CN"
            )
            phone_context.on("page", watch)
            phone = phone_context.new_page()
            phone.goto(applicant_link)
            assert phone.locator("body.page-phone").count() == 1
            phone.click("#join")
            phone.wait_for_selector("#status-line[data-status=status_lobby]", timeout=30000)
            host.click("#lobby-list button.admit", timeout=30000)
            phone.wait_for_selector("#status-line[data-status=status_connected]", timeout=30000)
            # The host sees the phone's camera.
            host.wait_for_function(
                """() => { const v = document.querySelector('.tile[data-role=applicant] video');
                           return v && v.videoWidth > 0; }""",
                timeout=30000,
            )
            phone.close()
            host.close()

            # Reschedule: the applicant's old link now shows the error page.
            page.goto(case_url)
            page.click("#reschedule-form >> xpath=.. >> summary")
            page.fill("#reschedule-form input[name=scheduled_at]", beijing(timedelta(minutes=5)))
            page.fill("#reschedule-form input[name=reason]", "申请人临时外出")
            page.click("#reschedule-form button[type=submit]")
            page.wait_for_url(re.compile(r".*notice=rescheduled"))
            assert page.input_value("input.link-field[data-role=applicant]") != applicant_link
            phone = phone_context.new_page()
            response = phone.goto(applicant_link)
            assert response.status == 403
            assert phone.locator("body.page-error").count() == 1
            assert "改期" in phone.text_content(".error-message")
            assert not refused, refused
        finally:
            browser.close()

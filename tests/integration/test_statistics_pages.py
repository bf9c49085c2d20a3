"""The leaders' statistics on the real server: a leader account made from the command line, the
page and its CSV over a date range, and nobody else gets them."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from server import clock
from server.services import CASES
from server.states import Verdict
from tests.integration.test_package import run_cli
from tests.support.evidence import fake_recorded_case
from tests.support.server import write_config
from tests.support.staff import PASSWORD, StaffBrowser, make_account


async def test_a_leader_reads_the_statistics_and_their_csv(server, tmp_path):
    config = write_config(tmp_path)
    code, output = await run_cli(config, "user", "add", "zhaoling", "--role", "leader")
    assert code == 0 and "created leader account zhaoling" in output, output
    one_time = re.search(r"one-time password: (\S+)", output).group(1)

    await fake_recorded_case(server)
    await fake_recorded_case(server, section="药品审批股", verdict=Verdict.FAIL)
    excluded, _ = await server.app[CASES].intake(
        {
            "application_no": "SQ-X-1",
            "applicant": {
                "name": "某涉密单位",
                "id_no": "91450221MA5KDEM012",
                "phone": "13812345678",
            },
            "item_code": "FOOD-OPERATION",
            "site_address": "柳州市柳江区某路 2 号",
            "section": "食品药品审批股",
        },
        actor="test",
    )
    await server.app[CASES].declare(excluded.id, "site", "现场无信号", actor="test")
    async with StaffBrowser(server.base_url) as tab:
        # The one-time password first becomes the leader's own.
        await tab.login("zhaoling", one_time)
        await tab.get("/account/password")
        response = await tab.post(
            "/account/password", {"current": one_time, "new": PASSWORD, "repeat": PASSWORD}
        )
        assert response.status == 303
        page = await tab.get("/dashboard")
        assert 'id="statistics-link"' in page.text and "领导" in page.text
        assert 'href="/archive"' not in page.text  # the archive is not theirs

        page = await tab.get("/statistics")
        assert page.status == 200
        today = clock.shanghai(clock.now(), "%Y-%m-%d")
        assert f'name="to" value="{today}"' in page.text
        assert f'name="from" value="{today[:4]}-01-01"' in page.text
        overall = page.text[page.text.index('id="stats-overall"') :]
        cells = re.findall(r'<td class="num">([^<]*)</td>', overall)[:10]
        assert cells[:4] == ["2", "1", "0", "1"]  # inspections, pass, rectify, fail
        assert cells[4] == "50.0%" and cells[6] == "50.0%" and cells[7] == "0.0%"
        assert "药品审批股" in page.text and "食品经营许可" in page.text
        excluded_part = page.text[page.text.index('id="stats-excluded"') :]
        assert 'data-ground="site"' in excluded_part
        month = clock.shanghai(clock.now(), "%Y-%m")
        assert f"<th>{month}</th>" in page.text

        # The JSON twin and the CSV of the same range.
        data = (await tab.get("/statistics?format=json")).json()
        assert data["overall"]["inspections"] == 2 and data["overall"]["fail"] == 1
        assert set(data["by_section"]) == {"食品药品审批股", "药品审批股"}
        async with tab.session.get(
            f"{server.base_url}/statistics.csv?from={today}&to={today}"
        ) as response:
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert response.headers["Content-Disposition"].startswith("attachment;")
            body = (await response.read()).decode("utf-8")
        assert body.startswith("\ufeff")  # for Excel
        rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
        assert rows[0][:4] == ["分组", "名称", "勘验次数", "通过"]
        assert rows[1][:6] == ["合计", "全部", "2", "1", "0", "1"]
        assert ["月份", month] == rows[2][:2]
        assert rows[-1][1] == "1" and rows[-2] == ["不适用视频勘验情形", "案件数"]

        # Another range: nothing in it.
        tomorrow = clock.shanghai(clock.now() + timedelta(days=1), "%Y-%m-%d")
        data = (await tab.get(f"/statistics?from={tomorrow}&to={tomorrow}&format=json")).json()
        assert data["overall"]["inspections"] == 0 and data["by_month"] == {}
        # Bad ranges are the user's to fix, never a server error.
        assert (await tab.get(f"/statistics?from={tomorrow}&to={today}")).status == 400
        assert (await tab.get("/statistics?from=2026-02-30")).status == 400
        assert (await tab.get("/statistics.csv?to=tomorrow")).status == 400
        # English.
        page = await tab.get("/statistics?lang=en")
        assert "Inspection statistics" in page.text and "Pass rate" in page.text


async def test_statistics_are_for_leaders_and_administrators_only(server):
    for role in ("admin", "inspector", "clerk", "archivist"):
        await make_account(server.archive, role, role)
    for role, allowed in (
        ("admin", True),
        ("inspector", False),
        ("clerk", False),
        ("archivist", False),
    ):
        async with StaffBrowser(server.base_url) as tab:
            await tab.login(role)
            for path in ("/statistics", "/statistics.csv", "/statistics?format=json"):
                response = await tab.get(path)
                assert response.status == (200 if allowed else 403), (role, path)
    async with StaffBrowser(server.base_url) as anonymous:
        response = await anonymous.get("/statistics.csv")
        assert response.status == 303 and "/login" in response.headers["Location"]

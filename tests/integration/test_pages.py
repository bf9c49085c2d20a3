"""Pages over real HTTPS: health, and personal links checked on GET."""

from __future__ import annotations

import time
from datetime import timedelta

import aiohttp
import pytest

from server import clock
from server.archive import GroupMember, Stamp
from server.cases.links import LinkSigner
from server.states import Verdict


async def get(url: str) -> tuple[int, str, aiohttp.typedefs.LooseHeaders]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, ssl=False, allow_redirects=False) as response:
            return response.status, await response.text(), response.headers


async def test_healthz(server):
    status, body, headers = await get(server.base_url + "/healthz")
    assert status == 200 and body == '{"status": "ok"}'
    assert headers["Content-Type"].startswith("application/json")


async def test_a_valid_link_opens_the_page_for_its_role(server):
    invited = await server.invite("host", "applicant")
    status, body, headers = await get(
        server.links.room_url(invited.invitee("host"), invited.inspection)
    )
    assert status == 200 and "进入勘验" in body and "js/room.js" in body
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    status, body, _ = await get(
        server.links.room_url(invited.invitee("applicant"), invited.inspection)
    )
    assert status == 200 and "js/phone.js" in body and "开始视频勘验" in body
    status, body, _ = await get(
        server.links.room_url(invited.invitee("applicant"), invited.inspection) + "?lang=en"
    )
    assert status == 200 and "Start the video inspection" in body


def signer(server) -> LinkSigner:
    return server.links._signer


@pytest.mark.parametrize(
    ("make", "status", "text"),
    [
        (
            lambda s, i: signer(s).issue(
                i.inspection.id, i.invitee("host").id, "host", int(time.time()) - 1, 1
            ),
            410,
            "已过期",
        ),
        (lambda s, i: i.token("host")[:-4] + "AAAA", 403, "签名不符"),
        (lambda s, i: "v1.1.1.host", 400, "格式不正确"),
        (
            lambda s, i: signer(s).issue(
                i.inspection.id, i.invitee("host").id, "host", int(time.time()) + 60, 7
            ),
            403,
            "已失效",
        ),
    ],
    ids=["expired", "forged", "malformed", "old-generation"],
)
async def test_bad_links_answer_4xx_with_an_html_page(server, make, status, text):
    invited = await server.invite("host")
    token = make(server, invited)
    got, body, headers = await get(f"{server.base_url}/room/{invited.inspection.id}/{token}")
    assert got == status
    assert headers["Content-Type"].startswith("text/html")
    assert text in body and "<html" in body


async def test_a_link_used_for_another_inspection_is_refused(server):
    first = await server.invite("host")
    second = await server.invite("host")
    got, body, _ = await get(f"{server.base_url}/room/{second.inspection.id}/{first.token('host')}")
    assert got == 403 and "另一场勘验" in body


async def test_links_of_an_ended_inspection_are_gone(server):
    invited = await server.invite("host")
    await server.archive.inspections.start(invited.inspection.id, actor="t")
    stamp = Stamp("t", "主持", "host", clock.now_iso())
    await server.archive.conclusions.conclude(
        invited.inspection.id, Verdict.PASS, "一致", None, [], stamp
    )
    await server.archive.inspections.end(invited.inspection.id, actor="t")
    got, body, _ = await get(server.links.room_url(invited.invitee("host"), invited.inspection))
    assert got == 410 and "已结束" in body


async def test_links_open_thirty_minutes_before_the_scheduled_time(server):
    later = clock.iso(clock.now() + timedelta(hours=2))
    case = await server.archive.cases.create(
        application_no="L1", applicant_name="n", item_code="X", item_name="x"
    )
    inspection = await server.archive.inspections.schedule(
        case.id, later, None, [GroupMember("host", "h")], actor="test"
    )
    [invitee] = await server.archive.inspections.invitees(inspection.id)
    got, body, _ = await get(server.links.room_url(invitee, inspection))
    assert got == 403 and "尚未开始" in body


async def test_unknown_pages_are_html_404(server):
    got, body, _ = await get(server.base_url + "/nothing-here")
    assert got == 404 and "页面不存在" in body

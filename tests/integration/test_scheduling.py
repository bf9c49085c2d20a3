"""Scheduling through the staff pages: the group's personal links, moving and cancelling, the
applicant's status link, and the checklist version an inspection keeps."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import aiohttp

from server import clock
from tests.support.archive import force_case_state
from tests.support.staff import (
    StaffBrowser,
    beijing,
    make_account,
    register,
    schedule_form,
)

LINK = re.compile(
    r'class="link-field" readonly value="([^"]+)" aria-label="[^"]+" data-role="(\w+)"'
)


async def schedule(tab, case_id: int, delta=timedelta(minutes=5), **extra) -> None:
    await tab.get(f"/cases/{case_id}/schedule")
    response = await tab.post(
        f"/cases/{case_id}/inspections", schedule_form(beijing(delta), tab.account.id, **extra)
    )
    assert response.status == 303, response.text[:2000]


async def links_on_page(tab, case_id: int) -> dict[str, str]:
    page = await tab.get(f"/cases/{case_id}")
    return {role: html.unescape(url) for url, role in LINK.findall(page.text)}


async def fetch(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(url, allow_redirects=False) as response:
            return response.status, await response.text()


async def test_scheduling_gives_every_member_a_working_personal_link(server, inspector):
    case_id = await register(inspector)
    await schedule(inspector, case_id)
    links = await links_on_page(inspector, case_id)
    assert set(links) == {"host", "clerk", "expert", "observer", "applicant"}
    page = await inspector.get(f"/cases/{case_id}")
    assert 'id="open-host-link"' in page.text
    assert page.text.count("<svg") >= 2  # the applicant's room QR and status QR
    for role, url in links.items():
        status, text = await fetch(url)
        assert status == 200, (role, text[:300])
        assert ("page-phone" in text) == (role == "applicant")
    [inspection] = await server.archive.inspections.of_case(case_id)
    hosts = [
        i for i in await server.archive.inspections.invitees(inspection.id) if i.role == "host"
    ]
    assert [h.name for h in hosts] == [inspector.account.display_name]
    accounts = await server.archive.inspections.invitee_accounts(inspection.id)
    assert accounts == {hosts[0].id: inspector.account.id}
    assert (await server.archive.cases.get(case_id)).state == "scheduled"


async def test_links_open_thirty_minutes_before_the_time(server, inspector):
    case_id = await register(inspector)
    await schedule(inspector, case_id, delta=timedelta(hours=2))
    links = await links_on_page(inspector, case_id)
    status, text = await fetch(links["applicant"])
    assert status == 403 and "尚未开始" in text


async def test_rescheduling_revokes_the_old_links(server, inspector):
    case_id = await register(inspector)
    await schedule(inspector, case_id)
    old = await links_on_page(inspector, case_id)
    [inspection] = await server.archive.inspections.of_case(case_id)
    response = await inspector.post(
        f"/inspections/{inspection.id}/reschedule",
        {"scheduled_at": beijing(timedelta(minutes=10)), "reason": "申请人临时外出"},
    )
    assert response.status == 303
    new = await links_on_page(inspector, case_id)
    for role in old:
        assert new[role] != old[role]
        status, text = await fetch(old[role])
        assert status == 403 and "改期" in text, role
        assert (await fetch(new[role]))[0] == 200
    events = await server.archive.events.find(case_id=case_id, types=["inspection.rescheduled"])
    assert events[0].data["reason"] == "申请人临时外出"


async def test_cancelling_revokes_the_links_and_frees_the_case(server, inspector):
    case_id = await register(inspector)
    await schedule(inspector, case_id)
    links = await links_on_page(inspector, case_id)
    [inspection] = await server.archive.inspections.of_case(case_id)
    response = await inspector.post(f"/inspections/{inspection.id}/cancel", {"reason": ""})
    assert response.status == 400 and "reason" in response.text
    response = await inspector.post(f"/inspections/{inspection.id}/cancel", {"reason": "撤回申请"})
    assert response.status == 303
    status, text = await fetch(links["host"])
    assert status == 403 and "已取消" in text
    assert (await server.archive.cases.get(case_id)).state == "intake"
    await schedule(inspector, case_id)  # and it can be scheduled again
    inspections = await server.archive.inspections.of_case(case_id)
    assert [i.state for i in inspections] == ["cancelled", "scheduled"]


async def test_a_member_can_be_added_or_revoked_before_the_session(server, inspector):
    case_id = await register(inspector)
    await schedule(inspector, case_id)
    [inspection] = await server.archive.inspections.of_case(case_id)
    observer = next(
        i for i in await server.archive.inspections.invitees(inspection.id) if i.role == "observer"
    )
    old = await links_on_page(inspector, case_id)
    response = await inspector.post(f"/invitees/{observer.id}/revoke")
    assert response.status == 303
    status, text = await fetch(old["observer"])
    assert status == 403 and "撤销" in text
    response = await inspector.post(
        f"/inspections/{inspection.id}/members",
        {"role": "expert", "name": "孙专家", "unit": "市疾控中心", "phone": "13712345678"},
    )
    assert response.status == 303
    members = await server.archive.inspections.invitees(inspection.id)
    assert [m.name for m in members if m.role == "expert"] == ["王专家", "孙专家"]
    response = await inspector.post(
        f"/inspections/{inspection.id}/members", {"role": "host", "name": "二号主持"}
    )
    assert response.status == 400
    host = next(m for m in members if m.role == "host")
    assert (await inspector.post(f"/invitees/{host.id}/revoke")).status == 409


async def test_scheduling_refuses_bad_forms_naming_the_fields(server, inspector):
    case_id = await register(inspector)
    await inspector.get(f"/cases/{case_id}/schedule")
    form = [("scheduled_at", beijing(-timedelta(days=1))), ("expert_phone", "x")]
    form += [("expert_name", "王专家"), ("expert_unit", "")]
    response = await inspector.post(f"/cases/{case_id}/inspections", form)
    assert response.status == 400
    for field in ("scheduled_at", "host", "expert[0].phone"):
        assert field in response.text
    assert await server.archive.inspections.of_case(case_id) == []
    await schedule(inspector, case_id)
    response = await inspector.post(
        f"/cases/{case_id}/inspections", schedule_form(beijing(timedelta(hours=1)), 1)
    )
    assert response.status == 409 and "已有待进行的勘验" in response.text


async def test_the_status_link_shows_the_state_and_never_the_room(server, inspector):
    case_id = await register(inspector)
    page = await inspector.get(f"/cases/{case_id}")
    status_url = html.unescape(re.search(r'value="(https://[^"]+/s/[^"]+)"', page.text).group(1))
    status, text = await fetch(status_url)
    assert status == 200 and "待安排勘验" in text
    await schedule(inspector, case_id, delta=timedelta(hours=3))
    status, text = await fetch(status_url)
    when = (clock.now() + timedelta(hours=3)).astimezone(clock.SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert status == 200 and "已安排勘验" in text and when in text
    assert "/room/" not in text and "v1." not in text
    # Neither tampering nor a room token opens it.
    assert (await fetch(status_url[:-2] + "xx"))[0] == 403
    room = (await links_on_page(inspector, case_id))["applicant"]
    token = room.rsplit("/", 1)[1]
    assert (await fetch(server.base_url + "/s/" + token))[0] == 400
    # Replacing it stops the old one.
    await inspector.post(f"/cases/{case_id}/status-link")
    status, text = await fetch(status_url)
    assert status == 403 and "已更换" in text
    # A closed case's status link stops working.
    await force_case_state(server.archive, case_id, "closed")
    page = await inspector.get(f"/cases/{case_id}")
    new_url = html.unescape(re.search(r'value="(https://[^"]+/s/[^"]+)"', page.text).group(1))
    status, text = await fetch(new_url)
    assert status == 410 and "已办结" in text


async def test_an_inspection_keeps_its_checklist_version(server, inspector):
    first = await register(inspector)
    await schedule(inspector, first)
    await make_account(server.archive, "boss", "admin")
    async with StaffBrowser(server.base_url) as admin:
        await admin.login("boss")
        page = await admin.get("/catalog/FOOD-OPERATION/edit")
        checklist = html.unescape(
            re.search(r'<textarea name="checklist"[^>]*>(.*?)</textarea>', page.text, re.S).group(1)
        )
        form = {
            "code": "FOOD-OPERATION",
            "is_new": "0",
            "name": "食品经营许可",
            "video_allowed": "on",
            "checklist": checklist + "\n新增要点：燃气报警装置",
            "min_duration_s": "600",
            "min_width": "1280",
            "min_height": "720",
            "must_show": "门头招牌\n经营场所全景",
            "note": "增加燃气安全要点",
        }
        response = await admin.post("/catalog", form)
        assert response.status == 303
        response = await admin.post("/catalog", form)
        assert response.status == 409  # nothing changed: no third version
        page = await admin.get("/catalog/FOOD-OPERATION")
        assert "版本 2" in page.text and "增加燃气安全要点" in page.text
    page = await inspector.get(f"/cases/{first}")
    assert "燃气报警装置" not in page.text and "版本 1" in page.text
    [inspection] = await server.archive.inspections.of_case(first)
    frozen = await server.archive.catalog.version(
        await server.archive.inspections.catalog_version(inspection.id)
    )
    assert frozen.version == 1 and not any("燃气" in p for p in frozen.data["checklist"])
    second = await register(inspector, application_no="SQ-2")
    await schedule(inspector, second)
    page = await inspector.get(f"/cases/{second}")
    assert "燃气报警装置" in page.text and "版本 2" in page.text


async def test_a_clerk_in_the_group_sees_only_their_own_link(server, inspector):
    clerk = await make_account(server.archive, "lisi", "clerk")
    case_id = await register(inspector)
    await schedule(inspector, case_id, clerk_account=str(clerk.id))
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("lisi")
        links = await links_on_page(tab, case_id)
        page = await tab.get(f"/cases/{case_id}")
    assert list(links) == ["clerk"] and 'id="open-my-link"' in page.text
    assert 'id="open-host-link"' not in page.text
    assert (await fetch(links["clerk"]))[0] == 200


async def test_the_dashboard_lists_today_and_the_case_list_filters(server, inspector):
    today = await register(inspector)
    await schedule(inspector, today)
    later = await register(
        inspector, application_no="SQ-2", item_code="DRUG-RETAIL", section="药品审批股"
    )
    await schedule(inspector, later, delta=timedelta(days=2))
    await register(inspector, application_no="SQ-3", applicant_name="鱼峰区某旅馆")
    page = await inspector.get("/dashboard")
    today_part, upcoming_part = page.text.split("后续勘验", 1)
    assert "食品经营许可" in today_part and "药品零售企业许可" in upcoming_part
    assert "由我主持" in today_part
    listing = await inspector.get("/cases?item=DRUG-RETAIL")
    assert "SQ-2" in listing.text and "SQ-3" not in listing.text
    listing = await inspector.get("/cases?q=鱼峰")
    assert "SQ-3" in listing.text and "SQ-2" not in listing.text
    listing = await inspector.get("/cases?state=intake")
    assert "SQ-3" in listing.text and "SQ-2" not in listing.text
    listing = await inspector.get("/cases?section=药品审批股&lang=en")
    assert "SQ-2" in listing.text and "Cases" in listing.text


async def test_the_applicant_notice_has_both_qr_codes(server, inspector):
    case_id = await register(inspector)
    await schedule(inspector, case_id)
    [inspection] = await server.archive.inspections.of_case(case_id)
    page = await inspector.get(f"/inspections/{inspection.id}/notice")
    assert page.status == 200 and page.text.count("<svg") == 2
    assert "自我介绍" in page.text and "承诺" in page.text

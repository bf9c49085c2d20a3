"""After the session, through the pages: the case page shows each inspection's checklist,
screenshots, conclusion, confirmation and records; staff download the record; the section
closes the case (办结); the applicant confirms the conclusion and asks for re-inspection on the
status page; the dashboard lists what waits; a re-inspection is scheduled from the request."""

from __future__ import annotations

import asyncio
import html
import re
import time
from datetime import timedelta
from urllib.parse import unquote

from PIL import Image

from server import clock
from server.archive import Inspection, Stamp
from server.services import CASES, RECORDS, STATUS_LINKS
from server.states import Verdict
from tests.support.peers import RoomClient
from tests.support.staff import StaffBrowser, beijing, make_account, register, schedule_form

DUE_DAYS = 10


def due(days: int = DUE_DAYS) -> str:
    """A deadline `days` from today, as a Beijing date."""
    return clock.shanghai(clock.now() + timedelta(days=days), "%Y-%m-%d")


async def schedule(server, tab, case_id: int) -> Inspection:
    """Schedule through the staff pages, in five minutes, hosted by `tab`'s account."""
    page = await tab.get(f"/cases/{case_id}/schedule")
    assert page.status == 200, page.text[:500]
    response = await tab.post(
        f"/cases/{case_id}/inspections",
        schedule_form(beijing(timedelta(minutes=5)), tab.account.id),
    )
    assert response.status == 303, response.text[:2000]
    return (await server.archive.inspections.of_case(case_id))[-1]


def jpeg(server, name: str, colour=(200, 30, 30)) -> tuple[str, int]:
    """A screenshot file inside the recordings directory: (stored path, size)."""
    path = server.settings.recordings_dir / "shots" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), colour).save(path, quality=90)
    return f"shots/{name}", path.stat().st_size


async def held(
    server,
    tab,
    verdict: Verdict = Verdict.RECTIFY,
    *,
    application_no: str = "SQ-OUT-1",
    deadline_days: int = DUE_DAYS,
) -> tuple[int, Inspection]:
    """A case whose inspection was held through the archive, as the room writes it: marks,
    screenshots (one on point 2, one on none), a line of the work record, the conclusion."""
    archive = server.archive
    case_id = await register(tab, application_no=application_no)
    inspection = await schedule(server, tab, case_id)
    await archive.inspections.start(inspection.id, actor="test")
    items = await archive.checklists.items(inspection.id)
    host = next(i for i in await archive.inspections.invitees(inspection.id) if i.role == "host")
    applicant = next(
        i for i in await archive.inspections.invitees(inspection.id) if i.role == "applicant"
    )
    stamp = Stamp(str(host.id), host.name, "host", clock.now_iso())
    await archive.checklists.mark(inspection.id, items[0].id, "verified", "", stamp)
    await archive.checklists.mark(inspection.id, items[1].id, "conforms", "", stamp)
    await archive.checklists.mark(inspection.id, items[1].id, "rectify", "门头招牌字迹模糊", stamp)
    for point, name in ((items[1].id, f"{inspection.id}-a.jpg"), (None, f"{inspection.id}-b.jpg")):
        stored, size = jpeg(server, name)
        await archive.evidence.add_screenshot(
            inspection_id=inspection.id,
            case_id=case_id,
            participant_id=applicant.id,
            taker_id=host.id,
            taken_at=clock.now_iso(),
            path=stored,
            width=64,
            height=48,
            size_bytes=size,
            sha256="0" * 64,
            checklist_item_id=point,
        )
    await archive.checklists.add_entry(inspection.id, items[1].id, "后厨地面有积水", stamp)
    rectify = verdict == Verdict.RECTIFY
    await archive.conclusions.conclude(
        inspection.id,
        verdict,
        "部分要点需整改" if rectify else "现场情况与申请材料一致",
        due(deadline_days) if rectify else None,
        [(items[1].id, "更换门头招牌")] if rectify else [],
        stamp,
    )
    await archive.inspections.end(inspection.id, actor="test")
    return case_id, await archive.inspections.get(inspection.id)


async def status_path(server, case_id: int) -> str:
    return await server.app[STATUS_LINKS].path(await server.archive.cases.get(case_id))


async def wait_records(server, inspection_id: int, count: int, timeout: float = 90) -> list:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        records = await server.archive.records.of_inspection(inspection_id)
        if len(records) >= count:
            return records
        await asyncio.sleep(0.2)
    raise AssertionError(f"no record {count} of inspection {inspection_id}")


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


async def test_the_case_page_shows_marks_screenshots_the_conclusion_and_confirmation(
    server, inspector
):
    case_id, inspection = await held(server, inspector)
    page = await inspector.get(f"/cases/{case_id}")
    assert page.status == 200
    body = page.text
    section = body[body.index(f'id="inspection-{inspection.id}"') :]
    # Each point with its latest mark, note, who and when; and how often it was marked.
    items = await server.archive.checklists.items(inspection.id)
    point = re.search(rf'<tr class="point" data-item="{items[1].id}".*?</tr>', section, re.S)
    assert point is not None
    row = text_of(point.group(0))
    assert "需整改" in row and "门头招牌字迹模糊" in row and "共标记 2 次" in row
    assert inspector.account.display_name in row and "主持人" in row
    assert clock.shanghai(clock.now(), "%Y-%m-%d") in row
    first = re.search(rf'<tr class="point" data-item="{items[0].id}".*?</tr>', section, re.S)
    assert "已核验" in text_of(first.group(0))  # type: ignore[union-attr]
    # Screenshots: one on point 2, one on no point, each a thumbnail linking to the full size.
    shots = await server.archive.evidence.screenshots(inspection.id)
    on_point = next(s for s in shots if s.checklist_item_id == items[1].id)
    loose = next(s for s in shots if s.checklist_item_id is None)
    assert f'href="/screenshots/{on_point.id}.jpg"' in point.group(0)
    loose_part = section[section.index('class="shots loose-shots"') :]
    assert f'src="/screenshots/{loose.id}.jpg"' in loose_part.split("</div>", 1)[0]
    # The work record, the conclusion and, not yet, the confirmation.
    assert "后厨地面有积水" in section and "工作记录" in section
    summary = text_of(body[body.index('id="outcome"') : body.index('id="inspection-panel"')])
    assert "整改" in summary and "部分要点需整改" in summary and "更换门头招牌" in summary
    assert due() in summary and "申请人尚未确认" in summary
    assert "尚无笔录" in section  # nothing generated in this test
    # The applicant confirms on the status page; the case page then says so, with the address.
    async with StaffBrowser(server.base_url) as phone:
        path = await status_path(server, case_id)
        await phone.get(path)
        response = await phone.post(
            path + "/confirm",
            {"accepted": "1", "note": "已知悉"},
            headers={"User-Agent": "TestPhone/1.0"},
        )
        assert response.status == 303
    page = await inspector.get(f"/cases/{case_id}")
    summary = text_of(page.text[page.text.index('id="outcome"') :])
    assert "已确认知悉" in summary and "127.0.0.1" in summary and "TestPhone/1.0" in summary
    # English too.
    page = await inspector.get(f"/cases/{case_id}?lang=en")
    assert "Needs rectification" in page.text and "Confirmed having read it" in page.text


async def test_staff_open_the_record_and_the_screenshots_and_nobody_else_does(server, inspector):
    case_id, inspection = await held(server, inspector, Verdict.PASS)
    record = await server.app[RECORDS].generate(inspection.id, actor="test")
    case = await server.archive.cases.get(case_id)
    page = await inspector.get(f"/cases/{case_id}")
    assert f'href="/records/{record.id}.pdf"' in page.text
    assert f'href="/records/{record.id}.html"' in page.text
    pdf = await inspector.session.get(f"{server.base_url}/records/{record.id}.pdf")
    body = await pdf.read()
    assert pdf.status == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert body.startswith(b"%PDF") and len(body) == record.pdf_bytes
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"{case.case_no}-inspection{inspection.seq}-record-v1.pdf" in disposition
    assert f"{case.case_no}-第{inspection.seq}次勘验笔录-v1.pdf" in unquote(disposition)
    page = await inspector.get(f"/records/{record.id}.html")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Disposition"].startswith("inline;")
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy and "script" not in policy
    assert "现场勘验笔录" in page.text and case.case_no in page.text
    [shot, _] = await server.archive.evidence.screenshots(inspection.id)
    image = await inspector.session.get(f"{server.base_url}/screenshots/{shot.id}.jpg")
    assert image.status == 200 and image.headers["Content-Type"] == "image/jpeg"
    assert (await image.read()).startswith(b"\xff\xd8")
    # Nobody without a session, a role without cases, ids that name nothing.
    paths = [
        f"/records/{record.id}.pdf",
        f"/records/{record.id}.html",
        f"/screenshots/{shot.id}.jpg",
    ]
    async with StaffBrowser(server.base_url) as anonymous:
        for path in paths:
            response = await anonymous.get(path)
            assert response.status == 303 and "/login" in response.headers["Location"], path
    # A role without cases (the leader's statistics); the administrator reads the archive.
    await make_account(server.archive, "leader1", "leader")
    async with StaffBrowser(server.base_url) as leader:
        await leader.login("leader1")
        for path in paths:
            assert (await leader.get(path)).status == 403, path
    for path in (
        "/records/999999.pdf",
        "/records/99999999999999999999.pdf",
        "/records/99999999999999999999.html",
        "/screenshots/99999999999999999999.jpg",
        "/screenshots/0.jpg",
        f"/records/{record.id}.exe",
    ):
        assert (await inspector.get(path)).status == 404, path
    # A stored path that would leave the recordings folder is never followed, even to a file.
    outside = server.settings.recordings_dir.parent / "outside.jpg"
    outside.write_bytes(b"\xff\xd8 not evidence")
    async with server.archive.db.transaction() as tx:
        await tx.execute("UPDATE screenshots SET path = '../outside.jpg' WHERE id = ?", (shot.id,))
        await tx.execute(
            "UPDATE records SET pdf_path = '../outside.jpg', html_path = '/etc/hostname' "
            "WHERE id = ?",
            (record.id,),
        )
    for path in paths:
        response = await inspector.get(path)
        assert response.status == 404 and "not evidence" not in response.text, path


async def test_regenerating_makes_version_two_and_keeps_version_one(server, inspector):
    case_id, inspection = await held(server, inspector)
    first = await server.app[RECORDS].generate(inspection.id)
    response = await inspector.post(f"/inspections/{inspection.id}/record")
    assert response.status == 303
    assert response.headers["Location"] == f"/cases/{case_id}?notice=record_generated"
    records = await server.archive.records.of_inspection(inspection.id)
    assert [r.version for r in records] == [1, 2] and records[0] == first
    assert records[1].actor == "staff:zhangsan"
    for record in records:
        assert (server.settings.recordings_dir / record.pdf_path).is_file()
        assert (server.settings.recordings_dir / record.html_path).is_file()
    page = await inspector.get(f"/cases/{case_id}?notice=record_generated")
    assert 'data-version="1"' in page.text and 'data-version="2"' in page.text
    assert "已生成新版本的勘验笔录" in page.text
    for record in records:
        assert (await inspector.get(f"/records/{record.id}.pdf")).status == 200
    # Nothing to record before a session; a clerk may not ask.
    other = await register(inspector, application_no="SQ-OUT-2")
    scheduled = await schedule(server, inspector, other)
    response = await inspector.post(f"/inspections/{scheduled.id}/record")
    assert response.status == 409 and "尚无笔录可生成" in response.text
    assert 'id="case-no"' in response.text  # the case page, with the reason
    await make_account(server.archive, "lisi", "clerk")
    async with StaffBrowser(server.base_url) as clerk:
        await clerk.login("lisi")
        page = await clerk.get(f"/cases/{case_id}")
        assert "重新生成笔录" not in page.text and f"/records/{first.id}.pdf" in page.text
        assert (await clerk.post(f"/inspections/{inspection.id}/record")).status == 403
    assert len(await server.archive.records.of_inspection(inspection.id)) == 2


async def test_closing_works_only_once_the_outcome_waits_for_the_section(server, inspector):
    rectifying, _ = await held(server, inspector, application_no="SQ-R")
    page = await inspector.get(f"/cases/{rectifying}")
    assert 'id="close-form"' not in page.text
    response = await inspector.post(f"/cases/{rectifying}/close", {"note": "试图办结"})
    assert (
        response.status == 409 and "待整改" in response.text and 'id="case-error"' in response.text
    )
    assert (await server.archive.cases.get(rectifying)).state == "rectifying"

    passed, _ = await held(server, inspector, Verdict.PASS, application_no="SQ-P")
    page = await inspector.get(f"/cases/{passed}")
    assert 'id="close-form"' in page.text
    status = await status_path(server, passed)
    response = await inspector.post(f"/cases/{passed}/close", {"note": "已核发许可证"})
    assert response.status == 303 and response.headers["Location"].endswith("notice=closed")
    assert (await server.archive.cases.get(passed)).state == "closed"
    [event] = await server.archive.events.find(case_id=passed, types=["case.closed"])
    assert (
        event.data == {"from": "passed", "note": "已核发许可证"} and event.actor == "staff:zhangsan"
    )
    async with StaffBrowser(server.base_url) as phone:
        assert (await phone.get(status)).status == 410
    response = await inspector.post(f"/cases/{passed}/close")
    assert response.status == 409 and "已办结" in response.text

    # A clerk of the section closes a failed case; an archivist may not.
    failed, _ = await held(server, inspector, Verdict.FAIL, application_no="SQ-F")
    await make_account(server.archive, "lisi", "clerk")
    await make_account(server.archive, "wangwu", "archivist")
    async with StaffBrowser(server.base_url) as archivist:
        await archivist.login("wangwu")
        page = await archivist.get(f"/cases/{failed}")
        assert "不通过" in page.text and 'id="close-form"' not in page.text
        assert (await archivist.post(f"/cases/{failed}/close")).status == 403
    async with StaffBrowser(server.base_url) as clerk:
        await clerk.login("lisi")
        page = await clerk.get(f"/cases/{failed}")
        assert 'id="close-form"' in page.text and "现场情况与申请材料一致" in page.text
        assert (await clerk.post(f"/cases/{failed}/close")).status == 303
    assert (await server.archive.cases.get(failed)).state == "closed"

    # Overdue: the deadline passed without a request.
    await past_deadline(server, rectifying)
    assert await server.app[CASES].outcome.mark_overdue() == [rectifying]
    response = await inspector.post(f"/cases/{rectifying}/close", {"note": "逾期未整改"})
    assert response.status == 303
    assert (await server.archive.cases.get(rectifying)).state == "closed"


async def past_deadline(server, case_id: int) -> None:
    """Test-only: the rectification deadline is yesterday."""
    yesterday = clock.shanghai(clock.now() - timedelta(days=1), "%Y-%m-%d")
    async with server.archive.db.transaction() as tx:
        await tx.execute(
            "UPDATE conclusions SET deadline = ? WHERE case_id = ? AND verdict = 'rectify'",
            (yesterday, case_id),
        )


async def test_the_dashboard_lists_requests_and_cases_awaiting_closure(server, inspector):
    asked, _ = await held(server, inspector, application_no="SQ-A")
    passed, _ = await held(server, inspector, Verdict.PASS, application_no="SQ-P")
    quiet, _ = await held(server, inspector, application_no="SQ-Q")
    async with StaffBrowser(server.base_url) as phone:
        path = await status_path(server, asked)
        await phone.get(path)
        response = await phone.post(path + "/reinspection", {"note": "已更换门头招牌"})
        assert response.status == 303
    page = await inspector.get("/dashboard")
    requests = page.text[page.text.index('id="reinspection-requests"') :]
    requests = requests[: requests.index("</section>")]
    assert f'data-case="{asked}"' in requests and "已更换门头招牌" in requests
    assert f'href="/cases/{asked}/schedule"' in requests
    assert f'data-case="{quiet}"' not in requests
    closing = page.text[page.text.index('id="awaiting-close"') :]
    closing = closing[: closing.index("</section>")]
    assert f'data-case="{passed}"' in closing and "通过" in closing
    assert f'data-case="{asked}"' not in closing
    assert clock.shanghai(clock.now(), "%Y-%m-%d") in closing
    # An archivist sees both, without the schedule button.
    await make_account(server.archive, "wangwu", "archivist")
    async with StaffBrowser(server.base_url) as archivist:
        await archivist.login("wangwu")
        page = await archivist.get("/dashboard")
        assert f'data-case="{asked}"' in page.text and f'data-case="{passed}"' in page.text
        assert f'href="/cases/{asked}/schedule"' not in page.text


async def test_the_status_page_shows_the_conclusion_and_records_the_confirmation(server, inspector):
    case_id, inspection = await held(server, inspector)
    case = await server.archive.cases.get(case_id)
    path = await status_path(server, case_id)
    async with StaffBrowser(server.base_url) as phone:
        page = await phone.get(path)
        assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
        body = text_of(page.text)
        assert "待整改" in body and "需整改" in body and "部分要点需整改" in body
        assert "更换门头招牌" in body and due() in body and "含当日" in body
        assert 'id="confirm-form"' in page.text and 'id="reinspection-form"' in page.text
        # Never the archive, the ID number, the marks or their notes, the work record.
        for secret in (
            case.applicant_id_no,
            "门头招牌字迹模糊",
            "后厨地面有积水",
            "/screenshots/",
            "/records/",
            "已核验",
        ):
            assert secret not in page.text, secret
        # A form without its token is refused and changes nothing.
        response = await phone.post(path + "/confirm", {"accepted": "1"}, csrf=False)
        assert response.status == 403
        response = await phone.post(path + "/confirm", {"accepted": "maybe"})
        assert response.status == 400 and 'id="status-error"' in response.text
        assert (await server.archive.conclusions.of_inspection(inspection.id)).confirmation is None
        # Declining, then confirming.
        response = await phone.post(
            path + "/confirm",
            {"accepted": "0", "note": "对期限有异议"},
            headers={"User-Agent": "TestPhone/1.0"},
        )
        assert response.status == 303 and response.headers["Location"] == f"{path}?notice=declined"
        page = await phone.get(path + "?notice=declined")
        assert 'data-confirmation="declined"' in page.text and 'value="0"' not in page.text
        response = await phone.post(
            path + "/confirm", {"accepted": "1"}, headers={"User-Agent": "TestPhone/2.0"}
        )
        assert response.status == 303
        conclusion = await server.archive.conclusions.of_inspection(inspection.id)
        assert conclusion.confirmation == "confirmed" and conclusion.confirmed_at
        assert conclusion.confirm_address == "127.0.0.1"
        assert conclusion.confirm_agent == "TestPhone/2.0"
        events = await server.archive.events.find(case_id=case_id)
        kinds = [e.type for e in events]
        assert "conclusion.declined" in kinds and "conclusion.confirmed" in kinds
        confirmed = next(e for e in events if e.type == "conclusion.confirmed")
        assert (
            confirmed.data["address"] == "127.0.0.1" and confirmed.data["agent"] == "TestPhone/2.0"
        )
        page = await phone.get(path)
        assert 'id="confirm-form"' not in page.text
        assert 'data-confirmation="confirmed"' in page.text
        response = await phone.post(path + "/confirm", {"accepted": "1"})
        assert response.status == 409 and "已确认过" in response.text
        page = await phone.get(path + "?lang=en")
        assert "Rectification required" in page.text and "Ask for re-inspection" in page.text


async def test_asking_for_re_inspection_is_refused_after_the_deadline_and_when_passed(
    server, inspector
):
    passed, _ = await held(server, inspector, Verdict.PASS, application_no="SQ-P")
    late, _ = await held(server, inspector, application_no="SQ-L")
    async with StaffBrowser(server.base_url) as phone:
        path = await status_path(server, passed)
        page = await phone.get(path)
        assert "勘验通过" in page.text and 'id="reinspection-form"' not in page.text
        assert 'id="confirm-form"' in page.text
        response = await phone.post(path + "/reinspection", {"note": "请复勘"})
        assert response.status == 409 and 'id="status-error"' in response.text
        assert (await server.archive.cases.get(passed)).state == "passed"

        path = await status_path(server, late)
        await phone.get(path)
        response = await phone.post(path + "/reinspection", {"note": ""})
        assert response.status == 400 and "整改情况说明" in response.text
        response = await phone.post(path + "/reinspection", {"note": "已整改"}, csrf=False)
        assert response.status == 403
        await past_deadline(server, late)
        page = await phone.get(path)
        assert 'id="deadline-passed"' in page.text and 'id="reinspection-form"' not in page.text
        response = await phone.post(path + "/reinspection", {"note": "已整改"})
        assert response.status == 409 and "整改期限" in response.text and "已过" in response.text
        assert (await server.archive.cases.get(late)).state == "rectifying"
    assert await server.archive.conclusions.requests(late) == []


async def test_an_interrupted_inspection_says_why_and_can_be_moved(server, inspector):
    case_id = await register(inspector)
    inspection = await schedule(server, inspector, case_id)
    await server.archive.inspections.start(inspection.id, actor="test")
    await server.archive.inspections.interrupt(inspection.id, "申请人网络中断", actor="test")
    page = await inspector.get(f"/cases/{case_id}")
    assert 'id="interrupt-reason"' in page.text and "申请人网络中断" in page.text
    assert 'id="reschedule-form"' in page.text and "取消勘验" in page.text
    async with StaffBrowser(server.base_url) as phone:
        status = await phone.get(await status_path(server, case_id))
        assert 'id="interrupted"' in status.text and "申请人网络中断" in status.text
    response = await inspector.post(
        f"/inspections/{inspection.id}/reschedule",
        {"scheduled_at": beijing(timedelta(hours=2)), "reason": "另约时间"},
    )
    assert response.status == 303
    assert (await server.archive.inspections.get(inspection.id)).state == "scheduled"
    assert (await server.archive.cases.get(case_id)).state == "scheduled"
    async with StaffBrowser(server.base_url) as phone:
        status = await phone.get(await status_path(server, case_id))
        assert 'id="scheduled-at"' in status.text and "申请人网络中断" in status.text


async def test_from_the_room_to_a_scheduled_re_inspection(server, inspector):
    """The session held in the room, the record made after it, the applicant's request on the
    status page, and the re-inspection scheduled from the schedule page."""
    case_id = await register(inspector)
    inspection = await schedule(server, inspector, case_id)
    host_invitee = next(
        i for i in await server.archive.inspections.invitees(inspection.id) if i.role == "host"
    )
    host = RoomClient(
        server.base_url,
        inspection.id,
        server.links.token(host_invitee, inspection),
        video=None,
        audio=None,
    )
    try:
        await host.connect()
        await host.wait_for(lambda: host.welcome is not None, what="welcome")
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await host.wait_for(lambda: host.checklist is not None, what="checklist")
        items = host.checklist["items"]  # type: ignore[index]
        await host.send({"type": "mark", "item": items[0]["id"], "verdict": "verified"})
        await host.send(
            {"type": "mark", "item": items[4]["id"], "verdict": "rectify", "note": "冷柜无温度计"}
        )
        await host.send(
            {
                "type": "conclude",
                "verdict": "rectify",
                "reasons": "冷藏设施不符合要求",
                "deadline": due(),
                "rectifications": [
                    {"item": items[4]["id"], "text": "冷柜加装温度计"},
                    {"text": "补充健康证明"},
                ],
            }
        )
        await host.wait_for(lambda: host.conclusion is not None, what="the conclusion")
        await host.send({"type": "end"})
        await host.wait_for(lambda: host.status == "closed", what="the end")
    finally:
        await host.close(leave=False)
    [record] = await wait_records(server, inspection.id, 1)
    assert record.version == 1 and record.actor == "system"
    page = await inspector.get(f"/cases/{case_id}")
    assert "冷柜无温度计" in page.text and f"/records/{record.id}.pdf" in page.text

    path = await status_path(server, case_id)
    async with StaffBrowser(server.base_url) as phone:
        await phone.get(path)
        response = await phone.post(
            path + "/reinspection",
            {"note": "已加装温度计并补充健康证明"},
            headers={"User-Agent": "TestPhone/1.0"},
        )
        assert response.status == 303 and response.headers["Location"].endswith("=requested")
        page = await phone.get(path + "?notice=requested")
        assert 'id="request-received"' in page.text and 'id="reinspection-form"' not in page.text
        assert "已申请复勘" in page.text
    assert (await server.archive.cases.get(case_id)).state == "reinspection_requested"
    [request] = await server.archive.conclusions.requests(case_id)
    assert request.address == "127.0.0.1" and request.agent == "TestPhone/1.0"

    dashboard = await inspector.get("/dashboard")
    assert "已加装温度计并补充健康证明" in dashboard.text
    page = await inspector.get(f"/cases/{case_id}/schedule")
    banner = text_of(
        page.text[page.text.index('id="reinspection-banner"') :].split("</section>")[0]
    )
    assert "复勘" in banner and "冷柜加装温度计" in banner and "补充健康证明" in banner
    assert "已加装温度计并补充健康证明" in banner
    second = await schedule(server, inspector, case_id)
    assert second.previous_inspection_id == inspection.id and second.seq == 2
    points = [(i.kind, i.text) for i in await server.archive.checklists.items(second.id)]
    assert points[0][0] == "identity"
    assert [text for kind, text in points[1:] if kind == "rectification"] == [
        f"{items[4]['text']}：冷柜加装温度计",
        "补充健康证明",
    ]
    assert [r.inspection_id for r in await server.archive.conclusions.requests(case_id)] == [
        second.id
    ]
    page = await inspector.get(f"/cases/{case_id}")
    section = page.text[page.text.index(f'id="inspection-{second.id}"') :]
    assert "接续第 1 次勘验" in section.split("</section>")[0]
    assert "已安排为第 2 次勘验" in page.text
    dashboard = await inspector.get("/dashboard")
    assert f'data-case="{case_id}"' not in dashboard.text.split('id="reinspection-requests"')[1]

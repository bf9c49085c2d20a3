"""The inspection's outcome over the real WebSocket: the live checklist, screenshots on points,
the work record, the conclusion the applicant confirms, 中止, and the record it leaves."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pypdf
import pytest

from server import clock
from server.archive import ArchiveStore, GroupMember, Stamp
from server.services import CASES, RECORDS
from server.states import Verdict
from tests.integration.test_forwarding import admit
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.recordings import wait_recordings
from tests.support.server import running_server

BLUE = (40, 60, 230)


async def room(server, *roles: str, applicant_video: bool = False):
    """Clients for `roles` (host first), all seated. Media only where the test needs it."""
    invited = await server.invite(*roles)
    clients: dict[str, RoomClient] = {}
    for role in roles:
        video = ColourTrack(BLUE, 640, 480) if role == "applicant" and applicant_video else None
        audio = ToneTrack(880) if role == "applicant" and applicant_video else None
        client = RoomClient.of(server, invited, role, video=video, audio=audio, observe=False)
        await client.connect()
        await client.wait_for(lambda c=client: c.welcome is not None, what=f"{role} welcome")
        clients[role] = client
    host = clients["host"]
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    for role, client in clients.items():
        if role != "host":
            await admit(host, client)
    for client in clients.values():
        await client.wait_for(lambda c=client: c.checklist is not None, what="checklist")
    return invited, clients


async def close_all(clients):
    for client in clients.values():
        await client.close()


def points(client: RoomClient) -> list[dict]:
    assert client.checklist is not None
    return client.checklist["items"]


def versions(client: RoomClient) -> list[tuple[int, tuple]]:
    """Every checklist view the page received: its version and each point's mark."""
    return [
        (
            m["checklist"]["version"],
            tuple((i["mark"] or {}).get("verdict") for i in m["checklist"]["items"]),
        )
        for m in client.messages
        if m["type"] == "checklist"
    ]


def errors_for(client: RoomClient, ref: str) -> list[str]:
    return [e["code"] for e in client.errors if e.get("ref") == ref]


async def test_the_checklist_is_the_catalog_versions_with_identity_first(server):
    _invited, c = await room(server, "host", "applicant", "observer")
    try:
        items = points(c["host"])
        assert items[0]["kind"] == "identity" and "承诺" in items[0]["text"]
        assert [i["kind"] for i in items[1:]] == ["point"] * (len(items) - 1)
        assert "门头招牌" in items[1]["text"]
        # The applicant sees the points, never the marks; the observer sees everything.
        assert "mark" not in points(c["applicant"])[0] and "mark" in points(c["observer"])[0]
    finally:
        await close_all(c)


async def test_two_staff_pages_marking_at_once_both_land_in_the_same_order(server):
    invited, c = await room(server, "host", "clerk", "expert", "observer")
    host, clerk, expert = c["host"], c["clerk"], c["expert"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        second, third = points(host)[1]["id"], points(host)[2]["id"]
        await asyncio.gather(
            clerk.send({"type": "mark", "item": second, "verdict": "conforms", "note": "一致"}),
            expert.send({"type": "mark", "item": third, "verdict": "rectify", "note": "距离不足"}),
            expert.send({"type": "mark", "item": second, "verdict": "not_conforms"}),
        )

        def settled(client: RoomClient) -> bool:
            marks = {i["id"]: i["mark"] for i in points(client)}
            return bool(marks[second] and marks[third]) and len(versions(client)) >= 4

        for client in c.values():
            await client.wait_for(lambda cl=client: settled(cl), what="both marks")
        # Every page saw the same changes in the same order, and agrees on the result.
        staff_views = [versions(client) for client in (host, clerk, expert, c["observer"])]
        assert all(view == staff_views[0] for view in staff_views)
        final = {i["id"]: i for i in points(host)}
        assert final[third]["mark"]["verdict"] == "rectify"
        assert final[third]["mark"]["note"] == "距离不足" and final[third]["mark"]["by"]
        assert final[second]["marks"] == 2  # both marks are kept; the later one shows
        stored = await server.archive.checklists.marks(invited.inspection.id)
        assert [(m.item_id, m.verdict) for m in stored][-1] == (
            final[second]["id"],
            final[second]["mark"]["verdict"],
        )
        events = await server.archive.events.find(
            inspection_id=invited.inspection.id, types=["checklist.marked"]
        )
        assert len(events) == 3 and all("offset_s" in e.data for e in events)
    finally:
        await close_all(c)


async def test_a_screenshot_belongs_to_the_current_point_and_moving_it_is_logged(server):
    invited, c = await room(server, "host", "clerk", "applicant", applicant_video=True)
    host, clerk, applicant = c["host"], c["clerk"], c["applicant"]
    try:
        await host.frames_from(applicant.id, 5)  # the server has the applicant's picture
        # Before the session starts nothing on the checklist changes: nothing is recorded yet.
        await host.send({"type": "current", "item": points(host)[0]["id"]})
        await host.wait_for(lambda: errors_for(host, "current") == ["not_live"])
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        identity = points(host)[0]["id"]
        await host.send({"type": "current", "item": identity})
        await applicant.wait_for(
            lambda: applicant.checklist["current"] == identity, what="applicant sees the point"
        )
        await clerk.send({"type": "screenshot", "participant": applicant.id})
        await clerk.wait_for(
            lambda: any(m["type"] == "screenshot" for m in clerk.messages), what="screenshot"
        )
        shot = next(m for m in clerk.messages if m["type"] == "screenshot")["screenshot"]
        assert shot["item"] == identity
        await host.wait_for(lambda: shot["id"] in points(host)[0]["screenshots"], what="on point")
        stored = await server.archive.evidence.screenshot(shot["id"])
        assert stored.checklist_item_id == identity

        target = points(host)[3]["id"]
        await clerk.send({"type": "move_screenshot", "screenshot": shot["id"], "item": target})
        await host.wait_for(
            lambda: (
                shot["id"] in points(host)[3]["screenshots"]
                and shot["id"] not in points(host)[0]["screenshots"]
            ),
            what="moved",
        )
        [moved] = await server.archive.events.find(
            inspection_id=invited.inspection.id, types=["screenshot.moved"]
        )
        assert moved.data["from"] == identity and moved.data["to"] == target
        assert moved.actor == str(clerk.id)
        # Another inspection's screenshot cannot be moved here.
        await clerk.send({"type": "move_screenshot", "screenshot": 999999, "item": target})
        await clerk.wait_for(lambda: errors_for(clerk, "move_screenshot"), what="refusal")
    finally:
        await close_all(c)


async def test_observer_and_applicant_cannot_mark_conclude_or_set_the_point(server):
    invited, c = await room(server, "host", "observer", "applicant")
    host = c["host"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        item = points(host)[1]["id"]
        attempts = [
            {"type": "mark", "item": item, "verdict": "conforms"},
            {"type": "current", "item": item},
            {"type": "note", "text": "我也想写一句"},
            {"type": "conclude", "verdict": "pass", "reasons": "我觉得可以"},
            {"type": "end"},
            {"type": "interrupt", "reason": "不想继续"},
            {"type": "move_screenshot", "screenshot": 1, "item": item},
        ]
        for role in ("observer", "applicant"):
            client = c[role]
            for message in attempts:
                await client.send(message)
            await client.wait_for(
                lambda cl=client: len(cl.errors) >= len(attempts), what=f"{role} refusals"
            )
            assert {e["code"] for e in client.errors} == {"forbidden"}, client.errors
        # The host may not confirm for the applicant.
        await host.send({"type": "confirm", "accepted": True})
        await host.wait_for(lambda: errors_for(host, "confirm") == ["forbidden"])
        assert await server.archive.checklists.marks(invited.inspection.id) == []
        assert await server.archive.conclusions.of_inspection(invited.inspection.id) is None
        assert await server.archive.checklists.current(invited.inspection.id) is None
        assert host.state == "live"
    finally:
        await close_all(c)


async def test_a_reconnecting_page_gets_the_current_state(server):
    invited, c = await room(server, "host", "clerk", "applicant")
    host, clerk = c["host"], c["clerk"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        item = points(host)[2]["id"]
        await host.send({"type": "current", "item": item})
        await host.send({"type": "mark", "item": item, "verdict": "conforms", "note": "合格"})
        await host.send({"type": "note", "text": "后厨有独立洗手池", "item": item})
        await host.wait_for(lambda: len(host.record) == 1, what="record entry")
        await clerk.close()
        again = RoomClient.of(server, invited, "clerk", observe=False)
        c["clerk"] = again
        await again.connect()
        await again.wait_for(lambda: again.record and again.checklist, what="state on rejoin")
        assert again.checklist["current"] == item
        assert points(again)[2]["mark"]["verdict"] == "conforms"
        assert again.record[0]["text"] == "后厨有独立洗手池" and again.record[0]["item"] == item
        assert again.record[0]["by"] == host.welcome["you"]["name"]
    finally:
        await close_all(c)


async def test_the_conclusion_reaches_the_applicant_who_confirms_it(server):
    invited, c = await room(server, "host", "clerk", "applicant")
    host, _clerk, applicant = c["host"], c["clerk"], c["applicant"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        # It cannot end without a conclusion.
        await host.send({"type": "end"})
        await host.wait_for(lambda: errors_for(host, "end") == ["no_conclusion"])
        fourth = points(host)[4]["id"]
        today = clock.now().astimezone(clock.SHANGHAI).date()
        bad = [
            {"verdict": "maybe", "reasons": "…"},
            {"verdict": "rectify", "reasons": "冷藏不足"},  # no deadline, no list
            {
                "verdict": "rectify",
                "reasons": "冷藏不足",
                "deadline": str(today),
                "rectifications": [{"item": fourth, "text": "增设冷藏柜"}],
            },
            {"verdict": "pass", "reasons": "好", "deadline": str(today + timedelta(days=3))},
            {
                "verdict": "rectify",
                "reasons": "冷藏不足",
                "deadline": str(today + timedelta(days=7)),
                "rectifications": [{"item": 987654, "text": "不存在的要点"}],
            },
        ]
        for fields in bad:
            await host.send({"type": "conclude", **fields})
        await host.wait_for(lambda: len(errors_for(host, "conclude")) == len(bad))
        assert set(errors_for(host, "conclude")) == {"invalid"}
        deadline = str(today + timedelta(days=7))
        await host.send(
            {
                "type": "conclude",
                "verdict": "rectify",
                "reasons": "冷藏设施不足",
                "deadline": deadline,
                "rectifications": [
                    {"item": fourth, "text": "增设一台冷藏柜"},
                    {"item": None, "text": "补交冷链管理制度"},
                ],
            }
        )
        await applicant.wait_for(lambda: applicant.conclusion is not None, what="conclusion")
        conclusion = applicant.conclusion
        assert conclusion["verdict"] == "rectify" and conclusion["label"] == "整改"
        assert conclusion["deadline"] == deadline
        assert [r["text"] for r in conclusion["rectifications"]] == [
            "增设一台冷藏柜",
            "补交冷链管理制度",
        ]
        assert conclusion["rectifications"][0]["point"] == points(host)[4]["text"]
        assert (await server.archive.cases.get(invited.inspection.case_id)).state == "rectifying"
        # Once only.
        await host.send({"type": "conclude", "verdict": "pass", "reasons": "改判通过"})
        await host.wait_for(lambda: errors_for(host, "conclude")[-1:] == ["already_concluded"])

        await applicant.send({"type": "confirm", "accepted": True})
        await host.wait_for(
            lambda: host.conclusion and host.conclusion["confirmation"] == "confirmed",
            what="confirmation seen by the host",
        )
        [confirmed] = await server.archive.events.find(
            inspection_id=invited.inspection.id, types=["conclusion.confirmed"]
        )
        assert confirmed.data["address"] == "127.0.0.1" and confirmed.data["agent"]
        await applicant.send({"type": "confirm", "accepted": True})
        await applicant.wait_for(lambda: errors_for(applicant, "confirm") == ["already_confirmed"])

        await host.send({"type": "end"})
        await host.wait_for(lambda: host.status == "closed", what="ended")
        assert host.close_code == 4005
        inspection = await server.archive.inspections.get(invited.inspection.id)
        assert inspection.state == "concluded"
    finally:
        await close_all(c)


async def test_an_interrupted_session_opens_again_with_the_same_links(server):
    invited, c = await room(server, "host", "applicant")
    host = c["host"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await host.send({"type": "interrupt", "reason": "申请人网络中断"})
        await host.wait_for(lambda: host.status == "closed", what="interrupted")
        assert host.close_code == 4012
        case = await server.archive.cases.get(invited.inspection.case_id)
        assert case.state == "awaiting_conclusion"
        inspection = await server.archive.inspections.get(invited.inspection.id)
        assert inspection.state == "interrupted" and inspection.interrupt_reason == "申请人网络中断"
        # The same link brings the host back, and a new session starts.
        again = RoomClient.of(server, invited, "host", observe=False)
        c["host"] = again
        await again.connect()
        await again.wait_for(lambda: again.status == "admitted", what="back in")
        assert again.state == "open"
        await again.send({"type": "start"})
        await again.wait_for(lambda: again.state == "live", what="live again")
        assert (await server.archive.cases.get(case.id)).state == "live"
        started = await server.archive.events.find(
            inspection_id=invited.inspection.id, types=["session.started"]
        )
        assert [e.data["again"] for e in started] == [False, True]
    finally:
        await close_all(c)


async def test_the_record_pdf_holds_the_case_the_points_the_conclusion_and_the_hashes(server):
    invited, c = await room(server, "host", "applicant", applicant_video=True)
    host, applicant = c["host"], c["applicant"]
    try:
        await host.frames_from(applicant.id, 5)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        identity = points(host)[0]["id"]
        await host.send({"type": "current", "item": identity})
        await host.send({"type": "screenshot", "participant": applicant.id})
        await host.send(
            {"type": "mark", "item": identity, "verdict": "verified", "note": "证件一致"}
        )
        await host.wait_for(lambda: points(host)[0]["screenshots"], what="screenshot on point 1")
        await asyncio.sleep(1.5)
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", what="ended")
    finally:
        await close_all(c)
    await wait_recordings(server.archive, invited.inspection.id)
    records = []
    for _ in range(120):
        records = await server.archive.records.of_inspection(invited.inspection.id)
        if records:
            break
        await asyncio.sleep(0.25)
    assert len(records) == 1, "no record made after the session"
    record = records[0]
    pdf_path = server.settings.recordings_dir / record.pdf_path
    text = "".join(
        page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf_path.read_bytes())).pages
    )
    compact = text.replace(" ", "").replace("\n", "")
    case = await server.archive.cases.get(invited.inspection.case_id)
    assert case.case_no in compact and "食品经营许可" in compact
    for item in points(host):
        assert item["text"].replace(" ", "")[:20] in compact, item["text"]
    assert "通过" in compact and "已核验" in compact
    composite = next(
        r
        for r in await server.archive.evidence.recordings(invited.inspection.id)
        if r.kind == "composite"
    )
    assert composite.sha256 and composite.sha256 in compact
    # Regenerating makes a new version and keeps the first.
    again = await server.app[RECORDS].generate(invited.inspection.id, actor="test")
    assert again.version == 2
    assert (server.settings.recordings_dir / record.pdf_path).exists()


async def test_a_reinspection_carries_the_rectifications_over(server):
    invited, c = await room(server, "host", "applicant")
    host = c["host"]
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        fourth = points(host)[4]
        deadline = str(clock.now().astimezone(clock.SHANGHAI).date() + timedelta(days=5))
        await host.send(
            {
                "type": "conclude",
                "verdict": "rectify",
                "reasons": "冷藏不足",
                "deadline": deadline,
                "rectifications": [{"item": fourth["id"], "text": "增设冷藏柜"}],
            }
        )
        await host.wait_for(lambda: host.conclusion is not None, what="conclusion")
        await host.send({"type": "end"})
        await host.wait_for(lambda: host.status == "closed", what="ended")
    finally:
        await close_all(c)
    cases = server.app[CASES]
    case = await server.archive.cases.get(invited.inspection.case_id)
    group = [GroupMember("host", "张主持"), GroupMember("applicant", "陈申请")]
    # Staff cannot schedule before the applicant asks.
    with pytest.raises(Exception, match="待整改"):
        await cases.schedule(case.id, clock.now() + timedelta(hours=1), group, actor="t")
    await cases.outcome.request_reinspection(case, "已增设冷藏柜", address="1.2.3.4", agent="phone")
    case = await server.archive.cases.get(case.id)
    assert case.state == "reinspection_requested"
    second = await cases.schedule(case.id, clock.now() + timedelta(hours=1), group, actor="t")
    assert second.previous_inspection_id == invited.inspection.id and second.seq == 2
    items = await server.archive.checklists.items(second.id)
    assert items[0].kind == "identity"
    assert [i.kind for i in items[1:]] == ["rectification"]
    assert fourth["text"] in items[1].text and "增设冷藏柜" in items[1].text
    [request] = await server.archive.conclusions.requests(case.id)
    assert request.inspection_id == second.id and request.address == "1.2.3.4"


async def test_a_case_past_its_deadline_becomes_overdue_and_cannot_ask_for_reinspection(settings):
    archive = await ArchiveStore.open(settings.archive_location)
    try:
        case = await archive.cases.create(
            application_no="LATE-1", applicant_name="迟", item_code="FOOD-OPERATION", item_name="x"
        )
        inspection = await archive.inspections.schedule(
            case.id, clock.now_iso(), None, [GroupMember("host", "主持")], actor="t"
        )
        await archive.inspections.start(inspection.id, actor="t")
        # A deadline already behind us (the room would refuse one; the archive records it).
        stamp = Stamp("1", "主持", "host", clock.now_iso())
        await archive.conclusions.conclude(
            inspection.id, Verdict.RECTIFY, "未整改", "2020-01-01", [(None, "补证")], stamp
        )
    finally:
        await archive.close()
    async with running_server(settings) as server:
        for _ in range(100):
            if (await server.archive.cases.get(case.id)).state == "overdue":
                break
            await asyncio.sleep(0.1)
        late = await server.archive.cases.get(case.id)
        assert late.state == "overdue"
        [event] = await server.archive.events.find(case_id=case.id, types=["case.overdue"])
        assert event.data["deadline"] == "2020-01-01"
        with pytest.raises(Exception, match="2020-01-01"):
            await server.app[CASES].outcome.request_reinspection(
                late, "已整改", address="", agent=""
            )

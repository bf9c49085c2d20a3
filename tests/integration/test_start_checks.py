"""The eligibility gates run again when the host starts: a dishonesty-list import or a catalog
edit after scheduling refuses the start, cancels the inspection and tells the host why."""

from __future__ import annotations

import asyncio
import dataclasses

from server.cases.intake import DishonestyRow
from server.services import CASES, CATALOG, ROOMS
from tests.integration.test_live_revocation import bye, seated

ID_NO = "91450221MA5KDEM012"


async def sessions(server, invited) -> int:  # type: ignore[no-untyped-def]
    events = await server.archive.events.find(
        inspection_id=invited.inspection.id, types=["session.started"]
    )
    return len(events)


async def start_is_refused(server, invited, why: str) -> None:  # type: ignore[no-untyped-def]
    before = await sessions(server, invited)
    host, (applicant,) = await seated(server, invited, "applicant")
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.status == "closed", what="the room closed")
        assert host.state != "live"
        assert host.close_code == 4003
        assert why in bye(host)["message"] and "取消" in bye(host)["message"]
        await applicant.wait_for(lambda: applicant.status == "closed", what="applicant told")
        assert "取消" in bye(applicant)["message"] and why not in bye(applicant)["message"]
    finally:
        await host.close()
        await applicant.close()
    inspection = await server.archive.inspections.get(invited.inspection.id)
    assert inspection.state == "cancelled"
    assert await sessions(server, invited) == before
    assert server.app[ROOMS].get(invited.inspection.id) is None
    # An interrupted case is excluded once the cancellation has freed it: a moment later.
    deadline = asyncio.get_running_loop().time() + 10
    while (await server.archive.cases.get(inspection.case_id)).state != "excluded":
        assert asyncio.get_running_loop().time() < deadline, "the case was not excluded"
        await asyncio.sleep(0.05)


async def test_a_dishonesty_listing_after_scheduling_refuses_the_start(server):
    invited = await server.invite("host", "applicant", case_kwargs={"applicant_id_no": ID_NO})
    await server.app[CASES].import_dishonesty(
        [DishonestyRow(ID_NO, "柳江区示例餐饮店", "承诺不实", "2026-10-08")],
        replace=False,
        source="test",
        actor="test",
    )
    await start_is_refused(server, invited, "承诺不实")
    assert await server.archive.evidence.recordings(invited.inspection.id) == []
    [exclusion] = await server.archive.eligibility.exclusions(invited.inspection.case_id)
    assert (exclusion.ground, exclusion.declared_by) == ("dishonest", "system:dishonesty-list")


async def test_an_item_taken_off_video_after_scheduling_refuses_the_start(server):
    invited = await server.invite("host", "applicant")
    catalog = server.app[CATALOG]
    current = await catalog.current("FOOD-OPERATION")
    off = dataclasses.replace(
        current.item,
        video_allowed=False,
        exclusion_ground="law",
        exclusion_reason="新规要求现场核验",
    )
    await catalog.save(off, note="暂停视频勘验", actor="staff:boss")
    await start_is_refused(server, invited, "新规要求现场核验")
    [exclusion] = await server.archive.eligibility.exclusions(invited.inspection.case_id)
    assert exclusion.declared_by.startswith("catalog:FOOD-OPERATION v2")


async def test_a_session_started_again_after_an_interruption_is_checked_too(server):
    invited = await server.invite("host", "applicant", case_kwargs={"applicant_id_no": ID_NO})
    host, (applicant,) = await seated(server, invited, "applicant")
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await host.send({"type": "interrupt", "reason": "申请人现场断电"})
        await host.wait_for(lambda: host.status == "closed", what="interrupted")
    finally:
        await host.close()
        await applicant.close()
    await server.app[CASES].import_dishonesty(
        [DishonestyRow(ID_NO, "柳江区示例餐饮店", "承诺不实", "2026-10-08")],
        replace=False,
        source="test",
        actor="test",
    )
    await start_is_refused(server, invited, "承诺不实")

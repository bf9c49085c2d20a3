"""The staff case page's "in the room now" (GET /inspections/{id}/live, server-sent events) on one
server with SQLite: it follows arrivals and marks as they commit, ends when the inspection does,
and is for staff who may see the case only. (Across nodes, through PostgreSQL's NOTIFY:
tests/integration/test_nodes.py.)"""

from __future__ import annotations

import asyncio

import aiohttp

from tests.support.peers import RoomClient
from tests.support.staff import StaffBrowser, follow, make_account


async def until(predicate, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_the_case_page_follows_the_room_as_it_happens(server):
    invited = await server.invite("host", "observer")
    inspection = invited.inspection.id
    await make_account(server.archive, "zhangsan", "inspector")
    host = RoomClient.of(server, invited, "host")
    views: list[dict] = []
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("zhangsan")
        following = asyncio.ensure_future(follow(tab, inspection, views))
        try:
            await until(lambda: len(views) == 1)
            assert views[0] == {"state": "scheduled", "people": [], "marks": []}
            await host.connect()
            await until(lambda: any(v["people"] for v in views))
            assert views[-1]["people"] == [
                {
                    "name": "张主持0",
                    "role": "host",
                    "presence": "admitted",
                    "label": "在场 / in the room",
                }
            ]
            await host.send({"type": "start"})
            await host.wait_for(lambda: host.checklist is not None)
            assert host.checklist is not None
            point = host.checklist["items"][1]
            await host.send({"type": "mark", "item": point["id"], "verdict": "conforms"})
            await until(lambda: views[-1]["marks"] != [])
            assert views[-1]["state"] == "live"
            assert views[-1]["marks"] == [
                {
                    "seq": point["seq"],
                    "text": point["text"],
                    "label": "符合",
                    "by": "张主持0",
                    "note": "",
                }
            ]
            await host.end_session()
            await asyncio.wait_for(following, 15)  # the stream ends with the inspection
            assert views[-1]["state"] == "concluded"
        finally:
            following.cancel()
            await host.close()


async def test_the_live_view_is_for_staff_who_may_see_the_case(server):
    invited = await server.invite("host")
    url = f"{server.base_url}/inspections/{invited.inspection.id}/live"
    async with aiohttp.ClientSession() as anonymous:
        async with anonymous.get(url, ssl=False, allow_redirects=False) as answer:
            assert answer.status == 303
            assert answer.headers["Location"].startswith("/login")
    await make_account(server.archive, "lingdao", "leader")  # statistics, not cases
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("lingdao")
        async with tab.session.get(url) as answer:
            assert answer.status == 403
            assert "text/event-stream" not in answer.headers.get("Content-Type", "")
        async with tab.session.get(f"{server.base_url}/inspections/999999/live") as answer:
            assert answer.status in (403, 404)

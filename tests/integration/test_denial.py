"""A denial holds: a denied person who knocks again is refused at once and the host is not
disturbed, until the host admits them from the denied list."""

from __future__ import annotations

from server.services import ROOMS
from tests.integration.test_bad_input import RawClient
from tests.integration.test_forwarding import GREEN, RED, admit, join


def lobby_entries(host, member_id: int) -> int:  # type: ignore[no-untyped-def]
    """Roster messages the host got that show `member_id` knocking in the lobby."""
    return sum(
        1
        for m in host.messages
        if m["type"] == "roster"
        and any(r["id"] == member_id and r["status"] == "lobby" for r in m["members"])
    )


async def test_a_denied_person_stays_out_until_the_host_admits_them(server):
    invited = await server.invite("host", "clerk")
    host = await join(server, invited, "host", RED, 440, size=(320, 240))
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    clerk = await join(server, invited, "clerk", GREEN, 660, size=(320, 240), observe=False)
    try:
        await host.wait_for(lambda: lobby_entries(host, clerk.id) == 1, what="knock")
        await host.send({"type": "deny", "participant": clerk.id})
        await clerk.wait_for(lambda: clerk.status == "closed", what="denied")
        assert clerk.close_code == 4007
        await host.wait_for(
            lambda: any(m["id"] == clerk.id and m["status"] == "denied" for m in host.roster),
            what="the denied list",
        )
        knocks = lobby_entries(host, clerk.id)
        for _ in range(5):  # well under the reconnect limit: it is the denial that refuses
            async with RawClient(server) as raw:
                await raw.hello(invited.inspection.id, invited.token("clerk"))
                error = await raw.error()
                assert error["code"] == "denied" and "主持人" in error["message"]
                assert await raw.closed() == 4007
        assert lobby_entries(host, clerk.id) == knocks  # the host saw no knock
        room = server.app[ROOMS].get(invited.inspection.id)
        assert clerk.id not in room.connections

        # The host takes the denial back: the clerk is off the list and walks in next time.
        await host.send({"type": "admit", "participant": clerk.id})
        await host.wait_for(
            lambda: all(m["id"] != clerk.id for m in host.roster), what="off the denied list"
        )
        back = await join(server, invited, "clerk", GREEN, 660, size=(320, 240), observe=False)
        await back.wait_for(lambda: back.status == "admitted", what="straight in")
        assert not any(m["type"] == "lobby" for m in back.messages)
        await host.frames_from(back.id, 5)
        await back.close()
        events = await server.archive.events.find(inspection_id=invited.inspection.id)
        types = [e.type for e in events]
        assert types.index("participant.denied") < types.index("participant.allowed")
    finally:
        await host.close()
        await clerk.close()


async def test_admit_needs_someone_waiting_or_denied(server):
    invited = await server.invite("host", "clerk")
    host = await join(server, invited, "host", RED, 440, size=(320, 240))
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    clerk = await join(server, invited, "clerk", GREEN, 660, size=(320, 240), observe=False)
    try:
        await admit(host, clerk)
        before = len(host.errors)
        await host.send({"type": "admit", "participant": clerk.id})  # seated already
        await host.wait_for(lambda: len(host.errors) > before, what="refusal")
        assert host.errors[-1]["code"] == "not_in_lobby"
    finally:
        await host.close()
        await clerk.close()

"""A withdrawn link, a move (改期) or a cancellation (取消) acts on the live room at once: the
people whose links no longer hold are disconnected with a reason, leave the roster and the
recording, and nothing starts on an old link — whichever page, API or process made the change."""

from __future__ import annotations

from datetime import timedelta

from server import clock
from server.archive import ArchiveStore
from server.services import ROOMS
from tests.integration.test_bad_input import RawClient
from tests.integration.test_forwarding import BLUE, GREEN, RED, admit, join
from tests.support.staff import beijing


def bye(client) -> dict:  # type: ignore[no-untyped-def]
    return next(m for m in client.messages if m["type"] == "bye")


async def seated(server, invited, *roles):  # type: ignore[no-untyped-def]
    """The host seated, then everyone in `roles` admitted (light peers)."""
    host = await join(server, invited, "host", RED, 440, size=(320, 240))
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    others = []
    for role, colour, tone in zip(roles, (BLUE, GREEN, RED), (880, 660, 550), strict=False):
        client = await join(server, invited, role, colour, tone, size=(320, 240), observe=False)
        await admit(host, client)
        others.append(client)
    return host, others


async def test_a_withdrawn_observer_leaves_the_live_room_roster_and_recording(server, inspector):
    invited = await server.invite("host", "applicant", "observer")
    host, (applicant, observer) = await seated(server, invited, "applicant", "observer")
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await host.frames_from(observer.id, 5)
        room = server.app[ROOMS].get(invited.inspection.id)
        recorder = room.recorder
        await host.wait_for(
            lambda: (observer.id, "video") in recorder._followed, what="observer recorded"
        )

        response = await inspector.post(f"/invitees/{invited.invitee('observer').id}/revoke")
        assert response.status == 303
        # By the time the staff page answers, the room has acted.
        assert observer.id not in room.connections
        assert not any(p.publisher_id == observer.id for p in room.seated_publications())
        assert {key[0] for key in recorder._followed} == {host.id, applicant.id}
        assert observer.id not in {m["id"] for m in recorder._members}

        await observer.wait_for(lambda: observer.status == "closed", what="observer closed")
        assert observer.close_code == 4003
        assert bye(observer)["code"] == "revoked" and "撤销" in bye(observer)["message"]
        await host.wait_for(
            lambda: all(m["id"] != observer.id for m in host.roster), what="roster without them"
        )
        # The session goes on for everyone else.
        assert room.room.state == "live"
        await host.frames_from(applicant.id, 10)
        left = await server.archive.events.find(
            inspection_id=invited.inspection.id, types=["participant.left"]
        )
        assert [e.data["reason"] for e in left if e.actor == str(observer.id)] == ["link revoked"]
        async with RawClient(server) as raw:
            await raw.hello(invited.inspection.id, invited.token("observer"))
            assert (await raw.error())["code"] == "revoked"
            assert await raw.closed() == 4003
    finally:
        for client in (host, applicant, observer):
            await client.close()


async def test_a_withdrawn_member_who_dropped_loses_the_seat_at_once(server, inspector):
    invited = await server.invite("host", "clerk")
    host, (clerk,) = await seated(server, invited, "clerk")
    try:
        await clerk.die()
        await host.wait_for(
            lambda: any(m["id"] == clerk.id and m["status"] == "dropped" for m in host.roster),
            what="dropped mark",
        )
        assert (await inspector.post(f"/invitees/{invited.invitee('clerk').id}/revoke")).status
        # Not after the reconnect grace period (30 s): now.
        room = server.app[ROOMS].get(invited.inspection.id)
        assert not room.room.members[clerk.id].in_room
        await host.wait_for(lambda: all(m["id"] != clerk.id for m in host.roster), what="roster")
    finally:
        await host.close()


async def test_moving_the_inspection_empties_its_room_and_nothing_starts(server, inspector):
    invited = await server.invite("host", "applicant", "clerk")
    host, (applicant,) = await seated(server, invited, "applicant")
    clerk = await join(server, invited, "clerk", GREEN, 660, size=(320, 240), observe=False)
    await clerk.wait_for(lambda: clerk.status == "lobby", what="clerk in the lobby")
    try:
        response = await inspector.post(
            f"/inspections/{invited.inspection.id}/reschedule",
            {"scheduled_at": beijing(timedelta(hours=3)), "reason": "申请人临时外出"},
        )
        assert response.status == 303
        assert server.app[ROOMS].get(invited.inspection.id) is None
        for client in (host, applicant, clerk):
            await client.wait_for(lambda c=client: c.status == "closed", what="closed")
            assert client.close_code == 4003
            assert bye(client)["code"] == "revoked" and "改期" in bye(client)["message"]
        inspection = await server.archive.inspections.get(invited.inspection.id)
        assert inspection.state == "scheduled" and inspection.started_at is None
        async with RawClient(server) as raw:  # the old host link cannot open a new room
            await raw.hello(invited.inspection.id, invited.token("host"))
            assert (await raw.error())["code"] == "revoked"
            assert await raw.closed() == 4003
    finally:
        for client in (host, applicant, clerk):
            await client.close()


async def test_cancelling_closes_the_room_and_tells_staff_why(server, inspector):
    invited = await server.invite("host", "applicant")
    host, (applicant,) = await seated(server, invited, "applicant")
    try:
        response = await inspector.post(
            f"/inspections/{invited.inspection.id}/cancel", {"reason": "申请人撤回申请"}
        )
        assert response.status == 303
        assert server.app[ROOMS].get(invited.inspection.id) is None
        for client in (host, applicant):
            await client.wait_for(lambda c=client: c.status == "closed", what="closed")
            assert client.close_code == 4003
        assert "申请人撤回申请" in bye(host)["message"]
        assert "取消" in bye(applicant)["message"]
        assert "撤回" not in bye(applicant)["message"]  # the reason is for staff
    finally:
        for client in (host, applicant):
            await client.close()


async def test_start_checks_the_links_again_even_for_changes_made_elsewhere(server):
    """A move written by another process (a command on the same archive) never reaches this
    server's rooms after commit; the host's start checks every link again and refuses."""
    invited = await server.invite("host", "applicant")
    host, (applicant,) = await seated(server, invited, "applicant")
    try:
        other = await ArchiveStore.open(server.settings.archive_location)
        try:
            later = clock.iso(clock.now() + timedelta(hours=3))
            await other.inspections.reschedule(
                invited.inspection.id, later, "另一进程改期", actor="cli"
            )
        finally:
            await other.close()
        assert server.app[ROOMS].get(invited.inspection.id) is not None  # it has not heard
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.status == "closed", what="host closed")
        assert host.close_code == 4003 and "改期" in bye(host)["message"]
        await applicant.wait_for(lambda: applicant.status == "closed", what="applicant closed")
        events = await server.archive.events.find(inspection_id=invited.inspection.id)
        assert "session.started" not in [e.type for e in events]
        assert (await server.archive.inspections.get(invited.inspection.id)).state == "scheduled"
    finally:
        for client in (host, applicant):
            await client.close()

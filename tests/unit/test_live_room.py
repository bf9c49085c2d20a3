"""A live room with fake participants: the order of admission, media and notifications,
without any network (the archive is a real SQLite file)."""

from __future__ import annotations

import asyncio

import pytest

from server.archive import ArchiveStore, GroupMember
from server.cases.catalog import SHIPPED, Catalog, load_file
from server.cases.links import Links, LinkSigner
from server.cases.workflow import CaseService
from server.errors import CloseCode, UserError
from server.live.registry import RoomService
from server.live.room import Presence, Role
from tests.support.server import make_settings


class FakeParticipant:
    def __init__(self, id: int, role: Role, name: str) -> None:
        self.id, self.role, self.name = id, role, name
        self.messages: list[dict] = []
        self.followed: list[list[tuple[int, str]]] = []
        self.entered = False
        self.closed: tuple[int, str] | None = None

    async def send(self, message):
        self.messages.append(message)

    async def close(self, code, reason):
        self.closed = (code, reason)

    async def enter(self, hub):
        self.entered = True
        for kind in ("audio", "video"):
            hub.publication(self.id, kind)

    async def follow(self, publications):
        self.followed.append(sorted((p.publisher_id, p.kind) for p in publications))

    def types(self):
        return [m["type"] for m in self.messages]


@pytest.fixture
async def room(tmp_path):
    settings = make_settings(tmp_path, media={"reconnect_grace_s": 1})
    archive = await ArchiveStore.open(tmp_path / "k.sqlite3")
    catalog = Catalog(archive)
    await catalog.sync_file(load_file(SHIPPED), "shipped")
    case = await archive.cases.create(
        application_no="A", applicant_name="a", item_code="FOOD-OPERATION", item_name="x"
    )
    group = [GroupMember(role, role) for role in ("host", "clerk", "applicant")]
    inspection = await archive.inspections.schedule(
        case.id, "2026-11-26T00:00:00.000Z", None, group, actor="test"
    )
    people = {}
    for invitee in await archive.inspections.invitees(inspection.id):
        people[invitee.role] = FakeParticipant(invitee.id, Role(invitee.role), invitee.role)
    links = Links(settings, archive, LinkSigner(b"test secret"))
    service = RoomService(settings, archive, CaseService(archive, catalog), links)
    live = await service.room_for(inspection.id)
    yield live, people
    await archive.close()


async def test_admission_seats_and_media_follow(room):
    live, p = room
    await live.arrive(p["host"])
    await live.arrive(p["applicant"])
    assert p["host"].entered and not p["applicant"].entered
    assert p["applicant"].types() == ["lobby"]  # waiting people see nobody
    lobby_view = p["host"].messages[-1]["members"]
    assert {m["id"]: m["status"] for m in lobby_view}[p["applicant"].id] == "lobby"

    await live.admit(p["host"].id, p["applicant"].id)
    assert p["applicant"].entered
    a, h = p["applicant"].id, p["host"].id
    assert p["host"].followed[-1] == [(a, "audio"), (a, "video")]
    assert p["applicant"].followed[-1] == [(h, "audio"), (h, "video")]
    types = [e.type for e in await live.archive.events.find(inspection_id=live.inspection.id)]
    assert types[-3:] == ["participant.joined", "participant.joined", "participant.admitted"]


async def test_a_drop_keeps_media_for_the_grace_period_then_frees_it(room):
    live, p = room
    await live.arrive(p["host"])
    await live.arrive(p["applicant"])
    await live.admit(p["host"].id, p["applicant"].id)
    follows = len(p["host"].followed)
    await live.depart(p["applicant"], deliberate=False)
    assert live.room.members[p["applicant"].id].presence == Presence.DROPPED
    assert len(p["host"].followed) == follows  # nothing renegotiated yet
    await asyncio.sleep(1.3)
    assert live.room.members[p["applicant"].id].presence == Presence.LEFT
    assert p["host"].followed[-1] == []
    assert live.hub.find(p["applicant"].id, "video") is None


async def test_a_reconnect_within_the_grace_period_renegotiates_nobody_else(room):
    live, p = room
    await live.arrive(p["host"])
    await live.arrive(p["applicant"])
    await live.admit(p["host"].id, p["applicant"].id)
    publication = live.hub.find(p["applicant"].id, "video")
    await live.depart(p["applicant"], deliberate=False)
    back = FakeParticipant(p["applicant"].id, Role.APPLICANT, "applicant")
    await live.arrive(back)
    assert back.entered and "lobby" not in back.types()
    assert live.hub.find(p["applicant"].id, "video") is publication  # same publication
    assert p["host"].followed[-1] == [(back.id, "audio"), (back.id, "video")]
    await asyncio.sleep(1.3)  # the cancelled grace timer must not free the seat
    assert live.room.members[back.id].presence == Presence.ADMITTED


async def test_a_second_connection_replaces_the_first(room):
    live, p = room
    await live.arrive(p["host"])
    second = FakeParticipant(p["host"].id, Role.HOST, "host")
    await live.arrive(second)
    await asyncio.sleep(0)
    assert p["host"].closed[0] == CloseCode.REPLACED
    await live.depart(p["host"], deliberate=False)  # the old one's goodbye changes nothing
    assert live.connections[p["host"].id] is second
    assert live.room.members[p["host"].id].presence == Presence.ADMITTED


async def test_deny_and_remove_close_with_their_codes_and_remove_revokes_the_link(room):
    live, p = room
    await live.arrive(p["host"])
    await live.arrive(p["clerk"])
    await live.deny(p["host"].id, p["clerk"].id)
    assert p["clerk"].closed[0] == CloseCode.DENIED
    await live.arrive(p["applicant"])
    await live.admit(p["host"].id, p["applicant"].id)
    await live.remove(p["host"].id, p["applicant"].id)
    assert p["applicant"].closed[0] == CloseCode.REMOVED
    invitee = await live.archive.inspections.invitee(p["applicant"].id)
    assert invitee.revoked_at is not None
    assert p["host"].followed[-1] == []


async def test_the_end_closes_everyone_and_logs_their_departure(room):
    live, p = room
    await live.arrive(p["host"])
    await live.arrive(p["applicant"])
    await live.admit(p["host"].id, p["applicant"].id)
    await live.start(p["host"].id)
    assert {"type": "state"}.items() <= p["applicant"].messages[-1].items()
    with pytest.raises(UserError, match="宣布勘验结论"):
        await live.end(p["host"].id)
    await live.outcome.conclude(p["host"].id, "pass", "现场与材料一致", None, None)
    await live.end(p["host"].id)
    assert p["host"].closed[0] == p["applicant"].closed[0] == CloseCode.ENDED
    events = await live.archive.events.find(inspection_id=live.inspection.id)
    left = [e for e in events if e.type == "participant.left"]
    assert {e.actor for e in left} == {str(p["host"].id), str(p["applicant"].id)}
    assert live.service.get(live.inspection.id) is None


async def test_the_lobby_hears_when_the_host_comes_and_goes(room):
    live, p = room
    await live.arrive(p["applicant"])
    assert p["applicant"].messages == [{"type": "lobby", "host_online": False}]
    await live.arrive(p["host"])
    assert p["applicant"].messages[-1] == {"type": "lobby", "host_online": True}
    await live.arrive(p["clerk"])  # someone else arriving changes nothing for the lobby
    assert p["applicant"].types() == ["lobby", "lobby"]
    assert p["clerk"].messages == [{"type": "lobby", "host_online": True}]
    await live.depart(p["host"], deliberate=True)
    assert p["applicant"].messages[-1] == {"type": "lobby", "host_online": False}
    assert p["clerk"].messages[-1] == {"type": "lobby", "host_online": False}


async def test_a_camera_request_reaches_only_the_person_asked(room):
    live, p = room
    for who in ("host", "clerk", "applicant"):
        await live.arrive(p[who])
    for who in ("clerk", "applicant"):
        await live.admit(p["host"].id, p[who].id)
    await live.ask_camera(p["host"].id, p["applicant"].id, "torch")
    assert p["applicant"].messages[-1] == {"type": "camera_request", "what": "torch", "by": "host"}
    assert "camera_request" not in p["clerk"].types()


async def test_a_device_report_goes_to_everyone_seated_once(room):
    live, p = room
    for who in ("host", "applicant"):
        await live.arrive(p[who])
    await live.admit(p["host"].id, p["applicant"].id)
    before = len(p["host"].messages)
    await live.set_device(p["applicant"].id, {"background": True})
    await live.set_device(p["applicant"].id, {"background": True})  # no change: no roster
    rosters = [m for m in p["host"].messages[before:] if m["type"] == "roster"]
    assert len(rosters) == 1
    applicant = {m["id"]: m for m in rosters[0]["members"]}[p["applicant"].id]
    assert applicant["device"] == {"background": True}


class Upstream:
    """A publisher's receiver as a publication sees it: something to ask for keyframes."""

    def request_keyframe(self) -> None:
        pass


async def test_the_host_is_told_when_someone_s_video_stops_reaching_the_server(room):
    live, p = room
    for who in ("host", "applicant"):
        await live.arrive(p[who])
    await live.admit(p["host"].id, p["applicant"].id)
    camera = live.hub.find(p["applicant"].id, "video")
    camera.attach(Upstream())
    camera.sending = True
    stall = live.service.settings.media.stall_after_s
    await live.check_media(1000.0)
    await live.check_media(1000.0 + stall)
    notices = [m for m in p["host"].messages if m["type"] == "notice"]
    assert [n["code"] for n in notices] == ["media_stalled"]
    assert "applicant" in notices[0]["message"]
    assert "notice" not in p["applicant"].types()
    seen = {m["id"]: m for m in p["applicant"].messages[-1]["members"]}
    assert seen[p["applicant"].id]["stalled"] is True  # the applicant's page says so too
    camera.deliver(b"\x00" * 10, 0)
    await live.check_media(1001.0 + stall)
    assert p["host"].messages[-2]["code"] == "media_resumed"
    assert p["host"].messages[-1]["type"] == "roster"
    assert not live.room.members[p["applicant"].id].stalled
    await live.shutdown()


async def test_a_session_nobody_of_the_staff_attends_is_interrupted(room):
    """The watchdog's rule with the time given: no waiting, no threshold guessed."""
    live, p = room
    limit = live.service.settings.watchdog.no_staff_s
    await live.arrive(p["host"])
    await live.arrive(p["clerk"])
    await live.arrive(p["applicant"])
    await live.admit(p["host"].id, p["clerk"].id)
    await live.admit(p["host"].id, p["applicant"].id)
    await live.start(p["host"].id)
    await live.depart(p["host"], deliberate=True)
    await live.watch(1000.0)
    await live.watch(1000.0 + limit)  # the clerk is still there: the session goes on
    assert live.room.state == "live"
    await live.depart(p["clerk"], deliberate=True)
    await live.watch(2000.0)  # nobody of the staff from now on
    await live.watch(2000.0 + limit - 1)
    assert live.room.state == "live"
    await live.arrive(p["clerk"])  # back in time: the count starts again
    await live.watch(2000.0 + limit)
    await live.depart(p["clerk"], deliberate=True)
    await live.watch(3000.0)
    await live.watch(3000.0 + limit)
    assert live.room.state == "interrupted"
    assert p["applicant"].closed[0] == CloseCode.INTERRUPTED
    assert any(m.get("code") == "unattended" for m in p["applicant"].messages)
    inspection = await live.archive.inspections.get(live.inspection.id)
    assert inspection.state == "interrupted" and "无工作人员在场" in inspection.interrupt_reason
    [event] = await live.archive.events.find(
        inspection_id=live.inspection.id, types=["session.interrupted"]
    )
    assert event.actor == "system:watchdog"
    assert live.service.get(live.inspection.id) is None  # the same links open a new session

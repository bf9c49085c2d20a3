"""A room brought back after the server stopped: the replay of its event log (a table of
cases), then real rooms on a real archive, restarted by opening them in a new RoomService."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest

from server.archive import ArchiveStore, GroupMember
from server.cases.catalog import SHIPPED, Catalog, load_file
from server.cases.links import Links, LinkSigner
from server.cases.workflow import CaseService
from server.errors import Denied
from server.live.registry import RoomService
from server.live.restore import SHUTDOWN_REASON, remember, replay
from server.live.room import Presence, Role, Room, RoomState
from tests.support.server import make_settings
from tests.unit.test_live_room import FakeParticipant


@dataclass
class E:
    type: str
    actor: str = "1"
    data: dict[str, Any] = field(default_factory=dict)
    at: str = "2026-11-27T02:00:00.000Z"


def joined(who: int, presence: str = "lobby") -> E:
    return E("participant.joined", str(who), {"presence": presence})


def admitted(who: int, by: int = 1) -> E:
    return E("participant.admitted", str(by), {"participant": who})


HOST, CLERK, APPLICANT = 1, 2, 3
SITTING = [joined(HOST, "admitted"), joined(APPLICANT), admitted(APPLICANT)]

# events → (seated when the server stopped, admitted this sitting)
CASES: list[tuple[str, list[E], list[int], list[int]]] = [
    ("nobody came", [E("inspection.scheduled", "staff")], [], []),
    ("host and admitted applicant", SITTING, [HOST, APPLICANT], [HOST, APPLICANT]),
    (
        "someone still in the lobby is not admitted",
        [*SITTING, joined(CLERK)],
        [HOST, APPLICANT],
        [HOST, APPLICANT],
    ),
    (
        "a dropped connection keeps its seat",
        [*SITTING, E("participant.dropped", str(APPLICANT))],
        [HOST, APPLICANT],
        [HOST, APPLICANT],
    ),
    (
        "a deliberate leave frees the seat but not the admission",
        [*SITTING, E("participant.left", str(APPLICANT), {"deliberate": True})],
        [HOST],
        [HOST, APPLICANT],
    ),
    (
        "a clean stop of the server keeps the seats",
        [
            *SITTING,
            E("participant.left", str(HOST), {"reason": SHUTDOWN_REASON}),
            E("participant.left", str(APPLICANT), {"reason": SHUTDOWN_REASON}),
        ],
        [HOST, APPLICANT],
        [HOST, APPLICANT],
    ),
    (
        "a reconnect admits again",
        [
            *SITTING,
            E("participant.dropped", "3"),
            E("participant.reconnected", "3", {"presence": "admitted"}),
        ],
        [HOST, APPLICANT],
        [HOST, APPLICANT],
    ),
    (
        "denied and removed people are not brought back",
        [
            *SITTING,
            joined(CLERK),
            E("participant.denied", "1", {"participant": CLERK}),
            E("participant.removed", "1", {"participant": APPLICANT}),
        ],
        [HOST],
        [HOST, APPLICANT],
    ),
    (
        "a denial the host took back lets them walk in next time",
        [
            *SITTING,
            joined(CLERK),
            E("participant.denied", "1", {"participant": CLERK}),
            admitted(CLERK),
        ],
        [HOST, APPLICANT],
        [HOST, CLERK, APPLICANT],
    ),
    (
        "中止 starts a new sitting",
        [*SITTING, E("session.interrupted", "1"), joined(HOST, "admitted")],
        [HOST],
        [HOST],
    ),
    (
        "改期 starts a new sitting",
        [*SITTING, E("inspection.rescheduled", "staff")],
        [],
        [],
    ),
    (
        "events of others and unknown shapes are ignored",
        [
            *SITTING,
            E("recording.gap", "recorder", {"participant": "x"}),
            E("participant.admitted", "1", {"participant": 99}),
            E("participant.dropped", "recorder"),
        ],
        [HOST, APPLICANT],
        [HOST, APPLICANT],
    ),
]


@pytest.mark.parametrize(
    ("events", "seated", "admitted_ids"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_replay(events, seated, admitted_ids):
    result = replay(events)
    assert sorted(result.seated()) == seated
    assert sorted(result.admitted()) == admitted_ids


def test_a_denial_holds_across_a_restart():
    room = Room(7, RoomState.LIVE)
    events = [*SITTING, joined(CLERK), E("participant.denied", "1", {"participant": CLERK})]
    people = {
        HOST: (Role.HOST, "主持"),
        CLERK: (Role.CLERK, "审批"),
        APPLICANT: (Role.APPLICANT, "申"),
    }
    assert replay(events).denied() == [CLERK]
    remember(room, replay(events), people)
    assert room.members[CLERK].presence == Presence.DENIED
    with pytest.raises(Denied):
        room.arrive(CLERK, Role.CLERK, "审批")
    assert [m["id"] for m in room.roster(HOST)] == [HOST, APPLICANT, CLERK]  # the denied list


def test_remember_seats_the_seated_as_dropped_and_skips_revoked_links():
    room = Room(7, RoomState.LIVE)
    events = [*SITTING, joined(CLERK, "lobby"), admitted(CLERK)]
    events.append(E("participant.left", str(CLERK), {"deliberate": True}))
    people = {HOST: (Role.HOST, "主持"), CLERK: (Role.CLERK, "审批")}  # applicant: revoked
    held = remember(room, replay(events), people)
    assert [m.id for m in held] == [HOST]
    assert room.members[HOST].presence == Presence.DROPPED
    assert room.members[CLERK].presence == Presence.LEFT and room.members[CLERK].admitted_once
    assert APPLICANT not in room.members
    # Back with their links: no lobby, and the roster says they reconnected.
    assert room.arrive(CLERK, Role.CLERK, "审批").reconnected
    assert room.members[CLERK].presence == Presence.ADMITTED
    assert room.arrive(HOST, Role.HOST, "主持").member.view()["reconnected"] is True


@pytest.fixture
async def restartable(tmp_path):
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
    people = {i.role: i for i in await archive.inspections.invitees(inspection.id)}

    def service() -> RoomService:
        """A server process: its rooms live in memory only."""
        links = Links(settings, archive, LinkSigner(b"test secret"))
        return RoomService(settings, archive, CaseService(archive, catalog), links)

    def person(role: str) -> FakeParticipant:
        return FakeParticipant(people[role].id, Role(role), role)

    yield archive, inspection, service, person
    await archive.close()


async def test_after_a_crash_the_admitted_walk_back_in_and_the_others_knock(restartable):
    archive, inspection, service, person = restartable
    before = await service().room_for(inspection.id)
    host, applicant, clerk = person("host"), person("applicant"), person("clerk")
    for p in (host, applicant, clerk):
        await before.arrive(p)
    await before.admit(host.id, applicant.id)
    await before.start(host.id)
    # kill -9: nothing more happens in that process; a new one opens the room.
    after = await service().room_for(inspection.id)
    assert after.room.state == RoomState.LIVE
    assert {m.id: m.presence for m in after.room.members.values()} == {
        host.id: Presence.DROPPED,
        applicant.id: Presence.DROPPED,
    }
    applicant_back, clerk_back = person("applicant"), person("clerk")
    await after.arrive(applicant_back)
    assert applicant_back.entered and "lobby" not in applicant_back.types()
    roster = {m["id"]: m for m in applicant_back.messages[-1]["members"]}
    assert roster[applicant_back.id]["reconnected"] is True
    assert roster[host.id]["status"] == "dropped"  # the host's tile waits for them
    await after.arrive(clerk_back)
    assert clerk_back.types() == ["lobby"]  # was never admitted: knocks again

    events = await archive.events.find(inspection_id=inspection.id)
    restored = next(e for e in events if e.type == "room.restored")
    assert restored.actor == "system" and restored.data["state"] == "live"
    assert sorted(restored.data["seated"]) == sorted([host.id, applicant.id])
    reconnected = events[-2]
    assert reconnected.type == "participant.reconnected"
    assert reconnected.actor == str(applicant_back.id)

    await asyncio.sleep(1.3)  # the grace period: the host did not come back
    assert after.room.members[host.id].presence == Presence.LEFT
    assert after.room.members[applicant_back.id].presence == Presence.ADMITTED
    # Even gone, the host's admission holds for this sitting (a host always walks in anyway).
    assert after.room.members[host.id].admitted_once


async def test_a_clean_stop_brings_everyone_back_too(restartable):
    _, inspection, service, person = restartable
    before = await service().room_for(inspection.id)
    host, applicant = person("host"), person("applicant")
    await before.arrive(host)
    await before.arrive(applicant)
    await before.admit(host.id, applicant.id)
    await before.shutdown()  # what on_shutdown does on SIGTERM
    after = await service().room_for(inspection.id)
    assert after.room.members[applicant.id].presence == Presence.DROPPED
    back = person("applicant")
    await after.arrive(back)
    assert back.entered


async def test_after_an_interruption_nobody_is_admitted_by_the_old_sitting(restartable):
    archive, inspection, service, person = restartable
    before = await service().room_for(inspection.id)
    host, applicant = person("host"), person("applicant")
    await before.arrive(host)
    await before.arrive(applicant)
    await before.admit(host.id, applicant.id)
    await before.start(host.id)
    await before.interrupt(host.id, "现场停电")
    after = await service().room_for(inspection.id)
    assert after.room.members == {}
    back = person("applicant")
    await after.arrive(back)
    assert back.types() == ["lobby"]
    types = [e.type for e in await archive.events.find(inspection_id=inspection.id)]
    assert "room.restored" not in types

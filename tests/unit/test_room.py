"""The room domain without any network: roles, permissions, lobby, session state."""

from __future__ import annotations

import pytest

from server.errors import NotAuthorised, UserError
from server.live.room import PERMISSIONS, Action, Presence, Role, Room, RoomState, allowed

HOST, CLERK, EXPERT, OBSERVER, APPLICANT = 1, 2, 3, 4, 5

# SPEC §2, row by row: what each role may do in the room.
EXPECTED = {
    Role.HOST: {
        "admit",
        "deny",
        "remove",
        "start",
        "end",
        "screenshot",
        "set_current",
        "mark_item",
        "move_screenshot",
        "note",
        "conclude",
        "see_checklist",
        "publish",
        "see_lobby",
        "ask_camera",
    },
    Role.CLERK: {"screenshot", "mark_item", "move_screenshot", "note", "see_checklist", "publish"},
    Role.EXPERT: {"screenshot", "mark_item", "move_screenshot", "note", "see_checklist", "publish"},
    Role.OBSERVER: {"see_checklist", "publish"},
    Role.APPLICANT: {"confirm", "publish"},
    Role.RECORDER: {"record"},
}


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_permission_table(role, action):
    assert allowed(role, action) == (str(action) in EXPECTED[role])


def test_permission_table_covers_every_role():
    assert set(PERMISSIONS) == set(Role)


def full_room() -> Room:
    room = Room(inspection_id=1)
    room.arrive(HOST, Role.HOST, "主持")
    for member_id, role in (
        (CLERK, Role.CLERK),
        (EXPERT, Role.EXPERT),
        (OBSERVER, Role.OBSERVER),
        (APPLICANT, Role.APPLICANT),
    ):
        room.arrive(member_id, role, str(role))
    return room


def test_everyone_but_the_host_waits_in_the_lobby():
    room = Room(inspection_id=1)
    assert room.arrive(CLERK, Role.CLERK, "c").member.presence == Presence.LOBBY
    # The host arriving admits nobody.
    assert room.arrive(HOST, Role.HOST, "h").member.presence == Presence.ADMITTED
    assert room.members[CLERK].presence == Presence.LOBBY
    assert [m.id for m in room.lobby()] == [CLERK]


def test_host_admits_one_by_one_and_the_lobby_is_only_visible_to_the_host():
    room = full_room()
    room.admit(HOST, APPLICANT)
    assert room.members[APPLICANT].presence == Presence.ADMITTED
    assert room.members[CLERK].presence == Presence.LOBBY
    assert {m["id"] for m in room.roster(HOST)} == {HOST, APPLICANT, CLERK, EXPERT, OBSERVER}
    assert {m["id"] for m in room.roster(APPLICANT)} == {HOST, APPLICANT}


@pytest.mark.parametrize("actor", [CLERK, EXPERT, OBSERVER, APPLICANT])
@pytest.mark.parametrize("verb", ["admit", "deny", "remove"])
def test_only_the_host_admits_denies_and_removes(actor, verb):
    room = full_room()
    room.admit(HOST, actor)
    target = OBSERVER if actor != OBSERVER else CLERK
    with pytest.raises(NotAuthorised):
        getattr(room, verb)(actor, target)


@pytest.mark.parametrize("actor", [CLERK, EXPERT, OBSERVER, APPLICANT])
def test_only_the_host_starts_and_ends(actor):
    room = full_room()
    room.admit(HOST, actor)
    with pytest.raises(NotAuthorised):
        room.start(actor)
    room.start(HOST)
    with pytest.raises(NotAuthorised):
        room.end(actor)


def test_lobby_members_can_do_nothing():
    room = full_room()
    with pytest.raises(NotAuthorised) as err:
        room.require(APPLICANT, Action.PUBLISH)
    assert err.value.code == "not_admitted"


def test_session_states_and_no_entry_after_the_end():
    room = full_room()
    with pytest.raises(UserError):
        room.end(HOST)
    room.start(HOST)
    assert room.state == RoomState.LIVE
    with pytest.raises(UserError):
        room.start(HOST)
    room.end(HOST)
    with pytest.raises(UserError) as err:
        room.arrive(CLERK, Role.CLERK, "c")
    assert err.value.code == "ended"


def test_a_dropped_member_keeps_the_seat_and_returns_without_admission():
    room = full_room()
    room.admit(HOST, APPLICANT)
    room.disconnect(APPLICANT, deliberate=False)
    assert room.members[APPLICANT].presence == Presence.DROPPED
    assert APPLICANT in {m.id for m in room.seated()}
    arrival = room.arrive(APPLICANT, Role.APPLICANT, "a")
    assert arrival.reconnected and arrival.member.presence == Presence.ADMITTED


def test_a_dropped_member_who_does_not_return_loses_the_seat():
    room = full_room()
    room.admit(HOST, APPLICANT)
    room.disconnect(APPLICANT, deliberate=False)
    assert room.expire(APPLICANT)
    assert APPLICANT not in {m.id for m in room.seated()}
    # Admitted once in this room: even after leaving, back in without the lobby.
    assert room.arrive(APPLICANT, Role.APPLICANT, "a").member.presence == Presence.ADMITTED


def test_a_denial_holds_until_the_host_admits_from_the_denied_list():
    room = full_room()
    room.deny(HOST, CLERK)
    for _ in range(3):  # knocking again changes nothing, and nobody hears of it
        with pytest.raises(NotAuthorised) as err:
            room.arrive(CLERK, Role.CLERK, "c")
        assert err.value.code == "denied" and err.value.close_code == 4007
    assert [m["id"] for m in room.roster(HOST) if m["status"] == "denied"] == [CLERK]
    assert CLERK not in {m["id"] for m in room.roster(APPLICANT)}  # only the host sees it
    with pytest.raises(NotAuthorised):
        room.admit(OBSERVER, CLERK)  # only the host takes a denial back
    room.admit(HOST, CLERK)
    assert CLERK not in {m["id"] for m in room.roster(HOST)}  # gone from the denied list
    # ... and walks straight in at the next connection.
    assert room.arrive(CLERK, Role.CLERK, "c").member.presence == Presence.ADMITTED


def test_removed_may_not_come_back():
    room = full_room()
    room.admit(HOST, EXPERT)
    room.remove(HOST, EXPERT)
    with pytest.raises(NotAuthorised) as err:
        room.arrive(EXPERT, Role.EXPERT, "e")
    assert err.value.code == "removed"


def test_admit_needs_someone_in_the_lobby_and_the_host_cannot_remove_themselves():
    room = full_room()
    room.admit(HOST, CLERK)
    with pytest.raises(UserError) as err:
        room.admit(HOST, CLERK)
    assert err.value.code == "not_in_lobby"
    with pytest.raises(UserError) as err:
        room.remove(HOST, HOST)
    assert err.value.code == "cannot_remove_host"


@pytest.mark.parametrize("actor", [CLERK, EXPERT, OBSERVER, APPLICANT])
def test_only_the_host_asks_for_the_torch_or_the_other_camera(actor):
    room = full_room()
    for member in (CLERK, EXPERT, OBSERVER, APPLICANT):
        room.admit(HOST, member)
    assert room.ask_camera(HOST, APPLICANT).id == APPLICANT
    with pytest.raises(NotAuthorised) as err:
        room.ask_camera(actor, APPLICANT)
    assert err.value.code == "forbidden"


def test_a_camera_request_needs_someone_seated():
    room = full_room()  # the applicant waits in the lobby
    with pytest.raises(UserError) as err:
        room.ask_camera(HOST, APPLICANT)
    assert err.value.code == "not_in_room"


def test_a_device_report_shows_in_the_roster_and_says_when_it_changed():
    room = full_room()
    with pytest.raises(NotAuthorised):
        room.set_device(APPLICANT, {"background": True})  # from the lobby: not yet
    room.admit(HOST, APPLICANT)
    assert room.set_device(APPLICANT, {"background": True, "uplink": "poor"}) is True
    assert room.set_device(APPLICANT, {"uplink": "poor"}) is False
    view = {m["id"]: m for m in room.roster(HOST)}[APPLICANT]
    assert view["device"] == {"background": True, "uplink": "poor"}
    assert view["stalled"] is False

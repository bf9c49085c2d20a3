"""A room the server brings back after a restart: who was in it, read from the event log.

Who is in a room lives in memory (`server.live.room`), and every change to it is also an event
in the archive's log. A room that opens while its log already holds arrivals of this sitting
(since the session was last interrupted or the inspection moved) was cut short by the server
stopping — a crash, a kill, `systemctl restart`. Replaying those events says who had been
admitted: they walk back in with their own link, without a second admission. Those who were
seated at that moment keep their tiles, marked dropped, for the reconnect grace period, as
after any lost connection; whoever waited in the lobby knocks again, and whom the host denied
stays denied.

The replay is pure (events in, membership out) and tested on tables; `recall` reads what it
needs from the archive and applies it to a fresh room.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..roles import Role
from .room import Member, Presence, Room

if TYPE_CHECKING:
    from ..archive import ArchiveStore

# After one of these the room starts afresh (中止, 改期, 取消): earlier admissions do not count.
NEW_SITTING = frozenset({"session.interrupted", "inspection.rescheduled", "inspection.cancelled"})
# `LiveRoom.shutdown` logs everyone as having left with this reason when the server stops
# cleanly; they were seated all the same and are expected back.
SHUTDOWN_REASON = "server shutting down"
SEATED = frozenset({Presence.ADMITTED, Presence.DROPPED})


@dataclass
class Remembered:
    presence: Presence
    admitted: bool = False  # admitted at some point of this sitting


@dataclass
class Replay:
    members: dict[int, Remembered] = field(default_factory=dict)
    last_at: str | None = None  # the last event of this sitting: the room was alive then

    def seated(self) -> list[int]:
        """Who had a seat when the server stopped."""
        return [i for i, m in self.members.items() if m.admitted and m.presence in SEATED]

    def admitted(self) -> list[int]:
        return [i for i, m in self.members.items() if m.admitted]

    def denied(self) -> list[int]:
        """Whom the host turned away: the denial holds until the host takes it back."""
        return [i for i, m in self.members.items() if m.presence == Presence.DENIED]


def _id(value: Any) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def replay(events: Iterable[Any]) -> Replay:
    """Fold an inspection's events, oldest first (`archive.Event`: type, actor, data, at)."""
    result = Replay()
    for event in events:
        kind, data = event.type, event.data or {}
        if kind in NEW_SITTING:
            result = Replay()
            continue
        if not kind.startswith("participant."):
            continue
        actor = _id(event.actor)
        target = _id(data.get("participant"))
        if kind in ("participant.joined", "participant.reconnected") and actor is not None:
            member = result.members.setdefault(actor, Remembered(Presence.LOBBY))
            admitted = data.get("presence") == Presence.ADMITTED
            member.presence = Presence.ADMITTED if admitted else Presence.LOBBY
            member.admitted |= member.presence == Presence.ADMITTED
        elif kind == "participant.admitted" and target in result.members:
            member = result.members[target]
            # Taken back from the denied list: not connected, walks in at the next visit.
            gone = member.presence == Presence.DENIED
            member.presence = Presence.LEFT if gone else Presence.ADMITTED
            member.admitted = True
        elif kind == "participant.denied" and target in result.members:
            result.members[target].presence = Presence.DENIED
        elif kind == "participant.removed" and target in result.members:
            result.members[target].presence = Presence.REMOVED
        elif kind == "participant.dropped" and actor in result.members:
            result.members[actor].presence = Presence.DROPPED
        elif kind == "participant.left" and actor in result.members:
            member = result.members[actor]
            stopping = data.get("reason") == SHUTDOWN_REASON and member.presence in SEATED
            member.presence = Presence.DROPPED if stopping else Presence.LEFT
        else:
            continue
        result.last_at = event.at
    return result


def remember(room: Room, replayed: Replay, people: dict[int, tuple[Role, str]]) -> list[Member]:
    """Seat the remembered members in a fresh `room`, for the people who may still come
    (`people`: id → role and name, links not revoked). Those seated when the server stopped
    come back dropped, the others admitted earlier as gone but free to walk back in, and the
    denied stay denied. Returns the dropped ones: their seats are held for the grace period."""
    for member_id in replayed.denied():
        if member_id in people and member_id not in room.members:
            role, name = people[member_id]
            room.members[member_id] = Member(member_id, role, name, presence=Presence.DENIED)
    held = []
    for member_id in replayed.admitted():
        if member_id not in people or member_id in room.members:
            continue
        role, name = people[member_id]
        seated = member_id in replayed.seated()
        member = Member(
            member_id,
            role,
            name,
            presence=Presence.DROPPED if seated else Presence.LEFT,
            admitted_once=True,
            connections=1,  # their next arrival is a reconnect (已重连)
        )
        room.members[member_id] = member
        if seated:
            held.append(member)
    return held


async def recall(archive: ArchiveStore, inspection_id: int, room: Room) -> dict[str, Any] | None:
    """Bring a fresh `room` back to where its sitting was, from the archive; what was restored
    (for the `room.restored` event), or None when there was nothing to restore."""
    replayed = replay(await archive.events.find(inspection_id=inspection_id))
    if not replayed.members:
        return None
    people = {
        invitee.id: (Role(invitee.role), invitee.name)
        for invitee in await archive.inspections.invitees(inspection_id)
        if invitee.revoked_at is None
    }
    held = remember(room, replayed, people)
    return {
        "state": str(room.state),
        "seated": [member.id for member in held],
        "admitted": [i for i in replayed.admitted() if i in room.members],
        "denied": [i for i in replayed.denied() if i in room.members],
        "last_event_at": replayed.last_at,
    }

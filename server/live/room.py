"""The inspection room: membership, roles, permissions, lobby and session state.

Pure domain logic. It imports neither aiohttp nor aiortc and never awaits, so every rule here
can be tested without a network, and `server.rooms` can mutate it, snapshot, then notify.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ..errors import (
    Denied,
    NotAuthorised,
    NotFound,
    Removed,
    SessionEnded,
    SessionInterrupted,
    UserError,
)
from ..roles import ROLE_NAMES_ZH, Role


class Action(StrEnum):
    ADMIT = "admit"
    DENY = "deny"
    REMOVE = "remove"
    START = "start"
    END = "end"  # end the session after the conclusion, or interrupt it (中止)
    SCREENSHOT = "screenshot"
    SET_CURRENT = "set_current"  # move the inspection to a checklist point
    MARK_ITEM = "mark_item"
    MOVE_SCREENSHOT = "move_screenshot"  # attach a screenshot to another point
    NOTE = "note"  # a line of the work record
    CONCLUDE = "conclude"
    CONFIRM = "confirm"  # the applicant confirms having seen the conclusion
    SEE_CHECKLIST = "see_checklist"  # marks, notes and the work record, not only the points
    PUBLISH = "publish"
    SEE_LOBBY = "see_lobby"
    RECORD = "record"
    ASK_CAMERA = "ask_camera"  # ask a participant's phone for the torch or the other camera


_REVIEWER = frozenset(
    {
        Action.SCREENSHOT,
        Action.MARK_ITEM,
        Action.MOVE_SCREENSHOT,
        Action.NOTE,
        Action.SEE_CHECKLIST,
        Action.PUBLISH,
    }
)

# SPEC §2. The server enforces this table; pages only hide what it refuses.
PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.HOST: frozenset(Action) - {Action.RECORD, Action.CONFIRM},
    Role.CLERK: _REVIEWER,
    Role.EXPERT: _REVIEWER,
    Role.OBSERVER: frozenset({Action.PUBLISH, Action.SEE_CHECKLIST}),
    Role.APPLICANT: frozenset({Action.PUBLISH, Action.CONFIRM}),
    Role.RECORDER: frozenset({Action.RECORD}),
}


def allowed(role: Role, action: Action) -> bool:
    return action in PERMISSIONS[role]


# The bureau's people in a room: a live session needs one of them present.
STAFF = frozenset({Role.HOST, Role.CLERK, Role.EXPERT})


class RoomState(StrEnum):
    OPEN = "open"  # people gather and are admitted; nothing is recorded yet
    LIVE = "live"  # the host started the session: recording runs until the end
    ENDED = "ended"  # after the conclusion: nobody joins again
    INTERRUPTED = "interrupted"  # 中止: the session stopped; the host may start a new one


class Presence(StrEnum):
    LOBBY = "lobby"  # connected, waiting for the host
    ADMITTED = "admitted"  # in the room
    DROPPED = "dropped"  # admitted, connection lost; their tile stays for a grace period
    LEFT = "left"
    DENIED = "denied"
    REMOVED = "removed"  # by the host; their link is revoked


@dataclass
class Member:
    id: int
    role: Role
    name: str
    presence: Presence = Presence.LOBBY
    admitted_once: bool = False
    connections: int = 0
    audio: bool = True
    video: bool = True
    # What the participant's page says of itself (`device`: background, uplink, torch).
    device: dict[str, object] = field(default_factory=dict)
    # No video from them has reached the server for a while (server.live.watchdog).
    stalled: bool = False

    @property
    def in_room(self) -> bool:
        """Has a seat: in the grid and a media publisher (a dropped member keeps theirs)."""
        return self.presence in (Presence.ADMITTED, Presence.DROPPED)

    @property
    def present(self) -> bool:
        """Seated, or waiting in the lobby."""
        return self.in_room or self.presence == Presence.LOBBY

    def view(self) -> dict[str, object]:
        return {
            "id": self.id,
            "role": str(self.role),
            "name": self.name,
            "status": str(self.presence),
            "audio": self.audio,
            "video": self.video,
            "reconnected": self.connections > 1 and self.presence == Presence.ADMITTED,
            "device": dict(self.device),
            "stalled": self.stalled,
        }


@dataclass(frozen=True)
class Arrival:
    member: Member
    reconnected: bool  # admitted earlier in this room: back in without the lobby


@dataclass
class Room:
    inspection_id: int
    state: RoomState = RoomState.OPEN
    members: dict[int, Member] = field(default_factory=dict)

    def member(self, member_id: int) -> Member:
        try:
            return self.members[member_id]
        except KeyError:
            raise NotFound(f"此人不在房间中 / participant {member_id} is not here") from None

    def require(self, member_id: int, action: Action) -> Member:
        """The member, if present in the room and allowed to do `action`."""
        member = self.members.get(member_id)
        if member is None or member.presence != Presence.ADMITTED:
            raise NotAuthorised(
                "请等待主持人准入 / wait until the host admits you", code="not_admitted"
            )
        if not allowed(member.role, action):
            raise NotAuthorised(
                f"{ROLE_NAMES_ZH[member.role]}无权执行此操作 / a {member.role} may not {action}"
            )
        return member

    def arrive(self, member_id: int, role: Role, name: str) -> Arrival:
        """A connection arrives with a valid link: the host and anyone admitted before walk in,
        everyone else waits in the lobby. Nobody is admitted because the host arrived."""
        if self.state == RoomState.ENDED:
            raise SessionEnded("本次勘验已结束 / this inspection has ended")
        if self.state == RoomState.INTERRUPTED:
            raise SessionInterrupted(
                "本次勘验已中止，请稍候重新进入 / this session was interrupted; join again shortly"
            )
        member = self.members.get(member_id)
        if member is None:
            member = Member(member_id, role, name)
            self.members[member_id] = member
        elif member.presence == Presence.REMOVED:
            raise Removed("您已被主持人移出 / the host removed you from this inspection")
        elif member.presence == Presence.DENIED:
            # Knocking again changes nothing (and disturbs nobody) until the host lets them in.
            raise Denied(
                "主持人未准许您进入本场勘验。如需进入，请联系主持人，待主持人准许后重新打开链接。"
                " / The host has not let you in. Contact the host, and open your link again once"
                " they allow it."
            )
        member.connections += 1
        reconnected = member.admitted_once
        if role == Role.HOST or member.admitted_once:
            member.presence = Presence.ADMITTED
            member.admitted_once = True
        else:
            member.presence = Presence.LOBBY
        return Arrival(member, reconnected)

    def _lobby_target(self, actor_id: int, action: Action, target_id: int) -> Member:
        self.require(actor_id, action)
        target = self.member(target_id)
        if target.presence != Presence.LOBBY:
            raise UserError(
                "此人不在等候室 / this person is not waiting in the lobby", code="not_in_lobby"
            )
        return target

    def admit(self, actor_id: int, target_id: int) -> Member:
        """Let someone in from the lobby; or take back a denial: a denied person, no longer
        connected, walks in when they next open their link."""
        self.require(actor_id, Action.ADMIT)
        target = self.member(target_id)
        if target.presence == Presence.DENIED:
            target.presence = Presence.LEFT
            target.admitted_once = True
            return target
        target = self._lobby_target(actor_id, Action.ADMIT, target_id)
        target.presence = Presence.ADMITTED
        target.admitted_once = True
        return target

    def deny(self, actor_id: int, target_id: int) -> Member:
        target = self._lobby_target(actor_id, Action.DENY, target_id)
        target.presence = Presence.DENIED
        return target

    def remove(self, actor_id: int, target_id: int) -> Member:
        self.require(actor_id, Action.REMOVE)
        target = self.member(target_id)
        if target_id == actor_id or target.role == Role.HOST:
            raise UserError(
                "主持人不能移出自己 / the host cannot remove themselves", code="cannot_remove_host"
            )
        if target.presence == Presence.REMOVED:
            raise UserError("此人已被移出 / already removed", code="already_removed")
        target.presence = Presence.REMOVED
        return target

    def disconnect(self, member_id: int, *, deliberate: bool) -> Member | None:
        """The member's connection closed. A dropped member keeps their seat for a while."""
        member = self.members.get(member_id)
        if member is None:
            return None
        if member.presence == Presence.ADMITTED and not deliberate:
            member.presence = Presence.DROPPED
        elif member.presence in (Presence.ADMITTED, Presence.LOBBY, Presence.DROPPED):
            member.presence = Presence.LEFT
        return member

    def revoke(self, member_id: int) -> Member | None:
        """The member's link no longer holds (withdrawn, the inspection moved or cancelled): out
        at once, seat and lobby place. Their link keeps them out; should a new link be issued
        (a move), its holder waits in the lobby like anyone else."""
        member = self.members.get(member_id)
        if member is None or not member.present:
            return None
        member.presence = Presence.LEFT
        member.admitted_once = False
        return member

    def expire(self, member_id: int) -> bool:
        """A dropped member did not come back within the grace period: free their seat."""
        member = self.members.get(member_id)
        if member is not None and member.presence == Presence.DROPPED:
            member.presence = Presence.LEFT
            return True
        return False

    def set_media(self, member_id: int, audio: bool, video: bool) -> Member:
        member = self.require(member_id, Action.PUBLISH)
        member.audio, member.video = audio, video
        return member

    def set_device(self, member_id: int, report: dict[str, object]) -> bool:
        """The member's page reports on itself; True when that changes what others see."""
        member = self.require(member_id, Action.PUBLISH)
        before = dict(member.device)
        member.device.update(report)
        return member.device != before

    def ask_camera(self, actor_id: int, target_id: int) -> Member:
        """The host asks someone in the room to light the torch or switch camera."""
        self.require(actor_id, Action.ASK_CAMERA)
        target = self.member(target_id)
        if target.presence != Presence.ADMITTED:
            raise UserError("此人不在房间中 / this person is not in the room", code="not_in_room")
        return target

    def check_start(self, actor_id: int) -> None:
        """Whether `actor_id` may start the session now (nothing changes)."""
        self.require(actor_id, Action.START)
        if self.state != RoomState.OPEN:
            raise UserError("勘验已经开始 / the session has already started", code="already_live")

    def start(self, actor_id: int) -> None:
        self.check_start(actor_id)
        self.state = RoomState.LIVE

    def end(self, actor_id: int, *, interrupted: bool = False) -> None:
        self.require(actor_id, Action.END)
        if self.state != RoomState.LIVE:
            raise UserError("勘验尚未开始 / the session has not started", code="not_live")
        self.state = RoomState.INTERRUPTED if interrupted else RoomState.ENDED

    def lapse(self) -> None:
        """Nobody of the staff attended the live session for too long: it stops (中止) at the
        server's word, like the host's `interrupt`."""
        if self.state != RoomState.LIVE:
            raise UserError("勘验尚未开始 / the session has not started", code="not_live")
        self.state = RoomState.INTERRUPTED

    def staff_present(self) -> bool:
        """Someone of the staff has a seat (a dropped one keeps it for the grace period)."""
        return any(m.role in STAFF and m.in_room for m in self.members.values())

    def seated(self) -> list[Member]:
        """Members with a seat in the grid, in arrival order."""
        return [m for m in self.members.values() if m.in_room]

    def lobby(self) -> list[Member]:
        return [m for m in self.members.values() if m.presence == Presence.LOBBY]

    def denied(self) -> list[Member]:
        return [m for m in self.members.values() if m.presence == Presence.DENIED]

    def roster(self, viewer_id: int) -> list[dict[str, object]]:
        """What this viewer may see: the seated members, and for the host the lobby and the
        people denied (whom the host may still admit)."""
        viewer = self.members.get(viewer_id)
        rows = [m.view() for m in self.seated()]
        if viewer is not None and allowed(viewer.role, Action.SEE_LOBBY):
            rows += [m.view() for m in self.lobby()]
            rows += [m.view() for m in self.denied()]
        return rows

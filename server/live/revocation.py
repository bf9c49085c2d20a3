"""Room links checked again while their holders are in the room.

A link is checked in full at `hello` (server.cases.links). What can change afterwards — the
invitation withdrawn, the inspection moved or cancelled — is checked again for everyone in the
room as soon as such a change is committed (RoomService hears of it after the commit, whichever
page, API or command wrote it) and when the host starts the session, so nobody stays in a room,
or starts one, on a link that no longer holds.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import CloseCode, LinkError
from .room import STAFF, RoomState

if TYPE_CHECKING:
    from .rooms import LiveRoom

# Committed changes after which every link in the inspection's room is checked again.
LINK_CHANGES = frozenset({"invitee.revoked", "inspection.rescheduled", "inspection.cancelled"})


def why(error: LinkError) -> str:
    """revoked, rescheduled, cancelled, … (see server.cases.links.revoked), or the code."""
    details = error.details if isinstance(error.details, dict) else {}
    return str(details.get("why", error.code))


class RoomLinks:
    """The link each member of one room came in with."""

    def __init__(self, room: LiveRoom) -> None:
        self._room = room
        self._tokens: dict[int, str] = {}

    def remember(self, member_id: int, token: str) -> None:
        self._tokens[member_id] = token

    def clear(self) -> None:
        self._tokens.clear()

    async def recheck(self) -> None:
        """Check every present member's link again, as at `hello`. Whoever's link no longer
        holds leaves at once — seat, lobby place, roster and recording — told why; staff also
        read why an inspection was cancelled. A room left empty before its session closes."""
        room = self._room
        failed: dict[int, LinkError] = {}
        for member_id, token in list(self._tokens.items()):
            member = room.room.members.get(member_id)
            if member is None or not member.present:
                continue
            try:
                await room.service.links.recheck(token, room.inspection.id)
            except LinkError as exc:
                failed[member_id] = exc
        if not failed:
            return
        reason = None
        if any(why(error) == "cancelled" for error in failed.values()):
            reason = await room.archive.inspections.cancel_reason(room.inspection.id)
        for member_id, error in failed.items():
            member = room.room.members[member_id]
            was = member.presence
            if room.room.revoke(member_id) is None:
                continue  # gone meanwhile
            self._tokens.pop(member_id, None)
            message = error.message
            if reason and member.role in STAFF:
                message = f"本场勘验已取消 / this inspection was cancelled — {reason}"
            await room.evict(
                member_id, error.close_code, "revoked", message, left=(was, f"link {why(error)}")
            )
        if room.room.state == RoomState.OPEN and not any(
            m.present for m in room.room.members.values()
        ):
            await room.shutdown(CloseCode.REVOKED, "links revoked")
            return
        await room.reconcile()
        await room.broadcast_roster()

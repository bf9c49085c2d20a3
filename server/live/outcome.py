"""The outcome side of a live room: the checklist, the work record and the conclusion.

Every operation checks the actor's permission in the room, stamps the change with server
time and its offset in the recording, writes it (one transaction with its event), updates the
room's copy of the checklist, then tells everyone seated: staff and observers the whole
checklist and work record, the applicant the points and the current one, everyone the
conclusion. A page that (re)joins gets the current state when it is seated.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .. import clock
from ..archive import Conclusion, Stamp
from ..cases.checklist import Checklist, conclusion_view
from ..cases.conclusion import check_conclusion
from ..cases.outcome import OutcomeService
from ..errors import UserError
from . import protocol
from .participant import Participant
from .room import Action, Member, Presence, allowed

if TYPE_CHECKING:
    from .rooms import LiveRoom


class RoomOutcome:
    def __init__(self, room: LiveRoom, service: OutcomeService, checklist: Checklist) -> None:
        self.room = room
        self.service = service
        self.checklist = checklist

    @property
    def current(self) -> int | None:
        return self.checklist.current

    @property
    def concluded(self) -> bool:
        return self.checklist.conclusion is not None

    def stamp(self, member: Member) -> Stamp:
        at = time.time()
        recorder = self.room.recorder
        recording_id, offset = recorder.recording_at(at) if recorder else (None, None)
        return Stamp(
            actor=str(member.id),
            name=member.name,
            role=str(member.role),
            at=clock.iso(datetime.fromtimestamp(at, UTC)),
            recording_id=recording_id,
            offset_s=None if offset is None else round(offset, 3),
        )

    # -- what people do --------------------------------------------------------------------------

    async def set_current(self, actor: int, item_id: int) -> None:
        member = self.room.room.require(actor, Action.SET_CURRENT)
        await self.service.set_current(
            self.checklist, self.room.inspection, item_id, self.stamp(member)
        )
        await self.broadcast_checklist()

    async def mark(self, actor: int, item_id: int, verdict: str, note: str | None) -> None:
        member = self.room.room.require(actor, Action.MARK_ITEM)
        await self.service.mark(
            self.checklist, self.room.inspection, item_id, verdict, note, self.stamp(member)
        )
        await self.broadcast_checklist()

    async def note(self, actor: int, text: str, item_id: int | None) -> None:
        member = self.room.room.require(actor, Action.NOTE)
        await self.service.note(
            self.checklist, self.room.inspection, text, item_id, self.stamp(member)
        )
        await self.broadcast_record()

    async def move_screenshot(self, actor: int, screenshot_id: int, item_id: int | None) -> None:
        member = self.room.room.require(actor, Action.MOVE_SCREENSHOT)
        shot = await self.room.archive.evidence.screenshot(screenshot_id)
        if shot.inspection_id != self.room.inspection.id:
            raise UserError("截图不属于本次勘验 / not a screenshot of this inspection")
        await self.service.move_screenshot(
            self.checklist, screenshot_id, item_id, self.stamp(member)
        )
        await self.broadcast_checklist()

    async def conclude(
        self,
        actor: int,
        verdict: str,
        reasons: str,
        deadline: str | None,
        rectifications: list[dict[str, Any]] | None,
    ) -> Conclusion:
        member = self.room.room.require(actor, Action.CONCLUDE)
        today = clock.now().astimezone(clock.SHANGHAI).date()
        pronouncement = check_conclusion(
            verdict, reasons, deadline, rectifications, self.checklist, today
        )
        conclusion = await self.service.conclude(
            self.checklist, self.room.inspection, pronouncement, self.stamp(member)
        )
        await self.broadcast_conclusion()
        return conclusion

    async def confirm(
        self, actor: int, accepted: bool, note: str | None, *, address: str, agent: str
    ) -> None:
        self.room.room.require(actor, Action.CONFIRM)
        await self.service.confirm(
            self.checklist,
            self.room.inspection.id,
            accepted,
            note,
            address=address,
            agent=agent,
        )
        await self.broadcast_conclusion()

    # -- what people see -------------------------------------------------------------------------

    def views_for(self, participant: Participant) -> list[dict[str, Any]]:
        """Everything a newly seated page needs to show the outcome as it stands."""
        full = allowed(participant.role, Action.SEE_CHECKLIST)
        messages = [protocol.checklist(self.checklist.view(full=full))]
        if full:
            messages.append(protocol.record(self.checklist.entries_view()))
        if self.checklist.conclusion is not None:
            messages.append(protocol.conclusion(conclusion_view(self.checklist.conclusion)))
        return messages

    def _seated(self) -> list[Participant]:
        members = self.room.room.members
        return [
            p
            for p in self.room.connections.values()
            if p.id in members and members[p.id].presence == Presence.ADMITTED
        ]

    async def broadcast_checklist(self) -> None:
        # Render each view once, then send: no awaits while building.
        full = protocol.checklist(self.checklist.view(full=True))
        brief = protocol.checklist(self.checklist.view(full=False))
        sends = [
            p.send(full if allowed(p.role, Action.SEE_CHECKLIST) else brief) for p in self._seated()
        ]
        await asyncio.gather(*sends, return_exceptions=True)

    async def broadcast_record(self) -> None:
        message = protocol.record(self.checklist.entries_view())
        sends = [p.send(message) for p in self._seated() if allowed(p.role, Action.SEE_CHECKLIST)]
        await asyncio.gather(*sends, return_exceptions=True)

    async def broadcast_conclusion(self) -> None:
        assert self.checklist.conclusion is not None
        await self.room.broadcast(protocol.conclusion(conclusion_view(self.checklist.conclusion)))

"""Live rooms: the room domain wired to participants, media and the event log.

Every operation follows one order: change the `Room` (no awaits), write the event, snapshot
who must hear of it, then await the sends. Nothing awaits while iterating live membership.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..archive import ArchiveStore, Case, Inspection
from ..cases.checklist import Checklist
from ..errors import BadRequest, CloseCode, KanyanError, UserError
from ..states import InspectionState
from . import protocol, restore
from .media import KINDS, MediaHub, Publication
from .outcome import RoomOutcome
from .participant import Participant, RoomRecorder
from .reencode import ReencodeForwarding
from .revocation import RoomLinks
from .room import Action, Presence, Role, Room, RoomState, allowed
from .watchdog import UNATTENDED_REASON, MediaWatchdog, Unattended, stall_notice

if TYPE_CHECKING:
    from .registry import RoomService

log = logging.getLogger(__name__)


class LiveRoom:
    """One inspection's room while it is open or live."""

    def __init__(
        self, service: RoomService, inspection: Inspection, case: Case, checklist: Checklist
    ) -> None:
        self.service = service
        self.inspection = inspection
        self.case = case
        state = RoomState.LIVE if inspection.state == InspectionState.LIVE else RoomState.OPEN
        self.room = Room(inspection.id, state)
        media = service.settings.media
        forwarding = ReencodeForwarding() if media.forwarding == "reencode" else None
        self.hub = MediaHub(media.keyframe_interval_ms / 1000, forwarding, service.media_stats)
        self.connections: dict[int, Participant] = {}
        # Each member's room link, checked again whenever links may have changed.
        self.links = RoomLinks(self)
        # System participants (the recorder) receive everything and have no seat.
        self.systems: list[Participant] = []
        # Set by the recorder when it joins (RoomService.on_open).
        self.recorder: RoomRecorder | None = None
        self.outcome = RoomOutcome(self, service.outcome, checklist)
        self._seated_hooks: list[Callable[[Participant], Awaitable[None]]] = []
        self._grace: dict[int, asyncio.TimerHandle] = {}
        self._unattended = Unattended()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Whether the lobby was last told that the host is online (docs/protocol.md `lobby`).
        self._host_online_told = False
        self.watchdog = MediaWatchdog(media.stall_after_s)
        self._watching: asyncio.Task[None] | None = None

    @property
    def archive(self) -> ArchiveStore:
        return self.service.archive

    async def _log(self, type: str, actor: int | str, **data: Any) -> None:
        await self.archive.events.append(
            type,
            actor=str(actor),
            case_id=self.case.id,
            inspection_id=self.inspection.id,
            data=data,
        )

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- arrivals and departures --------------------------------------------------------------

    async def arrive(self, participant: Participant, *, token: str | None = None) -> None:
        """A connection with a valid link (`token`). Replaces an older connection of the same
        person."""
        arrival = self.room.arrive(participant.id, participant.role, participant.name)
        old = self.connections.get(participant.id)
        self.connections[participant.id] = participant
        if token is not None:
            self.links.remember(participant.id, token)
        timer = self._grace.pop(participant.id, None)
        if timer is not None:
            timer.cancel()
        if old is not None and old is not participant:
            self._spawn(old.close(CloseCode.REPLACED, "replaced by a newer connection"))
        member = arrival.member
        await self._log(
            "participant.reconnected" if arrival.reconnected else "participant.joined",
            participant.id,
            role=str(member.role),
            name=member.name,
            presence=str(member.presence),
        )
        if member.presence == Presence.ADMITTED:
            await self._seat(participant)
        else:
            await participant.send(protocol.lobby(self.host_online()))
        await self.broadcast_roster()

    async def _seat(self, participant: Participant) -> None:
        await participant.send(protocol.admitted())
        await participant.send(self.state_message())
        for message in self.outcome.views_for(participant):
            await participant.send(message)
        for hook in self._seated_hooks:
            self._spawn(hook(participant))
        await participant.enter(self.hub)
        if self._watching is None:
            self._watching = asyncio.ensure_future(self._watch_media())
        await self.reconcile()

    async def depart(self, participant: Participant, *, deliberate: bool) -> None:
        """A connection closed. Ignored when a newer connection already replaced it."""
        if self.connections.get(participant.id) is not participant:
            return
        del self.connections[participant.id]
        before = self.room.members[participant.id].presence
        member = self.room.disconnect(participant.id, deliberate=deliberate)
        if member is None:
            return
        if member.presence == Presence.DROPPED:
            await self._log("participant.dropped", participant.id)
            self._hold_seat(participant.id)
        else:
            await self._log(
                "participant.left", participant.id, was=str(before), deliberate=deliberate
            )
            self.hub.drop(participant.id)
            await self.reconcile()
        await self.broadcast_roster()

    def _hold_seat(self, member_id: int) -> None:
        """A dropped member's seat (and tiles) wait `reconnect_grace_s` for them."""
        grace = self.service.settings.media.reconnect_grace_s
        self._grace[member_id] = asyncio.get_running_loop().call_later(
            grace, lambda: self._spawn(self._expire(member_id))
        )

    async def restore(self) -> None:
        """After a restart: the admitted walk back in, the seated hold their seats."""
        restored = await restore.recall(self.archive, self.inspection.id, self.room)
        if restored is not None:
            for member_id in restored["seated"]:
                self._hold_seat(member_id)
            await self._log("room.restored", "system", **restored)

    async def _expire(self, member_id: int) -> None:
        self._grace.pop(member_id, None)
        if self.room.expire(member_id):
            await self._log(
                "participant.left",
                member_id,
                was="dropped",
                deliberate=False,
                reason="did not reconnect in time",
            )
            self.hub.drop(member_id)
            await self.reconcile()
            await self.broadcast_roster()

    # -- host actions -------------------------------------------------------------------------

    async def admit(self, actor: int, target_id: int) -> None:
        before = self.room.members.get(target_id)
        denied = before is not None and before.presence == Presence.DENIED
        target = self.room.admit(actor, target_id)
        if denied:
            await self._log("participant.allowed", actor, participant=target.id)
            await self.broadcast_roster()
            return
        await self._log("participant.admitted", actor, participant=target.id)
        participant = self.connections.get(target.id)
        if participant is not None:
            await self._seat(participant)
        await self.broadcast_roster()

    async def deny(self, actor: int, target_id: int) -> None:
        target = self.room.deny(actor, target_id)
        await self._log("participant.denied", actor, participant=target.id)
        participant = self.connections.pop(target.id, None)
        if participant is not None:
            await participant.send(
                protocol.bye("denied", "主持人未准入 / the host did not admit you")
            )
            await participant.close(CloseCode.DENIED, "denied by the host")
        await self.broadcast_roster()

    async def remove(self, actor: int, target_id: int) -> None:
        target = self.room.remove(actor, target_id)
        await self.archive.inspections.remove_from_room(target.id, actor=str(actor))
        await self.evict(
            target.id, CloseCode.REMOVED, "removed", "您已被主持人移出 / the host removed you"
        )
        await self.reconcile()
        await self.broadcast_roster()

    async def evict(
        self,
        member_id: int,
        code: int,
        bye: str,
        message: str,
        *,
        left: tuple[Presence, str] | None = None,
    ) -> None:
        """Out at the host's or the server's word (the Room says so already): seat and media
        freed at once, told why, disconnected. `left`: (presence before, reason) to log."""
        timer = self._grace.pop(member_id, None)
        if timer is not None:
            timer.cancel()
        self.hub.drop(member_id)
        if left is not None:
            await self._log("participant.left", member_id, was=str(left[0]), reason=left[1])
        participant = self.connections.pop(member_id, None)
        if participant is not None:
            await participant.send(protocol.bye(bye, message))
            await participant.close(code, bye)

    async def set_media(self, actor: int, audio: bool, video: bool) -> None:
        self.room.set_media(actor, audio, video)
        await self.broadcast_roster()

    async def start(self, actor: int) -> None:
        self.room.check_start(actor)
        # Nothing starts on a link that no longer holds (moved, cancelled, withdrawn) ...
        await self.links.recheck()
        self.room.check_start(actor)
        # ... nor for a case that the dishonesty list or the catalog excludes by now: that
        # cancels the inspection, and the room closes telling staff why.
        await self.service.cases.check_before_start(self.inspection.id)
        self.room.start(actor)
        try:
            self.inspection = await self.archive.inspections.start(
                self.inspection.id, actor=str(actor)
            )
        except KanyanError:
            self.room.state = RoomState.OPEN
            raise
        await self.broadcast(self.state_message())

    async def end(self, actor: int) -> None:
        """The host ends the session after pronouncing the conclusion."""
        self.room.require(actor, Action.END)
        if not self.outcome.concluded:
            raise UserError(
                "请先宣布勘验结论；如需结束而不出结论，请选择「中止」 / pronounce the conclusion "
                "first, or interrupt the session",
                code="no_conclusion",
            )
        self.room.end(actor)
        try:
            self.inspection = await self.archive.inspections.end(
                self.inspection.id, actor=str(actor)
            )
        except KanyanError:
            self.room.state = RoomState.LIVE
            raise
        await self.broadcast(self.state_message())
        await self.shutdown(CloseCode.ENDED, "the inspection has ended")
        for hook in self.service.on_concluded:
            self.service.spawn(hook(self.inspection))

    async def interrupt(self, actor: int, reason: str) -> None:
        """中止: the session stops without a conclusion; the inspection stays open and the same
        links bring everyone back for a new session."""
        reason = reason.strip()
        if not 2 <= len(reason) <= 300:
            raise BadRequest("请说明中止原因 / give the reason for interrupting", code="invalid")
        self.room.end(actor, interrupted=True)
        await self._interrupted(reason, str(actor))

    async def _interrupted(self, reason: str, actor: str) -> None:
        try:
            self.inspection = await self.archive.inspections.interrupt(
                self.inspection.id, reason, actor=actor
            )
        except KanyanError:
            self.room.state = RoomState.LIVE
            raise
        await self.broadcast(self.state_message())
        await self.shutdown(CloseCode.INTERRUPTED, "the session was interrupted")

    async def watch(self, now: float) -> None:
        """Once a second (server.live.watchdog): the recorder checks its process, and a live
        session nobody of the staff attends for watchdog.no_staff_s is interrupted."""
        if self.recorder is not None:
            self.recorder.check()
        if self._unattended.due(self.room, now, self.service.settings.watchdog.no_staff_s):
            self.room.lapse()
            await self.broadcast(protocol.notice("unattended", "error", UNATTENDED_REASON))
            await self._interrupted(UNATTENDED_REASON, "system:watchdog")

    async def screenshot(
        self, actor: int, target_id: int, note: str | None = None
    ) -> dict[str, Any]:
        """`actor` captures `target_id`'s video: staff see it in their strip at once and the
        applicant's page says a screenshot was saved."""
        taker = self.room.require(actor, Action.SCREENSHOT)
        subject = self.room.member(target_id)
        if not subject.in_room:
            raise UserError("此人不在房间中 / this person is not in the room", code="not_in_room")
        if self.recorder is None:
            raise UserError("截图功能不可用 / screenshots are not available", code="no_screenshots")
        # A screenshot taken while a point is current belongs to that point.
        item = self.outcome.current
        shot = await self.recorder.screenshot(taker, subject, note, item)
        self.outcome.checklist.place_shot(shot["id"], item)
        seated = [
            p
            for p in self.connections.values()
            if self.room.members[p.id].presence == Presence.ADMITTED
        ]
        sends = [
            p.send(protocol.screenshot(shot)) for p in seated if allowed(p.role, Action.SCREENSHOT)
        ]
        sends += [
            p.send(protocol.notice("screenshot_saved", "info", "截图已保存 / screenshot saved"))
            for p in seated
            if p.role == Role.APPLICANT
        ]
        await asyncio.gather(*sends, return_exceptions=True)
        if item is not None:
            await self.outcome.broadcast_checklist()
        return shot

    async def ask_camera(self, actor: int, target_id: int, what: str) -> None:
        """The host asks for the torch or the other camera; the person's page shows it."""
        target = self.room.ask_camera(actor, target_id)
        participant = self.connections.get(target.id)
        if participant is not None:
            await participant.send(protocol.camera_request(what, self.room.members[actor].name))

    async def set_device(self, actor: int, report: dict[str, Any]) -> None:
        """A page's report on itself (in the background, uplink quality, torch)."""
        if self.room.set_device(actor, report):
            await self.broadcast_roster()

    def state_message(self) -> dict[str, Any]:
        return protocol.state(
            str(self.room.state), self.inspection.started_at, self.inspection.ended_at
        )

    # -- media --------------------------------------------------------------------------------

    def seated_publications(self, exclude: int | None = None) -> list[Publication]:
        publications = []
        for member in self.room.seated():
            if member.id == exclude:
                continue
            for kind in KINDS:
                publication = self.hub.find(member.id, kind)
                if publication is not None:
                    publications.append(publication)
        return publications

    async def reconcile(self) -> None:
        """Make every seated participant and system participant receive the others."""
        targets = [
            p
            for p in self.connections.values()
            if self.room.members[p.id].presence == Presence.ADMITTED
        ]
        targets += self.systems
        await asyncio.gather(
            *(p.follow(self.seated_publications(exclude=p.id)) for p in targets),
            return_exceptions=True,
        )

    # -- the media watchdog -------------------------------------------------------------------

    async def _watch_media(self) -> None:
        every = max(0.5, self.service.settings.media.stall_after_s / 4)
        while True:
            await asyncio.sleep(every)
            try:
                await self.check_media(time.monotonic())
            except Exception:
                log.exception("media watchdog failed")

    async def check_media(self, now: float) -> None:
        """Mark who is stalled (no video reaching the server); tell the host when that
        changes, and everyone through the roster."""
        seated = [m for m in self.room.seated() if m.presence == Presence.ADMITTED]
        videos = (self.hub.find(m.id, "video") for m in seated)
        stalled = self.watchdog.check([v for v in videos if v is not None], now)
        changed = [m for m in self.room.seated() if m.stalled != (m.id in stalled)]
        if not changed:
            return
        for member in changed:
            member.stalled = member.id in stalled
            await self.tell(Role.HOST, stall_notice(member, self.watchdog.stall_after_s))
        await self.broadcast_roster()

    def host_online(self) -> bool:
        return any(
            p.role == Role.HOST and self.room.members[p.id].presence == Presence.ADMITTED
            for p in self.connections.values()
        )

    # -- system participants (live.participant.RoomHandle) ------------------------------------

    def add_system(
        self,
        participant: Participant,
        *,
        recorder: RoomRecorder | None = None,
        on_seated: Callable[[Participant], Awaitable[None]] | None = None,
    ) -> None:
        self.systems.append(participant)
        if recorder is not None:
            self.recorder = recorder
        if on_seated is not None:
            self._seated_hooks.append(on_seated)

    def member_names(self) -> dict[int, str]:
        return {member.id: member.name for member in self.room.members.values()}

    async def tell(self, role: Role, message: dict[str, Any]) -> None:
        targets = [p for p in self.connections.values() if p.role == role]
        await asyncio.gather(*(p.send(message) for p in targets), return_exceptions=True)

    # -- notifications ------------------------------------------------------------------------

    async def broadcast(self, message: dict[str, Any], *, seated_only: bool = True) -> None:
        targets = [
            p
            for p in self.connections.values()
            if not seated_only or self.room.members[p.id].presence == Presence.ADMITTED
        ]
        targets += self.systems
        await asyncio.gather(*(p.send(message) for p in targets), return_exceptions=True)

    async def broadcast_roster(self) -> None:
        targets = list(self.connections.values()) + list(self.systems)
        sends = []
        online = self.host_online()
        if online != self._host_online_told:
            # Those waiting in the lobby see nobody, but may know whether the host is here.
            self._host_online_told = online
            sends += [
                p.send(protocol.lobby(online))
                for p in targets
                if (member := self.room.members.get(p.id)) is not None
                and member.presence == Presence.LOBBY
            ]
        for participant in targets:
            member = self.room.members.get(participant.id)
            if participant.role != Role.RECORDER and (
                member is None or member.presence != Presence.ADMITTED
            ):
                continue
            sends.append(
                participant.send(
                    protocol.roster(str(self.room.state), self.room.roster(participant.id))
                )
            )
        await asyncio.gather(*sends, return_exceptions=True)

    async def shutdown(
        self, code: int = CloseCode.SHUTDOWN, reason: str = "server shutting down"
    ) -> None:
        # Forget the room first: whoever connects from now on (after 中止, the same links)
        # gets a new room, while this one finishes closing and its recorder finalises.
        self.service.forget(self)
        if self._watching is not None:
            self._watching.cancel()
        for timer in self._grace.values():
            timer.cancel()
        self._grace.clear()
        participants = list(self.connections.values()) + list(self.systems)
        self.connections.clear()
        self.links.clear()
        for participant in participants:
            if self.room.disconnect(participant.id, deliberate=True) is not None:
                await self._log("participant.left", participant.id, reason=reason)
        await asyncio.gather(*(p.close(code, reason) for p in participants), return_exceptions=True)
        self.hub.close()

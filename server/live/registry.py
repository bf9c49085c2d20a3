"""The live rooms of this server, by inspection: opened on the first arrival, told of committed
changes to their links, looked at once a second, closed with the server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from ..archive import ArchiveStore, Event, Inspection
from ..cases.links import Links
from ..cases.outcome import OutcomeService
from ..cases.workflow import CaseService
from ..config import Settings
from .media import MediaStats
from .revocation import LINK_CHANGES
from .rooms import LiveRoom

log = logging.getLogger(__name__)


class RoomService:
    """The live rooms of this server, by inspection."""

    def __init__(
        self, settings: Settings, archive: ArchiveStore, cases: CaseService, links: Links
    ) -> None:
        self.settings = settings
        self.archive = archive
        self.cases = cases
        self.outcome: OutcomeService = cases.outcome
        self.links = links
        self._rooms: dict[int, LiveRoom] = {}
        self.media_stats = MediaStats()  # every room's forwarding, for /metrics
        self._opening = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        # Called once for every room that opens: system participants join here (the recorder).
        self.on_open: list[Callable[[LiveRoom], Awaitable[None]]] = []
        # Called (in the background) once a session has ended with its conclusion, when its
        # recordings are final: the inspection record is made here.
        self.on_concluded: list[Callable[[Inspection], Awaitable[Any]]] = []
        # Called (in the background) once a room has closed here (server/cluster frees its
        # placement).
        self.on_forget: list[Callable[[LiveRoom], Awaitable[Any]]] = []
        # A revocation, a move or a cancellation, from whatever page, API or command wrote
        # it, reaches the room as soon as it is committed.
        archive.db.after_commit.append(self._committed)

    async def _committed(self, events: list[Event]) -> None:
        changed = {e.inspection_id for e in events if e.type in LINK_CHANGES}
        for inspection_id in changed:
            room = self._rooms.get(inspection_id) if inspection_id is not None else None
            if room is not None:
                await room.links.recheck()

    def spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    async def room_for(self, inspection_id: int) -> LiveRoom:
        room = self._rooms.get(inspection_id)
        if room is not None:
            return room
        async with self._opening:
            room = self._rooms.get(inspection_id)
            if room is None:
                inspection = await self.archive.inspections.get(inspection_id)
                case = await self.archive.cases.get(inspection.case_id)
                checklist = await self.outcome.load(inspection)
                room = LiveRoom(self, inspection, case, checklist)
                await room.restore()
                for hook in self.on_open:
                    await hook(room)
                self._rooms[inspection_id] = room
        return room

    async def watch(self, now: float) -> None:
        for room in list(self._rooms.values()):
            try:
                await room.watch(now)
            except Exception:
                log.exception("watching the room of inspection %s failed", room.inspection.id)

    def get(self, inspection_id: int) -> LiveRoom | None:
        return self._rooms.get(inspection_id)

    def rooms(self) -> list[LiveRoom]:
        return list(self._rooms.values())

    def forget(self, room: LiveRoom) -> None:
        if self._rooms.get(room.inspection.id) is room:
            del self._rooms[room.inspection.id]
            for hook in self.on_forget:
                self.spawn(hook(room))

    async def close(self) -> None:
        if self._committed in self.archive.db.after_commit:
            self.archive.db.after_commit.remove(self._committed)
        for room in list(self._rooms.values()):
            await room.shutdown()

    async def drain(self) -> None:
        """Wait for the background work rooms left (records being made), once no connection
        can start more."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

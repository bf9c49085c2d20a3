"""What staff pages show of an inspection as it happens — who is in the room, the session's
state, the checklist marks — on any node, whichever node holds the room.

Everything comes from the archive: who came and went is in the event log (replayed as after a
restart, server/live/restore.py), the marks in the checklist tables. A page subscribes; every
commit that touches the inspection, on this node or another (PostgreSQL's LISTEN/NOTIFY,
server/archive/pg.py), wakes it to read the view again.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from ..archive import ArchiveStore
from ..cases.outcome import OutcomeService
from .restore import replay
from .room import Presence

# Who counts as in the room, and in what words.
SHOWN = {
    Presence.ADMITTED: ("在场", "in the room"),
    Presence.LOBBY: ("等候中", "waiting"),
    Presence.DROPPED: ("断线", "dropped"),
}


class LiveFeed:
    def __init__(self, archive: ArchiveStore, outcome: OutcomeService) -> None:
        self.archive = archive
        self.outcome = outcome
        self._pages: dict[int, set[asyncio.Queue[None]]] = defaultdict(set)
        self._watching = False

    async def subscribe(self, inspection_id: int) -> asyncio.Queue[None]:
        """A queue that gets an item whenever the inspection changed (at most one waits)."""
        if not self._watching:
            self._watching = True
            await self.archive.db.watch(self._changed)
        queue: asyncio.Queue[None] = asyncio.Queue(maxsize=1)
        self._pages[inspection_id].add(queue)
        return queue

    def unsubscribe(self, inspection_id: int, queue: asyncio.Queue[None]) -> None:
        pages = self._pages.get(inspection_id)
        if pages is not None:
            pages.discard(queue)
            if not pages:
                del self._pages[inspection_id]

    def _changed(self, inspections: set[int] | None) -> None:
        """Wake the pages of the inspections that changed (all of them when None)."""
        chosen = self._pages if inspections is None else inspections
        for inspection_id in chosen:
            for queue in self._pages.get(inspection_id, ()):
                if queue.empty():
                    queue.put_nowait(None)

    async def view(self, inspection_id: int) -> dict[str, Any]:
        archive = self.archive
        inspection = await archive.inspections.get(inspection_id)
        replayed = replay(await archive.events.find(inspection_id=inspection_id))
        invitees = {i.id: i for i in await archive.inspections.invitees(inspection_id)}
        people = []
        for member_id, member in replayed.members.items():
            invitee = invitees.get(member_id)
            if invitee is None or member.presence not in SHOWN:
                continue
            zh, en = SHOWN[member.presence]
            people.append(
                {
                    "name": invitee.name,
                    "role": invitee.role,
                    "presence": str(member.presence),
                    "label": f"{zh} / {en}",
                }
            )
        marks = []
        if await archive.checklists.items(inspection_id):
            checklist = (await self.outcome.load(inspection)).view(full=True)
            for item in checklist["items"]:
                if item.get("mark"):
                    mark = item["mark"]
                    marks.append(
                        {
                            "seq": item["seq"],
                            "text": item["text"],
                            "label": mark["label"],
                            "by": mark["by"],
                            "note": mark["note"] or "",
                        }
                    )
        return {"state": str(inspection.state), "people": people, "marks": marks}

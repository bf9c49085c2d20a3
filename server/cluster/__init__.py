"""This process among a province's media nodes (`[node]`): a room lives on one node, the
placement lives in the shared archive (server/archive/nodes.py), any node answers any link.

- Every `node.heartbeat_s` the node writes its heartbeat (rooms it holds, the machine's load)
  and renews the leases of its rooms.
- A room is placed when it is first asked for (a link's page or WebSocket): on the node with
  the fewest rooms, then the lowest load, then the first by name; it stays there.
- A node asked for a room placed elsewhere answers with that node's address: the page is
  redirected (307), the WebSocket is told `moved` (browsers do not follow a WebSocket's
  redirect).
- A placement whose lease ran out (its node stopped heart-beating for `node.lease_s`) is
  taken over by the first node that notices: the room opens there from the archive (the same
  admitted people, checklist and conclusion; server/live/restore.py), and the pages, whose
  reconnects try the other nodes, are seated again. The recording goes on as a new segment;
  the dead node's unfinished files are named in `room.taken_over` and recovered (finished,
  hashed, offloaded) when that node starts again.

With `node.id` empty none of this runs: one process, one room registry.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from urllib.parse import urlsplit

from ..archive import ArchiveStore
from ..archive.nodes import Node
from ..config import Settings
from ..live.registry import RoomService
from ..live.rooms import LiveRoom
from ..states import InspectionState

log = logging.getLogger(__name__)

# A room is worth keeping (and taking over) while its inspection may still be held.
OPEN_STATES = frozenset({InspectionState.SCHEDULED, InspectionState.LIVE})


def machine_load() -> float:
    """The machine's 1-minute load per core: recorders are other processes, and what the
    machine has left is what a new room gets."""
    try:
        return os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:
        return 0.0


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Cluster:
    def __init__(self, settings: Settings, archive: ArchiveStore, rooms: RoomService) -> None:
        self.settings = settings
        self.node = settings.node
        self.id = settings.node.id
        self.archive = archive
        self.rooms = rooms
        self.public_url = ""
        self.nodes: list[Node] = []  # alive at the last heartbeat, this one included
        self.stopping = False
        self._task: asyncio.Task[None] | None = None
        rooms.on_forget.append(self._forgotten)

    @property
    def enabled(self) -> bool:
        return bool(self.id)

    async def start(self) -> None:
        """Join the province, once this process knows the address it is reached at."""
        if not self.enabled:
            return
        url = self.node.public_url or self.settings.server.public_url
        self.public_url = url.rstrip("/")
        await self.beat()
        self._task = asyncio.create_task(self._run())
        log.info("node %s at %s: %d node(s) alive", self.id, self.public_url, len(self.nodes))

    async def stop(self) -> None:
        """Leave cleanly: this node's rooms are free at once for the others to take."""
        if self._task is None:
            return
        self.stopping = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        await self.archive.nodes.leave(self.id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.node.heartbeat_s)
            try:
                await self.beat()
                await self.take_over()
            except Exception:
                log.exception("node %s: heartbeat failed", self.id)

    async def beat(self) -> None:
        await self.archive.nodes.heartbeat(
            self.id, self.public_url, machine_load(), self.node.lease_s
        )
        self.nodes = await self.archive.nodes.alive(self.node.lease_s)

    # -- where a room is -----------------------------------------------------------------------

    async def choose(self) -> str:
        """The node a new room goes to: fewest rooms placed on it, then lowest load, then
        first by name."""
        if not self.nodes:
            return self.id
        placed = await self.archive.nodes.counts()
        best = min(self.nodes, key=lambda n: (placed.get(n.id, 0), round(n.load, 1), n.id))
        return best.id

    async def home(self, inspection_id: int) -> str | None:
        """The address of the node that holds this inspection's room; None when it is (or has
        just been placed on) this node, or when there are no nodes."""
        if not self.enabled or self.stopping:
            return None
        placed = await self.archive.nodes.placement(inspection_id)
        alive = {n.id: n for n in self.nodes}
        if placed is None or (placed.node_id not in alive and placed.node_id != self.id):
            placed = await self.archive.nodes.place(
                inspection_id, await self.choose(), self.node.lease_s
            )
        if placed.node_id == self.id:
            return None
        node = alive.get(placed.node_id) or await self.archive.nodes.get(placed.node_id)
        if node is None:  # it left between the two reads: ask again next time
            return None
        return node.public_url

    def origins(self) -> set[str]:
        """The nodes' origins: a page served by one node may reconnect to another."""
        return {origin(n.public_url) for n in self.nodes if n.public_url}

    def addresses(self) -> list[str]:
        """The WebSocket addresses of the nodes, this one first: where a page reconnects to."""
        urls = [self.public_url] + [n.public_url for n in self.nodes if n.id != self.id]
        return [ws_url(url) for url in urls if url]

    # -- a node that died --------------------------------------------------------------------

    async def take_over(self) -> list[int]:
        """Rooms whose node stopped heart-beating come to this node; the inspections taken."""
        taken = []
        alive = {n.id for n in self.nodes}
        for placement in await self.archive.nodes.expired():
            if placement.node_id == self.id or placement.node_id in alive:
                continue  # ours, or a node that is late but alive: its next beat renews it
            inspection = await self.archive.inspections.get(placement.inspection_id)
            if inspection.state not in OPEN_STATES:
                await self.archive.nodes.release(placement.inspection_id, placement.node_id)
                continue
            left = [
                r.path
                for r in await self.archive.evidence.unfinished()
                if r.inspection_id == placement.inspection_id
            ]
            placed = await self.archive.nodes.place(
                placement.inspection_id, self.id, self.node.lease_s, left=left
            )
            if placed.node_id != self.id:
                continue  # another node was quicker
            log.warning(
                "node %s took over the room of inspection %s from node %s",
                self.id,
                placement.inspection_id,
                placement.node_id,
            )
            # Open it now: the seats are held for the reconnect grace period from here.
            await self.rooms.room_for(placement.inspection_id)
            taken.append(placement.inspection_id)
        return taken

    async def _forgotten(self, room: LiveRoom) -> None:
        """A room ended or was interrupted here: the next sitting is placed afresh. (A node
        that is stopping keeps its placements, expired, for the others to take.)"""
        if self.enabled and not self.stopping:
            await self.archive.nodes.release(room.inspection.id, self.id)


async def forget_node(archive: ArchiveStore, node_id: str) -> list[str]:
    """A node that will never come back: the files it was writing when its rooms were taken
    over are marked lost (`recording.lost`, with the reason), and it leaves the list of nodes.
    The files themselves, should they turn up, are still recoverable by hand (docs/deploy.md).
    Returns the paths marked lost."""
    left: set[str] = set()
    for event in await archive.events.find(types=["room.taken_over"]):
        if event.data.get("from") == node_id:
            left.update(event.data.get("left_unfinished") or [])
    lost = []
    for recording in await archive.evidence.unfinished():
        if recording.path not in left:
            continue
        await archive.evidence.interrupt_recording(
            recording.id,
            path=recording.path,
            original_path=None,
            sha256=None,
            original_sha256=None,
            size_bytes=None,
            duration_s=0.0,
            frames=0,
            why=f"节点 {node_id} 已停用，文件未能找回 / node {node_id} was retired; the file "
            "was not recovered",
        )
        lost.append(recording.path)
    await archive.nodes.leave(node_id)
    return lost


def ws_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}/ws"

"""Media nodes and where each live room is (server/cluster): shared through the archive's
database so that every node of a province answers every link.

A node's row is its heartbeat. A placement pins a room to one node for a lease that its node
renews with each heartbeat; a lease that ran out (the node stopped heart-beating) lets another
node take the room over. Placing and taking over are events in the hash-chained log: where a
session was held, and that it moved, is part of its evidence. Times are the nodes' clocks
(run NTP), written as ISO strings that compare in time order on both backends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from .. import clock
from .db import Database, Row, bookkeeping, writer


@dataclass(frozen=True)
class Node:
    id: str
    public_url: str
    started_at: str
    heartbeat_at: str
    load: float  # the machine's load per core at the last heartbeat

    @classmethod
    def of(cls, row: Row) -> Node:
        return cls(
            row["id"],
            row["public_url"],
            row["started_at"],
            row["heartbeat_at"],
            float(row["load"]),
        )


@dataclass(frozen=True)
class Placement:
    inspection_id: int
    node_id: str
    lease_until: str
    placed_at: str
    epoch: int  # 1 when placed, +1 at every takeover

    @classmethod
    def of(cls, row: Row) -> Placement:
        return cls(
            int(row["inspection_id"]),
            row["node_id"],
            row["lease_until"],
            row["placed_at"],
            int(row["epoch"]),
        )


def _later(seconds: float) -> str:
    return clock.iso(clock.now() + timedelta(seconds=seconds))


class NodeStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @bookkeeping
    async def heartbeat(self, node_id: str, public_url: str, load: float, lease_s: float) -> None:
        """This node is alive: its row is refreshed and the leases of its rooms renewed."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO nodes (id, public_url, started_at, heartbeat_at, load) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "public_url = excluded.public_url, heartbeat_at = excluded.heartbeat_at, "
                "load = excluded.load",
                (node_id, public_url, now, now, load),
            )
            await tx.execute(
                "UPDATE placements SET lease_until = ? WHERE node_id = ?",
                (_later(lease_s), node_id),
            )

    @bookkeeping
    async def leave(self, node_id: str) -> None:
        """A node stopping cleanly: its rooms are free at once, for another node to take."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE placements SET lease_until = ? WHERE node_id = ?",
                (_later(-1), node_id),  # already over
            )
            await tx.execute("DELETE FROM nodes WHERE id = ?", (node_id,))

    async def alive(self, within_s: float) -> list[Node]:
        """Nodes heard from in the last `within_s` seconds."""
        since = clock.iso(clock.now() - timedelta(seconds=within_s))
        rows = await self._db.all(
            "SELECT * FROM nodes WHERE heartbeat_at >= ? ORDER BY id", (since,)
        )
        return [Node.of(row) for row in rows]

    async def get(self, node_id: str) -> Node | None:
        row = await self._db.one("SELECT * FROM nodes WHERE id = ?", (node_id,))
        return Node.of(row) if row else None

    async def placement(self, inspection_id: int) -> Placement | None:
        row = await self._db.one(
            "SELECT * FROM placements WHERE inspection_id = ?", (inspection_id,)
        )
        return Placement.of(row) if row else None

    async def placements(self) -> list[Placement]:
        rows = await self._db.all("SELECT * FROM placements ORDER BY inspection_id")
        return [Placement.of(row) for row in rows]

    async def counts(self) -> dict[str, int]:
        """Rooms placed on each node (opened or not yet)."""
        rows = await self._db.all(
            "SELECT node_id, COUNT(*) AS n FROM placements GROUP BY node_id ORDER BY node_id"
        )
        return {row["node_id"]: int(row["n"]) for row in rows}

    async def expired(self) -> list[Placement]:
        """Placements whose lease ran out: their node stopped heart-beating (or left)."""
        rows = await self._db.all(
            "SELECT * FROM placements WHERE lease_until < ? ORDER BY inspection_id",
            (clock.now_iso(),),
        )
        return [Placement.of(row) for row in rows]

    @writer
    async def place(
        self, inspection_id: int, node_id: str, lease_s: float, *, left: list[str] | None = None
    ) -> Placement:
        """The room's node: the one holding a live lease, or else `node_id`, which takes it
        (placed for the first time, or taken over from a node whose lease ran out; `left`:
        the files being recorded there, which stay unfinished until that node comes back and
        recovers them). Writers are serialised, so two nodes placing the same room at once
        agree on one."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            row = await tx.one("SELECT * FROM placements WHERE inspection_id = ?", (inspection_id,))
            current = Placement.of(row) if row else None
            if current is not None and (current.lease_until >= now or current.node_id == node_id):
                if current.node_id == node_id:
                    await tx.execute(
                        "UPDATE placements SET lease_until = ? WHERE inspection_id = ?",
                        (_later(lease_s), inspection_id),
                    )
                return current
            case_id = await tx.value(
                "SELECT case_id FROM inspections WHERE id = ?", (inspection_id,)
            )
            if current is None:
                await tx.execute(
                    "INSERT INTO placements (inspection_id, node_id, lease_until, placed_at, "
                    "epoch) VALUES (?, ?, ?, ?, 1)",
                    (inspection_id, node_id, _later(lease_s), now),
                )
                await tx.event(
                    "room.placed",
                    actor=f"node:{node_id}",
                    case_id=case_id,
                    inspection_id=inspection_id,
                    data={"node": node_id},
                )
            else:
                await tx.execute(
                    "UPDATE placements SET node_id = ?, lease_until = ?, placed_at = ?, "
                    "epoch = epoch + 1 WHERE inspection_id = ?",
                    (node_id, _later(lease_s), now, inspection_id),
                )
                await tx.event(
                    "room.taken_over",
                    actor=f"node:{node_id}",
                    case_id=case_id,
                    inspection_id=inspection_id,
                    data={
                        "node": node_id,
                        "from": current.node_id,
                        "lease_until": current.lease_until,
                        "epoch": current.epoch + 1,
                        "left_unfinished": left or [],
                    },
                )
        placed = await self.placement(inspection_id)
        assert placed is not None
        return placed

    @bookkeeping
    async def release(self, inspection_id: int, node_id: str) -> None:
        """The room closed on its node: the next visit places it afresh."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "DELETE FROM placements WHERE inspection_id = ? AND node_id = ?",
                (inspection_id, node_id),
            )

"""The event log: append-only and hash-chained from its first row.

Triggers refuse UPDATE and DELETE. Each row's hash covers its own fields and the previous
row's hash, so `EventLog.verify` finds the first row that was changed, removed or inserted out
of order. Events are appended only inside a write transaction (`Tx.event`), together with the
change they record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import Archived
from ..states import CaseState
from .db import Database, Row, Tx, writer

GENESIS_HASH = "0" * 64
# What may still happen to an archived case: nothing changes, but it is annotated, read,
# exported, checked, and after its retention period its files are deleted (tombstones stay).
ARCHIVED_EVENTS = frozenset(
    {
        "case.archived",
        "case.annotated",
        "case.exported",
        "case.files_deleted",
        "file.downloaded",
        # Messages about the case, and what a regulator finds about it later.
        "notice.sent",
        "notice.failed",
        "notice.resent",
        "finding.recorded",
        "finding.reviewed",
        "dishonesty.listed",
    }
)


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    type: str
    case_id: int | None
    inspection_id: int | None
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Row) -> Event:
        return cls(
            row["id"],
            row["at"],
            row["type"],
            row["case_id"],
            row["inspection_id"],
            row["actor"],
            json.loads(row["data"]),
            row["prev_hash"],
            row["hash"],
        )


def canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def event_hash(
    prev_hash: str,
    id: int,
    at: str,
    type: str,
    case_id: int | None,
    inspection_id: int | None,
    actor: str,
    data_json: str,
) -> str:
    """SHA-256 over the previous hash and this row's fields, in a fixed canonical form."""
    body = json.dumps(
        [id, at, type, case_id, inspection_id, actor, data_json],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


async def append(
    tx: Tx,
    type: str,
    actor: str,
    case_id: int | None,
    inspection_id: int | None,
    data: dict[str, Any] | None,
) -> Event:
    """The next row of the chain, stamped with server time, inside `tx`.

    Every change to a case appends its event here, in the change's own transaction: refusing
    the event of a change to an archived case refuses the change."""
    if case_id is not None and type not in ARCHIVED_EVENTS:
        row = await tx.one("SELECT state FROM cases WHERE id = ?", (case_id,))
        if row is not None and row["state"] == CaseState.ARCHIVED:
            raise Archived(
                "案件已归档，不能再更改；如需说明请添加批注 / this case is archived and cannot "
                "change; add an annotation instead"
            )
    data_json = canonical(data or {})
    last = await tx.one("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
    prev_hash = last["hash"] if last else GENESIS_HASH
    event_id = (last["id"] + 1) if last else 1
    at = clock.now_iso()
    digest = event_hash(prev_hash, event_id, at, type, case_id, inspection_id, actor, data_json)
    await tx.execute(
        """INSERT INTO events (id, at, type, case_id, inspection_id, actor, data,
                               prev_hash, hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (event_id, at, type, case_id, inspection_id, actor, data_json, prev_hash, digest),
    )
    return Event(event_id, at, type, case_id, inspection_id, actor, data or {}, prev_hash, digest)


class EventLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    @writer
    async def append(
        self,
        type: str,
        *,
        actor: str,
        case_id: int | None = None,
        inspection_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        """An event that is a change by itself (a login, someone joining a room)."""
        async with self._db.transaction() as tx:
            return await tx.event(
                type, actor=actor, case_id=case_id, inspection_id=inspection_id, data=data
            )

    async def find(
        self,
        *,
        inspection_id: int | None = None,
        case_id: int | None = None,
        types: Iterable[str] | None = None,
    ) -> list[Event]:
        sql = "SELECT * FROM events WHERE 1 = 1"
        args: list[Any] = []
        if inspection_id is not None:
            sql += " AND inspection_id = ?"
            args.append(inspection_id)
        if case_id is not None:
            sql += " AND case_id = ?"
            args.append(case_id)
        if types is not None:
            wanted = list(types)
            sql += f" AND type IN ({', '.join('?' for _ in wanted)})"
            args.extend(wanted)
        sql += " ORDER BY id"
        return [Event.from_row(row) for row in await self._db.all(sql, args)]

    async def raw(self, *, case_id: int) -> list[dict[str, Any]]:
        """A case's events exactly as stored (`data` as its canonical JSON text), for packages
        that must let anyone recompute each hash."""
        rows = await self._db.all(
            "SELECT id, at, type, case_id, inspection_id, actor, data, prev_hash, hash "
            "FROM events WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
        return [dict(row) for row in rows]

    async def head(self) -> dict[str, Any]:
        """The newest row of the whole chain: an export names it, so an auditor can check the
        live log still continues from there."""
        row = await self._db.one("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")
        return {"id": row["id"], "hash": row["hash"]} if row else {"id": 0, "hash": GENESIS_HASH}

    async def count(self) -> int:
        return await self._db.value("SELECT COUNT(*) FROM events")

    async def verify(self) -> tuple[int, int | None, str]:
        """Walk the chain from the first row: (rows checked, first broken id or None, why)."""
        prev_hash = GENESIS_HASH
        expected_id = 1
        count = 0
        async for row in self._db.rows(
            "SELECT id, at, type, case_id, inspection_id, actor, data, prev_hash, hash "
            "FROM events ORDER BY id"
        ):
            if row["id"] != expected_id:
                return count, row["id"], f"expected row {expected_id} before it (rows removed)"
            if row["prev_hash"] != prev_hash:
                return count, row["id"], "its prev_hash does not match the row before it"
            digest = event_hash(
                prev_hash,
                row["id"],
                row["at"],
                row["type"],
                row["case_id"],
                row["inspection_id"],
                row["actor"],
                row["data"],
            )
            if digest != row["hash"]:
                return count, row["id"], "its content does not match its hash (row altered)"
            prev_hash = row["hash"]
            expected_id += 1
            count += 1
        return count, None, ""

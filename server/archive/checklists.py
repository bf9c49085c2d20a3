"""An inspection's checklist: its points, every mark on them, the current point, the work record
(工作记录), and which point each screenshot belongs to.

Every mark, note, move and change of the current point is one row and one event, stamped with
server time and its offset in the recording being written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound, UserError
from ..states import InspectionState
from .db import Database, Row, Tx, writer


@dataclass(frozen=True)
class Stamp:
    """Who did something, when, and where that is in the recording."""

    actor: str  # as the event log names them: an invitee id, or staff:<username>
    name: str
    role: str
    at: str
    recording_id: int | None = None
    offset_s: float | None = None

    def data(self) -> dict[str, Any]:
        return {
            "by": self.name,
            "role": self.role,
            "at": self.at,
            "recording": self.recording_id,
            "offset_s": self.offset_s,
        }


@dataclass(frozen=True)
class ChecklistItem:
    id: int
    inspection_id: int
    seq: int
    kind: str  # identity | point | rectification
    text: str
    rectification_id: int | None
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> ChecklistItem:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class Mark:
    id: int
    inspection_id: int
    item_id: int
    verdict: str
    note: str
    actor: str
    actor_name: str
    actor_role: str
    at: str
    recording_id: int | None
    offset_s: float | None

    @classmethod
    def from_row(cls, row: Row) -> Mark:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class RecordEntry:
    """One timestamped line of the work record (工作记录)."""

    id: int
    inspection_id: int
    item_id: int | None
    text: str
    actor: str
    actor_name: str
    actor_role: str
    at: str
    recording_id: int | None
    offset_s: float | None

    @classmethod
    def from_row(cls, row: Row) -> RecordEntry:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


# The inspection states in which its checklist may be marked: a live session, or reviewers
# watching a self-recorded video.
MARKABLE = frozenset({InspectionState.LIVE, InspectionState.REVIEWING})


async def insert_items(
    tx: Tx, inspection_id: int, points: list[tuple[str, str, int | None]]
) -> list[int]:
    """The checklist's points (kind, text, rectification id), in order."""
    now = clock.now_iso()
    ids = []
    for seq, (kind, text, rectification_id) in enumerate(points, start=1):
        ids.append(
            await tx.insert(
                """INSERT INTO checklist_items (inspection_id, seq, kind, text,
                       rectification_id, created_at) VALUES (?, ?, ?, ?, ?, ?)""",
                (inspection_id, seq, kind, text, rectification_id, now),
            )
        )
    return ids


async def _markable(tx: Tx, inspection_id: int) -> int:
    """The case of an inspection whose checklist may be marked now."""
    row = await tx.one("SELECT case_id, state FROM inspections WHERE id = ?", (inspection_id,))
    if row is None:
        raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
    if row["state"] not in MARKABLE:
        raise UserError(
            "勘验未在进行中，不能更改勘验要点 / the inspection is not live; its checklist "
            "cannot change",
            code="not_live",
        )
    return row["case_id"]


async def _item(tx: Tx, inspection_id: int, item_id: int) -> Row:
    row = await tx.one(
        "SELECT * FROM checklist_items WHERE id = ? AND inspection_id = ?",
        (item_id, inspection_id),
    )
    if row is None:
        raise NotFound(f"本次勘验没有该要点 / no checklist point {item_id} in this inspection")
    return row


class ChecklistStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def items(self, inspection_id: int) -> list[ChecklistItem]:
        rows = await self._db.all(
            "SELECT * FROM checklist_items WHERE inspection_id = ? ORDER BY seq", (inspection_id,)
        )
        return [ChecklistItem.from_row(row) for row in rows]

    async def marks(self, inspection_id: int) -> list[Mark]:
        """Every mark, oldest first: an item's mark is its last."""
        rows = await self._db.all(
            "SELECT * FROM checklist_marks WHERE inspection_id = ? ORDER BY id", (inspection_id,)
        )
        return [Mark.from_row(row) for row in rows]

    async def entries(self, inspection_id: int) -> list[RecordEntry]:
        rows = await self._db.all(
            "SELECT * FROM record_entries WHERE inspection_id = ? ORDER BY id", (inspection_id,)
        )
        return [RecordEntry.from_row(row) for row in rows]

    async def current(self, inspection_id: int) -> int | None:
        row = await self._db.one(
            "SELECT current_item_id FROM inspections WHERE id = ?", (inspection_id,)
        )
        return row[0] if row else None

    @writer
    async def create(
        self, inspection_id: int, points: list[tuple[str, str, int | None]], *, actor: str
    ) -> list[ChecklistItem]:
        """The checklist of an inspection scheduled before checklists were kept; nothing when
        it has one already."""
        async with self._db.transaction() as tx:
            if await tx.one(
                "SELECT 1 FROM checklist_items WHERE inspection_id = ? LIMIT 1", (inspection_id,)
            ):
                return await self.items(inspection_id)
            row = await tx.one("SELECT case_id FROM inspections WHERE id = ?", (inspection_id,))
            if row is None:
                raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
            await insert_items(tx, inspection_id, points)
            await tx.event(
                "checklist.created",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"points": [text for _, text, _ in points]},
            )
        return await self.items(inspection_id)

    @writer
    async def set_current(self, inspection_id: int, item_id: int, stamp: Stamp) -> None:
        """The host moves the inspection to this point (逐项核实)."""
        async with self._db.transaction() as tx:
            case_id = await _markable(tx, inspection_id)
            item = await _item(tx, inspection_id, item_id)
            await tx.execute(
                "UPDATE inspections SET current_item_id = ? WHERE id = ?", (item_id, inspection_id)
            )
            await tx.event(
                "checklist.current",
                actor=stamp.actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={"item": item_id, "seq": item["seq"], "text": item["text"], **stamp.data()},
            )

    @writer
    async def mark(
        self, inspection_id: int, item_id: int, verdict: str, note: str, stamp: Stamp
    ) -> Mark:
        async with self._db.transaction() as tx:
            case_id = await _markable(tx, inspection_id)
            item = await _item(tx, inspection_id, item_id)
            mark_id = await tx.insert(
                """INSERT INTO checklist_marks (inspection_id, item_id, verdict, note, actor,
                       actor_name, actor_role, at, recording_id, offset_s)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    inspection_id,
                    item_id,
                    verdict,
                    note,
                    stamp.actor,
                    stamp.name,
                    stamp.role,
                    stamp.at,
                    stamp.recording_id,
                    stamp.offset_s,
                ),
            )
            await tx.event(
                "checklist.marked",
                actor=stamp.actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={
                    "mark": mark_id,
                    "item": item_id,
                    "seq": item["seq"],
                    "verdict": verdict,
                    "note": note,
                    **stamp.data(),
                },
            )
            row = await tx.row("SELECT * FROM checklist_marks WHERE id = ?", (mark_id,))
        return Mark.from_row(row)

    @writer
    async def add_entry(
        self, inspection_id: int, item_id: int | None, text: str, stamp: Stamp
    ) -> RecordEntry:
        """A line of the work record, during the session."""
        async with self._db.transaction() as tx:
            case_id = await _markable(tx, inspection_id)
            if item_id is not None:
                await _item(tx, inspection_id, item_id)
            entry_id = await tx.insert(
                """INSERT INTO record_entries (inspection_id, item_id, text, actor, actor_name,
                       actor_role, at, recording_id, offset_s)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    inspection_id,
                    item_id,
                    text,
                    stamp.actor,
                    stamp.name,
                    stamp.role,
                    stamp.at,
                    stamp.recording_id,
                    stamp.offset_s,
                ),
            )
            await tx.event(
                "record.entry",
                actor=stamp.actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={"entry": entry_id, "item": item_id, "text": text, **stamp.data()},
            )
            row = await tx.row("SELECT * FROM record_entries WHERE id = ?", (entry_id,))
        return RecordEntry.from_row(row)

    @writer
    async def move_screenshot(
        self, screenshot_id: int, item_id: int | None, *, actor: str, name: str
    ) -> int | None:
        """Attach a screenshot to another point of its inspection (or to none); the point it
        was on before."""
        async with self._db.transaction() as tx:
            shot = await tx.one(
                "SELECT inspection_id, case_id, checklist_item_id FROM screenshots WHERE id = ?",
                (screenshot_id,),
            )
            if shot is None:
                raise NotFound(f"截图不存在 / no screenshot {screenshot_id}")
            if item_id is not None:
                await _item(tx, shot["inspection_id"], item_id)
            await tx.execute(
                "UPDATE screenshots SET checklist_item_id = ? WHERE id = ?",
                (item_id, screenshot_id),
            )
            await tx.event(
                "screenshot.moved",
                actor=actor,
                case_id=shot["case_id"],
                inspection_id=shot["inspection_id"],
                data={
                    "screenshot": screenshot_id,
                    "from": shot["checklist_item_id"],
                    "to": item_id,
                    "by": name,
                },
            )
        return shot["checklist_item_id"]

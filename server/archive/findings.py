"""Regulators' findings (审管衔接): what an industry regulator later finds about a concluded case
(a faked video, say). Staff review each; a confirmed finding puts the applicant on the
dishonesty list with the case as the reason, in the same transaction, which then keeps them
from video inspections as the eligibility gate already does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import clock
from ..errors import NotFound, UserError
from .db import Database, Row, Tx, in_sections, writer

OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"


@dataclass(frozen=True)
class Finding:
    id: int
    case_id: int
    source: str  # apikey:<name> of the regulator
    kind: str  # faked_video | site_differs | other
    text: str
    at: str
    state: str
    reviewed_by: str | None
    reviewed_at: str | None
    note: str

    @classmethod
    def from_row(cls, row: Row) -> Finding:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


class FindingStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, finding_id: int) -> Finding:
        row = await self._db.one("SELECT * FROM findings WHERE id = ?", (finding_id,))
        if row is None:
            raise NotFound(f"核查发现不存在 / no finding {finding_id}")
        return Finding.from_row(row)

    async def of_case(self, case_id: int) -> list[Finding]:
        rows = await self._db.all(
            "SELECT * FROM findings WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [Finding.from_row(row) for row in rows]

    async def open(self, *, sections: Sequence[str] | None = None) -> list[Finding]:
        """Findings waiting for review; `sections`: only those sections' cases' (None: all)."""
        scope, scope_args = in_sections("c.section", sections)
        rows = await self._db.all(
            "SELECT f.* FROM findings f JOIN cases c ON c.id = f.case_id "
            f"WHERE f.state = ? AND {scope} ORDER BY f.id",
            (OPEN, *scope_args),
        )
        return [Finding.from_row(row) for row in rows]

    @writer
    async def record(self, case_id: int, kind: str, text: str, *, source: str) -> Finding:
        async with self._db.transaction() as tx:
            if await tx.one("SELECT 1 FROM cases WHERE id = ?", (case_id,)) is None:
                raise NotFound(f"案件不存在 / no case {case_id}")
            finding_id = await tx.insert(
                "INSERT INTO findings (case_id, source, kind, text, at, state) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (case_id, source, kind, text, clock.now_iso(), OPEN),
            )
            await tx.event(
                "finding.recorded",
                actor=source,
                case_id=case_id,
                data={"finding": finding_id, "kind": kind, "text": text},
            )
            row = await tx.row("SELECT * FROM findings WHERE id = ?", (finding_id,))
        return Finding.from_row(row)

    @writer
    async def review(self, finding_id: int, confirm: bool, note: str, *, actor: str) -> Finding:
        """Staff's decision. Confirmed: the applicant is listed as dishonest for this case."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            row = await tx.one("SELECT * FROM findings WHERE id = ?", (finding_id,))
            if row is None:
                raise NotFound(f"核查发现不存在 / no finding {finding_id}")
            if row["state"] != OPEN:
                raise UserError("该核查发现已处理 / this finding was already reviewed")
            state = CONFIRMED if confirm else DISMISSED
            await tx.execute(
                "UPDATE findings SET state = ?, reviewed_by = ?, reviewed_at = ?, note = ? "
                "WHERE id = ?",
                (state, actor, now, note, finding_id),
            )
            await tx.event(
                "finding.reviewed",
                actor=actor,
                case_id=row["case_id"],
                data={"finding": finding_id, "state": state, "note": note},
            )
            if confirm:
                await _list_applicant(tx, row, now, actor)
            updated = await tx.row("SELECT * FROM findings WHERE id = ?", (finding_id,))
        return Finding.from_row(updated)


async def _list_applicant(tx: Tx, finding: Row, now: str, actor: str) -> None:
    case = await tx.row(
        "SELECT case_no, applicant_name, applicant_id_no FROM cases WHERE id = ?",
        (finding["case_id"],),
    )
    if not case["applicant_id_no"]:
        return  # nobody to list: the case carried no ID number
    reason = f"案件 {case['case_no']} 经行业主管部门核查：{finding['text']}"[:300]
    listed_on = clock.shanghai(now, "%Y-%m-%d")
    import_id = await tx.insert(
        """INSERT INTO dishonesty_imports (at, actor, source, mode, added, updated, removed)
           VALUES (?, ?, ?, 'merge', 1, 0, 0)""",
        (now, actor, f"finding:{finding['id']}"),
    )
    existing = await tx.one(
        "SELECT id FROM dishonesty_entries WHERE id_no = ?", (case["applicant_id_no"],)
    )
    if existing is None:
        await tx.execute(
            """INSERT INTO dishonesty_entries (id_no, name, reason, listed_on, import_id,
                   updated_at) VALUES (?, ?, ?, ?, ?, ?)""",
            (case["applicant_id_no"], case["applicant_name"], reason, listed_on, import_id, now),
        )
    else:
        await tx.execute(
            """UPDATE dishonesty_entries SET name = ?, reason = ?, listed_on = ?, import_id = ?,
                   updated_at = ?, removed_at = NULL WHERE id = ?""",
            (case["applicant_name"], reason, listed_on, import_id, now, existing["id"]),
        )
    await tx.event(
        "dishonesty.listed",
        actor=actor,
        case_id=finding["case_id"],
        data={"finding": finding["id"], "reason": reason, "import_id": import_id},
    )

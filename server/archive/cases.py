"""Cases: one per application, with the applicant, the licence item and the case's state."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from .. import clock
from ..errors import NotFound
from ..states import CaseState, InspectionState, check_case
from .db import Database, Row, Tx, in_sections, writer


@dataclass(frozen=True)
class Annotation:
    id: int
    case_id: int
    actor: str
    text: str
    at: str

    @classmethod
    def from_row(cls, row: Row) -> Annotation:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class Case:
    id: int
    case_no: str
    application_no: str
    applicant_name: str
    applicant_id_no: str
    applicant_phone: str
    item_code: str
    item_name: str
    site_address: str
    section: str
    state: str
    is_demo: bool
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Case:
        return cls(
            row["id"],
            row["case_no"],
            row["application_no"],
            row["applicant_name"],
            row["applicant_id_no"],
            row["applicant_phone"],
            row["item_code"],
            row["item_name"],
            row["site_address"],
            row["section"],
            row["state"],
            bool(row["is_demo"]),
            row["created_at"],
        )


def like_pattern(text: str) -> str:
    """`text` anywhere, for LIKE … ESCAPE '\\' (its own %, _ and \\ taken literally)."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class CaseStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @writer
    async def create(
        self,
        *,
        application_no: str,
        applicant_name: str,
        item_code: str,
        item_name: str,
        applicant_id_no: str = "",
        applicant_phone: str = "",
        site_address: str = "",
        section: str = "",
        is_demo: bool = False,
        actor: str = "system",
    ) -> Case:
        """A new case in intake; its number is what people read out on the phone."""
        created = clock.now_iso()
        async with self._db.transaction() as tx:
            case_id = await tx.insert(
                """INSERT INTO cases (case_no, application_no, applicant_name, applicant_id_no,
                       applicant_phone, item_code, item_name, site_address, section, state,
                       is_demo, created_at)
                   VALUES ('', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    application_no,
                    applicant_name,
                    applicant_id_no,
                    applicant_phone,
                    item_code,
                    item_name,
                    site_address,
                    section,
                    CaseState.INTAKE,
                    int(is_demo),
                    created,
                ),
            )
            case_no = f"KY{clock.shanghai(created, '%Y')}-{case_id:06d}"
            await tx.execute("UPDATE cases SET case_no = ? WHERE id = ?", (case_no, case_id))
            await tx.event(
                "case.created",
                actor=actor,
                case_id=case_id,
                data={"case_no": case_no, "application_no": application_no, "item": item_code},
            )
        return await self.get(case_id)

    async def get(self, case_id: int) -> Case:
        row = await self._db.one("SELECT * FROM cases WHERE id = ?", (case_id,))
        if row is None:
            raise NotFound(f"案件不存在 / no case {case_id}")
        return Case.from_row(row)

    async def find_demo(self) -> Case | None:
        """The newest demo case."""
        row = await self._db.one("SELECT * FROM cases WHERE is_demo = 1 ORDER BY id DESC LIMIT 1")
        return Case.from_row(row) if row else None

    async def find_by_application_no(self, application_no: str) -> Case | None:
        row = await self._db.one("SELECT * FROM cases WHERE application_no = ?", (application_no,))
        return Case.from_row(row) if row else None

    async def search(
        self,
        *,
        state: str = "",
        item_code: str = "",
        section: str = "",
        query: str = "",
        created_from: str = "",
        created_before: str = "",
        sections: Sequence[str] | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Case], int]:
        """Cases matching every filter given, newest first, and how many match in all;
        `sections`: only those sections' cases (None: every section's)."""
        where, args = ["1 = 1"], []
        clause, values = in_sections("section", sections)
        where.append(clause)
        args.extend(values)
        for column, value in (("state", state), ("item_code", item_code), ("section", section)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if query:
            where.append(
                "(case_no LIKE ? ESCAPE '\\' OR application_no LIKE ? ESCAPE '\\' "
                "OR applicant_name LIKE ? ESCAPE '\\' OR applicant_id_no LIKE ? ESCAPE '\\' "
                "OR site_address LIKE ? ESCAPE '\\')"
            )
            args.extend([like_pattern(query)] * 5)
        if created_from:
            where.append("created_at >= ?")
            args.append(created_from)
        if created_before:
            where.append("created_at < ?")
            args.append(created_before)
        clause = " AND ".join(where)
        total = await self._db.value(f"SELECT COUNT(*) FROM cases WHERE {clause}", args)
        rows = await self._db.all(
            f"SELECT * FROM cases WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [Case.from_row(row) for row in rows], total

    async def sections(self) -> list[str]:
        """Every section some case or some staff member names."""
        rows = await self._db.all(
            "SELECT DISTINCT section FROM cases WHERE section <> '' ORDER BY section"
        )
        named = {row[0] for row in rows}
        for row in await self._db.all("SELECT sections FROM staff_accounts"):
            named.update(json.loads(row[0]))
        return sorted(named)

    async def status_gen(self, case_id: int) -> int:
        row = await self._db.one("SELECT status_gen FROM cases WHERE id = ?", (case_id,))
        if row is None:
            raise NotFound(f"案件不存在 / no case {case_id}")
        return row[0]

    async def closed_at(self, case_id: int) -> str | None:
        row = await self._db.one("SELECT closed_at FROM cases WHERE id = ?", (case_id,))
        return row[0] if row else None

    async def archived_at(self, case_id: int) -> str | None:
        row = await self._db.one("SELECT archived_at FROM cases WHERE id = ?", (case_id,))
        return row[0] if row else None

    @writer
    async def archive(self, case_id: int, *, actor: str) -> bool:
        """A closed case whose every concluded inspection has its record becomes archived:
        from then on nothing of it changes (events.ARCHIVED_EVENTS: only annotations, reads,
        exports). False while a record is still being made."""
        async with self._db.transaction() as tx:
            pending = await tx.one(
                """SELECT i.id FROM inspections i WHERE i.case_id = ? AND i.state = ?
                   AND NOT EXISTS (SELECT 1 FROM records r WHERE r.inspection_id = i.id)
                   LIMIT 1""",
                (case_id, InspectionState.CONCLUDED),
            )
            if pending is not None:
                return False
            await move_case(tx, case_id, CaseState.ARCHIVED)
            now = clock.now_iso()
            await tx.execute("UPDATE cases SET archived_at = ? WHERE id = ?", (now, case_id))
            await tx.event("case.archived", actor=actor, case_id=case_id, data={"at": now})
        return True

    @writer
    async def annotate(self, case_id: int, text: str, *, actor: str) -> Annotation:
        """A note on a case, archived or not (who, when, what); the case itself is unchanged."""
        async with self._db.transaction() as tx:
            if await tx.one("SELECT 1 FROM cases WHERE id = ?", (case_id,)) is None:
                raise NotFound(f"案件不存在 / no case {case_id}")
            now = clock.now_iso()
            annotation_id = await tx.insert(
                "INSERT INTO annotations (case_id, actor, text, at) VALUES (?, ?, ?, ?)",
                (case_id, actor, text, now),
            )
            await tx.event(
                "case.annotated",
                actor=actor,
                case_id=case_id,
                data={"annotation": annotation_id, "text": text},
            )
            row = await tx.row("SELECT * FROM annotations WHERE id = ?", (annotation_id,))
        return Annotation.from_row(row)

    async def annotations(self, case_id: int) -> list[Annotation]:
        rows = await self._db.all(
            "SELECT * FROM annotations WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [Annotation.from_row(row) for row in rows]

    @writer
    async def renew_status_link(self, case_id: int, *, actor: str) -> None:
        """The applicant's status link changes; the old one stops working."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE cases SET status_gen = status_gen + 1 WHERE id = ?", (case_id,)
            )
            if changed != 1:
                raise NotFound(f"案件不存在 / no case {case_id}")
            await tx.event("case.status_link_renewed", actor=actor, case_id=case_id)


async def move_case(tx: Tx, case_id: int, target: CaseState) -> str:
    """Move a case to `target` inside `tx`, as the transition table allows; its old state."""
    row = await tx.one("SELECT state FROM cases WHERE id = ?", (case_id,))
    if row is None:
        raise NotFound(f"案件不存在 / no case {case_id}")
    check_case(row["state"], target)
    if row["state"] != target:
        await tx.execute("UPDATE cases SET state = ? WHERE id = ?", (target, case_id))
    return row["state"]

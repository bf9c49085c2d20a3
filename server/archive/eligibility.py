"""Eligibility records: exclusions declared on a case, and the dishonesty list (失信名单)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import clock
from ..errors import NotFound, UserError
from ..states import CaseState
from .cases import like_pattern, move_case
from .db import Database, Row, Tx, writer


@dataclass(frozen=True)
class ExclusionRow:
    id: int
    case_id: int
    ground: str
    reason: str
    declared_by: str
    declared_at: str
    withdrawn_at: str | None
    withdrawn_by: str | None
    withdrawn_reason: str | None

    @classmethod
    def from_row(cls, row: Row) -> ExclusionRow:
        return cls(*(row[key] for key in row.keys()))


@dataclass(frozen=True)
class DishonestyEntry:
    id: int
    id_no: str
    name: str
    reason: str
    listed_on: str
    import_id: int
    updated_at: str
    removed_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> DishonestyEntry:
        return cls(*(row[key] for key in row.keys()))


@dataclass(frozen=True)
class DishonestyImport:
    id: int
    at: str
    actor: str
    source: str
    mode: str
    added: int
    updated: int
    removed: int

    @classmethod
    def from_row(cls, row: Row) -> DishonestyImport:
        return cls(*(row[key] for key in row.keys()))


async def _merge_entry(
    tx: Tx, import_id: int, now: str, entry: tuple[str, str, str, str]
) -> tuple[int, int]:
    """One listed person merged into the list: (added, updated)."""
    id_no, name, reason, listed_on = entry
    row = await tx.one(
        "SELECT id, name, reason, listed_on, removed_at FROM dishonesty_entries WHERE id_no = ?",
        (id_no,),
    )
    if row is None:
        await tx.execute(
            """INSERT INTO dishonesty_entries (id_no, name, reason, listed_on, import_id,
                   updated_at) VALUES (?, ?, ?, ?, ?, ?)""",
            (id_no, name, reason, listed_on, import_id, now),
        )
        return 1, 0
    await tx.execute(
        """UPDATE dishonesty_entries SET name = ?, reason = ?, listed_on = ?, import_id = ?,
               updated_at = ?, removed_at = NULL WHERE id = ?""",
        (name, reason, listed_on, import_id, now, row["id"]),
    )
    if row["removed_at"] is not None:
        return 1, 0
    same = (row["name"], row["reason"], row["listed_on"]) == (name, reason, listed_on)
    return 0, 0 if same else 1


class EligibilityStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- exclusions ------------------------------------------------------------------------------

    @writer
    async def add_exclusion(
        self, case_id: int, ground: str, reason: str, *, actor: str
    ) -> ExclusionRow:
        """Record an exclusion; the case becomes excluded in the same transaction."""
        async with self._db.transaction() as tx:
            await move_case(tx, case_id, CaseState.EXCLUDED)
            exclusion_id = await tx.insert(
                """INSERT INTO exclusions (case_id, ground, reason, declared_by, declared_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (case_id, ground, reason, actor, clock.now_iso()),
            )
            await tx.event(
                "case.excluded",
                actor=actor,
                case_id=case_id,
                data={"exclusion_id": exclusion_id, "ground": ground, "reason": reason},
            )
        return await self.exclusion(exclusion_id)

    async def exclusion(self, exclusion_id: int) -> ExclusionRow:
        row = await self._db.one("SELECT * FROM exclusions WHERE id = ?", (exclusion_id,))
        if row is None:
            raise NotFound(f"排除记录不存在 / no exclusion {exclusion_id}")
        return ExclusionRow.from_row(row)

    async def exclusions(self, case_id: int, *, active_only: bool = False) -> list[ExclusionRow]:
        sql = "SELECT * FROM exclusions WHERE case_id = ?"
        if active_only:
            sql += " AND withdrawn_at IS NULL"
        rows = await self._db.all(sql + " ORDER BY id", (case_id,))
        return [ExclusionRow.from_row(row) for row in rows]

    @writer
    async def withdraw_exclusion(self, exclusion_id: int, reason: str, *, actor: str) -> None:
        """Withdraw one exclusion; the case returns to intake when none is left."""
        async with self._db.transaction() as tx:
            row = await tx.one(
                "SELECT case_id FROM exclusions WHERE id = ? AND withdrawn_at IS NULL",
                (exclusion_id,),
            )
            if row is None:
                raise UserError("该排除记录已撤回 / this exclusion was already withdrawn")
            case_id = row["case_id"]
            await tx.execute(
                "UPDATE exclusions SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ? "
                "WHERE id = ?",
                (clock.now_iso(), actor, reason, exclusion_id),
            )
            left = await tx.one(
                "SELECT 1 FROM exclusions WHERE case_id = ? AND withdrawn_at IS NULL LIMIT 1",
                (case_id,),
            )
            case = await tx.row("SELECT state FROM cases WHERE id = ?", (case_id,))
            if left is None and case["state"] == CaseState.EXCLUDED:
                await move_case(tx, case_id, CaseState.INTAKE)
            await tx.event(
                "case.exclusion_withdrawn",
                actor=actor,
                case_id=case_id,
                data={"exclusion_id": exclusion_id, "reason": reason},
            )

    # -- the dishonesty list ---------------------------------------------------------------------

    @writer
    async def import_dishonesty(
        self,
        entries: list[tuple[str, str, str, str]],
        *,
        replace: bool,
        source: str,
        actor: str,
    ) -> DishonestyImport:
        """Merge (id_no, name, reason, listed_on) rows into the list; with `replace`, entries
        missing from this import leave the list. A failed import changes nothing."""
        now = clock.now_iso()
        mode = "replace" if replace else "merge"
        async with self._db.transaction() as tx:
            import_id = await tx.insert(
                """INSERT INTO dishonesty_imports (at, actor, source, mode, added, updated,
                       removed) VALUES (?, ?, ?, ?, 0, 0, 0)""",
                (now, actor, source, mode),
            )
            added = updated = 0
            for entry in entries:
                new, changed = await _merge_entry(tx, import_id, now, entry)
                added += new
                updated += changed
            removed = 0
            if replace:
                removed = await tx.execute(
                    "UPDATE dishonesty_entries SET removed_at = ?, updated_at = ? "
                    "WHERE import_id <> ? AND removed_at IS NULL",
                    (now, now, import_id),
                )
            await tx.execute(
                "UPDATE dishonesty_imports SET added = ?, updated = ?, removed = ? WHERE id = ?",
                (added, updated, removed, import_id),
            )
            await tx.event(
                "dishonesty.imported",
                actor=actor,
                data={
                    "import_id": import_id,
                    "source": source,
                    "mode": mode,
                    "added": added,
                    "updated": updated,
                    "removed": removed,
                },
            )
        return DishonestyImport(import_id, now, actor, source, mode, added, updated, removed)

    async def find_dishonest(self, id_no: str) -> DishonestyEntry | None:
        row = await self._db.one(
            "SELECT * FROM dishonesty_entries WHERE id_no = ? AND removed_at IS NULL", (id_no,)
        )
        return DishonestyEntry.from_row(row) if row else None

    async def dishonesty(
        self, *, query: str = "", limit: int = 100, offset: int = 0
    ) -> tuple[list[DishonestyEntry], int]:
        where, args = "removed_at IS NULL", []
        if query:
            where += " AND (id_no LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')"
            args = [like_pattern(query)] * 2
        total = await self._db.value(f"SELECT COUNT(*) FROM dishonesty_entries WHERE {where}", args)
        rows = await self._db.all(
            f"SELECT * FROM dishonesty_entries WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        )
        return [DishonestyEntry.from_row(row) for row in rows], total

    async def dishonesty_imports(self, limit: int = 20) -> list[DishonestyImport]:
        rows = await self._db.all(
            "SELECT * FROM dishonesty_imports ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [DishonestyImport.from_row(row) for row in rows]

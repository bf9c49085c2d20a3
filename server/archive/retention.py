"""Deleting an archived case's files after its retention period: what was deleted stays on
record as a tombstone, with each file's SHA-256 and size, and the event that says so."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import UserError
from ..states import CaseState
from .db import Database, Row, writer


@dataclass(frozen=True)
class Tombstone:
    id: int
    case_id: int
    at: str
    actor: str
    reason: str
    files: list[dict[str, Any]]  # path, sha256, size of every file deleted

    @classmethod
    def from_row(cls, row: Row) -> Tombstone:
        return cls(
            row["id"],
            row["case_id"],
            row["at"],
            row["actor"],
            row["reason"],
            json.loads(row["files"]),
        )


class RetentionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def files_of(self, case_id: int) -> list[dict[str, Any]]:
        """Every file of the case still on disk, with its archived hash."""
        found: list[dict[str, Any]] = []
        for row in await self._db.all(
            "SELECT path, sha256, size_bytes, original_path, original_sha256 FROM recordings "
            "WHERE case_id = ? AND deleted_at IS NULL",
            (case_id,),
        ):
            found.append({"path": row["path"], "sha256": row["sha256"], "size": row["size_bytes"]})
            if row["original_path"] and row["original_path"] != row["path"]:
                found.append(
                    {"path": row["original_path"], "sha256": row["original_sha256"], "size": None}
                )
        for row in await self._db.all(
            "SELECT path, sha256, size_bytes FROM screenshots "
            "WHERE case_id = ? AND deleted_at IS NULL",
            (case_id,),
        ):
            found.append({"path": row["path"], "sha256": row["sha256"], "size": row["size_bytes"]})
        for row in await self._db.all(
            "SELECT html_path, html_sha256, pdf_path, pdf_sha256, pdf_bytes FROM records "
            "WHERE case_id = ? AND deleted_at IS NULL",
            (case_id,),
        ):
            found.append({"path": row["html_path"], "sha256": row["html_sha256"], "size": None})
            found.append(
                {"path": row["pdf_path"], "sha256": row["pdf_sha256"], "size": row["pdf_bytes"]}
            )
        return found

    @writer
    async def delete_files(
        self, case_id: int, files: list[dict[str, Any]], reason: str, *, actor: str
    ) -> Tombstone:
        """Record the deletion (the caller unlinks the files once this has committed)."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            case = await tx.one("SELECT state FROM cases WHERE id = ?", (case_id,))
            if case is None or case["state"] != CaseState.ARCHIVED:
                raise UserError(
                    "只能删除已归档案件的文件 / only an archived case's files can be deleted",
                    code="not_archived",
                )
            for table in ("recordings", "screenshots", "records"):
                await tx.execute(
                    f"UPDATE {table} SET deleted_at = ? WHERE case_id = ? AND deleted_at IS NULL",
                    (now, case_id),
                )
            tombstone_id = await tx.insert(
                "INSERT INTO tombstones (case_id, at, actor, reason, files) VALUES (?, ?, ?, ?, ?)",
                (case_id, now, actor, reason, json.dumps(files, ensure_ascii=False)),
            )
            await tx.event(
                "case.files_deleted",
                actor=actor,
                case_id=case_id,
                data={"tombstone": tombstone_id, "reason": reason, "files": files},
            )
            row = await tx.row("SELECT * FROM tombstones WHERE id = ?", (tombstone_id,))
        return Tombstone.from_row(row)

    async def tombstones(self, case_id: int) -> list[Tombstone]:
        rows = await self._db.all(
            "SELECT * FROM tombstones WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [Tombstone.from_row(row) for row in rows]

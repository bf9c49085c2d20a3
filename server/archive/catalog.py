"""Versions of the licence-item catalog: every edit is a new version, none is ever changed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound
from .db import Database, Row, writer
from .events import canonical


@dataclass(frozen=True)
class CatalogRow:
    """A stored catalog version; `server.cases.catalog` turns `data` back into an item."""

    id: int
    code: str
    version: int
    name: str
    video_allowed: bool
    data: dict[str, Any]
    digest: str
    source: str
    note: str
    created_by: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> CatalogRow:
        return cls(
            row["id"],
            row["code"],
            row["version"],
            row["name"],
            bool(row["video_allowed"]),
            json.loads(row["data"]),
            row["digest"],
            row["source"],
            row["note"],
            row["created_by"],
            row["created_at"],
        )


class CatalogStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    @writer
    async def add_version(
        self,
        code: str,
        name: str,
        video_allowed: bool,
        data: dict[str, Any],
        digest: str,
        *,
        source: str,
        note: str,
        actor: str,
    ) -> CatalogRow:
        async with self._db.transaction() as tx:
            version = (
                await tx.value(
                    "SELECT COALESCE(MAX(version), 0) FROM catalog_versions WHERE code = ?", (code,)
                )
                + 1
            )
            row_id = await tx.insert(
                """INSERT INTO catalog_versions (code, version, name, video_allowed, data, digest,
                       source, note, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    code,
                    version,
                    name,
                    int(video_allowed),
                    canonical(data),
                    digest,
                    source,
                    note,
                    actor,
                    clock.now_iso(),
                ),
            )
            await tx.event(
                "catalog.version",
                actor=actor,
                data={"code": code, "version": version, "source": source, "digest": digest},
            )
        return await self.version(row_id)

    async def version(self, version_id: int) -> CatalogRow:
        row = await self._db.one("SELECT * FROM catalog_versions WHERE id = ?", (version_id,))
        if row is None:
            raise NotFound(f"事项版本不存在 / no catalog version {version_id}")
        return CatalogRow.from_row(row)

    async def versions(self, code: str) -> list[CatalogRow]:
        rows = await self._db.all(
            "SELECT * FROM catalog_versions WHERE code = ? ORDER BY version DESC", (code,)
        )
        return [CatalogRow.from_row(row) for row in rows]

    async def current(self) -> list[CatalogRow]:
        """The newest version of every item, by code."""
        rows = await self._db.all(
            """SELECT v.* FROM catalog_versions v
               JOIN (SELECT code, MAX(version) AS version FROM catalog_versions GROUP BY code) m
                 ON m.code = v.code AND m.version = v.version
               ORDER BY v.id"""
        )
        return [CatalogRow.from_row(row) for row in rows]

    async def last_file_digest(self, code: str) -> str | None:
        row = await self._db.one(
            "SELECT digest FROM catalog_versions WHERE code = ? AND source = 'file' "
            "ORDER BY version DESC LIMIT 1",
            (code,),
        )
        return row[0] if row else None

"""The inspection record (勘验笔录): each generated version, HTML and PDF, with its hashes.

A version is never overwritten: regenerating adds the next one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import clock
from ..errors import NotFound
from .db import Database, Row, writer


@dataclass(frozen=True)
class RecordFile:
    id: int
    inspection_id: int
    case_id: int
    version: int
    html_path: str  # relative to the recordings directory
    html_sha256: str
    pdf_path: str
    pdf_sha256: str
    pdf_bytes: int
    actor: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> RecordFile:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


class RecordStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def next_version(self, inspection_id: int) -> int:
        value = await self._db.value(
            "SELECT COALESCE(MAX(version), 0) FROM records WHERE inspection_id = ?",
            (inspection_id,),
        )
        return int(value) + 1

    @writer
    async def add(
        self,
        inspection_id: int,
        version: int,
        *,
        html_path: str,
        html_sha256: str,
        pdf_path: str,
        pdf_sha256: str,
        pdf_bytes: int,
        actor: str,
    ) -> RecordFile:
        async with self._db.transaction() as tx:
            inspection = await tx.one(
                "SELECT case_id FROM inspections WHERE id = ?", (inspection_id,)
            )
            if inspection is None:
                raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
            record_id = await tx.insert(
                """INSERT INTO records (inspection_id, case_id, version, html_path, html_sha256,
                       pdf_path, pdf_sha256, pdf_bytes, actor, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    inspection_id,
                    inspection["case_id"],
                    version,
                    html_path,
                    html_sha256,
                    pdf_path,
                    pdf_sha256,
                    pdf_bytes,
                    actor,
                    clock.now_iso(),
                ),
            )
            await tx.event(
                "record.generated",
                actor=actor,
                case_id=inspection["case_id"],
                inspection_id=inspection_id,
                data={
                    "record": record_id,
                    "version": version,
                    "html": html_path,
                    "html_sha256": html_sha256,
                    "pdf": pdf_path,
                    "pdf_sha256": pdf_sha256,
                },
            )
        return await self.get(record_id)

    async def get(self, record_id: int) -> RecordFile:
        row = await self._db.one("SELECT * FROM records WHERE id = ?", (record_id,))
        if row is None:
            raise NotFound(f"勘验笔录不存在 / no record {record_id}")
        return RecordFile.from_row(row)

    async def of_inspection(self, inspection_id: int) -> list[RecordFile]:
        rows = await self._db.all(
            "SELECT * FROM records WHERE inspection_id = ? ORDER BY version", (inspection_id,)
        )
        return [RecordFile.from_row(row) for row in rows]

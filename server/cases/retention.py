"""Retention (保管期限): an archived case's files are kept for its catalog item's retention
period; after it an administrator may delete them. What was deleted stays on record (a
tombstone with every file's hash), and so does the event log."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from .. import clock
from ..archive import ArchiveStore
from ..archive.retention import Tombstone
from ..errors import UserError
from ..states import CaseState
from ..storage import EvidenceFiles, StoreError
from .catalog import DEFAULT_RETENTION_YEARS, Catalog
from .checklist import clean_text


class Retention:
    def __init__(
        self,
        archive: ArchiveStore,
        catalog: Catalog,
        root: Path,
        files: EvidenceFiles | None = None,
    ) -> None:
        self.archive = archive
        self.catalog = catalog
        self.root = root
        self.files = files or EvidenceFiles(root)

    async def keep_until(self, case_id: int) -> str | None:
        """The first day the case's files may be deleted (Beijing date), once it is archived."""
        case = await self.archive.cases.get(case_id)
        archived_at = await self.archive.cases.archived_at(case_id)
        if case.state != CaseState.ARCHIVED or archived_at is None:
            return None
        try:
            years = (await self.catalog.current(case.item_code)).item.retention
        except Exception:
            years = DEFAULT_RETENTION_YEARS
        until = clock.parse(archived_at) + timedelta(days=round(365.25 * years))
        return clock.shanghai(until, "%Y-%m-%d")

    async def delete(self, case_id: int, reason: str, *, actor: str) -> Tombstone:
        text = clean_text(reason, 300, "删除理由", required=True)
        keep_until = await self.keep_until(case_id)
        if keep_until is None:
            raise UserError(
                "只能删除已归档案件的文件 / only an archived case's files", code="not_archived"
            )
        today = clock.shanghai(clock.now(), "%Y-%m-%d")
        if today < keep_until:
            raise UserError(
                f"保管期限至 {keep_until}，期满前不能删除 / kept until {keep_until}; nothing is "
                "deleted before",
                code="retention",
            )
        files = await self.archive.retention.files_of(case_id)
        tombstone = await self.archive.retention.delete_files(case_id, files, text, actor=actor)
        for entry in files:
            stored = str(entry["path"])
            try:
                await self.files.delete(stored)
            except (*StoreError, ValueError):
                continue  # recorded as deleted; what is left behind is reported by verify-files
            await self.archive.stored.forget(stored)
        return tombstone

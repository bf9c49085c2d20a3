"""ArchiveStore: the archive database and its aggregates, opened and closed together."""

from __future__ import annotations

import inspect
from pathlib import Path

from .cases import CaseStore
from .catalog import CatalogStore
from .checklists import ChecklistStore
from .conclusions import ConclusionStore
from .db import Database, open_database
from .eligibility import EligibilityStore
from .events import EventLog
from .evidence import EvidenceStore
from .findings import FindingStore
from .inspections import InspectionStore
from .integrity import IntegrityStore
from .migrations import migrate, schema_version
from .nodes import NodeStore
from .outbox import OutboxStore
from .records import RecordStore
from .retention import RetentionStore
from .search import ArchiveSearch
from .staff import StaffStore
from .statistics import StatisticsStore
from .stored import StoredStore
from .uploads import UploadStore


class ArchiveStore:
    """Open with `await ArchiveStore.open(location)` — the SQLite file's path or a PostgreSQL
    URL (`settings.archive_location`); close when done.

    Reads go to the aggregate that owns them (`archive.cases.get(…)`); every write runs in one
    transaction together with the events that record it.
    """

    def __init__(self, db: Database) -> None:
        self.db = db
        self.path = db.path
        self.events = EventLog(db)
        self.cases = CaseStore(db)
        self.inspections = InspectionStore(db)
        self.staff = StaffStore(db)
        self.catalog = CatalogStore(db)
        self.eligibility = EligibilityStore(db)
        self.evidence = EvidenceStore(db)
        self.checklists = ChecklistStore(db)
        self.conclusions = ConclusionStore(db)
        self.records = RecordStore(db)
        self.integrity = IntegrityStore(db)
        self.statistics = StatisticsStore(db)
        self.retention = RetentionStore(db)
        self.uploads = UploadStore(db)
        self.outbox = OutboxStore(db)
        self.findings = FindingStore(db)
        self.search = ArchiveSearch(db)
        self.stored = StoredStore(db)
        self.nodes = NodeStore(db)

    @classmethod
    async def open(cls, location: Path | str) -> ArchiveStore:
        db = await open_database(location)
        try:
            await migrate(db)
        except BaseException:
            await db.close()
            raise
        return cls(db)

    async def close(self) -> None:
        await self.db.close()

    async def migrate(self) -> list[int]:
        return await migrate(self.db)

    async def schema_version(self) -> int:
        return await schema_version(self.db)

    async def verify_events(self) -> tuple[int, int | None, str]:
        return await self.events.verify()

    def aggregates(self) -> dict[str, object]:
        return {
            name: value
            for name, value in vars(self).items()
            if name not in ("db", "path") and not name.startswith("_")
        }

    def writers(self, mark: str = "__archive_writer__") -> list[str]:
        """`aggregate.method` for every write method (or every one carrying `mark`)."""
        found = []
        for name, aggregate in self.aggregates().items():
            for attr, member in inspect.getmembers(type(aggregate), inspect.iscoroutinefunction):
                if getattr(member, mark, False):
                    found.append(f"{name}.{attr}")
        return sorted(found)

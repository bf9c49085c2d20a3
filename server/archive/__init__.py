"""The archive store: every SQL statement of Kanyan lives in this package.

A small core — `db` (connections and the one `transaction()`), `migrations`, `events` (the
hash-chained log) — and one module per aggregate, each record type next to its SQL: `cases`,
`inspections` (and their invited groups), `staff` (accounts and API keys), `catalog`,
`eligibility` (exclusions and the dishonesty list), `evidence` (recordings and screenshots),
`checklists` (points, marks, the work record), `conclusions` (conclusion, confirmation,
re-inspection requests), `records` (the generated inspection records).
"""

from .cases import Case
from .catalog import CatalogRow
from .checklists import ChecklistItem, Mark, RecordEntry, Stamp
from .conclusions import (
    AwaitingClose,
    Conclusion,
    OpenRequest,
    Rectification,
    ReinspectionRequest,
)
from .db import Database, Tx
from .eligibility import DishonestyEntry, DishonestyImport, ExclusionRow
from .events import GENESIS_HASH, Event, event_hash
from .evidence import Recording, Screenshot
from .inspections import AgendaEntry, Inspection
from .invitees import GroupMember, Invitee
from .records import RecordFile
from .staff import ApiKey, StaffAccount, StaffSession
from .store import ArchiveStore

__all__ = [
    "GENESIS_HASH",
    "AgendaEntry",
    "ApiKey",
    "ArchiveStore",
    "AwaitingClose",
    "Case",
    "CatalogRow",
    "ChecklistItem",
    "Conclusion",
    "Database",
    "DishonestyEntry",
    "DishonestyImport",
    "Event",
    "ExclusionRow",
    "GroupMember",
    "Inspection",
    "Invitee",
    "Mark",
    "OpenRequest",
    "RecordEntry",
    "RecordFile",
    "Recording",
    "Rectification",
    "ReinspectionRequest",
    "Screenshot",
    "StaffAccount",
    "StaffSession",
    "Stamp",
    "Tx",
    "event_hash",
]

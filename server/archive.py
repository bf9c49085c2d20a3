"""The archive store: every SQL statement of Kanyan lives in this module.

SQLite through aiosqlite today; the SQL sticks to what PostgreSQL also accepts (placeholders
aside) so a second backend can follow. Schema changes are numbered migrations applied at start.
The event log is append-only (triggers refuse UPDATE and DELETE) and hash-chained from its first
row: each row's hash covers its own fields and the previous row's hash, so `verify_events`
finds the first row that was changed, removed or inserted out of order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from . import clock
from .errors import NotFound, UserError

GENESIS_HASH = "0" * 64

# (version, name, statements). Append only: never edit a migration that has shipped.
MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (
        1,
        "cases, inspections, invitees, event log",
        [
            """CREATE TABLE cases (
                id INTEGER PRIMARY KEY,
                case_no TEXT NOT NULL UNIQUE,
                application_no TEXT NOT NULL UNIQUE,
                applicant_name TEXT NOT NULL,
                applicant_id_no TEXT NOT NULL DEFAULT '',
                applicant_phone TEXT NOT NULL DEFAULT '',
                item_code TEXT NOT NULL,
                item_name TEXT NOT NULL,
                site_address TEXT NOT NULL DEFAULT '',
                section TEXT NOT NULL DEFAULT '',
                state TEXT NOT NULL,
                is_demo INTEGER NOT NULL DEFAULT 0,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE inspections (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                seq INTEGER NOT NULL,
                scheduled_at TEXT NOT NULL,
                state TEXT NOT NULL,
                started_at TEXT,
                ended_at TEXT,
                created_at TEXT NOT NULL,
                UNIQUE (case_id, seq)
            )""",
            """CREATE TABLE invitees (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                role TEXT NOT NULL,
                name TEXT NOT NULL,
                unit TEXT NOT NULL DEFAULT '',
                phone TEXT NOT NULL DEFAULT '',
                link_gen INTEGER NOT NULL DEFAULT 1,
                revoked_at TEXT,
                revoked_reason TEXT,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX invitees_inspection ON invitees (inspection_id)",
            """CREATE TABLE events (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                type TEXT NOT NULL,
                case_id INTEGER,
                inspection_id INTEGER,
                actor TEXT NOT NULL,
                data TEXT NOT NULL,
                prev_hash TEXT NOT NULL,
                hash TEXT NOT NULL
            )""",
            "CREATE INDEX events_inspection ON events (inspection_id, id)",
            """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
               BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
            """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
               BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
        ],
    ),
    (
        2,
        "recordings and screenshots",
        [
            # One row per file: each segment's composite and each raw track. A row exists
            # before its file does, so the recovery at start finds every unfinished one.
            """CREATE TABLE recordings (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                case_id INTEGER NOT NULL REFERENCES cases(id),
                segment INTEGER NOT NULL,
                kind TEXT NOT NULL,
                participant_id INTEGER,
                track TEXT,
                state TEXT NOT NULL,
                path TEXT NOT NULL,
                original_path TEXT,
                started_at TEXT NOT NULL,
                ended_at TEXT,
                duration_s REAL,
                size_bytes INTEGER,
                frames INTEGER,
                sha256 TEXT,
                original_sha256 TEXT,
                note TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX recordings_inspection ON recordings (inspection_id, segment)",
            "CREATE INDEX recordings_state ON recordings (state)",
            """CREATE TABLE screenshots (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                case_id INTEGER NOT NULL REFERENCES cases(id),
                participant_id INTEGER NOT NULL,
                taker_id INTEGER NOT NULL,
                taken_at TEXT NOT NULL,
                recording_id INTEGER REFERENCES recordings(id),
                offset_s REAL,
                checklist_item_id INTEGER,
                note TEXT NOT NULL DEFAULT '',
                path TEXT NOT NULL,
                width INTEGER NOT NULL,
                height INTEGER NOT NULL,
                size_bytes INTEGER NOT NULL,
                sha256 TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            "CREATE INDEX screenshots_inspection ON screenshots (inspection_id, id)",
        ],
    ),
    (
        3,
        "staff accounts, API keys, catalog versions, eligibility, dishonesty list, scheduling",
        [
            """CREATE TABLE staff_accounts (
                id INTEGER PRIMARY KEY,
                username TEXT NOT NULL UNIQUE,
                display_name TEXT NOT NULL,
                role TEXT NOT NULL,
                password_hash TEXT NOT NULL,
                must_change_password INTEGER NOT NULL DEFAULT 1,
                session_gen INTEGER NOT NULL DEFAULT 1,
                disabled_at TEXT,
                created_at TEXT NOT NULL,
                password_changed_at TEXT
            )""",
            """CREATE TABLE api_keys (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL,
                key_hash TEXT NOT NULL UNIQUE,
                prefix TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                last_used_at TEXT,
                revoked_at TEXT,
                revoked_by TEXT
            )""",
            """CREATE TABLE catalog_versions (
                id INTEGER PRIMARY KEY,
                code TEXT NOT NULL,
                version INTEGER NOT NULL,
                name TEXT NOT NULL,
                video_allowed INTEGER NOT NULL,
                data TEXT NOT NULL,
                digest TEXT NOT NULL,
                source TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT '',
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (code, version)
            )""",
            """CREATE TABLE exclusions (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                ground TEXT NOT NULL,
                reason TEXT NOT NULL,
                declared_by TEXT NOT NULL,
                declared_at TEXT NOT NULL,
                withdrawn_at TEXT,
                withdrawn_by TEXT,
                withdrawn_reason TEXT
            )""",
            "CREATE INDEX exclusions_case ON exclusions (case_id)",
            """CREATE TABLE dishonesty_entries (
                id INTEGER PRIMARY KEY,
                id_no TEXT NOT NULL UNIQUE,
                name TEXT NOT NULL,
                reason TEXT NOT NULL DEFAULT '',
                listed_on TEXT NOT NULL DEFAULT '',
                import_id INTEGER NOT NULL,
                updated_at TEXT NOT NULL,
                removed_at TEXT
            )""",
            """CREATE TABLE dishonesty_imports (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                source TEXT NOT NULL,
                mode TEXT NOT NULL,
                added INTEGER NOT NULL,
                updated INTEGER NOT NULL,
                removed INTEGER NOT NULL
            )""",
            "ALTER TABLE cases ADD COLUMN status_gen INTEGER NOT NULL DEFAULT 1",
            "ALTER TABLE cases ADD COLUMN closed_at TEXT",
            "CREATE INDEX cases_state ON cases (state, created_at)",
            """ALTER TABLE inspections ADD COLUMN catalog_version_id INTEGER
               REFERENCES catalog_versions(id)""",
            "ALTER TABLE inspections ADD COLUMN cancelled_at TEXT",
            "ALTER TABLE inspections ADD COLUMN cancel_reason TEXT",
            "CREATE INDEX inspections_time ON inspections (scheduled_at)",
            "ALTER TABLE invitees ADD COLUMN user_id INTEGER REFERENCES staff_accounts(id)",
        ],
    ),
]


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


@dataclass(frozen=True)
class Inspection:
    id: int
    case_id: int
    seq: int
    scheduled_at: str
    state: str  # scheduled | live | ended | cancelled
    started_at: str | None
    ended_at: str | None
    created_at: str


@dataclass(frozen=True)
class Invitee:
    """A person invited to one inspection in one role, holding a personal link."""

    id: int
    inspection_id: int
    role: str
    name: str
    unit: str
    phone: str
    link_gen: int
    revoked_at: str | None
    revoked_reason: str | None
    created_at: str


@dataclass(frozen=True)
class Recording:
    """One recorded file: a segment's composite or one participant's raw track."""

    id: int
    inspection_id: int
    case_id: int
    segment: int
    kind: str  # composite | raw
    participant_id: int | None
    track: str | None  # raw tracks: audio | video
    state: str  # recording | finished | interrupted | failed
    path: str  # relative to the recordings directory: the file to play
    original_path: str | None  # interrupted: the unfinished file, kept untouched
    started_at: str
    ended_at: str | None
    duration_s: float | None
    size_bytes: int | None
    frames: int | None
    sha256: str | None
    original_sha256: str | None
    note: str
    created_at: str


@dataclass(frozen=True)
class Screenshot:
    id: int
    inspection_id: int
    case_id: int
    participant_id: int  # whose video
    taker_id: int
    taken_at: str
    recording_id: int | None
    offset_s: float | None  # into that recording
    checklist_item_id: int | None
    note: str
    path: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    created_at: str


@dataclass(frozen=True)
class Event:
    id: int
    at: str
    type: str
    case_id: int | None
    inspection_id: int | None
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


def event_hash(
    prev_hash: str,
    id: int,
    at: str,
    type: str,
    case_id: int | None,
    inspection_id: int | None,
    actor: str,
    data_json: str,
) -> str:
    """SHA-256 over the previous hash and this row's fields, in a fixed canonical form."""
    body = json.dumps(
        [id, at, type, case_id, inspection_id, actor, data_json],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + "\n" + body).encode()).hexdigest()


async def _first(cursor: aiosqlite.Cursor) -> Any:
    """The first column of the single row an aggregate query returns."""
    row = await cursor.fetchone()
    if row is None:  # pragma: no cover - COUNT/MAX always return a row
        raise RuntimeError("aggregate query returned no row")
    return row[0]


def _row_id(cursor: aiosqlite.Cursor) -> int:
    if cursor.lastrowid is None:  # pragma: no cover - an INSERT always sets it
        raise RuntimeError("INSERT returned no row id")
    return cursor.lastrowid


def _canonical(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


class ArchiveStore:
    """The archive database. Open with `await ArchiveStore.open(path)`; close when done."""

    def __init__(self, db: aiosqlite.Connection, path: Path) -> None:
        self._db = db
        self.path = path
        # One writer at a time keeps the hash chain linear.
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> ArchiveStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path)
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("PRAGMA foreign_keys=ON")
        await db.execute("PRAGMA busy_timeout=5000")
        store = cls(db, path)
        await store.migrate()
        return store

    async def close(self) -> None:
        await self._db.close()

    # -- migrations ---------------------------------------------------------------------------

    async def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in its own transaction."""
        await self._db.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"""
        )
        await self._db.commit()
        async with self._db.execute("SELECT version FROM schema_migrations") as cur:
            done = {row[0] for row in await cur.fetchall()}
        applied = []
        for version, name, statements in MIGRATIONS:
            if version in done:
                continue
            try:
                for statement in statements:
                    await self._db.execute(statement)
                await self._db.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                    (version, name, clock.now_iso()),
                )
                await self._db.commit()
            except Exception:
                await self._db.rollback()
                raise
            applied.append(version)
        return applied

    async def schema_version(self) -> int:
        async with self._db.execute("SELECT MAX(version) FROM schema_migrations") as cur:
            row = await cur.fetchone()
        return (row[0] if row else 0) or 0

    # -- event log ----------------------------------------------------------------------------

    async def append_event(
        self,
        type: str,
        *,
        actor: str,
        case_id: int | None = None,
        inspection_id: int | None = None,
        data: dict[str, Any] | None = None,
        commit: bool = True,
    ) -> Event:
        """Append one event to the hash chain, stamped with server time."""
        async with self._write_lock:
            event = await self._append_locked(type, actor, case_id, inspection_id, data)
            if commit:
                await self._db.commit()
        return event

    async def _append_locked(
        self,
        type: str,
        actor: str,
        case_id: int | None,
        inspection_id: int | None,
        data: dict[str, Any] | None,
    ) -> Event:
        """The event insert, for callers that hold the write lock and commit themselves, so a
        change and the event that records it land in one transaction."""
        data_json = _canonical(data or {})
        async with self._db.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1") as cur:
            last = await cur.fetchone()
        prev_hash = last["hash"] if last else GENESIS_HASH
        event_id = (last["id"] + 1) if last else 1
        at = clock.now_iso()
        digest = event_hash(prev_hash, event_id, at, type, case_id, inspection_id, actor, data_json)
        await self._db.execute(
            """INSERT INTO events (id, at, type, case_id, inspection_id, actor, data,
                                   prev_hash, hash)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (event_id, at, type, case_id, inspection_id, actor, data_json, prev_hash, digest),
        )
        return Event(
            event_id, at, type, case_id, inspection_id, actor, data or {}, prev_hash, digest
        )

    async def events(
        self,
        *,
        inspection_id: int | None = None,
        case_id: int | None = None,
        types: Iterable[str] | None = None,
    ) -> list[Event]:
        sql = "SELECT * FROM events WHERE 1 = 1"
        args: list[Any] = []
        if inspection_id is not None:
            sql += " AND inspection_id = ?"
            args.append(inspection_id)
        if case_id is not None:
            sql += " AND case_id = ?"
            args.append(case_id)
        if types is not None:
            wanted = list(types)
            sql += f" AND type IN ({', '.join('?' for _ in wanted)})"
            args.extend(wanted)
        sql += " ORDER BY id"
        async with self._db.execute(sql, args) as cur:
            rows = await cur.fetchall()
        return [self._event(row) for row in rows]

    @staticmethod
    def _event(row: aiosqlite.Row) -> Event:
        return Event(
            row["id"],
            row["at"],
            row["type"],
            row["case_id"],
            row["inspection_id"],
            row["actor"],
            json.loads(row["data"]),
            row["prev_hash"],
            row["hash"],
        )

    async def verify_events(self) -> tuple[int, int | None, str]:
        """Walk the chain from the first row: (rows checked, first broken id or None, why)."""
        prev_hash = GENESIS_HASH
        expected_id = 1
        count = 0
        async with self._db.execute(
            "SELECT id, at, type, case_id, inspection_id, actor, data, prev_hash, hash "
            "FROM events ORDER BY id"
        ) as cur:
            async for row in cur:
                if row["id"] != expected_id:
                    return count, row["id"], f"expected row {expected_id} before it (rows removed)"
                if row["prev_hash"] != prev_hash:
                    return count, row["id"], "its prev_hash does not match the row before it"
                digest = event_hash(
                    prev_hash,
                    row["id"],
                    row["at"],
                    row["type"],
                    row["case_id"],
                    row["inspection_id"],
                    row["actor"],
                    row["data"],
                )
                if digest != row["hash"]:
                    return count, row["id"], "its content does not match its hash (row altered)"
                prev_hash = row["hash"]
                expected_id += 1
                count += 1
        return count, None, ""

    # -- cases --------------------------------------------------------------------------------

    @staticmethod
    def _case(row: aiosqlite.Row) -> Case:
        return Case(
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

    async def create_case(
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
        state: str = "intake",
        is_demo: bool = False,
        actor: str = "system",
    ) -> Case:
        created = clock.now_iso()
        async with self._write_lock:
            cur = await self._db.execute(
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
                    state,
                    int(is_demo),
                    created,
                ),
            )
            case_id = _row_id(cur)
            # The case number is what people read out on the phone: year and a serial.
            case_no = f"KY{clock.shanghai(created, '%Y')}-{case_id:06d}"
            await self._db.execute("UPDATE cases SET case_no = ? WHERE id = ?", (case_no, case_id))
            await self._db.commit()
        case = await self.get_case(case_id)
        await self.append_event(
            "case.created",
            actor=actor,
            case_id=case.id,
            data={"case_no": case.case_no, "application_no": application_no, "item": item_code},
        )
        return case

    async def get_case(self, case_id: int) -> Case:
        async with self._db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"案件不存在 / no case {case_id}")
        return self._case(row)

    async def find_demo_case(self) -> Case | None:
        async with self._db.execute(
            "SELECT * FROM cases WHERE is_demo = 1 ORDER BY id LIMIT 1"
        ) as cur:
            row = await cur.fetchone()
        return self._case(row) if row else None

    async def set_case_state(self, case_id: int, state: str) -> None:
        async with self._write_lock:
            await self._db.execute("UPDATE cases SET state = ? WHERE id = ?", (state, case_id))
            await self._db.commit()

    # -- inspections --------------------------------------------------------------------------

    @staticmethod
    def _inspection(row: aiosqlite.Row) -> Inspection:
        return Inspection(
            row["id"],
            row["case_id"],
            row["seq"],
            row["scheduled_at"],
            row["state"],
            row["started_at"],
            row["ended_at"],
            row["created_at"],
        )

    async def create_inspection(
        self, case_id: int, scheduled_at: str, *, actor: str = "system"
    ) -> Inspection:
        async with self._write_lock:
            async with self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM inspections WHERE case_id = ?", (case_id,)
            ) as cur:
                row = await cur.fetchone()
                seq = (row[0] if row else 0) + 1
            cur = await self._db.execute(
                """INSERT INTO inspections (case_id, seq, scheduled_at, state, created_at)
                   VALUES (?, ?, ?, 'scheduled', ?)""",
                (case_id, seq, scheduled_at, clock.now_iso()),
            )
            inspection_id = _row_id(cur)
            await self._db.commit()
        await self.append_event(
            "inspection.scheduled",
            actor=actor,
            case_id=case_id,
            inspection_id=inspection_id,
            data={"seq": seq, "scheduled_at": scheduled_at},
        )
        return await self.get_inspection(inspection_id)

    async def get_inspection(self, inspection_id: int) -> Inspection:
        async with self._db.execute(
            "SELECT * FROM inspections WHERE id = ?", (inspection_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
        return self._inspection(row)

    async def inspections_of_case(self, case_id: int) -> list[Inspection]:
        async with self._db.execute(
            "SELECT * FROM inspections WHERE case_id = ? ORDER BY seq", (case_id,)
        ) as cur:
            return [self._inspection(row) for row in await cur.fetchall()]

    async def mark_inspection_live(self, inspection_id: int, *, actor: str) -> Inspection:
        at = clock.now_iso()
        async with self._write_lock:
            cur = await self._db.execute(
                "UPDATE inspections SET state = 'live', started_at = ? "
                "WHERE id = ? AND state = 'scheduled'",
                (at, inspection_id),
            )
            await self._db.commit()
        if cur.rowcount != 1:
            raise UserError("勘验已开始或已结束 / the inspection already started or ended")
        inspection = await self.get_inspection(inspection_id)
        await self.append_event(
            "session.started",
            actor=actor,
            case_id=inspection.case_id,
            inspection_id=inspection_id,
            data={"started_at": at},
        )
        return inspection

    async def mark_inspection_ended(
        self, inspection_id: int, *, actor: str, data: dict[str, Any] | None = None
    ) -> Inspection:
        at = clock.now_iso()
        async with self._write_lock:
            cur = await self._db.execute(
                "UPDATE inspections SET state = 'ended', ended_at = ? "
                "WHERE id = ? AND state = 'live'",
                (at, inspection_id),
            )
            await self._db.commit()
        if cur.rowcount != 1:
            raise UserError("勘验未在进行中 / the inspection is not live")
        inspection = await self.get_inspection(inspection_id)
        await self.append_event(
            "session.ended",
            actor=actor,
            case_id=inspection.case_id,
            inspection_id=inspection_id,
            data={"ended_at": at, **(data or {})},
        )
        return inspection

    # -- invitees -----------------------------------------------------------------------------

    @staticmethod
    def _invitee(row: aiosqlite.Row) -> Invitee:
        return Invitee(
            row["id"],
            row["inspection_id"],
            row["role"],
            row["name"],
            row["unit"],
            row["phone"],
            row["link_gen"],
            row["revoked_at"],
            row["revoked_reason"],
            row["created_at"],
        )

    async def add_invitee(
        self, inspection_id: int, role: str, name: str, *, unit: str = "", phone: str = ""
    ) -> Invitee:
        async with self._write_lock:
            cur = await self._db.execute(
                """INSERT INTO invitees (inspection_id, role, name, unit, phone, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (inspection_id, role, name, unit, phone, clock.now_iso()),
            )
            await self._db.commit()
        return await self.get_invitee(_row_id(cur))

    async def get_invitee(self, invitee_id: int) -> Invitee:
        async with self._db.execute("SELECT * FROM invitees WHERE id = ?", (invitee_id,)) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"参与人不存在 / no invitee {invitee_id}")
        return self._invitee(row)

    async def invitees(self, inspection_id: int) -> list[Invitee]:
        async with self._db.execute(
            "SELECT * FROM invitees WHERE inspection_id = ? ORDER BY id", (inspection_id,)
        ) as cur:
            return [self._invitee(row) for row in await cur.fetchall()]

    async def revoke_invitee(self, invitee_id: int, reason: str) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE invitees SET revoked_at = ?, revoked_reason = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (clock.now_iso(), reason, invitee_id),
            )
            await self._db.commit()

    async def renew_links(self, inspection_id: int) -> None:
        """Invalidate every link issued so far for this inspection (reschedule)."""
        async with self._write_lock:
            await self._db.execute(
                "UPDATE invitees SET link_gen = link_gen + 1 WHERE inspection_id = ?",
                (inspection_id,),
            )
            await self._db.commit()

    # -- staff accounts -----------------------------------------------------------------------

    async def _one(self, sql: str, args: tuple[Any, ...], missing: str) -> aiosqlite.Row:
        """The single row a lookup by id finds, or NotFound with `missing` as its message."""
        async with self._db.execute(sql, args) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(missing)
        return row

    async def count_staff(self) -> int:
        async with self._db.execute("SELECT COUNT(*) FROM staff_accounts") as cur:
            return await _first(cur)

    async def create_staff(
        self,
        username: str,
        display_name: str,
        role: str,
        password_hash: str,
        *,
        must_change: bool = True,
        actor: str,
    ) -> StaffAccount:
        async with self._write_lock:
            async with self._db.execute(
                "SELECT 1 FROM staff_accounts WHERE username = ?", (username,)
            ) as cur:
                if await cur.fetchone():
                    raise UserError(f"用户名 {username} 已存在 / user {username} already exists")
            cur = await self._db.execute(
                """INSERT INTO staff_accounts (username, display_name, role, password_hash,
                       must_change_password, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (username, display_name, role, password_hash, int(must_change), clock.now_iso()),
            )
            staff_id = _row_id(cur)
            await self._append_locked(
                "staff.created", actor, None, None, {"username": username, "role": role}
            )
            await self._db.commit()
        return await self.get_staff(staff_id)

    async def get_staff(self, staff_id: int) -> StaffAccount:
        row = await self._one(
            "SELECT * FROM staff_accounts WHERE id = ?",
            (staff_id,),
            f"账号不存在 / no staff account {staff_id}",
        )
        return StaffAccount.from_row(row)

    async def find_staff(self, username: str) -> StaffAccount | None:
        async with self._db.execute(
            "SELECT * FROM staff_accounts WHERE username = ?", (username,)
        ) as cur:
            row = await cur.fetchone()
        return StaffAccount.from_row(row) if row else None

    async def list_staff(self, role: str | None = None) -> list[StaffAccount]:
        sql, args = "SELECT * FROM staff_accounts", []
        if role is not None:
            sql += " WHERE role = ? AND disabled_at IS NULL"
            args.append(role)
        async with self._db.execute(sql + " ORDER BY role, username", args) as cur:
            return [StaffAccount.from_row(row) for row in await cur.fetchall()]

    async def set_staff_password(
        self, staff_id: int, password_hash: str, *, must_change: bool, actor: str
    ) -> None:
        """A new password ends every session of the account (its session generation moves)."""
        async with self._write_lock:
            await self._db.execute(
                """UPDATE staff_accounts SET password_hash = ?, must_change_password = ?,
                       session_gen = session_gen + 1, password_changed_at = ?
                   WHERE id = ?""",
                (password_hash, int(must_change), clock.now_iso(), staff_id),
            )
            await self._append_locked(
                "staff.password_reset" if must_change else "staff.password_changed",
                actor,
                None,
                None,
                {"staff_id": staff_id},
            )
            await self._db.commit()

    async def set_staff_disabled(self, staff_id: int, disabled: bool, *, actor: str) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE staff_accounts SET disabled_at = ?, session_gen = session_gen + 1 "
                "WHERE id = ?",
                (clock.now_iso() if disabled else None, staff_id),
            )
            await self._append_locked(
                "staff.disabled" if disabled else "staff.enabled",
                actor,
                None,
                None,
                {"staff_id": staff_id},
            )
            await self._db.commit()

    # -- API keys -----------------------------------------------------------------------------

    async def create_api_key(self, name: str, key_hash: str, prefix: str, *, actor: str) -> ApiKey:
        async with self._write_lock:
            cur = await self._db.execute(
                """INSERT INTO api_keys (name, key_hash, prefix, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (name, key_hash, prefix, actor, clock.now_iso()),
            )
            key_id = _row_id(cur)
            await self._append_locked(
                "apikey.created", actor, None, None, {"key_id": key_id, "name": name}
            )
            await self._db.commit()
        return await self.get_api_key(key_id)

    async def get_api_key(self, key_id: int) -> ApiKey:
        row = await self._one(
            "SELECT * FROM api_keys WHERE id = ?",
            (key_id,),
            f"API 密钥不存在 / no API key {key_id}",
        )
        return ApiKey.from_row(row)

    async def find_api_key(self, key_hash: str) -> ApiKey | None:
        async with self._db.execute(
            "SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,)
        ) as cur:
            row = await cur.fetchone()
        return ApiKey.from_row(row) if row else None

    async def list_api_keys(self) -> list[ApiKey]:
        async with self._db.execute("SELECT * FROM api_keys ORDER BY id") as cur:
            return [ApiKey.from_row(row) for row in await cur.fetchall()]

    async def touch_api_key(self, key_id: int) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (clock.now_iso(), key_id)
            )
            await self._db.commit()

    async def revoke_api_key(self, key_id: int, *, actor: str) -> None:
        async with self._write_lock:
            cur = await self._db.execute(
                "UPDATE api_keys SET revoked_at = ?, revoked_by = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (clock.now_iso(), actor, key_id),
            )
            if cur.rowcount == 1:
                await self._append_locked("apikey.revoked", actor, None, None, {"key_id": key_id})
            await self._db.commit()

    # -- catalog versions ---------------------------------------------------------------------

    async def add_catalog_version(
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
        async with self._write_lock:
            async with self._db.execute(
                "SELECT COALESCE(MAX(version), 0) FROM catalog_versions WHERE code = ?", (code,)
            ) as cur:
                version = await _first(cur) + 1
            cur = await self._db.execute(
                """INSERT INTO catalog_versions (code, version, name, video_allowed, data, digest,
                       source, note, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    code,
                    version,
                    name,
                    int(video_allowed),
                    _canonical(data),
                    digest,
                    source,
                    note,
                    actor,
                    clock.now_iso(),
                ),
            )
            row_id = _row_id(cur)
            await self._append_locked(
                "catalog.version",
                actor,
                None,
                None,
                {"code": code, "version": version, "source": source, "digest": digest},
            )
            await self._db.commit()
        return await self.get_catalog_version(row_id)

    async def get_catalog_version(self, version_id: int) -> CatalogRow:
        row = await self._one(
            "SELECT * FROM catalog_versions WHERE id = ?",
            (version_id,),
            f"事项版本不存在 / no catalog version {version_id}",
        )
        return CatalogRow.from_row(row)

    async def catalog_versions(self, code: str) -> list[CatalogRow]:
        async with self._db.execute(
            "SELECT * FROM catalog_versions WHERE code = ? ORDER BY version DESC", (code,)
        ) as cur:
            return [CatalogRow.from_row(row) for row in await cur.fetchall()]

    async def current_catalog(self) -> list[CatalogRow]:
        """The newest version of every item, by code."""
        async with self._db.execute(
            """SELECT v.* FROM catalog_versions v
               JOIN (SELECT code, MAX(version) AS version FROM catalog_versions GROUP BY code) m
                 ON m.code = v.code AND m.version = v.version
               ORDER BY v.id"""
        ) as cur:
            return [CatalogRow.from_row(row) for row in await cur.fetchall()]

    async def last_file_digest(self, code: str) -> str | None:
        async with self._db.execute(
            "SELECT digest FROM catalog_versions WHERE code = ? AND source = 'file' "
            "ORDER BY version DESC LIMIT 1",
            (code,),
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    # -- case intake and listing --------------------------------------------------------------

    async def find_case_by_application_no(self, application_no: str) -> Case | None:
        async with self._db.execute(
            "SELECT * FROM cases WHERE application_no = ?", (application_no,)
        ) as cur:
            row = await cur.fetchone()
        return self._case(row) if row else None

    async def list_cases(
        self,
        *,
        state: str = "",
        item_code: str = "",
        section: str = "",
        query: str = "",
        created_from: str = "",
        created_before: str = "",
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Case], int]:
        """Cases matching every filter given, newest first, and how many match in all."""
        where, args = ["1 = 1"], []
        for column, value in (("state", state), ("item_code", item_code), ("section", section)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if query:
            like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            where.append(
                "(case_no LIKE ? ESCAPE '\\' OR application_no LIKE ? ESCAPE '\\' "
                "OR applicant_name LIKE ? ESCAPE '\\' OR applicant_id_no LIKE ? ESCAPE '\\' "
                "OR site_address LIKE ? ESCAPE '\\')"
            )
            args.extend([like] * 5)
        if created_from:
            where.append("created_at >= ?")
            args.append(created_from)
        if created_before:
            where.append("created_at < ?")
            args.append(created_before)
        clause = " AND ".join(where)
        async with self._db.execute(f"SELECT COUNT(*) FROM cases WHERE {clause}", args) as cur:
            total = await _first(cur)
        async with self._db.execute(
            f"SELECT * FROM cases WHERE {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
        return [self._case(row) for row in rows], total

    async def case_sections(self) -> list[str]:
        async with self._db.execute(
            "SELECT DISTINCT section FROM cases WHERE section <> '' ORDER BY section"
        ) as cur:
            return [row[0] for row in await cur.fetchall()]

    async def case_status_gen(self, case_id: int) -> int:
        row = await self._one(
            "SELECT status_gen FROM cases WHERE id = ?",
            (case_id,),
            f"案件不存在 / no case {case_id}",
        )
        return row[0]

    async def case_closed_at(self, case_id: int) -> str | None:
        async with self._db.execute("SELECT closed_at FROM cases WHERE id = ?", (case_id,)) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def renew_status_link(self, case_id: int, *, actor: str) -> None:
        async with self._write_lock:
            await self._db.execute(
                "UPDATE cases SET status_gen = status_gen + 1 WHERE id = ?", (case_id,)
            )
            await self._append_locked("case.status_link_renewed", actor, case_id, None, {})
            await self._db.commit()

    # -- eligibility --------------------------------------------------------------------------

    async def add_exclusion(
        self, case_id: int, ground: str, reason: str, *, actor: str
    ) -> ExclusionRow:
        """Record an exclusion; the case becomes 'excluded' in the same transaction."""
        async with self._write_lock:
            cur = await self._db.execute(
                """INSERT INTO exclusions (case_id, ground, reason, declared_by, declared_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (case_id, ground, reason, actor, clock.now_iso()),
            )
            exclusion_id = _row_id(cur)
            await self._db.execute("UPDATE cases SET state = 'excluded' WHERE id = ?", (case_id,))
            await self._append_locked(
                "case.excluded",
                actor,
                case_id,
                None,
                {"exclusion_id": exclusion_id, "ground": ground, "reason": reason},
            )
            await self._db.commit()
        return await self.get_exclusion(exclusion_id)

    async def get_exclusion(self, exclusion_id: int) -> ExclusionRow:
        row = await self._one(
            "SELECT * FROM exclusions WHERE id = ?",
            (exclusion_id,),
            f"排除记录不存在 / no exclusion {exclusion_id}",
        )
        return ExclusionRow.from_row(row)

    async def exclusions(self, case_id: int, *, active_only: bool = False) -> list[ExclusionRow]:
        sql = "SELECT * FROM exclusions WHERE case_id = ?"
        if active_only:
            sql += " AND withdrawn_at IS NULL"
        async with self._db.execute(sql + " ORDER BY id", (case_id,)) as cur:
            return [ExclusionRow.from_row(row) for row in await cur.fetchall()]

    async def withdraw_exclusion(
        self, exclusion_id: int, reason: str, *, actor: str, state_after: str
    ) -> None:
        """Withdraw one exclusion; the case returns to `state_after` when none is left."""
        async with self._write_lock:
            async with self._db.execute(
                "SELECT case_id FROM exclusions WHERE id = ? AND withdrawn_at IS NULL",
                (exclusion_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise UserError("该排除记录已撤回 / this exclusion was already withdrawn")
            case_id = row[0]
            await self._db.execute(
                "UPDATE exclusions SET withdrawn_at = ?, withdrawn_by = ?, withdrawn_reason = ? "
                "WHERE id = ?",
                (clock.now_iso(), actor, reason, exclusion_id),
            )
            await self._db.execute(
                """UPDATE cases SET state = ? WHERE id = ? AND state = 'excluded'
                   AND NOT EXISTS (SELECT 1 FROM exclusions
                                   WHERE case_id = ? AND withdrawn_at IS NULL)""",
                (state_after, case_id, case_id),
            )
            await self._append_locked(
                "case.exclusion_withdrawn",
                actor,
                case_id,
                None,
                {"exclusion_id": exclusion_id, "reason": reason},
            )
            await self._db.commit()

    # -- dishonesty list ----------------------------------------------------------------------

    async def import_dishonesty(
        self,
        entries: list[tuple[str, str, str, str]],
        *,
        replace: bool,
        source: str,
        actor: str,
    ) -> DishonestyImport:
        """Merge (id_no, name, reason, listed_on) rows into the list; with `replace`, entries
        missing from this import leave the list. One transaction: a failed import changes nothing.
        """
        now = clock.now_iso()
        async with self._write_lock:
            try:
                cur = await self._db.execute(
                    """INSERT INTO dishonesty_imports (at, actor, source, mode, added, updated,
                           removed) VALUES (?, ?, ?, ?, 0, 0, 0)""",
                    (now, actor, source, "replace" if replace else "merge"),
                )
                import_id = _row_id(cur)
                added = updated = 0
                for id_no, name, reason, listed_on in entries:
                    async with self._db.execute(
                        "SELECT id, name, reason, listed_on, removed_at FROM dishonesty_entries "
                        "WHERE id_no = ?",
                        (id_no,),
                    ) as cur:
                        row = await cur.fetchone()
                    if row is None:
                        await self._db.execute(
                            """INSERT INTO dishonesty_entries (id_no, name, reason, listed_on,
                                   import_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)""",
                            (id_no, name, reason, listed_on, import_id, now),
                        )
                        added += 1
                        continue
                    await self._db.execute(
                        """UPDATE dishonesty_entries SET name = ?, reason = ?, listed_on = ?,
                               import_id = ?, updated_at = ?, removed_at = NULL WHERE id = ?""",
                        (name, reason, listed_on, import_id, now, row["id"]),
                    )
                    if row["removed_at"] is not None:
                        added += 1
                    elif (row["name"], row["reason"], row["listed_on"]) != (
                        name,
                        reason,
                        listed_on,
                    ):
                        updated += 1
                removed = 0
                if replace:
                    cur = await self._db.execute(
                        "UPDATE dishonesty_entries SET removed_at = ?, updated_at = ? "
                        "WHERE import_id <> ? AND removed_at IS NULL",
                        (now, now, import_id),
                    )
                    removed = cur.rowcount
                await self._db.execute(
                    "UPDATE dishonesty_imports SET added = ?, updated = ?, removed = ? "
                    "WHERE id = ?",
                    (added, updated, removed, import_id),
                )
                await self._append_locked(
                    "dishonesty.imported",
                    actor,
                    None,
                    None,
                    {
                        "import_id": import_id,
                        "source": source,
                        "mode": "replace" if replace else "merge",
                        "added": added,
                        "updated": updated,
                        "removed": removed,
                    },
                )
                await self._db.commit()
            except Exception:
                await self._db.rollback()
                raise
        return DishonestyImport(
            import_id,
            now,
            actor,
            source,
            "replace" if replace else "merge",
            added,
            updated,
            removed,
        )

    async def find_dishonest(self, id_no: str) -> DishonestyEntry | None:
        async with self._db.execute(
            "SELECT * FROM dishonesty_entries WHERE id_no = ? AND removed_at IS NULL", (id_no,)
        ) as cur:
            row = await cur.fetchone()
        return DishonestyEntry.from_row(row) if row else None

    async def list_dishonesty(
        self, *, query: str = "", limit: int = 100, offset: int = 0
    ) -> tuple[list[DishonestyEntry], int]:
        where, args = "removed_at IS NULL", []
        if query:
            where += " AND (id_no LIKE ? OR name LIKE ?)"
            args = [f"%{query}%", f"%{query}%"]
        async with self._db.execute(
            f"SELECT COUNT(*) FROM dishonesty_entries WHERE {where}", args
        ) as cur:
            total = await _first(cur)
        async with self._db.execute(
            f"SELECT * FROM dishonesty_entries WHERE {where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*args, limit, offset],
        ) as cur:
            rows = await cur.fetchall()
        return [DishonestyEntry.from_row(row) for row in rows], total

    async def dishonesty_imports(self, limit: int = 20) -> list[DishonestyImport]:
        async with self._db.execute(
            "SELECT * FROM dishonesty_imports ORDER BY id DESC LIMIT ?", (limit,)
        ) as cur:
            rows = await cur.fetchall()
        return [
            DishonestyImport(
                row["id"],
                row["at"],
                row["actor"],
                row["source"],
                row["mode"],
                row["added"],
                row["updated"],
                row["removed"],
            )
            for row in rows
        ]

    # -- scheduling ---------------------------------------------------------------------------

    async def schedule_inspection(
        self,
        case_id: int,
        scheduled_at: str,
        catalog_version_id: int | None,
        group: list[GroupMember],
        *,
        actor: str,
    ) -> Inspection:
        """A new inspection of the case with its whole group, in one transaction."""
        now = clock.now_iso()
        async with self._write_lock:
            async with self._db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM inspections WHERE case_id = ?", (case_id,)
            ) as cur:
                seq = await _first(cur) + 1
            cur = await self._db.execute(
                """INSERT INTO inspections (case_id, seq, scheduled_at, state, created_at,
                       catalog_version_id)
                   VALUES (?, ?, ?, 'scheduled', ?, ?)""",
                (case_id, seq, scheduled_at, now, catalog_version_id),
            )
            inspection_id = _row_id(cur)
            for member in group:
                await self._insert_member(inspection_id, member, now)
            await self._db.execute("UPDATE cases SET state = 'scheduled' WHERE id = ?", (case_id,))
            await self._append_locked(
                "inspection.scheduled",
                actor,
                case_id,
                inspection_id,
                {
                    "seq": seq,
                    "scheduled_at": scheduled_at,
                    "catalog_version_id": catalog_version_id,
                    "group": [member.describe() for member in group],
                },
            )
            await self._db.commit()
        return await self.get_inspection(inspection_id)

    async def _insert_member(self, inspection_id: int, member: GroupMember, now: str) -> int:
        cur = await self._db.execute(
            """INSERT INTO invitees (inspection_id, role, name, unit, phone, created_at, user_id)
               VALUES (?, ?, ?, ?, ?, ?, ?)""",
            (
                inspection_id,
                member.role,
                member.name,
                member.unit,
                member.phone,
                now,
                member.user_id,
            ),
        )
        return _row_id(cur)

    async def add_group_member(
        self, inspection_id: int, member: GroupMember, *, actor: str
    ) -> Invitee:
        inspection = await self.get_inspection(inspection_id)
        async with self._write_lock:
            invitee_id = await self._insert_member(inspection_id, member, clock.now_iso())
            await self._append_locked(
                "invitee.added",
                actor,
                inspection.case_id,
                inspection_id,
                {"invitee_id": invitee_id, **member.describe()},
            )
            await self._db.commit()
        return await self.get_invitee(invitee_id)

    async def revoke_group_member(self, invitee_id: int, reason: str, *, actor: str) -> None:
        invitee = await self.get_invitee(invitee_id)
        inspection = await self.get_inspection(invitee.inspection_id)
        async with self._write_lock:
            await self._db.execute(
                "UPDATE invitees SET revoked_at = ?, revoked_reason = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (clock.now_iso(), reason, invitee_id),
            )
            await self._append_locked(
                "invitee.revoked",
                actor,
                inspection.case_id,
                inspection.id,
                {"invitee_id": invitee_id, "reason": reason},
            )
            await self._db.commit()

    async def reschedule_inspection(
        self, inspection_id: int, scheduled_at: str, reason: str, *, actor: str
    ) -> Inspection:
        """Move a scheduled inspection; every link issued for it so far stops working."""
        async with self._write_lock:
            async with self._db.execute(
                "SELECT case_id, scheduled_at FROM inspections "
                "WHERE id = ? AND state = 'scheduled'",
                (inspection_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise UserError(
                    "只能改期尚未开始的勘验 / only an inspection that has not started can be moved"
                )
            await self._db.execute(
                "UPDATE inspections SET scheduled_at = ? WHERE id = ?",
                (scheduled_at, inspection_id),
            )
            await self._db.execute(
                "UPDATE invitees SET link_gen = link_gen + 1 WHERE inspection_id = ?",
                (inspection_id,),
            )
            await self._append_locked(
                "inspection.rescheduled",
                actor,
                row["case_id"],
                inspection_id,
                {"from": row["scheduled_at"], "to": scheduled_at, "reason": reason},
            )
            await self._db.commit()
        return await self.get_inspection(inspection_id)

    async def cancel_inspection(self, inspection_id: int, reason: str, *, actor: str) -> Inspection:
        """Cancel a scheduled inspection (its links stop working); the case goes back to
        'intake' unless it has another one scheduled or is excluded."""
        async with self._write_lock:
            async with self._db.execute(
                "SELECT case_id FROM inspections WHERE id = ? AND state = 'scheduled'",
                (inspection_id,),
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise UserError(
                    "只能取消尚未开始的勘验 / only an inspection that has not started can be "
                    "cancelled"
                )
            case_id = row["case_id"]
            await self._db.execute(
                "UPDATE inspections SET state = 'cancelled', cancelled_at = ?, cancel_reason = ? "
                "WHERE id = ?",
                (clock.now_iso(), reason, inspection_id),
            )
            await self._db.execute(
                """UPDATE cases SET state = 'intake' WHERE id = ? AND state = 'scheduled'
                   AND NOT EXISTS (SELECT 1 FROM inspections
                                   WHERE case_id = ? AND state IN ('scheduled', 'live'))""",
                (case_id, case_id),
            )
            await self._append_locked(
                "inspection.cancelled", actor, case_id, inspection_id, {"reason": reason}
            )
            await self._db.commit()
        return await self.get_inspection(inspection_id)

    async def inspection_catalog_version(self, inspection_id: int) -> int | None:
        async with self._db.execute(
            "SELECT catalog_version_id FROM inspections WHERE id = ?", (inspection_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def inspection_cancel_reason(self, inspection_id: int) -> str | None:
        async with self._db.execute(
            "SELECT cancel_reason FROM inspections WHERE id = ?", (inspection_id,)
        ) as cur:
            row = await cur.fetchone()
        return row[0] if row else None

    async def invitee_accounts(self, inspection_id: int) -> dict[int, int]:
        """invitee id → staff account id, for the members who are staff with accounts."""
        async with self._db.execute(
            "SELECT id, user_id FROM invitees WHERE inspection_id = ? AND user_id IS NOT NULL",
            (inspection_id,),
        ) as cur:
            return {row[0]: row[1] for row in await cur.fetchall()}

    async def agenda(self, since: str, *, limit: int = 200) -> list[AgendaEntry]:
        """Scheduled and live inspections from `since` on (live ones whatever their time)."""
        async with self._db.execute(
            """SELECT i.id AS inspection_id, i.scheduled_at, i.state, i.seq,
                      c.id AS case_id, c.case_no, c.item_name, c.applicant_name,
                      c.site_address, c.section,
                      (SELECT name FROM invitees h WHERE h.inspection_id = i.id
                         AND h.role = 'host' AND h.revoked_at IS NULL ORDER BY h.id LIMIT 1)
                        AS host_name,
                      (SELECT user_id FROM invitees h WHERE h.inspection_id = i.id
                         AND h.role = 'host' AND h.revoked_at IS NULL ORDER BY h.id LIMIT 1)
                        AS host_user_id
               FROM inspections i JOIN cases c ON c.id = i.case_id
               WHERE (i.state = 'scheduled' AND i.scheduled_at >= ?) OR i.state = 'live'
               ORDER BY i.scheduled_at LIMIT ?""",
            (since, limit),
        ) as cur:
            rows = await cur.fetchall()
        return [AgendaEntry(**dict(row)) for row in rows]

    async def case_events(self, case_id: int) -> list[Event]:
        return await self.events(case_id=case_id)

    # -- recordings ---------------------------------------------------------------------------

    @staticmethod
    def _recording(row: aiosqlite.Row) -> Recording:
        return Recording(*(row[name] for name in Recording.__dataclass_fields__))

    async def next_segment(self, inspection_id: int) -> int:
        async with self._db.execute(
            "SELECT COALESCE(MAX(segment), 0) FROM recordings WHERE inspection_id = ?",
            (inspection_id,),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0] if row else 0) + 1

    async def add_recording(
        self,
        *,
        inspection_id: int,
        case_id: int,
        segment: int,
        kind: str,
        path: str,
        started_at: str,
        participant_id: int | None = None,
        track: str | None = None,
    ) -> Recording:
        """A file the recorder is about to write (state `recording` until it is finalised)."""
        async with self._write_lock:
            cur = await self._db.execute(
                """INSERT INTO recordings (inspection_id, case_id, segment, kind, participant_id,
                       track, state, path, started_at, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'recording', ?, ?, ?)""",
                (
                    inspection_id,
                    case_id,
                    segment,
                    kind,
                    participant_id,
                    track,
                    path,
                    started_at,
                    clock.now_iso(),
                ),
            )
            await self._db.commit()
        assert cur.lastrowid is not None
        recording = await self.get_recording(cur.lastrowid)
        await self.append_event(
            "recording.started",
            actor="recorder",
            case_id=case_id,
            inspection_id=inspection_id,
            data={
                "recording": recording.id,
                "segment": segment,
                "kind": kind,
                "participant": participant_id,
                "track": track,
                "file": path,
                "started_at": started_at,
            },
        )
        return recording

    async def get_recording(self, recording_id: int) -> Recording:
        async with self._db.execute(
            "SELECT * FROM recordings WHERE id = ?", (recording_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"录像不存在 / no recording {recording_id}")
        return self._recording(row)

    async def recordings(self, inspection_id: int) -> list[Recording]:
        async with self._db.execute(
            "SELECT * FROM recordings WHERE inspection_id = ? ORDER BY segment, id",
            (inspection_id,),
        ) as cur:
            return [self._recording(row) for row in await cur.fetchall()]

    async def unfinished_recordings(self) -> list[Recording]:
        """Files that were being written when the server stopped without finalising them."""
        async with self._db.execute(
            "SELECT * FROM recordings WHERE state = 'recording' ORDER BY id"
        ) as cur:
            return [self._recording(row) for row in await cur.fetchall()]

    async def knows_recording_file(self, path: str) -> bool:
        """Whether a file under the recordings directory is registered (as played or kept)."""
        async with self._db.execute(
            "SELECT 1 FROM recordings WHERE path = ? OR original_path = ? LIMIT 1", (path, path)
        ) as cur:
            return await cur.fetchone() is not None

    async def _close_recording(
        self, recording_id: int, state: str, fields: dict[str, Any], event: str, why: str = ""
    ) -> Recording:
        columns = ", ".join(f"{name} = ?" for name in fields)
        async with self._write_lock:
            cur = await self._db.execute(
                f"UPDATE recordings SET state = ?, {columns} WHERE id = ? AND state = 'recording'",
                (state, *fields.values(), recording_id),
            )
            await self._db.commit()
        if cur.rowcount != 1:
            raise UserError(f"录像已结束 / recording {recording_id} is not being written")
        recording = await self.get_recording(recording_id)
        data: dict[str, Any] = {
            "recording": recording.id,
            "segment": recording.segment,
            "kind": recording.kind,
            "participant": recording.participant_id,
            "track": recording.track,
            "file": recording.path,
            "sha256": recording.sha256,
            "duration_s": recording.duration_s,
            "size_bytes": recording.size_bytes,
            "frames": recording.frames,
        }
        if recording.original_path is not None:
            data["original_file"] = recording.original_path
            data["original_sha256"] = recording.original_sha256
        if why:
            data["why"] = why
        await self.append_event(
            event,
            actor="recorder",
            case_id=recording.case_id,
            inspection_id=recording.inspection_id,
            data=data,
        )
        return recording

    async def finish_recording(
        self,
        recording_id: int,
        *,
        path: str,
        sha256: str,
        size_bytes: int,
        duration_s: float,
        frames: int,
    ) -> Recording:
        """The file was finalised: its name, hash, size, duration and frame count."""
        return await self._close_recording(
            recording_id,
            "finished",
            {
                "path": path,
                "sha256": sha256,
                "size_bytes": size_bytes,
                "duration_s": duration_s,
                "frames": frames,
                "ended_at": clock.now_iso(),
            },
            "recording.finished",
        )

    async def interrupt_recording(
        self,
        recording_id: int,
        *,
        path: str,
        original_path: str | None,
        sha256: str | None,
        original_sha256: str | None,
        size_bytes: int | None,
        duration_s: float,
        frames: int,
        why: str,
    ) -> Recording:
        """The recorder stopped without finalising: what could be recovered, and why."""
        return await self._close_recording(
            recording_id,
            "interrupted" if sha256 is not None else "failed",
            {
                "path": path,
                "original_path": original_path,
                "sha256": sha256,
                "original_sha256": original_sha256,
                "size_bytes": size_bytes,
                "duration_s": duration_s,
                "frames": frames,
                "note": why,
                "ended_at": clock.now_iso(),
            },
            "recording.interrupted" if sha256 is not None else "recording.lost",
            why,
        )

    # -- screenshots --------------------------------------------------------------------------

    @staticmethod
    def _screenshot(row: aiosqlite.Row) -> Screenshot:
        return Screenshot(*(row[name] for name in Screenshot.__dataclass_fields__))

    async def add_screenshot(
        self,
        *,
        inspection_id: int,
        case_id: int,
        participant_id: int,
        taker_id: int,
        taken_at: str,
        path: str,
        width: int,
        height: int,
        size_bytes: int,
        sha256: str,
        recording_id: int | None = None,
        offset_s: float | None = None,
        checklist_item_id: int | None = None,
        note: str = "",
    ) -> Screenshot:
        async with self._write_lock:
            cur = await self._db.execute(
                """INSERT INTO screenshots (inspection_id, case_id, participant_id, taker_id,
                       taken_at, recording_id, offset_s, checklist_item_id, note, path, width,
                       height, size_bytes, sha256, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    inspection_id,
                    case_id,
                    participant_id,
                    taker_id,
                    taken_at,
                    recording_id,
                    offset_s,
                    checklist_item_id,
                    note,
                    path,
                    width,
                    height,
                    size_bytes,
                    sha256,
                    clock.now_iso(),
                ),
            )
            await self._db.commit()
        assert cur.lastrowid is not None
        shot = await self.get_screenshot(cur.lastrowid)
        await self.append_event(
            "screenshot.taken",
            actor=str(taker_id),
            case_id=case_id,
            inspection_id=inspection_id,
            data={
                "screenshot": shot.id,
                "participant": participant_id,
                "taken_at": taken_at,
                "file": path,
                "sha256": sha256,
                "width": width,
                "height": height,
                "recording": recording_id,
                "offset_s": offset_s,
                "checklist_item": checklist_item_id,
                "note": note,
            },
        )
        return shot

    async def get_screenshot(self, screenshot_id: int) -> Screenshot:
        async with self._db.execute(
            "SELECT * FROM screenshots WHERE id = ?", (screenshot_id,)
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"截图不存在 / no screenshot {screenshot_id}")
        return self._screenshot(row)

    async def screenshots(self, inspection_id: int) -> list[Screenshot]:
        async with self._db.execute(
            "SELECT * FROM screenshots WHERE inspection_id = ? ORDER BY id", (inspection_id,)
        ) as cur:
            return [self._screenshot(row) for row in await cur.fetchall()]


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    display_name: str
    role: str  # admin | inspector | clerk | archivist
    password_hash: str
    must_change_password: bool
    session_gen: int
    disabled_at: str | None
    created_at: str
    password_changed_at: str | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> StaffAccount:
        return cls(
            row["id"],
            row["username"],
            row["display_name"],
            row["role"],
            row["password_hash"],
            bool(row["must_change_password"]),
            row["session_gen"],
            row["disabled_at"],
            row["created_at"],
            row["password_changed_at"],
        )


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    key_hash: str
    prefix: str
    created_by: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    revoked_by: str | None

    @classmethod
    def from_row(cls, row: aiosqlite.Row) -> ApiKey:
        return cls(*(row[key] for key in row.keys()))


@dataclass(frozen=True)
class CatalogRow:
    """A stored catalog version; `server.catalog` turns `data` back into an item."""

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
    def from_row(cls, row: aiosqlite.Row) -> CatalogRow:
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
    def from_row(cls, row: aiosqlite.Row) -> ExclusionRow:
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
    def from_row(cls, row: aiosqlite.Row) -> DishonestyEntry:
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


@dataclass(frozen=True)
class GroupMember:
    """A person to invite when scheduling; `user_id` when they are staff with an account."""

    role: str
    name: str
    unit: str = ""
    phone: str = ""
    user_id: int | None = None

    def describe(self) -> dict[str, Any]:
        return {"role": self.role, "name": self.name, "unit": self.unit, "user_id": self.user_id}


@dataclass(frozen=True)
class AgendaEntry:
    """One line of the staff dashboard."""

    inspection_id: int
    scheduled_at: str
    state: str
    seq: int
    case_id: int
    case_no: str
    item_name: str
    applicant_name: str
    site_address: str
    section: str
    host_name: str | None
    host_user_id: int | None

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
        return row[0] or 0

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
        data_json = _canonical(data or {})
        async with self._write_lock:
            async with self._db.execute(
                "SELECT id, hash FROM events ORDER BY id DESC LIMIT 1"
            ) as cur:
                last = await cur.fetchone()
            prev_hash = last["hash"] if last else GENESIS_HASH
            event_id = (last["id"] + 1) if last else 1
            at = clock.now_iso()
            digest = event_hash(
                prev_hash, event_id, at, type, case_id, inspection_id, actor, data_json
            )
            await self._db.execute(
                """INSERT INTO events (id, at, type, case_id, inspection_id, actor, data,
                                       prev_hash, hash)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (event_id, at, type, case_id, inspection_id, actor, data_json, prev_hash, digest),
            )
            if commit:
                await self._db.commit()
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
            case_id = cur.lastrowid
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
                seq = (await cur.fetchone())[0] + 1
            cur = await self._db.execute(
                """INSERT INTO inspections (case_id, seq, scheduled_at, state, created_at)
                   VALUES (?, ?, ?, 'scheduled', ?)""",
                (case_id, seq, scheduled_at, clock.now_iso()),
            )
            inspection_id = cur.lastrowid
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
        return await self.get_invitee(cur.lastrowid)

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

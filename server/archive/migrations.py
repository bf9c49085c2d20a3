"""Numbered schema migrations, applied at start, each in its own transaction.

Append only: never edit a migration that has shipped. The SQL is written for SQLite in words
PostgreSQL also accepts; `Database.schema()` maps the few that differ (server/archive/pg.py).
"""

from __future__ import annotations

from .. import clock
from .db import Database

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
    (
        4,
        "checklists, marks, work record, conclusions, rectifications, re-inspection, records",
        [
            # The points an inspection verifies, frozen when it is scheduled: the catalog
            # version's checklist, or for a re-inspection the rectifications carried over.
            """CREATE TABLE checklist_items (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                seq INTEGER NOT NULL,
                kind TEXT NOT NULL,
                text TEXT NOT NULL,
                rectification_id INTEGER,
                created_at TEXT NOT NULL,
                UNIQUE (inspection_id, seq)
            )""",
            # Every mark ever made; an item's mark is its latest row.
            """CREATE TABLE checklist_marks (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                item_id INTEGER NOT NULL REFERENCES checklist_items(id),
                verdict TEXT NOT NULL,
                note TEXT NOT NULL DEFAULT '',
                actor TEXT NOT NULL,
                actor_name TEXT NOT NULL,
                actor_role TEXT NOT NULL,
                at TEXT NOT NULL,
                recording_id INTEGER REFERENCES recordings(id),
                offset_s REAL
            )""",
            "CREATE INDEX checklist_marks_inspection ON checklist_marks (inspection_id, id)",
            """CREATE TABLE record_entries (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                item_id INTEGER REFERENCES checklist_items(id),
                text TEXT NOT NULL,
                actor TEXT NOT NULL,
                actor_name TEXT NOT NULL,
                actor_role TEXT NOT NULL,
                at TEXT NOT NULL,
                recording_id INTEGER REFERENCES recordings(id),
                offset_s REAL
            )""",
            "CREATE INDEX record_entries_inspection ON record_entries (inspection_id, id)",
            """CREATE TABLE conclusions (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL UNIQUE REFERENCES inspections(id),
                case_id INTEGER NOT NULL REFERENCES cases(id),
                verdict TEXT NOT NULL,
                reasons TEXT NOT NULL,
                deadline TEXT,
                actor TEXT NOT NULL,
                actor_name TEXT NOT NULL,
                at TEXT NOT NULL,
                recording_id INTEGER REFERENCES recordings(id),
                offset_s REAL,
                confirmation TEXT,
                confirmed_at TEXT,
                confirm_address TEXT,
                confirm_agent TEXT,
                confirm_note TEXT
            )""",
            "CREATE INDEX conclusions_case ON conclusions (case_id, id)",
            """CREATE TABLE rectifications (
                id INTEGER PRIMARY KEY,
                conclusion_id INTEGER NOT NULL REFERENCES conclusions(id),
                case_id INTEGER NOT NULL REFERENCES cases(id),
                seq INTEGER NOT NULL,
                item_id INTEGER REFERENCES checklist_items(id),
                item_text TEXT NOT NULL DEFAULT '',
                text TEXT NOT NULL
            )""",
            """CREATE TABLE reinspection_requests (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                conclusion_id INTEGER NOT NULL REFERENCES conclusions(id),
                note TEXT NOT NULL,
                at TEXT NOT NULL,
                address TEXT NOT NULL DEFAULT '',
                agent TEXT NOT NULL DEFAULT '',
                inspection_id INTEGER REFERENCES inspections(id)
            )""",
            """CREATE TABLE records (
                id INTEGER PRIMARY KEY,
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                case_id INTEGER NOT NULL REFERENCES cases(id),
                version INTEGER NOT NULL,
                html_path TEXT NOT NULL,
                html_sha256 TEXT NOT NULL,
                pdf_path TEXT NOT NULL,
                pdf_sha256 TEXT NOT NULL,
                pdf_bytes INTEGER NOT NULL,
                actor TEXT NOT NULL,
                created_at TEXT NOT NULL,
                UNIQUE (inspection_id, version)
            )""",
            """ALTER TABLE inspections ADD COLUMN previous_inspection_id INTEGER
               REFERENCES inspections(id)""",
            "ALTER TABLE inspections ADD COLUMN current_item_id INTEGER",
            "ALTER TABLE inspections ADD COLUMN interrupt_reason TEXT",
        ],
    ),
    (
        5,
        "archiving: annotations, file checks, retention tombstones",
        [
            "ALTER TABLE cases ADD COLUMN archived_at TEXT",
            "ALTER TABLE recordings ADD COLUMN deleted_at TEXT",
            "ALTER TABLE screenshots ADD COLUMN deleted_at TEXT",
            "ALTER TABLE records ADD COLUMN deleted_at TEXT",
            # Notes added to an archived case (which itself never changes again).
            """CREATE TABLE annotations (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                actor TEXT NOT NULL,
                text TEXT NOT NULL,
                at TEXT NOT NULL
            )""",
            "CREATE INDEX annotations_case ON annotations (case_id, id)",
            # Each run of verify-files: what was checked and what was missing or different.
            """CREATE TABLE file_checks (
                id INTEGER PRIMARY KEY,
                started_at TEXT NOT NULL,
                finished_at TEXT NOT NULL,
                files INTEGER NOT NULL,
                missing INTEGER NOT NULL,
                mismatched INTEGER NOT NULL,
                problems TEXT NOT NULL,
                actor TEXT NOT NULL
            )""",
            # What a deletion after the retention period removed: the hashes stay.
            """CREATE TABLE tombstones (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                reason TEXT NOT NULL,
                files TEXT NOT NULL
            )""",
        ],
    ),
    (
        6,
        "self-recorded videos: inspection method, resumable uploads",
        [
            "ALTER TABLE inspections ADD COLUMN method TEXT NOT NULL DEFAULT 'live'",
            "ALTER TABLE inspections ADD COLUMN submission_deadline TEXT",
            # One row per upload attempt (tus). Its bytes live in the staging folder until it is
            # complete; the offset is the staged file's size, so a crash loses nothing written.
            """CREATE TABLE uploads (
                id TEXT PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                inspection_id INTEGER NOT NULL REFERENCES inspections(id),
                length INTEGER NOT NULL,
                filename TEXT NOT NULL DEFAULT '',
                filetype TEXT NOT NULL DEFAULT '',
                state TEXT NOT NULL,
                address TEXT NOT NULL DEFAULT '',
                agent TEXT NOT NULL DEFAULT '',
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                completed_at TEXT,
                checked_at TEXT,
                sha256 TEXT,
                failures TEXT NOT NULL DEFAULT '[]',
                facts TEXT NOT NULL DEFAULT '{}',
                recording_id INTEGER REFERENCES recordings(id),
                playable_id INTEGER REFERENCES recordings(id)
            )""",
            "CREATE INDEX uploads_case ON uploads (case_id, created_at)",
        ],
    ),
    (
        7,
        "notices: the outbox, webhook receivers, regulators' findings, contact preferences",
        [
            # Every message to a receiver or a person, written in the transaction of the change
            # that causes it; `key` is its idempotency key (X-Kanyan-Delivery).
            """CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                key TEXT NOT NULL UNIQUE,
                channel TEXT NOT NULL,
                receiver TEXT NOT NULL,
                target TEXT NOT NULL,
                topic TEXT NOT NULL,
                case_id INTEGER REFERENCES cases(id),
                inspection_id INTEGER REFERENCES inspections(id),
                body TEXT NOT NULL,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                due_at TEXT NOT NULL,
                first_due_at TEXT NOT NULL,
                created_at TEXT NOT NULL,
                sent_at TEXT,
                last_error TEXT NOT NULL DEFAULT '',
                last_status INTEGER,
                last_answer TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX outbox_due ON outbox (state, due_at)",
            "CREATE INDEX outbox_case ON outbox (case_id, id)",
            """CREATE TABLE webhooks (
                id INTEGER PRIMARY KEY,
                name TEXT NOT NULL UNIQUE,
                url TEXT NOT NULL,
                secret TEXT NOT NULL,
                topics TEXT NOT NULL,
                created_by TEXT NOT NULL,
                created_at TEXT NOT NULL,
                disabled_at TEXT
            )""",
            """CREATE TABLE findings (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases(id),
                source TEXT NOT NULL,
                kind TEXT NOT NULL,
                text TEXT NOT NULL,
                at TEXT NOT NULL,
                state TEXT NOT NULL,
                reviewed_by TEXT,
                reviewed_at TEXT,
                note TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX findings_case ON findings (case_id, id)",
            "ALTER TABLE invitees ADD COLUMN email TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE invitees ADD COLUMN no_reminders INTEGER NOT NULL DEFAULT 0",
        ],
    ),
    (
        8,
        "the person a message is for, so their reminder can be withdrawn when they opt out",
        [
            "ALTER TABLE outbox ADD COLUMN invitee_id INTEGER REFERENCES invitees(id)",
            "CREATE INDEX outbox_invitee ON outbox (invitee_id)",
        ],
    ),
    # 9 is another change's.
    (
        10,
        "staff sessions held by the server; the sections (业务股室) a staff member works for",
        [
            # One row per login; the cookie names it by the SHA-256 of its random part.
            """CREATE TABLE staff_sessions (
                id TEXT PRIMARY KEY,
                staff_id INTEGER NOT NULL REFERENCES staff_accounts(id),
                created_at TEXT NOT NULL,
                expires_at TEXT NOT NULL,
                ended_at TEXT,
                ended_reason TEXT,
                address TEXT NOT NULL DEFAULT '',
                agent TEXT NOT NULL DEFAULT ''
            )""",
            "CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id, ended_at)",
            # A JSON array of section names, as cases name theirs (cases.section). Clerks, and
            # inspectors when staff.inspectors_by_section is set, see only those sections' cases.
            "ALTER TABLE staff_accounts ADD COLUMN sections TEXT NOT NULL DEFAULT '[]'",
            "CREATE INDEX cases_section ON cases (section)",
        ],
    ),
    (
        13,
        "archived files whose copy in the object store verified",
        [
            """CREATE TABLE stored_objects (
                path TEXT PRIMARY KEY,
                sha256 TEXT NOT NULL,
                size INTEGER NOT NULL,
                key TEXT NOT NULL,
                stored_at TEXT NOT NULL
            )""",
        ],
    ),
    (
        14,
        "media nodes and the placement of live rooms on them",
        [
            """CREATE TABLE nodes (
                id TEXT PRIMARY KEY,
                public_url TEXT NOT NULL,
                started_at TEXT NOT NULL,
                heartbeat_at TEXT NOT NULL,
                load REAL NOT NULL DEFAULT 0
            )""",
            """CREATE TABLE placements (
                inspection_id INTEGER PRIMARY KEY REFERENCES inspections(id),
                node_id TEXT NOT NULL,
                lease_until TEXT NOT NULL,
                placed_at TEXT NOT NULL,
                epoch INTEGER NOT NULL DEFAULT 1
            )""",
            "CREATE INDEX placements_node ON placements (node_id)",
        ],
    ),
]


async def migrate(db: Database) -> list[int]:
    """Apply the migrations this database lacks; the versions applied."""
    async with db.transaction() as tx:
        for statement in db.schema(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"""
        ):
            await tx.execute(statement)
    done = {row[0] for row in await db.all("SELECT version FROM schema_migrations")}
    applied = []
    for version, name, statements in MIGRATIONS:
        if version in done:
            continue
        async with db.transaction() as tx:
            for statement in statements:
                for said in db.schema(statement):
                    await tx.execute(said)
            await tx.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, name, clock.now_iso()),
            )
        applied.append(version)
    return applied


async def schema_version(db: Database) -> int:
    return (await db.value("SELECT MAX(version) FROM schema_migrations")) or 0

"""The archive database copied while the server writes, and what a copy refers to.

`snapshot` uses SQLite's online backup API in a single step: it reads the database inside one
read transaction, so the copy is the database as of one commit, whatever the server writes
meanwhile (in WAL mode a reader never blocks the writer). The copy is checked with
`PRAGMA integrity_check` and left as one self-contained file (journal mode DELETE).
`referenced_files` lists every file a copy's rows point at, so the backup can make sure each
of them is beside it. Blocking: called from the command line (server.ops.backup).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from .events import GENESIS_HASH

BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True)
class Snapshot:
    schema_version: int
    events: int
    head: dict[str, object]  # the newest event: {"id", "hash"}


@dataclass(frozen=True)
class Referenced:
    path: str  # relative to the recordings directory
    sha256: str | None  # None: still being written when the copy was taken
    what: str


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def snapshot(source: Path, target: Path) -> Snapshot:
    """Copy the database at `source` to `target` (replaced) as of one commit."""
    target.unlink(missing_ok=True)
    src, dst = _connect(source), _connect(target)
    try:
        src.backup(dst)  # pages=-1: the whole database in one step, one read transaction
    finally:
        src.close()
    try:
        dst.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError(f"the copy fails its integrity check: {problems[:5]}")
        return describe(dst)
    finally:
        dst.close()


def describe(connection: sqlite3.Connection) -> Snapshot:
    version = connection.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    count = connection.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    row = connection.execute("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1").fetchone()
    head: dict[str, object] = (
        {"id": row[0], "hash": row[1]} if row else {"id": 0, "hash": GENESIS_HASH}
    )
    return Snapshot(version or 0, count, head)


def referenced_files(database: Path) -> list[Referenced]:
    """Every evidence file the rows of `database` point at (deleted ones left out)."""
    found: list[Referenced] = []
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        for id_, path, sha, original, original_sha in connection.execute(
            "SELECT id, path, sha256, original_path, original_sha256 FROM recordings "
            "WHERE deleted_at IS NULL ORDER BY id"
        ):
            found.append(Referenced(path, sha, f"recording {id_}"))
            if original and original != path:
                found.append(Referenced(original, original_sha, f"recording {id_} (original)"))
        for id_, path, sha in connection.execute(
            "SELECT id, path, sha256 FROM screenshots WHERE deleted_at IS NULL ORDER BY id"
        ):
            found.append(Referenced(path, sha, f"screenshot {id_}"))
        for id_, html, html_sha, pdf, pdf_sha in connection.execute(
            "SELECT id, html_path, html_sha256, pdf_path, pdf_sha256 FROM records "
            "WHERE deleted_at IS NULL ORDER BY id"
        ):
            found.append(Referenced(html, html_sha, f"record {id_} (html)"))
            found.append(Referenced(pdf, pdf_sha, f"record {id_} (pdf)"))
    finally:
        connection.close()
    return found

"""verify-files: every archived file re-hashed against the SHA-256 the archive recorded.

Run from the command line (`python -m server verify-files`) and on a schedule by the server
(`archive.verify_files_hours`); each run is kept, with the files that were missing or differed,
so the dashboard can show the last result.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import clock
from .db import Database, Row, writer
from .files import resolve_inside

CHUNK = 1 << 20


@dataclass(frozen=True)
class ArchivedFile:
    path: str  # relative to the recordings directory
    sha256: str
    what: str  # e.g. "recording 12", "screenshot 4", "record 3 (pdf)"


# What is wrong with one archived file (blocking), or None.
Checker = Callable[[ArchivedFile], "str | None"]


@dataclass(frozen=True)
class FileCheck:
    id: int
    started_at: str
    finished_at: str
    files: int
    missing: int
    mismatched: int
    problems: list[dict[str, str]]
    actor: str

    @property
    def ok(self) -> bool:
        return not self.missing and not self.mismatched

    @classmethod
    def from_row(cls, row: Row) -> FileCheck:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["problems"] = json.loads(row["problems"])
        return cls(**values)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_one(root: Path, archived: ArchivedFile) -> str | None:
    """What is wrong with one file (blocking), or None."""
    try:
        path = resolve_inside(root, archived.path)
    except ValueError:
        return "outside the recordings directory"
    if not path.is_file():
        return "missing"
    try:
        actual = sha256_of(path)
    except OSError as exc:
        return f"unreadable: {exc.__class__.__name__}"
    return None if actual == archived.sha256 else "differs"


class IntegrityStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def archived_files(self) -> list[ArchivedFile]:
        """Every file whose SHA-256 the archive holds."""
        found = []
        for row in await self._db.all(
            "SELECT id, path, sha256, original_path, original_sha256 FROM recordings "
            "WHERE (sha256 IS NOT NULL OR original_sha256 IS NOT NULL) AND deleted_at IS NULL "
            "ORDER BY id"
        ):
            if row["sha256"]:
                found.append(ArchivedFile(row["path"], row["sha256"], f"recording {row['id']}"))
            if (
                row["original_path"]
                and row["original_sha256"]
                and row["original_path"] != row["path"]
            ):
                found.append(
                    ArchivedFile(
                        row["original_path"],
                        row["original_sha256"],
                        f"recording {row['id']} (original)",
                    )
                )
        for row in await self._db.all(
            "SELECT id, path, sha256 FROM screenshots WHERE deleted_at IS NULL ORDER BY id"
        ):
            found.append(ArchivedFile(row["path"], row["sha256"], f"screenshot {row['id']}"))
        for row in await self._db.all(
            "SELECT id, html_path, html_sha256, pdf_path, pdf_sha256 FROM records "
            "WHERE deleted_at IS NULL ORDER BY id"
        ):
            found.append(
                ArchivedFile(row["html_path"], row["html_sha256"], f"record {row['id']} (html)")
            )
            found.append(
                ArchivedFile(row["pdf_path"], row["pdf_sha256"], f"record {row['id']} (pdf)")
            )
        return found

    async def check(self, checker: Path | Checker, *, actor: str) -> FileCheck:
        """Re-hash every archived file (in a worker thread) and keep the result. `checker`
        says what is wrong with one file (server.storage reads the object store too); a
        folder means the files are all in it."""
        started = clock.now_iso()
        files = await self.archived_files()
        loop = asyncio.get_running_loop()
        if isinstance(checker, Path):
            checker = functools.partial(check_one, checker)
        problems: list[dict[str, str]] = []
        for archived in files:
            problem = await loop.run_in_executor(None, checker, archived)
            if problem is not None:
                problems.append({"path": archived.path, "what": archived.what, "problem": problem})
        return await self.record(started, len(files), problems, actor=actor)

    @writer
    async def record(
        self, started: str, files: int, problems: list[dict[str, str]], *, actor: str
    ) -> FileCheck:
        missing = sum(1 for p in problems if p["problem"] == "missing")
        mismatched = len(problems) - missing
        async with self._db.transaction() as tx:
            check_id = await tx.insert(
                """INSERT INTO file_checks (started_at, finished_at, files, missing, mismatched,
                       problems, actor) VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    started,
                    clock.now_iso(),
                    files,
                    missing,
                    mismatched,
                    json.dumps(problems, ensure_ascii=False),
                    actor,
                ),
            )
            data: dict[str, Any] = {
                "check": check_id,
                "files": files,
                "missing": missing,
                "mismatched": mismatched,
                "problems": problems[:50],
            }
            await tx.event("files.verified", actor=actor, data=data)
            row = await tx.row("SELECT * FROM file_checks WHERE id = ?", (check_id,))
        return FileCheck.from_row(row)

    async def last(self) -> FileCheck | None:
        row = await self._db.one("SELECT * FROM file_checks ORDER BY id DESC LIMIT 1")
        return FileCheck.from_row(row) if row else None

"""Files whose copy in the object store verified (server/storage): the archive knows which
files may be read from the store and which still wait in the recordings folder."""

from __future__ import annotations

from .. import clock
from .db import Database, bookkeeping, writer


class StoredStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def paths(self) -> set[str]:
        return {row[0] for row in await self._db.all("SELECT path FROM stored_objects")}

    async def count(self) -> int:
        return int(await self._db.value("SELECT COUNT(*) FROM stored_objects"))

    @writer
    async def record(self, path: str, sha256: str, size: int, key: str, *, actor: str) -> None:
        """The stored copy of `path` was read back and matches its SHA-256."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "INSERT INTO stored_objects (path, sha256, size, key, stored_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO NOTHING",
                (path, sha256, size, key, clock.now_iso()),
            )
            await tx.event(
                "file.stored",
                actor=actor,
                data={"file": path, "sha256": sha256, "size": size, "key": key},
            )

    @bookkeeping
    async def forget(self, path: str) -> None:
        """The file was deleted (retention, which logs it): nothing to read from the store."""
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM stored_objects WHERE path = ?", (path,))

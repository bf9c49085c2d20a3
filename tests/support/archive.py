"""Test-only ways into the archive that the product has no path for (yet)."""

from __future__ import annotations

from server.archive import ArchiveStore


async def force_case_state(archive: ArchiveStore, case_id: int, state: str) -> None:
    """Put a case in `state` without going through the workflow (e.g. a closed case)."""
    async with archive.db.transaction() as tx:
        await tx.execute("UPDATE cases SET state = ? WHERE id = ?", (state, case_id))


async def inject_failure(archive: ArchiveStore, table: str, timing: str = "BEFORE") -> None:
    """From now on every INSERT into `table` fails with 'injected failure' (either backend)."""
    async with archive.db.transaction() as tx:
        for statement in archive.db.schema(
            f"CREATE TRIGGER injected {timing} INSERT ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"
        ):
            await tx.execute(statement)


async def remove_failure(archive: ArchiveStore, table: str) -> None:
    async with archive.db.transaction() as tx:
        if archive.db.backend == "sqlite":
            await tx.execute("DROP TRIGGER injected")
        else:
            await tx.execute(f"DROP TRIGGER injected ON {table}")
            await tx.execute("DROP FUNCTION injected()")

"""Test-only ways into the archive that the product has no path for (yet)."""

from __future__ import annotations

from server.archive import ArchiveStore


async def force_case_state(archive: ArchiveStore, case_id: int, state: str) -> None:
    """Put a case in `state` without going through the workflow (e.g. a closed case)."""
    async with archive.db.transaction() as tx:
        await tx.execute("UPDATE cases SET state = ? WHERE id = ?", (state, case_id))

"""The archive's database: reads of committed data, and writes in one transaction each.

SQLite through aiosqlite today, with two connections: a writer, used only inside
`transaction()` and one writer at a time, and a reader that sees only committed data. The SQL
of the aggregates sticks to what PostgreSQL also accepts (placeholders aside).

`transaction()` is the only way to write: `BEGIN IMMEDIATE` takes SQLite's write lock at once
(so another process appending to the event log waits instead of forking the chain), the
change and the events that record it are written through the same `Tx`, and any exception
rolls everything back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiosqlite

from .files import create_private_file

if TYPE_CHECKING:
    from .events import Event

Row = aiosqlite.Row
F = TypeVar("F", bound=Callable[..., Any])

PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def writer(method: F) -> F:
    """Marks an aggregate method that writes: it runs in one transaction and appends the
    events that record its change in that same transaction (tests/unit/test_transactions.py
    checks every one of them)."""
    method.__archive_writer__ = True  # type: ignore[attr-defined]
    return method


def bookkeeping(method: F) -> F:
    """Marks a write that records no event (a timestamp kept for convenience, not a change
    anybody needs to prove); still one transaction."""
    method.__archive_bookkeeping__ = True  # type: ignore[attr-defined]
    return method


def in_sections(column: str, sections: Iterable[str] | None) -> tuple[str, list[str]]:
    """A WHERE clause keeping rows whose `column` is one of `sections`: every row for None,
    none for an empty list."""
    if sections is None:
        return "1 = 1", []
    values = list(sections)
    if not values:
        return "0 = 1", []
    return f"{column} IN ({', '.join('?' for _ in values)})", values


Listener = Callable[["Tx", "Event"], Awaitable[None]]


class Tx:
    """One write transaction. Reads through it see its own writes."""

    def __init__(
        self, connection: aiosqlite.Connection, listeners: list[Listener] | None = None
    ) -> None:
        self._connection = connection
        self.listeners = listeners or []

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        async with self._connection.execute(sql, tuple(args)) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, args: Iterable[Any] = ()) -> int:
        """Run an INSERT; the new row's id."""
        async with self._connection.execute(sql, tuple(args)) as cursor:
            if cursor.lastrowid is None:  # pragma: no cover - an INSERT always sets it
                raise RuntimeError("INSERT returned no row id")
            return cursor.lastrowid

    async def one(self, sql: str, args: Iterable[Any] = ()) -> Row | None:
        async with self._connection.execute(sql, tuple(args)) as cursor:
            return await cursor.fetchone()

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[Row]:
        async with self._connection.execute(sql, tuple(args)) as cursor:
            return list(await cursor.fetchall())

    async def row(self, sql: str, args: Iterable[Any] = ()) -> Row:
        """A row this transaction knows exists (it just wrote or locked it)."""
        found = await self.one(sql, args)
        if found is None:  # pragma: no cover - a broken invariant, not a user error
            raise RuntimeError(f"expected a row: {sql}")
        return found

    async def value(self, sql: str, args: Iterable[Any] = ()) -> Any:
        """The first column of the single row an aggregate query returns."""
        row = await self.one(sql, args)
        if row is None:  # pragma: no cover - COUNT/MAX always return a row
            raise RuntimeError("aggregate query returned no row")
        return row[0]

    async def event(
        self,
        type: str,
        *,
        actor: str,
        case_id: int | None = None,
        inspection_id: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> Event:
        """Append one event to the hash chain, in this transaction; listeners (the notices'
        outbox) write what the event causes in the same transaction."""
        from .events import append

        event = await append(self, type, actor, case_id, inspection_id, data)
        for listener in self.listeners:
            await listener(self, event)
        return event


class Database:
    """The archive file. Open with `await Database.open(path)`; close when done."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        # One writer at a time in this process; BEGIN IMMEDIATE orders them across processes.
        self._lock = asyncio.Lock()
        # Called with every event appended, inside its transaction (server.notices).
        self.listeners: list[Listener] = []

    @classmethod
    async def open(cls, path: Path) -> Database:
        # 0600 before SQLite makes it 0644; its -wal and -shm files take the database's mode.
        create_private_file(path)
        connections = []
        for _ in range(2):
            connection = await aiosqlite.connect(path, isolation_level=None)
            connection.row_factory = aiosqlite.Row
            for pragma in PRAGMAS:
                await connection.execute(pragma)
            connections.append(connection)
        return cls(path, *connections)

    async def close(self) -> None:
        await self._reader.close()
        await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Everything written through the Tx commits together, or not at all."""
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield Tx(self._writer, self.listeners)
            except BaseException:
                # Shielded: a cancelled task must still leave the connection clean.
                await asyncio.shield(self._writer.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._writer.execute("COMMIT"))

    # -- reads: committed data only ----------------------------------------------------------

    async def one(self, sql: str, args: Iterable[Any] = ()) -> Row | None:
        async with self._reader.execute(sql, tuple(args)) as cursor:
            return await cursor.fetchone()

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[Row]:
        async with self._reader.execute(sql, tuple(args)) as cursor:
            return list(await cursor.fetchall())

    async def value(self, sql: str, args: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, args)
        if row is None:  # pragma: no cover - COUNT/MAX always return a row
            raise RuntimeError("aggregate query returned no row")
        return row[0]

    async def rows(self, sql: str, args: Iterable[Any] = ()) -> AsyncIterator[Row]:
        """Rows one at a time, for walks over large tables."""
        async with self._reader.execute(sql, tuple(args)) as cursor:
            async for row in cursor:
                yield row

    async def script(self, statements: Iterable[str]) -> None:
        """Schema statements, in one transaction (migrations)."""
        async with self.transaction() as tx:
            for statement in statements:
                await tx.execute(statement)

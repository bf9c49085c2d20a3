"""The archive's database: reads of committed data, and writes in one transaction each.

Two backends with one interface: SQLite (aiosqlite; the default, one file in the data folder)
and PostgreSQL (asyncpg, server/archive/pg.py; for several nodes). The aggregates' SQL is
written once, with `?` placeholders, in what both accept; `Database.schema()` maps the few
schema words that differ.

`transaction()` is the only way to write. It serialises writers — SQLite's `BEGIN IMMEDIATE`
write lock, PostgreSQL's transaction-scoped advisory lock — so two processes or nodes appending
to the event log never fork the chain; the change and the events that record it are written
through the same `Tx`, and any exception rolls everything back. Listeners see each event
inside its transaction (what the event causes in the archive: the notices' outbox); hooks after
commit see the committed events, outside the write lock, before the writer returns (what the
event causes outside the archive: the live rooms disconnect a person whose link was revoked).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import aiosqlite

from .files import create_private_file

if TYPE_CHECKING:
    from .events import Event


class Row(Protocol):
    """A result row of either backend: by column name or position."""

    def __getitem__(self, key: Any) -> Any: ...

    def __iter__(self) -> Iterator[Any]: ...

    def __len__(self) -> int: ...

    def keys(self) -> Any: ...


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
AfterCommit = Callable[[list["Event"]], Awaitable[None]]
# Told which inspections changed, after any commit of any process sharing the archive; None
# when any may have (news of other nodes' commits was cut off for a while).
Watcher = Callable[[set[int] | None], None]

log = logging.getLogger(__name__)


class Tx:
    """One write transaction. Reads through it see its own writes."""

    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self.listeners = listeners or []
        self.events: list[Event] = []  # appended in this transaction, in order

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        """Run a statement; the number of rows it changed."""
        raise NotImplementedError

    async def insert(self, sql: str, args: Iterable[Any] = ()) -> int:
        """Run an INSERT into a table with an `id`; the new row's id."""
        raise NotImplementedError

    async def one(self, sql: str, args: Iterable[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

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
        self.events.append(event)
        for listener in self.listeners:
            await listener(self, event)
        return event


def changed_inspections(events: Iterable[Event]) -> set[int]:
    return {e.inspection_id for e in events if e.inspection_id is not None}


class Database:
    """The archive's database. `await open_database(target)` opens the right backend."""

    backend = ""
    path: Path | None = None  # the SQLite file; None for PostgreSQL

    def __init__(self) -> None:
        # Called with every event appended, inside its transaction (server.notices).
        self.listeners: list[Listener] = []
        # Called with the events of every transaction that committed some, after the commit and
        # outside the write lock, before the writer returns (server.live.registry). A hook that
        # fails is logged: the change is committed whatever it does.
        self.after_commit: list[AfterCommit] = []
        self.watchers: list[Watcher] = []

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """Everything written through the Tx commits together, or not at all."""
        async with self._transaction() as tx:
            yield tx
        if tx.events:
            for hook in list(self.after_commit):
                try:
                    await hook(tx.events)
                except Exception:
                    log.exception("after-commit hook %r failed", hook)
            changed = changed_inspections(tx.events)
            if changed and not self.shared:
                self.changed(changed)

    # Whether other processes write this archive and say so (PostgreSQL's NOTIFY); SQLite's
    # watchers hear this process's commits only.
    shared = False

    async def watch(self, watcher: Watcher) -> None:
        """Call `watcher` with the inspections that changed, after every commit."""
        self.watchers.append(watcher)

    def changed(self, inspections: set[int] | None) -> None:
        for watcher in list(self.watchers):
            try:
                watcher(inspections)
            except Exception:
                log.exception("archive watcher %r failed", watcher)

    def _transaction(self) -> AbstractAsyncContextManager[Tx]:
        """The backend's transaction: writers serialised, committed on a clean exit."""
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    async def one(self, sql: str, args: Iterable[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[Row]:
        raise NotImplementedError

    def rows(self, sql: str, args: Iterable[Any] = ()) -> AsyncIterator[Row]:
        """Rows one at a time, for walks over large tables."""
        raise NotImplementedError

    async def value(self, sql: str, args: Iterable[Any] = ()) -> Any:
        row = await self.one(sql, args)
        if row is None:  # pragma: no cover - COUNT/MAX always return a row
            raise RuntimeError("aggregate query returned no row")
        return row[0]

    def schema(self, statement: str) -> list[str]:
        """A migration's statement as this backend says it."""
        return [statement]

    async def tables(self) -> list[str]:
        """The archive's tables, by name."""
        raise NotImplementedError


async def open_database(target: Path | str) -> Database:
    """A `postgresql://` URL opens PostgreSQL; anything else is the SQLite file's path."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        from .pg import PgDatabase

        return await PgDatabase.open(text)
    return await SqliteDatabase.open(Path(text))


class SqliteTx(Tx):
    def __init__(self, connection: aiosqlite.Connection, listeners: list[Listener]) -> None:
        super().__init__(listeners)
        self._connection = connection

    async def execute(self, sql: str, args: Iterable[Any] = ()) -> int:
        async with self._connection.execute(sql, tuple(args)) as cursor:
            return cursor.rowcount

    async def insert(self, sql: str, args: Iterable[Any] = ()) -> int:
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


class SqliteDatabase(Database):
    """One file, two connections: a writer used only inside `transaction()`, one writer at a
    time, and a reader that sees only committed data."""

    backend = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        super().__init__()
        self.path = path
        self._file = path
        self._writer = writer
        self._reader = reader
        # One writer at a time in this process; BEGIN IMMEDIATE orders them across processes.
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> SqliteDatabase:
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
    async def _transaction(self) -> AsyncIterator[Tx]:
        async with self._lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self._writer, self.listeners)
            except BaseException:
                # Shielded: a cancelled task must still leave the connection clean.
                await asyncio.shield(self._writer.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._writer.execute("COMMIT"))

    # -- reads: committed data only ----------------------------------------------------------
    # Each read runs and is fetched in one step on the reader's thread: a statement left open
    # between awaits would hold its read snapshot, and a read interleaved with it would miss
    # what was committed meanwhile (a row just written, read back by its writer).

    async def one(self, sql: str, args: Iterable[Any] = ()) -> Row | None:
        rows = await self._reader.execute_fetchall(sql, tuple(args))
        return next(iter(rows), None)

    async def all(self, sql: str, args: Iterable[Any] = ()) -> list[Row]:
        return list(await self._reader.execute_fetchall(sql, tuple(args)))

    async def rows(self, sql: str, args: Iterable[Any] = ()) -> AsyncIterator[Row]:
        # A long walk (the whole event log) on a connection of its own, so that its snapshot
        # holds nobody else's reads back.
        connection = await aiosqlite.connect(self._file, isolation_level=None)
        try:
            connection.row_factory = aiosqlite.Row
            for pragma in PRAGMAS:
                await connection.execute(pragma)
            async with connection.execute(sql, tuple(args)) as cursor:
                async for row in cursor:
                    yield row
        finally:
            await connection.close()

    async def tables(self) -> list[str]:
        rows = await self.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        return [row[0] for row in rows]

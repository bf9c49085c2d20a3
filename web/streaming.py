"""A case package streamed to the client while it is written.

The ZIP is written by `server.archive.package.write` in a worker thread into a bounded queue
that the response drains: a slow client slows the writer, nothing is copied whole to disk or
memory, and a client that leaves stops the writer. Used by the archive's export page and the
platform API.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path
from typing import Any

from aiohttp import web

from server.archive import ArchiveStore, package

QUEUE_DEPTH = 8  # chunks of about CHUNK bytes between the ZIP writer and the browser
CHUNK = 256 * 1024


class Aborted(Exception):
    """The browser went away: the writer stops."""


class ZipStream:
    """The file the ZIP writer (a worker thread) writes to; its bytes come out of `queue` on
    the event loop. Not seekable, so zipfile writes data descriptors instead of seeking back."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_DEPTH)
        self.stopped = threading.Event()
        self._buffer = bytearray()

    # -- the writer's side (worker thread) ----------------------------------------------------

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self._push(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        pass

    def _push(self, item: bytes | None) -> None:
        if self.stopped.is_set():
            raise Aborted
        asyncio.run_coroutine_threadsafe(self.queue.put(item), self.loop).result()

    def run(self, planned: package.Plan, source: Path | package.Opener) -> dict[str, Any]:
        try:
            manifest = package.write(planned, source, self)  # type: ignore[arg-type]
            if self._buffer:
                self._push(bytes(self._buffer))
            return manifest
        finally:
            with contextlib.suppress(Aborted):
                self._push(None)

    # -- the loop's side ----------------------------------------------------------------------

    def abort(self) -> None:
        """Stop the writer: its next write raises, and a write waiting for room gets it."""
        self.stopped.set()
        while not self.queue.empty():
            self.queue.get_nowait()


DOWNLOAD_CSP = "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox"


async def stream_package(
    request: web.Request,
    response: web.StreamResponse,
    planned: package.Plan,
    source: Path | package.Opener,
) -> tuple[int, bool, dict[str, Any]]:
    """Send the package of `planned` through the prepared-to-be `response`: (bytes sent,
    whether it was sent whole, the manifest it ended with — empty when it was not)."""
    # Sent before the middleware could add its headers: a download runs nothing, is kept nowhere.
    response.headers.setdefault("Content-Security-Policy", DOWNLOAD_CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Cache-Control", "no-store")
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    stream = ZipStream(loop)
    job = loop.run_in_executor(None, stream.run, planned, source)
    sent = 0
    manifest: dict[str, Any] = {}
    complete = False
    try:
        while (chunk := await stream.queue.get()) is not None:
            await response.write(chunk)
            sent += len(chunk)
        manifest = await job
        complete = True
    except ConnectionError:
        pass  # the client went away: nothing to answer, the caller logs how far it got
    finally:
        if not complete:  # the client left, or the writer failed: stop it either way
            stream.abort()
            with contextlib.suppress(Exception):
                await job
    return sent, complete, manifest


async def send_package(
    request: web.Request,
    response: web.StreamResponse,
    archive: ArchiveStore,
    planned: package.Plan,
    source: Path | package.Opener,
    *,
    case_id: int,
    actor: str,
    via: str,
) -> web.StreamResponse:
    """Stream the package, then log who took it, how much of it, and what was wrong with it
    (`case.exported`), whether or not it arrived whole."""
    sent, complete, manifest = await stream_package(request, response, planned, source)
    await archive.events.append(
        "case.exported",
        actor=actor,
        case_id=case_id,
        data={
            "files": len(planned.files),
            "bytes": sent,
            "complete": complete,
            "problems": manifest.get("problems", []),
            "via": via,
        },
    )
    if complete:
        await response.write_eof()
    return response

"""A case package streamed to the client while it is written: package.write runs in a thread
into a small bounded queue that the response drains, so nothing is copied whole to disk or
memory, and a slow client slows the writer instead of filling the server."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from server.archive import package

QUEUE_CHUNKS = 8


class _Sink(io.RawIOBase):
    """A write-only stream that hands each write to the event loop's queue (blocking the
    writer thread while the queue is full)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[bytes | None]):
        self._loop = loop
        self._queue = queue

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        if chunk:
            asyncio.run_coroutine_threadsafe(self._queue.put(chunk), self._loop).result()
        return len(chunk)


async def stream_package(
    request: web.Request, plan: package.Plan, root: Path
) -> tuple[web.StreamResponse, dict[str, Any] | None]:
    """Send the package of `plan`; the response and the manifest it ended with, or None when
    the client went away before the end (nothing was exported, so nothing is recorded)."""
    name = f"{plan.case_no}.zip"
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": (
                f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "no-store",
            # Sent before the middleware could add its headers: a download runs nothing.
            "Content-Security-Policy": (
                "default-src 'none'; base-uri 'none'; frame-ancestors 'none'; sandbox"
            ),
            "X-Content-Type-Options": "nosniff",
            # Not the length (the ZIP is made as it goes); the files inside add up to this.
            "X-Kanyan-Content-Bytes": str(plan.total_bytes),
        }
    )
    await response.prepare(request)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)

    def produce() -> dict[str, Any]:
        try:
            return package.write(plan, root, _Sink(loop, queue))  # type: ignore[arg-type]
        finally:
            asyncio.run_coroutine_threadsafe(queue.put(None), loop).result()

    writer = loop.run_in_executor(None, produce)
    try:
        while (chunk := await queue.get()) is not None:
            await response.write(chunk)
    except ConnectionError:
        # The client went away: let the writer finish into the void, then stop quietly.
        await _drain(writer, queue)
        return response, None
    except asyncio.CancelledError:
        await _drain(writer, queue)
        raise
    manifest = await writer
    await response.write_eof()
    return response, manifest


async def _drain(writer: asyncio.Future[Any], queue: asyncio.Queue[bytes | None]) -> None:
    while not writer.done():
        while not queue.empty():
            queue.get_nowait()
        await asyncio.sleep(0.05)
    if not writer.cancelled():
        writer.exception()  # seen, so an abandoned writer's error is not reported as unhandled

"""The server's end of one recorder process: start it, feed it, hear from it, end it.

Feeding never blocks the event loop: frames are queued and written to the pipe once per loop
turn; when the recorder falls so far behind that its backlog passes `max_backlog` bytes, new
frames are dropped (and counted) rather than buffered without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from server.live.media import EncodedFrame

from . import wire

log = logging.getLogger(__name__)

EventHandler = Callable[[dict[str, Any]], Awaitable[None]]
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
TICK_S = 0.1
STARTUP_S = 30.0  # a recorder that has not said `ready` by then is taken for stuck


class RecorderProcess:
    """One `python -m recorder.worker`: one recording segment."""

    def __init__(
        self, on_event: EventHandler, *, max_backlog: int = 64 << 20, ticks: bool = True
    ) -> None:
        self._on_event = on_event
        self._ticks = ticks
        self._max_backlog = max_backlog
        self._proc: asyncio.subprocess.Process | None = None
        self._pending: list[bytes] = []
        self._flush_scheduled = False
        self._events_task: asyncio.Task[None] | None = None
        self.dropped = 0
        self.sent = 0
        self.finishing = False
        self.last_error: str | None = None
        self._ticker: asyncio.TimerHandle | None = None
        self._started = 0.0  # monotonic, when the process was started
        self._heard: float | None = None  # monotonic, when it last said anything
        # Called once, when the first frame is dropped because the recorder fell too far behind.
        self.on_overflow: Callable[[], None] | None = None

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    async def start(self, start: dict[str, Any]) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(PACKAGE_ROOT), *filter(None, [env.get("PYTHONPATH")])]
        )
        self._started = time.monotonic()
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "recorder.worker",
            "--parent",
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )
        self.control({"op": "start", **start})
        self._events_task = asyncio.ensure_future(self._read_events())
        self._tick()

    def _tick(self) -> None:
        """Tell the recorder the server's time: it writes up to what it knows has been sent."""
        if self.finishing or not self.running or not self._ticks:
            return
        self.control({"op": "tick", "at": time.time()})
        self._ticker = asyncio.get_running_loop().call_later(TICK_S, self._tick)

    def push(self, frame: EncodedFrame) -> None:
        """Queue one frame for the recorder. Never blocks."""
        publisher, epoch = frame.source
        self._queue(
            wire.encode_frame(
                frame.kind,
                frame.keyframe,
                publisher,
                epoch,
                frame.timestamp,
                frame.arrival,
                frame.data,
            ),
            droppable=True,
        )

    def control(self, message: dict[str, Any]) -> None:
        self._queue(wire.encode_control(message), droppable=False)

    def _queue(self, record: bytes, *, droppable: bool) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            return
        if droppable and self.backlog() > self._max_backlog:
            self.dropped += 1
            if self.dropped == 1 and self.on_overflow is not None:
                self.on_overflow()
            return
        self._pending.append(record)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def backlog(self) -> int:
        proc = self._proc
        if proc is None or proc.stdin is None:
            return 0
        return proc.stdin.transport.get_write_buffer_size() + sum(map(len, self._pending))

    def _flush(self) -> None:
        self._flush_scheduled = False
        proc = self._proc
        pending, self._pending = self._pending, []
        if proc is None or proc.stdin is None or proc.stdin.is_closing() or not pending:
            return
        try:
            proc.stdin.write(b"".join(pending))
            self.sent += len(pending)
        except (BrokenPipeError, ConnectionResetError, RuntimeError):
            pass  # the recorder died; the supervisor hears it from wait()

    async def _read_events(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while True:
            line = await self._proc.stdout.readline()
            if not line:
                return
            self._heard = time.monotonic()
            try:
                event = json.loads(line)
            except ValueError:
                log.warning("recorder said something unreadable: %r", line[:200])
                continue
            if event.get("event") == "error":
                self.last_error = event.get("message")
                log.error("recorder failed: %s\n%s", event.get("message"), event.get("trace", ""))
            try:
                await self._on_event(event)
            except Exception:
                log.exception("handling recorder event %s failed", event.get("event"))

    def silent_for(self) -> float:
        """Seconds since the process last said anything (it reports progress every second);
        until its first word, the time beyond STARTUP_S that it has taken to start."""
        now = time.monotonic()
        if self._heard is None:
            return max(0.0, now - self._started - STARTUP_S)
        return now - self._heard

    async def wait(self) -> int:
        """The exit code, once every event the recorder wrote has been handled."""
        assert self._proc is not None
        if self._events_task is not None:
            await self._events_task
        code = await self._proc.wait()
        self.stop_ticking()
        return code

    async def drain(self) -> None:
        """Wait until the pipe has room (for a producer that may block: the benchmark)."""
        self._flush()
        proc = self._proc
        if proc is not None and proc.stdin is not None and not proc.stdin.is_closing():
            try:
                await proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass

    async def finish(self, at: float) -> None:
        """Ask for the segment to be written up to `at` and closed."""
        self.finishing = True
        self.stop_ticking()
        self.control({"op": "finish", "at": at})
        await self.drain()

    def stop_ticking(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def kill(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            try:
                self._proc.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass

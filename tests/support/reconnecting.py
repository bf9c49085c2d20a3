"""An aiortc participant that comes back by itself, the way the page does.

The page's rules (web/static/js/protocol.js with the numbers of reconnect.js): after a close
that allows it, reconnect with backoff and jitter; abandon a handshake that hangs; ping, and
take a silent server for dead; rebuild everything when the peer connection has been
disconnected for a while or failed. aiortc has no "disconnected" state, so here it is what
Chromium means by it: nothing received from the server (RTP, or RTCP reports on what we
send) for `DISCONNECTED_AFTER_S`. A browser test checks that the numbers agree with the page's.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from tests.support.peers import RoomClient

# web/static/js/reconnect.js POLICY, the same numbers.
POLICY = {
    "firstMs": 500,
    "capMs": 5000,
    "jitter": 0.5,
    "tooManyMs": 10000,
    "connectTimeoutMs": 10000,
    "mediaLostMs": 5000,
}
# Chromium's ICE marks a connection disconnected after 2.5 s without receiving anything.
DISCONNECTED_AFTER_S = 2.5
# docs/protocol.md: closes after which reconnecting cannot help (4029 waits longer).
MOVED = 4030  # the room is on another node; `moved` said where
FINAL_CLOSES = frozenset({4000, 4001, 4002, 4003, 4004, 4005, 4006, 4007, 4008, 4009, 4012})


def reconnect_delay(
    attempt: int, close_code: int | None, rand: Callable[[], float] = random.random
) -> int:
    """reconnect.js reconnectDelay: milliseconds before attempt `attempt` (1, 2, …)."""
    if close_code == 4029:
        return js_round(POLICY["tooManyMs"] * (1 + POLICY["jitter"] * rand()))
    step = min(POLICY["capMs"], POLICY["firstMs"] * 2 ** max(0, attempt - 1))
    return js_round(step * (1 - POLICY["jitter"] * rand()))


def js_round(value: float) -> int:
    """Math.round: halves go up (Python's round goes to even)."""
    return math.floor(value + 0.5)


def heartbeat(ping_after_s: float | None) -> dict[str, float]:
    """reconnect.js heartbeat: how often to ping, how long a silent server is trusted (ms)."""
    ping_ms = (ping_after_s or 20) * 1000
    return {"everyMs": min(ping_ms, 15000) / 2, "silentMs": 2 * ping_ms}


class ReconnectingClient(RoomClient):
    """A RoomClient that never gives up unless told to (close, die) or told it is final."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.connections = 0  # welcomes received: 1 + the reconnects that got through
        self.reconnects: list[tuple[float, str]] = []  # (time.time(), why) of each attempt
        self.admitted_at: list[float] = []  # time.time() of each admission
        self._wanted = False
        self._attempt = 0
        self._retrying: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._last_heard = time.monotonic()
        self._pinged = 0.0
        self._media_seen: tuple[int, Any] | None = None
        self._media_heard: float | None = None  # monotonic; None until media first flowed
        self.nodes: list[str] = []  # welcome.nodes: a province's nodes, ours first
        self.moves = 0  # `moved` answers followed
        self._failed_opens = 0

    async def connect(self, *, hello: dict[str, Any] | None = None) -> None:
        self._wanted = True
        await self._open()
        self._watcher = asyncio.ensure_future(self._watch())

    async def _open(self) -> None:
        await self._drop_connection()
        self.session = aiohttp.ClientSession()
        self.ws = await asyncio.wait_for(
            self.session.ws_connect(self.url, ssl=False, max_msg_size=0),
            POLICY["connectTimeoutMs"] / 1000,
        )
        self.connected_at = time.time()
        self._last_heard = time.monotonic()
        self._media_seen, self._media_heard = None, None
        await self.send(
            {"type": "hello", "version": 1, "inspection": self.inspection, "token": self.token}
        )
        self._reader = asyncio.ensure_future(self._read())

    async def _drop_connection(self) -> None:
        """The old socket and peer connection go; what was observed stays."""
        for task in self._consumers:
            task.cancel()
        self._consumers.clear()
        if self.pc is not None:
            pc, self.pc = self.pc, None
            await pc.close()
        if self.ws is not None and self.ws._conn is not None and self.ws._conn.transport:
            self.ws._conn.transport.abort()
        if self.session is not None:
            session, self.session = self.session, None
            await session.close()
        self.media_map = {"own": {}, "remote": {}}

    async def _read(self) -> None:
        await super()._read()  # returns when the socket closed (cancelled on close/die)
        if self._wanted and self.close_code == MOVED:
            # protocol.js: the room is on the node `moved` named; go there at once.
            self._attempt = 0
            self.moves += 1
            self._retrying = asyncio.ensure_future(self._open_moved())
        elif self._wanted and self.close_code not in FINAL_CLOSES:
            self._retry(f"closed ({self.close_code})")

    async def _open_moved(self) -> None:
        try:
            await self._open()
        except (OSError, aiohttp.ClientError, TimeoutError):
            self._retrying = None
            self._retry("moved, connect failed")

    async def _handle(self, message: dict[str, Any]) -> None:
        self._last_heard = time.monotonic()
        if message["type"] == "moved":
            self.url = message["url"]
        elif message["type"] == "welcome":
            self.connections += 1
            self._failed_opens = 0
            self.nodes = list(message.get("nodes") or self.nodes)
        elif message["type"] == "admitted":
            self._attempt = 0
            self.admitted_at.append(time.time())
        await super()._handle(message)

    def _retry(self, why: str) -> None:
        if self._retrying is not None and not self._retrying.done():
            return
        self.status = "reconnecting"
        self._retrying = asyncio.ensure_future(self._reconnect(why))

    async def _reconnect(self, why: str) -> None:
        code = self.close_code
        while self._wanted:
            self._attempt += 1
            await asyncio.sleep(reconnect_delay(self._attempt, code) / 1000)
            if not self._wanted:
                return
            self.reconnects.append((time.time(), why))
            try:
                await self._open()
                return
            except (OSError, aiohttp.ClientError, TimeoutError) as exc:
                code, why = None, f"connect failed: {type(exc).__name__}"
                self.status = "reconnecting"
                self._failed_opens += 1
                if self._failed_opens >= 2 and len(self.nodes) > 1:
                    # protocol.js: our node does not answer; knock at the next one.
                    here = self.nodes.index(self.url) if self.url in self.nodes else 0
                    self.url = self.nodes[(here + 1) % len(self.nodes)]
                    self._failed_opens = 0

    async def _reconnect_now(self, why: str) -> None:
        """protocol.js _reconnectNow: only from a working connection; the close does the rest."""
        if self.status not in ("admitted", "lobby") or self.ws is None:
            return
        self.reconnects.append((time.time(), f"gave up: {why}"))
        self._retrying = None
        ws = self.ws
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(code=4100, message=why.encode()), 1.0)
        if ws._conn is not None and ws._conn.transport:
            ws._conn.transport.abort()  # a network that is down cannot finish the handshake

    async def _watch(self) -> None:
        """The page's heartbeat and its peer connection watch, twice a second."""
        while self._wanted:
            await asyncio.sleep(0.5)
            if self.status not in ("admitted", "lobby") or self.ws is None:
                continue
            now = time.monotonic()
            beat = heartbeat((self.welcome or {}).get("heartbeat", {}).get("ping_after_s"))
            if now - self._last_heard > beat["silentMs"] / 1000:
                await self._reconnect_now("server silent")
                continue
            if now - self._pinged >= beat["everyMs"] / 1000:
                self._pinged = now
                with contextlib.suppress(Exception):
                    await self.send({"type": "ping"})
            if self.pc is None:
                continue
            if self.pc.connectionState == "failed":
                await self._reconnect_now("media failed")
                continue
            try:
                await self._check_media(now)
            except Exception:  # the connection is being replaced under our feet
                continue

    async def _check_media(self, now: float) -> None:
        assert self.pc is not None
        stats = (await self.pc.getStats()).values()
        seen = (
            sum(getattr(s, "packetsReceived", 0) for s in stats if s.type == "inbound-rtp"),
            max((s.timestamp for s in stats if s.type == "remote-inbound-rtp"), default=None),
        )
        if seen != self._media_seen and (seen[0] or seen[1] is not None):
            self._media_seen, self._media_heard = seen, now
            return
        if self._media_heard is None:
            return
        silent = now - self._media_heard
        if silent > DISCONNECTED_AFTER_S + POLICY["mediaLostMs"] / 1000:
            await self._reconnect_now("media lost")

    async def _stop(self) -> None:
        self._wanted = False
        for task in (self._retrying, self._watcher):
            if task is not None:
                task.cancel()

    async def close(self, *, leave: bool = True) -> None:
        await self._stop()
        await super().close(leave=leave)

    async def die(self) -> None:
        await self._stop()
        await super().die()

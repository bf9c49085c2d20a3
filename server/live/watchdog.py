"""Watchdogs: what nobody would notice in time by themselves.

Whose camera has gone quiet: a phone in a storeroom can lose its uplink while its WebSocket
still answers, so the roster alone says all is well. The server counts the frames each
publication delivers; a publication that is attached and said (in its last answer) that it
sends video, yet has delivered no new frame for `media.stall_after_s`, is stalled (each room
checks its own, MediaWatchdog).

Every second the rooms are looked at: a live session that nobody of the staff has attended for
`watchdog.no_staff_s` is interrupted (中止) as the host would, and each room's recorder checks
that its process still speaks (recorder.participant). Apart from the loop, a thread watches the
event loop itself: a turn longer than `watchdog.loop_lag_s` is logged with the stack of the
loop's thread, while it is stuck — which is where the culprit is.

Pure bookkeeping on the server's monotonic clock where it can be: the rules are tested with the
time given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Protocol

from . import protocol
from .room import Member, Room, RoomState

if TYPE_CHECKING:
    from .registry import RoomService

log = logging.getLogger(__name__)

TICK_S = 1.0

UNATTENDED_REASON = (
    "无工作人员在场已超过规定时间，系统自动中止 / nobody of the staff was in the room for too "
    "long: the session was interrupted automatically"
)


class WatchedPublication(Protocol):
    """What the watchdog reads of a server.live.media.Publication."""

    publisher_id: int
    kind: str
    epoch: int
    frames: int
    sending: bool

    @property
    def live(self) -> bool: ...


class MediaWatchdog:
    def __init__(self, stall_after_s: float) -> None:
        self.stall_after_s = stall_after_s
        # publisher → ((upstream epoch, frames delivered), when that was first seen)
        self._progress: dict[int, tuple[tuple[int, int], float]] = {}

    def check(self, publications: Iterable[WatchedPublication], now: float) -> set[int]:
        """The publishers among `publications` whose video is stalled at `now`."""
        stalled: set[int] = set()
        watched: set[int] = set()
        for publication in publications:
            if publication.kind != "video":
                continue
            who = publication.publisher_id
            watched.add(who)
            mark = (publication.epoch, publication.frames)
            known = self._progress.get(who)
            if known is None or known[0] != mark or not (publication.live and publication.sending):
                # New, moving, reconnecting or not meant to send: the clock starts again.
                self._progress[who] = (mark, now)
                continue
            if now - known[1] >= self.stall_after_s:
                stalled.add(who)
        for gone in set(self._progress) - watched:
            del self._progress[gone]
        return stalled


def stall_notice(member: Member, seconds: float) -> dict[str, Any]:
    """What the host is told when `member` becomes stalled, or is no longer."""
    if member.stalled:
        return protocol.notice(
            "media_stalled",
            "error",
            f"{member.name}的画面已超过 {seconds:g} 秒未到达服务器，可能是网络中断 / "
            f"no video from {member.name} has reached the server for {seconds:g} s",
        )
    return protocol.notice(
        "media_resumed", "info", f"{member.name}的画面已恢复 / video from {member.name} is back"
    )


class Unattended:
    """Since when a live session has had nobody of the staff in it. Pure: the caller gives the
    time, so the rule is tested without waiting."""

    def __init__(self) -> None:
        self.since: float | None = None

    def due(self, room: Room, now: float, limit_s: float) -> bool:
        """Whether the session has gone unattended for `limit_s` (0: never) at `now`."""
        if limit_s <= 0 or room.state != RoomState.LIVE or room.staff_present():
            self.since = None
            return False
        if self.since is None:
            self.since = now
        return now - self.since >= limit_s


async def watch_rooms(rooms: RoomService) -> None:
    """Look at every room once a second, for as long as the server runs."""
    while True:
        await asyncio.sleep(TICK_S)
        try:
            await rooms.watch(time.monotonic())
        except Exception:
            log.exception("watching the rooms failed")


class LoopWatch:
    """A thread that logs a stuck event loop with the stack of the loop's thread.

    The loop beats every quarter of the threshold; when the thread finds the last beat older
    than the threshold, it logs where the loop's thread is at that moment (once per stall),
    and how long the stall lasted when the loop beats again."""

    def __init__(self, threshold_s: float) -> None:
        self.threshold_s = threshold_s
        self._beat = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop_thread = 0
        self._handle: asyncio.TimerHandle | None = None
        self._stalled_since: float | None = None

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._beat = time.monotonic()
        self._tick(loop)
        self._thread = threading.Thread(target=self._watch, name="kanyan-loop-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._handle is not None:
            self._handle.cancel()
        if self._thread is not None:
            self._thread.join()

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        stalled = self._stalled_since
        if stalled is not None:
            self._stalled_since = None
            log.warning("the event loop runs again after %.1f s stuck", now - stalled)
        self._beat = now
        self._handle = loop.call_later(self.threshold_s / 4, self._tick, loop)

    def _watch(self) -> None:
        while not self._stop.wait(self.threshold_s / 4):
            beat = self._beat
            lag = time.monotonic() - beat
            if lag <= self.threshold_s or self._stalled_since == beat:
                continue
            self._stalled_since = beat
            frame = sys._current_frames().get(self._loop_thread)
            stack = "".join(traceback.format_stack(frame)) if frame is not None else "?"
            log.warning(
                "the event loop has been stuck for %.1f s (more than %.1f s); its thread is "
                "at:\n%s",
                lag,
                self.threshold_s,
                stack,
            )


@contextlib.asynccontextmanager
async def watchdogs(rooms: RoomService, loop_lag_s: float):  # type: ignore[no-untyped-def]
    """Run the room watch and the loop watch for as long as the context is open."""
    loop_watch = LoopWatch(loop_lag_s)
    loop_watch.start()
    task = asyncio.create_task(watch_rooms(rooms))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        loop_watch.stop()

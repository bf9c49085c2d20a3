"""Whose camera has gone quiet: publishers whose video has not reached the server for a while.

A phone in a storeroom can lose its uplink while its WebSocket still answers, so the roster
alone says all is well. The server counts the frames each publication delivers; a publication
that is attached and said (in its last answer) that it sends video, yet has delivered no new
frame for `stall_after_s`, is stalled. Pure bookkeeping on the server's monotonic clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from . import protocol
from .room import Member


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

"""A session's recording as segments: the recorder process fed and supervised, a new segment
started after it died (with backoff, longer when the disk is the cause), its cut files
recovered, and every gap in the event log. `RecorderParticipant` (participant.py) includes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from server import clock
from server.archive import Recording
from server.config import Settings
from server.live import protocol
from server.live.media import Publication
from server.live.participant import RoomHandle
from server.ops.metrics import RecorderHealth, RecorderStats

from . import files, recovery
from .process import RecorderProcess
from .worker import EXIT_FINISHED, EXIT_STORAGE

log = logging.getLogger(__name__)

RESTART_BACKOFF_S = (0.0, 2.0, 5.0, 10.0, 30.0)
STORAGE_BACKOFF_S = (10.0, 30.0, 60.0)
STABLE_AFTER_S = 30.0  # a segment that lived this long resets the backoff
SAME_SESSION_S = 10.0  # a session started this recently is recorded from its first second

MESSAGES = {
    "recording_interrupted": (
        "录像进程意外中断，已自动开始新的录像分段，中断时段已记入日志。",
        "The recorder stopped unexpectedly; a new recording segment has started and the gap "
        "is in the event log.",
    ),
    "storage_full": (
        "录像无法写入磁盘（空间不足或不可写），勘验继续进行，未能保存的时段已记入日志。",
        "The recording cannot be written (disk full or not writable). The session goes on; "
        "what could not be kept is in the event log.",
    ),
    "recording_resumed": (
        "录像已恢复。",
        "Recording has resumed.",
    ),
}


def _iso(epoch: float) -> str:
    return clock.iso(datetime.fromtimestamp(epoch, UTC))


def notice(code: str, level: str) -> dict[str, Any]:
    zh, en = MESSAGES[code]
    return protocol.notice(code, level, f"{zh} / {en}")


@dataclass
class SegmentState:
    number: int
    t0: float
    rows: dict[str, Recording] = field(default_factory=dict)  # by temporary path
    composite: Recording | None = None
    storage: dict[str, Any] | None = None
    started: bool = False  # its recorder process ran


class SegmentRecording:
    """The recording half of the recorder participant."""

    room: RoomHandle
    settings: Settings
    stats: RecorderStats
    root: Path
    font_path: Path
    segment: SegmentState | None
    progress: dict[str, Any]
    _followed: dict[tuple[int, str], Publication]
    _members: list[dict[str, Any]]
    _process: RecorderProcess | None
    _supervisor: asyncio.Task[None] | None
    _wake: asyncio.Event
    _session_started: float | None
    _ended_at: float | None
    _closing: bool
    _failing: bool

    def health(self) -> RecorderHealth | None:
        """The segment being written, for /metrics (server.ops.metrics)."""
        process, segment = self._process, self.segment
        if process is None or segment is None:
            return None
        lag = None
        heard = self.progress.get("received_at", 0.0)
        if heard >= segment.t0 and "duration_s" in self.progress:  # this segment's progress
            lag = heard - segment.t0 - self.progress["duration_s"]
        return RecorderHealth(lag, process.backlog(), process.dropped)

    def _set_status(self, status: str) -> None:
        raise NotImplementedError

    def _tell_hosts(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def _spawn(self, coro: Any) -> None:
        raise NotImplementedError

    def _begin(self) -> None:
        if self._supervisor is not None or self._closing:
            return
        started = self.room.inspection.started_at
        self._session_started = clock.parse(started).timestamp() if started else time.time()
        self._supervisor = asyncio.ensure_future(self._supervise())

    async def _supervise(self) -> None:
        archive = self.room.archive
        inspection = self.room.inspection
        number = await archive.evidence.next_segment(inspection.id)
        now = time.time()
        assert self._session_started is not None
        fresh = now - self._session_started < SAME_SESSION_S
        if fresh and not await self._recorded_since(self._session_started):
            # A session that has just started (the first, or a new one after 中止, which
            # is in the log itself): recorded from its first second.
            t0 = self._session_started
            gap: tuple[float, str] | None = None
        else:
            # The server restarted during the session: record on, and log what is missing.
            t0 = now
            gap = (await self._recorded_until(), "server_restarted")
        failures = 0
        while not self._closing:
            segment = SegmentState(number, t0)
            code = await self._run_segment(segment, gap)
            if segment.started:
                gap = None  # logged when the segment started
            if code == EXIT_FINISHED and self._closing:
                break
            end = await self._recover_segment(segment, code)
            if gap is None:
                gap = (end, "storage" if code == EXIT_STORAGE else "recorder_died")
            if time.time() - segment.t0 > STABLE_AFTER_S:
                failures = 0
            backoff = (STORAGE_BACKOFF_S if gap[1] == "storage" else RESTART_BACKOFF_S)[
                min(failures, 2 if gap[1] == "storage" else 4)
            ]
            failures += 1
            await self._pause(backoff)
            number = await archive.evidence.next_segment(inspection.id)
            t0 = time.time()
        if gap is not None:
            await self._log_gap(gap[0], self._ended_at or time.time(), gap[1])
        self._set_status("stopped")

    async def _run_segment(self, segment: SegmentState, gap: tuple[float, str] | None) -> int:
        room = self.room
        process = RecorderProcess(
            lambda event: self._on_event(segment, event),
            max_backlog=self.settings.recording.max_backlog_mb << 20,
        )
        process.on_overflow = lambda: self._spawn(
            self._log(
                "recording.overloaded",
                segment=segment.number,
                what=(
                    "录像进程跟不上，部分画面和声音未能录入 / the recorder fell behind: some "
                    "frames are missing from this segment"
                ),
            )
        )
        rec = self.settings.recording
        directory = files.inspection_dir(self.root, room.case.case_no, room.inspection.id)
        # The composite file and its archive row exist before the process does, so no crash
        # can leave a recording the recovery at start would not know about.
        wanted = files.temp_path(directory / files.composite_name(segment.t0, segment.number))
        try:
            composite = files.create_exclusive(wanted)
        except OSError as exc:
            log.error("cannot create %s: %s", wanted, exc)
            segment.storage = {"error": files.describe_error(exc), "path": wanted.name}
            return EXIT_STORAGE
        row = await room.archive.evidence.add_recording(
            inspection_id=room.inspection.id,
            case_id=room.case.id,
            segment=segment.number,
            kind="composite",
            path=files.relative(self.root, composite),
            started_at=_iso(segment.t0),
        )
        segment.rows[row.path] = row
        segment.composite = row
        try:
            await process.start(
                {
                    "composite": str(composite),
                    "segment": segment.number,
                    "t0": segment.t0,
                    "root": str(self.root.resolve()),
                    "dir": str(directory.resolve()),
                    "latency": rec.latency_ms / 1000,
                    "raw_tracks": rec.raw_tracks,
                    "font": str(self.font_path),
                    "case_no": room.case.case_no,
                    "item_name": room.case.item_name,
                    "preset": rec.preset,
                    "crf": rec.crf,
                    "audio_kbps": rec.audio_kbps,
                }
            )
        except OSError as exc:
            log.error("cannot start the recorder: %s", exc)
            return -1
        self.segment = segment
        self._process = process
        segment.started = True
        process.control({"op": "roster", "at": segment.t0, "members": self._members})
        if self._closing:  # the session ended while the process was starting
            await process.finish(self._ended_at or time.time())
        for (_, kind), publication in self._followed.items():
            if kind == "video":
                publication.request_keyframe()
        if gap is not None:
            await self._log_gap(gap[0], segment.t0, gap[1])
            if gap[1] != "server_restarted":
                self._tell_hosts(notice("recording_resumed", "info"))
        self._failing = False
        self._set_status("recording")
        self.stats.started(self)
        code = await process.wait()
        self._process = None
        self.stats.ended(self, dropped=process.dropped, failed=code != EXIT_FINISHED)
        if process.dropped:
            await self._log(
                "recording.frames_dropped", segment=segment.number, frames=process.dropped
            )
        if code != EXIT_FINISHED:
            log.warning("recorder of inspection %s exited with %s", room.inspection.id, code)
        return code

    async def _on_event(self, segment: SegmentState, event: dict[str, Any]) -> None:
        archive = self.room.archive
        kind = event.get("event")
        if kind == "opened":
            row = await archive.evidence.add_recording(
                inspection_id=self.room.inspection.id,
                case_id=self.room.case.id,
                segment=segment.number,
                kind=event["kind"],
                path=event["path"],
                started_at=_iso(event["at"]),
                participant_id=event.get("participant"),
                track=event.get("track"),
            )
            segment.rows[event["path"]] = row
            if event["kind"] == "composite":
                segment.composite = row
        elif kind == "closed":
            row = segment.rows.pop(event["temp"])
            finished = await archive.evidence.finish_recording(
                row.id,
                path=event["path"],
                sha256=event["sha256"],
                size_bytes=event["size"],
                duration_s=event["duration_s"],
                frames=event["frames"],
            )
            if row.kind == "composite":
                segment.composite = finished
        elif kind == "keyframe":
            publication = self._followed.get((event["publisher"], "video"))
            if publication is not None:
                publication.request_keyframe()
        elif kind == "storage":
            segment.storage = event
        elif kind == "progress":
            if event.get("lost_audio_s", 0) > self.progress.get("lost_audio_s", 0):
                log.warning(
                    "recorder of inspection %s lost sound: %s", self.room.inspection.id, event
                )
            self.progress = {**event, "received_at": time.time()}

    async def _recover_segment(self, segment: SegmentState, code: int) -> float:
        """After an abnormal end: recover the segment's files, log, tell the host. Returns the
        server time up to which the segment holds a recording."""
        archive = self.room.archive
        storage = segment.storage
        if storage is not None:
            why = f"存储失败 / storage failed: {storage.get('error')}"
        else:
            why = f"录像进程退出（代码 {code}） / the recorder process exited with {code}"
        recovered_until = segment.t0
        for row in list(segment.rows.values()):
            result = await recovery.recover(archive, self.root, row, why)
            if row.kind == "composite":
                segment.composite = result
                recovered_until = segment.t0 + (result.duration_s or 0.0)
        segment.rows.clear()
        if self._failing:
            return recovered_until  # still failing: the first failure was logged and told
        self._failing = True
        if storage is not None:
            await self._log(
                "recording.storage_failed",
                segment=segment.number,
                error=storage.get("error"),
                file=storage.get("path"),
                lost_from=_iso(recovered_until),
                what=(
                    "自此时起的合成录像和原始音视频未能保存 / the composite recording and the raw "
                    "tracks from this time on could not be kept"
                ),
            )
            self._tell_hosts(notice("storage_full", "error"))
        else:
            await self._log(
                "recording.failed",
                segment=segment.number,
                exit_code=code,
                recorded_until=_iso(recovered_until),
            )
            self._tell_hosts(notice("recording_interrupted", "error"))
        self._set_status("interrupted")
        return recovered_until

    async def _log(self, type: str, **data: Any) -> None:
        await self.room.archive.events.append(
            type,
            actor="recorder",
            case_id=self.room.case.id,
            inspection_id=self.room.inspection.id,
            data=data,
        )

    async def _log_gap(self, start: float, end: float, reason: str) -> None:
        await self._log(
            "recording.gap",
            start=_iso(start),
            end=_iso(end),
            seconds=round(max(0.0, end - start), 3),
            reason=reason,
        )

    async def _recorded_since(self, started: float) -> bool:
        """Whether this session already has a recording (the server restarted during it)."""
        for row in await self.room.archive.evidence.recordings(self.room.inspection.id):
            if row.kind == "composite" and clock.parse(row.started_at).timestamp() >= started:
                return True
        return False

    async def _recorded_until(self) -> float:
        """Where the recordings of this session so far end (after a restart)."""
        assert self._session_started is not None
        until = self._session_started
        for row in await self.room.archive.evidence.recordings(self.room.inspection.id):
            if row.kind == "composite" and row.duration_s is not None:
                until = max(until, clock.parse(row.started_at).timestamp() + row.duration_s)
        return until

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

"""The recorder joins every room as a system participant.

It follows every publication like a member would (it has no seat and no camera), keeps what a
screenshot needs, and from the moment the host starts the session until the host ends it, feeds
a recorder process (recorder.worker) that writes the evidence. Nobody can pause or stop it: it
listens to the room, not to people. When its process dies the room carries on, the host is told,
and a new process continues into a new segment; the gap is in the event log (segments.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from server import clock
from server.config import Settings
from server.live import protocol
from server.live.media import EncodedFrame, MediaHub, Publication
from server.live.participant import Participant, RoomHandle
from server.live.room import Action, Member, Role, RoomState, allowed
from server.ops.metrics import RecorderStats

from .process import RecorderProcess
from .screenshots import FrameKeeper, Screenshots, describe
from .segments import SegmentRecording, SegmentState

log = logging.getLogger(__name__)

RECORDER_ID = 0  # invitee ids start at 1
FINISH_TIMEOUT_S = 120.0


class RecorderParticipant(SegmentRecording):
    """The recording system participant of one live room."""

    role = Role.RECORDER
    name = "录制"

    def __init__(
        self,
        room: RoomHandle,
        settings: Settings,
        font_path: Path,
        stats: RecorderStats | None = None,
    ) -> None:
        self.id = RECORDER_ID
        self.stats = stats or RecorderStats()
        self.room = room
        self.settings = settings
        self.font_path = font_path
        self.root = settings.recordings_dir
        self.keeper = FrameKeeper()
        self.shots = Screenshots(
            room.archive,
            self.root,
            room.case,
            room.inspection,
            str(font_path),
            settings.recording.screenshot_quality,
            self.keeper,
            lambda member: self._followed.get((member, "video")),
            self.recording_at,
        )
        self.status = "idle"  # idle | recording | interrupted | stopped
        self.segment: SegmentState | None = None
        self.progress: dict[str, Any] = {}
        self._followed: dict[tuple[int, str], Publication] = {}
        self._members: list[dict[str, Any]] = []
        self._process: RecorderProcess | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._session_started: float | None = None
        self._ended_at: float | None = None
        self._closing = False
        self._failing = False  # between a failure and the next segment that starts
        self._stopping: asyncio.Future[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the Participant protocol -------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "roster":
            self._roster(message["members"])
            if message.get("state") == RoomState.LIVE:
                self._begin()
        elif kind == "state":
            if message.get("state") == RoomState.LIVE:
                self._begin()
            elif message.get("state") in (RoomState.ENDED, RoomState.INTERRUPTED):
                ended = message.get("ended_at")
                self._ended_at = clock.parse(ended).timestamp() if ended else time.time()

    async def close(self, code: int, reason: str) -> None:
        await self.stop()
        for publication in self._followed.values():
            publication.remove_sink(self)
        self._followed.clear()

    async def enter(self, hub: MediaHub) -> None:
        """The recorder publishes nothing."""

    async def follow(self, publications: list[Publication]) -> None:
        wanted = {(p.publisher_id, p.kind): p for p in publications}
        for key, publication in list(self._followed.items()):
            if wanted.get(key) is not publication:
                publication.remove_sink(self)
                del self._followed[key]
                if key[1] == "video":
                    self.keeper.forget(key[0])
        for key, publication in wanted.items():
            if key not in self._followed:
                self._followed[key] = publication
                publication.add_sink(self)
                publication.request_keyframe()

    def push(self, frame: EncodedFrame) -> None:
        """A frame from a followed publication. Never blocks."""
        self.keeper.push(frame)
        if self._process is not None:
            self._process.push(frame)

    # -- screenshots --------------------------------------------------------------------------

    async def screenshot(
        self, taker: Member, subject: Member, note: str | None, item_id: int | None
    ) -> dict[str, Any]:
        shot = await self.shots.take(taker, subject, note, item_id)
        return describe(shot, self.room.member_names())

    def recording_at(self, at: float) -> tuple[int | None, float | None]:
        """The composite being written at server time `at`, and the offset into it."""
        segment = self.segment
        if self._process is None or segment is None or segment.composite is None or at < segment.t0:
            return None, None  # nothing is being recorded right now
        return segment.composite.id, at - segment.t0

    def check(self) -> None:
        """Once a second (the room's watchdog): a process silent for watchdog.recorder_silent_s
        is stuck. Killed, it is handled like any death: files recovered, host told, next
        segment."""
        process, segment = self._process, self.segment.number if self.segment else 0
        if process is not None and process.running and not process.finishing:
            silent = process.silent_for()
            if silent >= self.settings.watchdog.recorder_silent_s:
                log.error("recorder of segment %s silent for %.1f s: killed", segment, silent)
                stuck = self._log("recording.stuck", segment=segment, silent_s=round(silent, 1))
                self._spawn(stuck)
                process.kill()

    # -- the room, as the recorder hears it ---------------------------------------------------

    def _roster(self, members: list[dict[str, Any]]) -> None:
        self._members = members
        if self._process is not None:
            self._process.control({"op": "roster", "at": time.time(), "members": members})

    async def greet(self, participant: Participant) -> None:
        """Someone (re)joined: the recording mark, and for staff the screenshots so far."""
        if self.status != "idle":
            await participant.send(self.status_message())
        if allowed(participant.role, Action.SCREENSHOT):
            shots = await self.room.archive.evidence.screenshots(self.room.inspection.id)
            names = self.room.member_names()
            await participant.send(protocol.screenshots([describe(s, names) for s in shots]))

    def status_message(self) -> dict[str, Any]:
        started = self._session_started
        return protocol.recording(
            self.status,
            self.room.inspection.started_at,
            round(time.time() - started, 3) if started else 0.0,
            self.segment.number if self.segment else 0,
        )

    def _set_status(self, status: str) -> None:
        if status != self.status:
            self.status = status
            self._spawn(self.room.broadcast(self.status_message()))

    def _tell_hosts(self, message: dict[str, Any]) -> None:
        self._spawn(self.room.tell(Role.HOST, message))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """The session ended (or the server stops): write everything up to now and finalise.
        Every caller returns once that is done (the end of a session and the shutdown of the
        server may both ask)."""
        if self._stopping is None:
            self._stopping = asyncio.ensure_future(self._stop())
        await asyncio.shield(self._stopping)

    async def _stop(self) -> None:
        self._closing = True
        self._wake.set()
        process = self._process
        if process is not None:
            try:
                # A stuck recorder takes nothing from its pipe: without a bound, the end of
                # the session would wait for it for ever.
                await asyncio.wait_for(
                    process.finish(self._ended_at or time.time()), FINISH_TIMEOUT_S
                )
            except TimeoutError:
                log.error("the recorder took nothing more in time; killing it")
                process.kill()
        if self._supervisor is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._supervisor), FINISH_TIMEOUT_S)
            except TimeoutError:
                log.error("the recorder did not finish in time; killing it")
                if self._process is not None:
                    self._process.kill()
                await self._supervisor


async def join_recorder(
    room: RoomHandle, *, settings: Settings, font_path: Path, stats: RecorderStats | None = None
) -> None:
    """RoomService hook: every room gets its recorder when it opens."""
    recorder = RecorderParticipant(room, settings, font_path, stats)
    room.add_system(recorder, recorder=recorder, on_seated=recorder.greet)

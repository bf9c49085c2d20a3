"""Screenshots from a participant's own video at its own resolution, watermarked and hashed.

The room forwards video without decoding it, so there is no "current picture" lying around.
`FrameKeeper` keeps, per publisher, the encoded frames since their last keyframe. A screenshot
decodes those (in a worker thread) when there are few; otherwise it asks the publisher for a
keyframe and decodes that alone. Nothing is decoded while nobody takes a screenshot, and it
works whether or not a recording is running.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import av

from server import clock, watermark
from server.archive import ArchiveStore, Case, Inspection, Screenshot
from server.errors import StorageError, UserError
from server.live.media import EncodedFrame, Publication
from server.live.room import Member

from . import files

log = logging.getLogger(__name__)

DECODE_LIMIT = 45  # ~50 ms of VP8 decoding at 720p; beyond that a fresh keyframe is quicker
KEEP_LIMIT = 600  # a longer run without a keyframe is not kept at all
KEYFRAME_WAIT_S = 2.0


@dataclass
class _Run:
    epoch: tuple[int, int]
    frames: list[bytes] = field(default_factory=list)


class FrameKeeper:
    """A sink on every video publication: the frames needed to decode its latest picture."""

    def __init__(self) -> None:
        self._runs: dict[int, _Run] = {}
        self._waiting: dict[int, list[asyncio.Future[list[bytes]]]] = {}

    def push(self, frame: EncodedFrame) -> None:
        if frame.kind != "video":
            return
        publisher = frame.source[0]
        run = self._runs.get(publisher)
        if frame.keyframe:
            run = self._runs[publisher] = _Run(frame.source, [frame.data])
            for waiter in self._waiting.pop(publisher, []):
                if not waiter.done():
                    waiter.set_result([frame.data])
        elif run is not None and run.epoch == frame.source and len(run.frames) < KEEP_LIMIT:
            run.frames.append(frame.data)
        elif run is not None:
            del self._runs[publisher]  # a new connection, or too long: wait for a keyframe

    def forget(self, publisher: int) -> None:
        self._runs.pop(publisher, None)

    async def frames(self, publication: Publication) -> list[bytes]:
        """Encoded frames from a keyframe to the latest frame of `publication`."""
        run = self._runs.get(publication.publisher_id)
        if run is not None and len(run.frames) <= DECODE_LIMIT:
            return list(run.frames)
        fallback = list(run.frames) if run is not None else None
        waiter: asyncio.Future[list[bytes]] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(publication.publisher_id, []).append(waiter)
        publication.request_keyframe()
        try:
            return await asyncio.wait_for(waiter, KEYFRAME_WAIT_S)
        except TimeoutError:
            if fallback:
                return fallback
            raise UserError(
                "该参与人暂无视频画面，无法截图 / no picture from this participant yet",
                code="no_video",
            ) from None


def decode_latest(frames: list[bytes]) -> av.VideoFrame:
    """The last picture of a run of VP8 frames that starts with a keyframe."""
    decoder = av.CodecContext.create("vp8", "r")
    latest = None
    for data in frames:
        try:
            for picture in decoder.decode(av.Packet(data)):
                latest = picture
        except av.FFmpegError:
            break  # a damaged frame: keep the last good picture
    if latest is None:
        raise UserError("无法解码该视频画面 / the picture could not be decoded", code="no_video")
    return latest


class Screenshots:
    """Takes screenshots for one room and files them in the archive."""

    def __init__(
        self,
        archive: ArchiveStore,
        root: Path,
        case: Case,
        inspection: Inspection,
        font_path: str,
        quality: int,
        keeper: FrameKeeper,
        publication_of: Callable[[int], Publication | None],
        recording_at: Callable[[float], tuple[int | None, float | None]],
    ) -> None:
        self.archive = archive
        self.root = root
        self.case = case
        self.inspection = inspection
        self.font_path = font_path
        self.quality = quality
        self.keeper = keeper
        self._publication_of = publication_of
        self._recording_at = recording_at

    async def take(
        self, taker: Member, subject: Member, note: str | None, item_id: int | None = None
    ) -> Screenshot:
        """Press to archived row: the subject's latest picture, watermarked, stored, logged."""
        at = time.time()
        publication = self._publication_of(subject.id)
        if publication is None or not publication.live:
            raise UserError(
                f"{subject.name}没有视频，无法截图 / {subject.name} has no video to capture",
                code="no_video",
            )
        frames = await self.keeper.frames(publication)
        lines = watermark.watermark_lines(
            at,
            self.case.case_no,
            (taker.name, str(taker.role)),
            (subject.name, str(subject.role)),
        )
        target = files.inspection_dir(
            self.root, self.case.case_no, self.inspection.id
        ) / files.screenshot_name(at, subject.id)
        loop = asyncio.get_running_loop()
        try:
            path, digest, width, height, size = await loop.run_in_executor(
                None, self._make, frames, lines, target
            )
        except OSError as exc:
            log.error("screenshot could not be stored: %s", exc)
            await self.archive.events.append(
                "screenshot.failed",
                actor=str(taker.id),
                case_id=self.case.id,
                inspection_id=self.inspection.id,
                data={"participant": subject.id, "error": str(exc)},
            )
            raise StorageError(
                "截图无法保存（存储空间不足或不可写），已记录 / the screenshot could not be "
                "stored (disk full or not writable); this was logged",
                code="storage",
            ) from exc
        recording_id, offset = self._recording_at(at)
        return await self.archive.evidence.add_screenshot(
            inspection_id=self.inspection.id,
            case_id=self.case.id,
            participant_id=subject.id,
            taker_id=taker.id,
            taken_at=clock.iso(datetime.fromtimestamp(at, UTC)),
            path=files.relative(self.root, path),
            width=width,
            height=height,
            size_bytes=size,
            sha256=digest,
            recording_id=recording_id,
            offset_s=None if offset is None else round(offset, 3),
            checklist_item_id=item_id,
            note=(note or "").strip()[:500],
        )

    def _make(self, frames: list[bytes], lines: list[str], target: Path) -> tuple[Any, ...]:
        picture = decode_latest(frames)
        data, width, height = watermark.render_jpeg(
            picture.to_image(), lines, self.font_path, self.quality
        )
        path = files.write_exclusive(target, data)
        return path, hashlib.sha256(data).hexdigest(), width, height, len(data)


def describe(shot: Screenshot, names: dict[int, str]) -> dict[str, Any]:
    """A screenshot as the `screenshot` message carries it (docs/protocol.md)."""
    return {
        "id": shot.id,
        "participant": shot.participant_id,
        "participant_name": names.get(shot.participant_id, ""),
        "taker": shot.taker_id,
        "taker_name": names.get(shot.taker_id, ""),
        "taken_at": shot.taken_at,
        "width": shot.width,
        "height": shot.height,
        "sha256": shot.sha256,
        "offset_s": shot.offset_s,
        "item": shot.checklist_item_id,
        "note": shot.note,
    }

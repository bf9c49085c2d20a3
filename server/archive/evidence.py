"""Evidence files: recordings (composites and raw tracks, per segment) and screenshots.

A recording's row exists before its file does (state `recording`), so the recovery at start
finds every file a crash left unfinished; finishing or recovering it records its hash, size and
duration, with the event that says so, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound, UserError
from .db import Database, Row, writer


@dataclass(frozen=True)
class Recording:
    """One recorded file: a segment's composite or one participant's raw track."""

    id: int
    inspection_id: int
    case_id: int
    segment: int
    kind: str  # composite | raw
    participant_id: int | None
    track: str | None  # raw tracks: audio | video
    state: str  # recording | finished | interrupted | failed
    path: str  # relative to the recordings directory: the file to play
    original_path: str | None  # interrupted: the unfinished file, kept untouched
    started_at: str
    ended_at: str | None
    duration_s: float | None
    size_bytes: int | None
    frames: int | None
    sha256: str | None
    original_sha256: str | None
    note: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Recording:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class Screenshot:
    id: int
    inspection_id: int
    case_id: int
    participant_id: int  # whose video
    taker_id: int
    taken_at: str
    recording_id: int | None
    offset_s: float | None  # into that recording
    checklist_item_id: int | None
    note: str
    path: str
    width: int
    height: int
    size_bytes: int
    sha256: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Screenshot:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


def _closed_event(recording: Recording, why: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "recording": recording.id,
        "segment": recording.segment,
        "kind": recording.kind,
        "participant": recording.participant_id,
        "track": recording.track,
        "file": recording.path,
        "sha256": recording.sha256,
        "duration_s": recording.duration_s,
        "size_bytes": recording.size_bytes,
        "frames": recording.frames,
    }
    if recording.original_path is not None:
        data["original_file"] = recording.original_path
        data["original_sha256"] = recording.original_sha256
    if why:
        data["why"] = why
    return data


class EvidenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- recordings ------------------------------------------------------------------------------

    async def next_segment(self, inspection_id: int) -> int:
        value = await self._db.value(
            "SELECT COALESCE(MAX(segment), 0) FROM recordings WHERE inspection_id = ?",
            (inspection_id,),
        )
        return int(value) + 1

    @writer
    async def add_recording(
        self,
        *,
        inspection_id: int,
        case_id: int,
        segment: int,
        kind: str,
        path: str,
        started_at: str,
        participant_id: int | None = None,
        track: str | None = None,
    ) -> Recording:
        """A file the recorder is about to write (state `recording` until it is finalised)."""
        async with self._db.transaction() as tx:
            recording_id = await tx.insert(
                """INSERT INTO recordings (inspection_id, case_id, segment, kind, participant_id,
                       track, state, path, started_at, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'recording', ?, ?, ?)""",
                (
                    inspection_id,
                    case_id,
                    segment,
                    kind,
                    participant_id,
                    track,
                    path,
                    started_at,
                    clock.now_iso(),
                ),
            )
            await tx.event(
                "recording.started",
                actor="recorder",
                case_id=case_id,
                inspection_id=inspection_id,
                data={
                    "recording": recording_id,
                    "segment": segment,
                    "kind": kind,
                    "participant": participant_id,
                    "track": track,
                    "file": path,
                    "started_at": started_at,
                },
            )
        return await self.recording(recording_id)

    async def recording(self, recording_id: int) -> Recording:
        row = await self._db.one("SELECT * FROM recordings WHERE id = ?", (recording_id,))
        if row is None:
            raise NotFound(f"录像不存在 / no recording {recording_id}")
        return Recording.from_row(row)

    async def recordings(self, inspection_id: int) -> list[Recording]:
        rows = await self._db.all(
            "SELECT * FROM recordings WHERE inspection_id = ? ORDER BY segment, id",
            (inspection_id,),
        )
        return [Recording.from_row(row) for row in rows]

    async def unfinished(self) -> list[Recording]:
        """Files that were being written when the server stopped without finalising them."""
        rows = await self._db.all("SELECT * FROM recordings WHERE state = 'recording' ORDER BY id")
        return [Recording.from_row(row) for row in rows]

    async def knows_file(self, path: str) -> bool:
        """Whether a file under the recordings directory is registered (as played or kept)."""
        row = await self._db.one(
            "SELECT 1 FROM recordings WHERE path = ? OR original_path = ? LIMIT 1", (path, path)
        )
        return row is not None

    async def _close(
        self, recording_id: int, state: str, fields: dict[str, Any], event: str, why: str = ""
    ) -> Recording:
        columns = ", ".join(f"{name} = ?" for name in fields)
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE recordings SET state = ?, {columns} WHERE id = ? AND state = 'recording'",
                (state, *fields.values(), recording_id),
            )
            if changed != 1:
                raise UserError(f"录像已结束 / recording {recording_id} is not being written")
            row = await tx.row("SELECT * FROM recordings WHERE id = ?", (recording_id,))
            recording = Recording.from_row(row)
            await tx.event(
                event,
                actor="recorder",
                case_id=recording.case_id,
                inspection_id=recording.inspection_id,
                data=_closed_event(recording, why),
            )
        return recording

    @writer
    async def finish_recording(
        self,
        recording_id: int,
        *,
        path: str,
        sha256: str,
        size_bytes: int,
        duration_s: float,
        frames: int,
    ) -> Recording:
        """The file was finalised: its name, hash, size, duration and frame count."""
        return await self._close(
            recording_id,
            "finished",
            {
                "path": path,
                "sha256": sha256,
                "size_bytes": size_bytes,
                "duration_s": duration_s,
                "frames": frames,
                "ended_at": clock.now_iso(),
            },
            "recording.finished",
        )

    @writer
    async def interrupt_recording(
        self,
        recording_id: int,
        *,
        path: str,
        original_path: str | None,
        sha256: str | None,
        original_sha256: str | None,
        size_bytes: int | None,
        duration_s: float,
        frames: int,
        why: str,
    ) -> Recording:
        """The recorder stopped without finalising: what could be recovered, and why."""
        return await self._close(
            recording_id,
            "interrupted" if sha256 is not None else "failed",
            {
                "path": path,
                "original_path": original_path,
                "sha256": sha256,
                "original_sha256": original_sha256,
                "size_bytes": size_bytes,
                "duration_s": duration_s,
                "frames": frames,
                "note": why,
                "ended_at": clock.now_iso(),
            },
            "recording.interrupted" if sha256 is not None else "recording.lost",
            why,
        )

    # -- screenshots -----------------------------------------------------------------------------

    @writer
    async def add_screenshot(
        self,
        *,
        inspection_id: int,
        case_id: int,
        participant_id: int,
        taker_id: int,
        taken_at: str,
        path: str,
        width: int,
        height: int,
        size_bytes: int,
        sha256: str,
        recording_id: int | None = None,
        offset_s: float | None = None,
        checklist_item_id: int | None = None,
        note: str = "",
    ) -> Screenshot:
        async with self._db.transaction() as tx:
            shot_id = await tx.insert(
                """INSERT INTO screenshots (inspection_id, case_id, participant_id, taker_id,
                       taken_at, recording_id, offset_s, checklist_item_id, note, path, width,
                       height, size_bytes, sha256, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    inspection_id,
                    case_id,
                    participant_id,
                    taker_id,
                    taken_at,
                    recording_id,
                    offset_s,
                    checklist_item_id,
                    note,
                    path,
                    width,
                    height,
                    size_bytes,
                    sha256,
                    clock.now_iso(),
                ),
            )
            await tx.event(
                "screenshot.taken",
                actor=str(taker_id),
                case_id=case_id,
                inspection_id=inspection_id,
                data={
                    "screenshot": shot_id,
                    "participant": participant_id,
                    "taken_at": taken_at,
                    "file": path,
                    "sha256": sha256,
                    "width": width,
                    "height": height,
                    "recording": recording_id,
                    "offset_s": offset_s,
                    "checklist_item": checklist_item_id,
                    "note": note,
                },
            )
        return await self.screenshot(shot_id)

    async def screenshot(self, screenshot_id: int) -> Screenshot:
        row = await self._db.one("SELECT * FROM screenshots WHERE id = ?", (screenshot_id,))
        if row is None:
            raise NotFound(f"截图不存在 / no screenshot {screenshot_id}")
        return Screenshot.from_row(row)

    async def screenshots(self, inspection_id: int) -> list[Screenshot]:
        rows = await self._db.all(
            "SELECT * FROM screenshots WHERE inspection_id = ? ORDER BY id", (inspection_id,)
        )
        return [Screenshot.from_row(row) for row in rows]

"""Unfinished recordings: what a crash, a kill or a full disk left behind, made playable.

Every file the recorder writes has an archive row in state `recording` until it is finalised.
After a crash (found at the next start) or when a recorder process dies (found at once), each
such file is remuxed: every packet that can still be read goes into a clean file beside the
original, `….recovered.mp4`, and the original stays untouched. The row becomes `interrupted`
with the recovered file's real duration and hash (and the original's hash), or `failed` when
nothing could be read; the event log says which and why.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from server import clock
from server.archive import ArchiveStore, Recording
from server.errors import NotFound

from . import files
from .writer import probe, remux_playable

log = logging.getLogger(__name__)

AFTER_CRASH = "服务器在录制中停止（崩溃或被终止） / the server stopped while recording"


@dataclass(frozen=True)
class Recovered:
    path: str  # the file to play: the recovered one, or the original when nothing remuxed
    original_path: str | None
    sha256: str | None
    original_sha256: str | None
    size_bytes: int | None
    duration_s: float
    frames: int
    why: str


def recover_file(root: Path, stored: str, why: str) -> Recovered:
    """Remux the readable part of one unfinished file (blocking: run it in an executor)."""
    try:
        temp = files.resolve_inside(root, stored)
    except ValueError as exc:
        return Recovered(stored, None, None, None, None, 0.0, 0, f"{why}; {exc}")
    if not temp.exists():
        return Recovered(stored, None, None, None, None, 0.0, 0, f"{why}; 文件不存在 / no file")
    original_sha = files.sha256_file(temp)
    original_size = temp.stat().st_size
    target: Path | None = None
    try:
        target = files.create_exclusive(files.recovered_path(temp))
        stats = remux_playable(temp, target)
        if stats.duration_s <= 0:
            raise ValueError("没有可播放的内容 / nothing playable")
    except Exception as exc:  # anything unreadable or unwritable is reported, never fatal
        if target is not None:
            target.unlink(missing_ok=True)
        # The unfinished original stays the record, with what can be read of it.
        try:
            readable = probe(temp)
        except Exception:  # not even a header: nothing to play
            readable = None
        return Recovered(
            stored,
            stored,
            original_sha if readable and readable.duration_s > 0 else None,
            original_sha,
            original_size,
            round(readable.duration_s, 3) if readable else 0.0,
            readable.frames if readable else 0,
            f"{why}; 未能生成可播放副本 / no playable copy: {files.describe_error(exc)}",
        )
    return Recovered(
        files.relative(root, target),
        stored,
        files.sha256_file(target),
        original_sha,
        target.stat().st_size,
        round(stats.duration_s, 3),
        stats.frames,
        why,
    )


async def recover(archive: ArchiveStore, root: Path, recording: Recording, why: str) -> Recording:
    """Recover one unfinished recording and record the outcome in the archive and the log."""
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, recover_file, root, recording.path, why)
    log.info(
        "recording %s (%s) recovered: %.1f s, %s",
        recording.id,
        recording.path,
        result.duration_s,
        result.why,
    )
    return await archive.evidence.interrupt_recording(
        recording.id,
        path=result.path,
        original_path=result.original_path,
        sha256=result.sha256,
        original_sha256=result.original_sha256,
        size_bytes=result.size_bytes,
        duration_s=result.duration_s,
        frames=result.frames,
        why=result.why,
    )


async def recover_unfinished(
    archive: ArchiveStore, root: Path, *, only_here: bool = False
) -> list[Recording]:
    """At start: every recording left unfinished by the previous run. With `only_here` (one of
    a province's nodes, sharing the archive) only those whose file is in this node's folder:
    the others are being written by another node, or wait for theirs to come back."""
    recovered = []
    for recording in await archive.evidence.unfinished():
        if only_here and not (root / recording.path).exists():
            continue
        recovered.append(await recover(archive, root, recording, AFTER_CRASH))
    return recovered


# 20261127-093000-s01-composite.recording.mp4, …-s01-p34-applicant-video.recording.webm
_NAME = re.compile(
    r"(?P<stamp>\d{8}-\d{6})-s(?P<segment>\d+)-"
    r"(?:composite|p(?P<participant>\d+)-[^-]+-(?P<track>audio|video))(?:-\d+)?"
    + re.escape(files.TEMP_MARK)
    + r"\.(?:mp4|webm)$"
)


async def recover_orphans(archive: ArchiveStore, root: Path) -> list[Recording]:
    """At start: unfinished files the archive never heard of (the server died between
    creating a raw track and registering it). They are registered, then recovered."""
    recovered = []
    candidates = await asyncio.get_running_loop().run_in_executor(
        None, lambda: sorted(root.glob(f"*/*/*{files.TEMP_MARK}.*")) if root.is_dir() else []
    )
    for path in candidates:
        stored = files.relative(root, path)
        match = _NAME.match(path.name)
        if match is None or not path.parent.name.isdigit():
            continue
        if await archive.evidence.knows_file(stored):
            continue
        try:
            inspection = await archive.inspections.get(int(path.parent.name))
        except NotFound:
            continue
        stamp = datetime.strptime(match["stamp"], "%Y%m%d-%H%M%S").replace(tzinfo=clock.SHANGHAI)
        participant = match["participant"]
        row = await archive.evidence.add_recording(
            inspection_id=inspection.id,
            case_id=inspection.case_id,
            segment=int(match["segment"]),
            kind="raw" if participant else "composite",
            path=stored,
            started_at=clock.iso(stamp),
            participant_id=int(participant) if participant else None,
            track=match["track"],
        )
        why = f"{AFTER_CRASH}; 文件未及登记 / the file had not been registered yet"
        recovered.append(await recover(archive, root, row, why))
    return recovered

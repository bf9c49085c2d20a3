"""Self-recorded site videos (SPEC §6): resumable uploads, their checks, and the review.

Uploads follow tus 1.0 (web/views/uploads.py speaks the protocol): an attempt's bytes go to the
staging folder as they arrive, so its offset is simply the staged file's size and an upload cut
mid-chunk resumes from the last byte written. Nothing half-uploaded is ever treated as
submitted: only an attempt whose every byte arrived is checked. The checks run off the event
loop (demuxing in a thread; the playable copy, poster and strip in a separate process); the
file then moves into the inspection's folder as evidence, accepted or not.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import multiprocessing
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePath
from typing import Any

from .. import clock
from ..archive import ArchiveStore, Case, Inspection, Screenshot
from ..archive.files import inspection_dir, make_dir, write_exclusive
from ..archive.uploads import StoredFile, Upload
from ..cases.catalog import Catalog, Shooting
from ..config import UploadSettings
from ..errors import BadRequest, KanyanError, NotFound, UserError
from ..states import InspectionState, Method
from ..storage import EvidenceFiles
from ..watermark import render_jpeg, watermark_lines
from . import processing
from .checks import Unreadable, check, inspect, requirements_of

log = logging.getLogger(__name__)

WRITE_CHUNK = 256 * 1024
TAKE_OVER_S = 10.0  # how long a newer request waits for the one it replaces to let go
CHECKSUMS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "md5": hashlib.md5}


class TooLarge(KanyanError):
    status = 413
    code = "too_large"


class Locked(KanyanError):
    """Another request is writing to this upload and did not let go in time."""

    status = 409
    code = "locked"


class ChecksumMismatch(KanyanError):
    status = 460
    code = "checksum_mismatch"


class Gone(KanyanError):
    status = 410
    code = "gone"


class _Replaced(Exception):
    """A newer request for the same upload took over."""


class _Writer:
    """The one request writing an upload at a time, and the way a newer one stops it."""

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.stop = asyncio.Event()

    async def take_over(self) -> asyncio.Lock:
        """The lock, once the request holding it (if any) has stopped and let go; Locked when
        it does not within TAKE_OVER_S (it is busy writing to a slow disk)."""
        if self.lock.locked():
            self.stop.set()
            try:
                await asyncio.wait_for(self.lock.acquire(), TAKE_OVER_S)
            except TimeoutError:
                raise Locked("该上传正在写入，请稍后重试 / this upload is being written") from None
            self.lock.release()
        self.stop.clear()
        return self.lock

    async def next(self, chunks: AsyncIterator[bytes]) -> bytes:
        """The next chunk, or _Replaced once a newer request asked this one to stop."""
        if self.stop.is_set():
            raise _Replaced
        reading = asyncio.ensure_future(anext(chunks))
        stopped = asyncio.ensure_future(self.stop.wait())
        try:
            await asyncio.wait((reading, stopped), return_when=asyncio.FIRST_COMPLETED)
        except BaseException:
            reading.cancel()
            raise
        finally:
            stopped.cancel()
        if not reading.done():
            reading.cancel()
            raise _Replaced
        return reading.result()


class VideoService:
    def __init__(
        self,
        archive: ArchiveStore,
        catalog: Catalog,
        settings: UploadSettings,
        staging: Path,
        root: Path,
        font_path: Path | None = None,
        files: EvidenceFiles | None = None,
    ) -> None:
        self.files = files or EvidenceFiles(root)
        self.archive = archive
        self.catalog = catalog
        self.settings = settings
        self.staging = staging
        self.root = root
        self._root = str(root.resolve())
        self.font_path = font_path
        self._writers: dict[str, _Writer] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._pool: ProcessPoolExecutor | None = None
        make_dir(staging)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def drain(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _process(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _relative(self, path: str | Path) -> str:
        """A path inside the recordings directory as the archive stores it (no I/O)."""
        return str(PurePath(path).relative_to(self._root))

    def staged(self, upload_id: str) -> Path:
        return self.staging / f"{upload_id}.part"

    # -- which inspection awaits a video ---------------------------------------------------------

    async def awaiting(self, case: Case) -> Inspection | None:
        """The case's self-recorded inspection that awaits the applicant's video, if any."""
        for inspection in await self.archive.inspections.of_case(case.id):
            if inspection.method == Method.VIDEO and inspection.state == InspectionState.SCHEDULED:
                return inspection
        return None

    # -- tus -------------------------------------------------------------------------------------

    async def create(
        self, case: Case, length: int, metadata: dict[str, str], *, address: str, agent: str
    ) -> Upload:
        """A new attempt (tus creation). The cap and the case's quota are checked first."""
        inspection = await self.awaiting(case)
        if inspection is None:
            raise UserError(
                "本案目前不需要上传视频 / this case does not await a video now",
                code="not_awaiting_video",
            )
        if length > self.settings.max_bytes:
            raise TooLarge(
                f"视频不能超过 {self.settings.max_bytes / 1024**3:.1f} GB，请用较低画质重新拍摄 / "
                f"the video is over {self.settings.max_bytes} bytes",
            )
        attempts = await self.archive.uploads.of_case(case.id)
        used = sum(u.length for u in attempts if u.state not in ("cancelled", "expired"))
        if len(attempts) >= self.settings.max_attempts or used + length > self.settings.quota_bytes:
            raise TooLarge(
                "上传次数或总量已达上限，请联系审批窗口 / this case's upload quota is used up; "
                "contact the approval desk",
                code="quota",
            )
        upload_id = secrets.token_urlsafe(16)
        fd = os.open(self.staged(upload_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        expires = clock.iso(clock.now() + timedelta(hours=self.settings.stale_hours))
        return await self.archive.uploads.create(
            upload_id,
            inspection.id,
            length,
            filename=metadata.get("filename", "")[:200],
            filetype=metadata.get("filetype", "")[:100],
            address=address[:100],
            agent=agent[:300],
            expires_at=expires,
        )

    async def find(self, case: Case, upload_id: str) -> Upload:
        """An attempt of this case (another case's id is not found, whatever it is)."""
        try:
            upload = await self.archive.uploads.get(upload_id)
        except NotFound:
            raise NotFound("上传不存在 / no such upload", code="no_upload") from None
        if upload.case_id != case.id:
            raise NotFound("上传不存在 / no such upload", code="no_upload")
        return upload

    async def offset(self, upload: Upload, settle: bool = False) -> int:
        """Bytes received so far. `settle` (tus HEAD, which a client sends before resuming):
        a request still writing is the client's previous one, cut without the server knowing
        yet; it is stopped first, keeping what arrived, so the offset given is final."""
        if settle:
            writer = self._writers.get(upload.id)
            if writer is not None and writer.lock.locked():
                async with await writer.take_over():
                    pass
        if upload.state in ("cancelled", "expired"):
            raise Gone("该上传已失效，请重新上传 / this upload is gone; start again")
        if upload.state != "uploading":
            return upload.length
        try:
            return await asyncio.to_thread(lambda: self.staged(upload.id).stat().st_size)
        except FileNotFoundError:
            raise Gone("该上传已失效，请重新上传 / this upload is gone; start again") from None

    async def append(
        self,
        upload: Upload,
        offset: int,
        chunks: AsyncIterator[bytes],
        checksum: tuple[str, bytes] | None = None,
    ) -> int:
        """Write a PATCH's bytes at `offset`; the new offset. What arrives before a cut stays.
        A PATCH still running for the same upload is the client's previous one: it is stopped
        (as a cut) and this one goes on once it let go (tusd does the same)."""
        writer = self._writers.setdefault(upload.id, _Writer())
        async with await writer.take_over():
            if upload.state != "uploading":
                raise Gone("该上传已结束 / this upload is over")
            current = await self.offset(upload)
            if offset != current:
                raise UserError(
                    f"偏移量不符：服务器已有 {current} 字节 / Upload-Offset {offset} does not "
                    f"match {current}",
                    code="offset",
                )
            digest = CHECKSUMS[checksum[0]]() if checksum else None
            path = self.staged(upload.id)
            written = current
            handle = await asyncio.to_thread(open, path, "r+b")
            try:
                await asyncio.to_thread(handle.seek, current)
                buffer = bytearray()
                iterator = aiter(chunks)
                cut = False
                while True:
                    try:
                        chunk = await writer.next(iterator)
                    except StopAsyncIteration:
                        break
                    except (ConnectionError, OSError, asyncio.IncompleteReadError, _Replaced):
                        cut = True  # the network dropped: keep what arrived, the client resumes
                        break
                    if written + len(buffer) + len(chunk) > upload.length:
                        raise TooLarge("超出声明的文件大小 / more bytes than Upload-Length")
                    if digest is not None:
                        digest.update(chunk)
                    buffer += chunk
                    if len(buffer) >= WRITE_CHUNK:
                        await asyncio.to_thread(self._write, handle, bytes(buffer))
                        written += len(buffer)
                        buffer.clear()
                if buffer:
                    await asyncio.to_thread(self._write, handle, bytes(buffer))
                    written += len(buffer)
                if cut and checksum:
                    # A chunk that cannot be verified whole is not kept.
                    await asyncio.to_thread(handle.truncate, current)
                    written = current
                if not cut and checksum and digest is not None and digest.digest() != checksum[1]:
                    # The chunk is discarded: the client sends it again.
                    await asyncio.to_thread(handle.truncate, current)
                    written = current
                    raise ChecksumMismatch("校验和不符，请重新上传该段 / checksum mismatch")
            finally:
                await asyncio.to_thread(handle.close)
        if written == upload.length:
            self._writers.pop(upload.id, None)  # nothing more will be written to it
            self._spawn(self._finish(upload.id))
        return written

    @staticmethod
    def _write(handle: Any, data: bytes) -> None:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())

    async def terminate(self, upload: Upload) -> None:
        """tus termination: the attempt is cancelled and its bytes deleted."""
        if upload.state != "uploading":
            raise Gone("该上传已结束 / this upload is over")
        self._writers.pop(upload.id, None)
        await self.archive.uploads.end(upload.id, "cancelled", "terminated", actor="applicant")
        await asyncio.to_thread(self.staged(upload.id).unlink, True)

    async def expire_stale(self) -> int:
        """Attempts left unfinished past their expiry: ended, bytes deleted."""
        stale = await self.archive.uploads.stale(clock.now_iso())
        for upload in stale:
            await self.archive.uploads.end(
                upload.id, "expired", "not finished in time", actor="system"
            )
            await asyncio.to_thread(self.staged(upload.id).unlink, True)
        return len(stale)

    async def resume_checks(self) -> None:
        """At start: attempts a stopped server was checking are checked again."""
        for upload in await self.archive.uploads.in_state("checking"):
            self._spawn(self._check(upload))

    # -- checks ----------------------------------------------------------------------------------

    async def _finish(self, upload_id: str) -> None:
        upload = await self.archive.uploads.complete(upload_id)
        await self._check(upload)

    async def _check(self, upload: Upload) -> None:
        staged = self.staged(upload.id)
        case = await self.archive.cases.get(upload.case_id)
        inspection = await self.archive.inspections.get(upload.inspection_id)
        directory = inspection_dir(self.root, case.case_no, inspection.id)
        attempts = [u.id for u in await self.archive.uploads.of_case(case.id)]
        stem = f"{case.case_no}-{inspection.seq}-video-{attempts.index(upload.id) + 1}"
        suffix = Path(upload.filename).suffix.lower()[:8] if upload.filename else ""
        try:
            facts = await asyncio.to_thread(inspect, staged)
            wanted = requirements_of(await self.shooting(inspection))
            failures = [
                {"code": f.code, "message": f.message}
                for f in check(facts, wanted, uploaded_at=clock.parse(upload.created_at))
            ]
            summary = _facts(facts)
        except Unreadable as exc:
            facts = None
            failures = [{"code": "unreadable", "message": f"{exc}。请上传手机拍摄的视频文件。"}]
            summary = {}
        make_dir(directory)
        original = await asyncio.to_thread(_move, staged, directory / f"{stem}{suffix or '.mp4'}")
        files = [
            StoredFile(
                "upload",
                self._relative(original),
                await asyncio.to_thread(_sha256, original),
                original.stat().st_size,
                facts.duration_s if facts else None,
                facts.frames if facts else None,
            )
        ]
        if not failures and facts is not None:
            loop = asyncio.get_running_loop()
            try:
                made = await loop.run_in_executor(
                    self._process(),
                    processing.prepare,
                    str(original),
                    str(directory),
                    stem,
                    not facts.browser_playable,
                    facts.duration_s,
                )
            except Exception as exc:
                log.exception("video %s could not be prepared", upload.id)
                failures = [
                    {
                        "code": "unplayable",
                        "message": f"视频无法转换为可播放格式（{exc.__class__.__name__}），请换用"
                        "手机自带相机重新拍摄。",
                    }
                ]
                made = []
            for kind, item in made:
                files.append(
                    StoredFile(
                        kind,
                        self._relative(item.path),
                        item.sha256,
                        item.size,
                        item.duration_s,
                        item.frames,
                    )
                )
        await self.archive.uploads.checked(upload.id, files=files, facts=summary, failures=failures)

    async def shooting(self, inspection: Inspection) -> Shooting:
        """The shooting requirements the inspection's video is checked against: those of the
        catalog version it was scheduled with."""
        version_id = await self.archive.inspections.catalog_version(inspection.id)
        if version_id is not None:
            return (await self.catalog.version(version_id)).item.shooting
        case = await self.archive.cases.get(inspection.case_id)
        return (await self.catalog.current(case.item_code)).item.shooting

    # -- review ----------------------------------------------------------------------------------

    async def under_review(self, inspection: Inspection) -> Upload:
        for upload in reversed(await self.archive.uploads.of_case(inspection.case_id)):
            if upload.inspection_id == inspection.id and upload.state == "accepted":
                return upload
        raise UserError("没有待审查的视频 / no accepted video to review", code="no_video")

    async def screenshot(
        self,
        inspection: Inspection,
        at_s: float,
        *,
        taker: tuple[int, str, str],
        subject: tuple[int, str],
        item_id: int | None,
        note: str = "",
    ) -> Screenshot:
        """The exact frame shown at `at_s` in the original file, at its own resolution,
        watermarked, hashed, attached to the point being verified."""
        if self.font_path is None:
            raise UserError("截图功能不可用 / screenshots are not available")
        upload = await self.under_review(inspection)
        original = await self.archive.evidence.recording(upload.recording_id or 0)
        if not 0 <= at_s <= (original.duration_s or 0) + 0.5:
            raise BadRequest("时间超出视频长度 / the instant is outside the video", code="invalid")
        case = await self.archive.cases.get(inspection.case_id)
        try:
            source = await self.files.fetch(original.path)
        except FileNotFoundError:
            raise NotFound("视频文件不存在 / the video file is missing") from None
        taker_id, taker_name, taker_role = taker
        lines = watermark_lines(
            time.time(), case.case_no, (taker_name, taker_role), (subject[1], "applicant")
        )
        lines[0] += f"  视频 {_clock(at_s)}"
        image = await asyncio.to_thread(processing.frame_image, source, at_s)
        data, width, height = await asyncio.to_thread(
            render_jpeg, image, lines, str(self.font_path), 92
        )
        target = inspection_dir(self.root, case.case_no, inspection.id) / (
            f"{case.case_no}-{inspection.seq}-video-shot-{int(at_s * 1000):09d}.jpg"
        )
        path = await asyncio.to_thread(write_exclusive, target, data)
        return await self.archive.evidence.add_screenshot(
            inspection_id=inspection.id,
            case_id=case.id,
            participant_id=subject[0],
            taker_id=taker_id,
            taken_at=clock.now_iso(),
            path=self._relative(path),
            width=width,
            height=height,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            recording_id=original.id,
            offset_s=round(at_s, 3),
            checklist_item_id=item_id,
            note=note[:500],
        )


def _clock(seconds: float) -> str:
    total, millis = int(seconds), int(seconds * 1000) % 1000
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}.{millis:03d}"


def _move(staged: Path, target: Path) -> Path:
    """The staged bytes become evidence, never overwriting a file."""
    candidate = target
    for attempt in range(2, 100):
        try:
            os.link(staged, candidate)
            break
        except FileExistsError:
            candidate = target.with_name(f"{target.stem}-{attempt}{target.suffix}")
        except OSError:  # another filesystem: copy, then remove
            shutil.copyfile(staged, candidate)
            break
    os.chmod(candidate, 0o600)
    staged.unlink(missing_ok=True)
    return candidate


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _facts(facts: Any) -> dict[str, Any]:
    return {
        "container": facts.container,
        "video_codec": facts.video_codec,
        "audio_codec": facts.audio_codec,
        "width": facts.width,
        "height": facts.height,
        "rotation": facts.rotation,
        "duration_s": round(facts.duration_s, 3),
        "frames": facts.frames,
        "fps": round(facts.fps, 2),
        "created_at": facts.created_at,
    }


def decode_checksum(header: str | None) -> tuple[str, bytes] | None:
    """tus checksum extension: `Upload-Checksum: <algorithm> <base64 digest>`."""
    if not header:
        return None
    algorithm, _, value = header.strip().partition(" ")
    if algorithm not in CHECKSUMS:
        raise BadRequest("不支持的校验算法 / unsupported checksum algorithm", code="checksum")
    try:
        return algorithm, base64.b64decode(value, validate=True)
    except ValueError:
        raise BadRequest("校验和格式错误 / malformed checksum", code="checksum") from None


def parse_metadata(header: str | None) -> dict[str, str]:
    """tus `Upload-Metadata`: comma-separated `key base64value` pairs."""
    found: dict[str, str] = {}
    for pair in (header or "").split(","):
        key, _, value = pair.strip().partition(" ")
        if not key:
            continue
        try:
            found[key] = base64.b64decode(value).decode("utf-8", "replace") if value else ""
        except ValueError:
            raise BadRequest("Upload-Metadata 格式错误 / malformed Upload-Metadata") from None
    return found


def expires_header(upload: Upload) -> str:
    """RFC 7231 date of when an unfinished attempt is removed."""
    moment = clock.parse(upload.expires_at).astimezone(UTC)
    return datetime.strftime(moment, "%a, %d %b %Y %H:%M:%S GMT")

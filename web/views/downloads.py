"""Evidence files over HTTP: seekable in the browser and resumable (byte ranges, RFC 9110 §14),
named for whoever keeps them, read only inside the recordings folder by the path the archive
holds, and every transfer in the event log (`file.downloaded`: who, which file, which range).

aiohttp's FileResponse sends the bytes (with sendfile). Where it answers differently from RFC
9110, the range is chosen here first and it gets a request that says what was chosen:
- a range unit other than `bytes` is ignored (§14.2 MUST; FileResponse answers 416);
- If-Range with an entity tag is compared with the file's (FileResponse knows only dates, and
  would send a range of a file that changed); a date must equal Last-Modified (§13.1.5);
- several ranges are coalesced when they overlap or nearly touch (§15.3.7.2); ranges that stay
  apart are ignored and the whole file sent with 200, as §14.2 allows (FileResponse: 416);
- `bytes=-0` is unsatisfiable (FileResponse sends the whole file as a 206).
"""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from aiohttp import hdrs, web
from aiohttp.abc import AbstractStreamWriter
from multidict import CIMultiDict

from server import clock
from server.archive import Case, Inspection, Recording
from server.archive.files import safe_component
from server.errors import NotFound
from server.services import ARCHIVE, EVIDENCE
from server.storage import EvidenceFiles

from ..pages import int_param
from ..staff import actor_of
from .access import archive_page, archive_reader

RANGE_GAP = 80  # bytes: ranges closer than a multipart part's headers are sent as one
_DIGITS = 18  # larger positions are past any file (and int() of 4300+ digits raises)
_SPEC = re.compile(r"(\d*)-(\d*)")


@dataclass(frozen=True)
class Chosen:
    status: int  # 200 the whole file, 206 one range, 416 nothing satisfiable
    first: int = 0
    last: int = -1  # inclusive


WHOLE = Chosen(200)
UNSATISFIABLE = Chosen(416)


def _position(digits: str) -> int:
    return int(digits) if len(digits) <= _DIGITS else 10**_DIGITS


def _validator_matches(value: str, etag: str, modified: int) -> bool:
    """If-Range (§13.1.5): a strong entity tag equal to the file's, or exactly its date."""
    value = value.strip()
    if value.startswith("W/"):
        return False  # a weak tag never validates a range
    if value.startswith('"'):
        return value == etag
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return False
    return when is not None and int(when.timestamp()) == modified


def choose_range(
    header: str | None, if_range: str | None, size: int, etag: str, modified: int
) -> Chosen:
    """What to send for a Range header (and If-Range) of a file of `size` bytes."""
    if header is None:
        return WHOLE
    if if_range is not None and not _validator_matches(if_range, etag, modified):
        return WHOLE  # the client's copy is of another version: it gets this one whole
    unit, equals, specs = header.partition("=")
    if not equals or unit.strip().lower() != "bytes":
        return WHOLE
    spans: list[tuple[int, int]] = []
    for spec in specs.split(","):
        spec = spec.strip()
        if not spec:
            continue  # empty list elements are allowed (§5.6.1)
        match = _SPEC.fullmatch(spec)
        if match is None or not (match[1] or match[2]):
            return UNSATISFIABLE  # an invalid ranges-specifier is rejected (§14.2)
        if match[1]:
            first = _position(match[1])
            last = _position(match[2]) if match[2] else size - 1
            if match[2] and last < first:
                return UNSATISFIABLE  # invalid (§14.1.1), not merely past the end
            if first < size:
                spans.append((first, min(last, size - 1)))
        elif (suffix := _position(match[2])) > 0 and size > 0:
            spans.append((max(0, size - suffix), size - 1))
    if not spans:
        return UNSATISFIABLE
    spans.sort()
    first, last = spans[0]
    for start, end in spans[1:]:
        if start > last + 1 + RANGE_GAP:
            return WHOLE  # apart: no multipart/byteranges, the whole file instead
        last = max(last, end)
    return Chosen(206, first, last)


@dataclass(frozen=True)
class Transfer:
    status: int
    offset: int
    count: int
    content_range: str  # as sent, e.g. "bytes 0-99/1234"; empty for the whole file
    asked: str  # the Range header as received


class EvidenceResponse(web.FileResponse):
    """A FileResponse that answers ranges as `choose_range` decides and reports each transfer
    (`on_send`) once its status and range are settled and before its first byte."""

    def __init__(
        self,
        path: Path,
        *,
        headers: dict[str, str],
        on_send: Callable[[Transfer], Awaitable[None]],
    ) -> None:
        super().__init__(path, headers=headers)
        self._on_send = on_send
        self._asked = ""

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        loop = asyncio.get_running_loop()
        try:
            st = await loop.run_in_executor(None, self._path.stat)
        except OSError:
            return await super().prepare(request)  # FileResponse answers 404 or 403
        # The validators FileResponse sends: ETag from mtime and size, Last-Modified rounded up.
        etag = f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
        self._asked = request.headers.get(hdrs.RANGE, "")
        chosen = choose_range(
            request.headers.get(hdrs.RANGE),
            request.headers.get(hdrs.IF_RANGE),
            st.st_size,
            etag,
            math.ceil(st.st_mtime),
        )
        if chosen.status == 416:
            self.set_status(416)
            self.headers[hdrs.CONTENT_RANGE] = f"bytes */{st.st_size}"
            self.headers[hdrs.ACCEPT_RANGES] = "bytes"
            self.content_length = 0
            return await web.StreamResponse.prepare(self, request)
        headers = CIMultiDict(request.headers)
        headers.popall(hdrs.RANGE, None)
        headers.popall(hdrs.IF_RANGE, None)
        if chosen.status == 206:
            headers[hdrs.RANGE] = f"bytes={chosen.first}-{chosen.last}"
        return await super().prepare(request.clone(headers=headers))

    async def _sendfile(
        self, request: web.BaseRequest, fobj: IO[Any], offset: int, count: int
    ) -> AbstractStreamWriter:
        # FileResponse's last step before the bytes (aiohttp 3.9–3.14; pinned by
        # tests/integration/test_downloads.py): status and Content-Range are final here, and
        # conditional requests answered 304 or 412 never come this far.
        await self._on_send(
            Transfer(
                self.status, offset, count, self.headers.get(hdrs.CONTENT_RANGE, ""), self._asked
            )
        )
        return await super()._sendfile(request, fobj, offset, count)


async def evidence_file(request: web.Request, stored: str) -> Path:
    """A file the archive names, in the recordings folder (brought back from the object store
    if it was offloaded); NotFound when it is nowhere."""
    try:
        return await request.app[EVIDENCE].fetch(stored)
    except (FileNotFoundError, ValueError):
        raise NotFound("文件不存在 / no such file") from None


CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".pdf": "application/pdf",
}
# Kind of file → (English, Chinese) in download names.
KIND_NAMES = {
    "composite": ("composite", "合成录像"),
    "raw": ("raw", "原始音视频"),
    "original": ("unfinished", "中断原始文件"),
    "upload": ("upload", "自行录制视频"),
    "playable": ("playable", "播放副本"),
    "poster": ("poster", "封面"),
    "strip": ("strip", "缩略图"),
    "screenshot": ("screenshot", "截图"),
}


def disposition(
    case: Case,
    inspection: Inspection,
    at: str,
    kind: str,
    detail: str,
    stored: str,
    *,
    inline: bool,
) -> str:
    """`attachment; filename=…` saying the case, the inspection and the time (Beijing), with
    the Chinese name for browsers that read RFC 5987."""
    number = safe_component(case.case_no)
    moment = clock.shanghai(at, "%Y%m%d-%H%M%S")
    ext = safe_component(Path(stored).suffix.lstrip(".") or "bin")
    en, zh = KIND_NAMES.get(kind, (kind, kind))
    ascii_name = f"{number}-inspection{inspection.seq}-{moment}-{en}{detail}.{ext}"
    chinese = f"{number}-第{inspection.seq}次勘验-{moment}-{zh}{detail}.{ext}"
    how = "inline" if inline else "attachment"
    return f"{how}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(chinese)}"


async def serve(
    request: web.Request,
    stored: str,
    *,
    case_id: int,
    inspection_id: int,
    what: dict[str, Any],
    headers: dict[str, str],
) -> web.StreamResponse:
    """A file of the archive, its every transfer logged with who asked and which range: from
    the recordings folder, or proxied from the object store once it was offloaded there."""
    files = request.app[EVIDENCE]
    try:
        local = files.is_local(stored)
    except ValueError:
        raise NotFound("文件不存在 / no such file") from None
    path = files.path(stored) if local or files.remote is None else None
    archive = request.app[ARCHIVE]
    actor = actor_of(request)

    async def log(transfer: Transfer) -> None:
        await archive.events.append(
            "file.downloaded",
            actor=actor,
            case_id=case_id,
            inspection_id=inspection_id,
            data={
                **what,
                "file": stored,
                "status": transfer.status,
                "range": transfer.content_range or "whole",
                "bytes": transfer.count,
                "asked": transfer.asked[:200],
            },
        )

    content_type = CONTENT_TYPES.get(Path(stored).suffix.lower())
    base = {"Cache-Control": "private, no-store"}
    if content_type:
        base["Content-Type"] = content_type
    if path is None:
        sha256 = str(what.get("sha256") or "")
        return await serve_remote(
            request, files, stored, sha256, headers={**base, **headers}, on_send=log
        )
    if not path.is_file():
        raise NotFound("文件不存在 / no such file")
    return EvidenceResponse(path, headers={**base, **headers}, on_send=log)


async def serve_remote(
    request: web.Request,
    files: EvidenceFiles,
    stored: str,
    sha256: str,
    *,
    headers: dict[str, str],
    on_send: Callable[[Transfer], Awaitable[None]],
) -> web.StreamResponse:
    size = await files.size(stored)
    if size is None:
        raise NotFound("文件不存在 / no such file")
    # The archive's hash is the strongest validator a file can have.
    etag = f'"{sha256[:32]}"'
    asked = request.headers.get(hdrs.RANGE, "")
    chosen = choose_range(
        request.headers.get(hdrs.RANGE), request.headers.get(hdrs.IF_RANGE), size, etag, -1
    )
    response = web.StreamResponse(headers={**headers, "Accept-Ranges": "bytes", "ETag": etag})
    if request.headers.get(hdrs.IF_NONE_MATCH) == etag and chosen.status == 200:
        response.set_status(304)
        await response.prepare(request)
        return response
    if chosen.status == 416:
        response.set_status(416)
        response.headers[hdrs.CONTENT_RANGE] = f"bytes */{size}"
        response.content_length = 0
        await response.prepare(request)
        return response
    first, last = (chosen.first, chosen.last) if chosen.status == 206 else (0, size - 1)
    count = max(0, last - first + 1)
    content_range = f"bytes {first}-{last}/{size}" if chosen.status == 206 else ""
    response.set_status(chosen.status)
    if content_range:
        response.headers[hdrs.CONTENT_RANGE] = content_range
    response.content_length = count
    await on_send(Transfer(chosen.status, first, count, content_range, asked))
    await response.prepare(request)
    if request.method != "HEAD" and count:
        async for chunk in files.chunks(stored, first, last):
            await response.write(chunk)
    await response.write_eof()
    return response


def wants_download(request: web.Request) -> bool:
    return request.query.get("download") == "1"


# -- recordings --------------------------------------------------------------------------------


def recording_detail(recording: Recording) -> str:
    if recording.kind in ("composite", "raw"):
        detail = f"-s{recording.segment:02d}"
        if recording.participant_id is not None:
            detail += f"-p{recording.participant_id}"
        return detail + (f"-{recording.track}" if recording.track else "")
    return f"-{recording.id}"


async def _recording(request: web.Request) -> tuple[Case, Inspection, Recording]:
    archive = request.app[ARCHIVE]
    inspection = await archive.inspections.get(int_param(request.match_info["inspection"]))
    await archive_reader(request, inspection.case_id)
    recording = await archive.evidence.recording(int_param(request.match_info["recording"]))
    if recording.inspection_id != inspection.id:
        raise NotFound("录像不存在 / no such recording in this inspection")
    return await archive.cases.get(inspection.case_id), inspection, recording


@archive_page
async def recording_file(request: web.Request) -> web.StreamResponse:
    """A recording as it plays: a composite, a raw track, or a self-recorded video's files."""
    case, inspection, recording = await _recording(request)
    name = disposition(
        case,
        inspection,
        recording.started_at,
        recording.kind,
        recording_detail(recording),
        recording.path,
        inline=not wants_download(request),
    )
    return await serve(
        request,
        recording.path,
        case_id=case.id,
        inspection_id=inspection.id,
        what={"recording": recording.id, "kind": recording.kind, "sha256": recording.sha256},
        headers={"Content-Disposition": name},
    )


@archive_page
async def recording_original(request: web.Request) -> web.StreamResponse:
    """An interrupted recording's unfinished file, kept untouched beside the recovered copy."""
    case, inspection, recording = await _recording(request)
    if not recording.original_path or recording.original_path == recording.path:
        raise NotFound("此录像没有单独保存的原始文件 / this recording has no separate original")
    name = disposition(
        case,
        inspection,
        recording.started_at,
        "original",
        recording_detail(recording),
        recording.original_path,
        inline=False,
    )
    return await serve(
        request,
        recording.original_path,
        case_id=case.id,
        inspection_id=inspection.id,
        what={
            "recording": recording.id,
            "kind": "original",
            "sha256": recording.original_sha256,
        },
        headers={"Content-Disposition": name},
    )

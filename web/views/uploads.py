"""tus 1.0 (https://tus.io/protocols/resumable-upload): the applicant's resumable video upload,
under their status link: core, creation, termination, expiration and checksum (sha1, sha256,
md5). The status token in the path is the credential (no cookie), so no CSRF token is asked.

    OPTIONS /s/<token>/uploads          what this server supports
    POST    /s/<token>/uploads          a new attempt (Upload-Length, Upload-Metadata)
    HEAD    /s/<token>/uploads/<id>     its offset
    PATCH   /s/<token>/uploads/<id>     bytes at Upload-Offset (application/offset+octet-stream)
    DELETE  /s/<token>/uploads/<id>     cancel it
    GET     /s/<token>/uploads/<id>     its state and the checks' results, as JSON (not tus)
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from server.errors import BadRequest, KanyanError, UnsupportedMediaType
from server.services import SETTINGS, STATUS_LINKS, VIDEO
from server.video.service import decode_checksum, expires_header, parse_metadata

TUS_VERSION = "1.0.0"
EXTENSIONS = "creation,termination,expiration,checksum"
PATH = re.compile(r"^/s/[^/]+/uploads(/[^/]+)?$")


class VersionMismatch(KanyanError):
    status = 412
    code = "tus_version"


def is_upload_path(path: str) -> bool:
    return PATH.match(path) is not None


def _headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _require_tus(request: web.Request) -> None:
    if request.headers.get("Tus-Resumable") != TUS_VERSION:
        error = VersionMismatch(f"仅支持 tus {TUS_VERSION} / only tus {TUS_VERSION} is supported")
        error.headers = {"Tus-Version": TUS_VERSION}
        raise error


def _number(request: web.Request, header: str) -> int:
    value = request.headers.get(header, "")
    if not (value.isascii() and value.isdigit()) or len(value) > 15:
        raise BadRequest(f"{header} 缺失或无效 / {header} is missing or invalid", code="tus_header")
    return int(value)


async def _case(request: web.Request) -> Any:
    return await request.app[STATUS_LINKS].authorise(request.match_info["token"])


async def options(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS].uploads
    return web.Response(
        status=204,
        headers=_headers(
            **{
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": EXTENSIONS,
                "Tus-Max-Size": str(settings.max_bytes),
                "Tus-Checksum-Algorithm": "sha1,sha256,md5",
            }
        ),
    )


async def create(request: web.Request) -> web.Response:
    _require_tus(request)
    case = await _case(request)
    if "Upload-Defer-Length" in request.headers:
        raise BadRequest("请先给出文件大小 / Upload-Length is required", code="tus_header")
    length = _number(request, "Upload-Length")
    metadata = parse_metadata(request.headers.get("Upload-Metadata"))
    upload = await request.app[VIDEO].create(
        case,
        length,
        metadata,
        address=request.remote or "",
        agent=request.headers.get("User-Agent", ""),
    )
    location = f"/s/{request.match_info['token']}/uploads/{upload.id}"
    return web.Response(
        status=201,
        headers=_headers(Location=location, **{"Upload-Expires": expires_header(upload)}),
    )


async def head(request: web.Request) -> web.Response:
    _require_tus(request)
    video = request.app[VIDEO]
    upload = await video.find(await _case(request), request.match_info["upload"])
    offset = await video.offset(upload, settle=True)
    headers = _headers(**{"Upload-Offset": str(offset), "Upload-Length": str(upload.length)})
    if upload.state == "uploading":
        headers["Upload-Expires"] = expires_header(upload)
    return web.Response(status=200, headers=headers)


async def patch(request: web.Request) -> web.Response:
    _require_tus(request)
    if request.content_type != "application/offset+octet-stream":
        raise UnsupportedMediaType(
            "Content-Type 应为 application/offset+octet-stream / send "
            "application/offset+octet-stream"
        )
    video = request.app[VIDEO]
    upload = await video.find(await _case(request), request.match_info["upload"])
    offset = _number(request, "Upload-Offset")
    checksum = decode_checksum(request.headers.get("Upload-Checksum"))
    written = await video.append(upload, offset, request.content.iter_chunked(64 * 1024), checksum)
    return web.Response(
        status=204,
        headers=_headers(
            **{"Upload-Offset": str(written), "Upload-Expires": expires_header(upload)}
        ),
    )


async def delete(request: web.Request) -> web.Response:
    _require_tus(request)
    video = request.app[VIDEO]
    upload = await video.find(await _case(request), request.match_info["upload"])
    await video.terminate(upload)
    return web.Response(status=204, headers=_headers())


async def status(request: web.Request) -> web.Response:
    """The attempt as the upload page shows it: uploading, checking, accepted or rejected with
    each failure in plain words."""
    video = request.app[VIDEO]
    upload = await video.find(await _case(request), request.match_info["upload"])
    offset = await video.offset(upload) if upload.state == "uploading" else upload.length
    return web.json_response(
        {
            "id": upload.id,
            "state": upload.state,
            "offset": offset,
            "length": upload.length,
            "failures": upload.failures,
            "facts": upload.facts,
        },
        headers={"Cache-Control": "no-store"},
    )

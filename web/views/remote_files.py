"""Evidence files that live only in the object store, served through the server: the same role
check, the same ranges (`choose_range`), the same `file.downloaded` event as a local file, the
bytes proxied from the store range by range (no presigned URL leaves the server, so every
transfer stays logged and the bucket stays private).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from server.storage import EvidenceFiles

from .downloads import Transfer, choose_range


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
        from server.errors import NotFound

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

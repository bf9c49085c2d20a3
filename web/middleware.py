"""The one place where errors become responses, and headers every response carries."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from server.errors import KanyanError
from server.services import CLUSTER

from .render import render
from .views.uploads import is_upload_path

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Kept from an aiohttp HTTP error when it is rendered: 405 must name the allowed methods.
REFUSAL_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")


def wants_json(request: web.Request) -> bool:
    return (
        request.path.startswith("/api/")
        or is_upload_path(request.path)
        or request.headers.get("Accept", "").startswith("application/json")
    )


def error_response(
    request: web.Request, status: int, code: str, message: str, details: object = None
) -> web.Response:
    """The error page, or for the API and JSON clients one shape:
    `{"error": {"code", "message", "fields"?}}` (`fields`: each bad input and what is wrong)."""
    if not wants_json(request):
        return render(
            request,
            "error.html",
            {"status": status, "code": code, "message": message},
            status=status,
        )
    body: dict[str, object] = {"code": code, "message": message}
    if isinstance(details, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in details.items()
    ):
        body["fields"] = details
    response = web.json_response({"error": body}, status=status)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="kanyan"'
    return response


@web.middleware
async def error_pages(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except KanyanError as exc:
        response = error_response(request, exc.status, exc.code, exc.message, exc.details)
        response.headers.update(exc.headers or {})
        return response
    except web.HTTPException as exc:
        if exc.status < 400 or exc.empty_body:
            raise
        if exc.status == 404:
            return error_response(
                request, 404, "not_found", "页面不存在 / there is no page at this address"
            )
        response = error_response(request, exc.status, "http", exc.text or exc.reason)
        for name in REFUSAL_HEADERS:  # what the client needs to act on the refusal
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
    except Exception:
        log.exception("unhandled error on %s", request.path)
        return error_response(
            request,
            500,
            "internal",
            "服务器内部错误，已记录。请稍后重试。 / Internal error, logged; try again shortly.",
        )


# Scripts and styles only from Kanyan's own static files: no inline script, no inline event
# handler, no style attribute, no eval. A page that needs data reads a JSON block
# (`<script type="application/json">`, never executed). The WebSocket is the page's own origin;
# older browsers do not count wss: as 'self', so the host is named too.
CSP_DIRECTIVES = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)
_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def content_security_policy(request: web.Request) -> str:
    connect = "connect-src 'self'"
    host = request.host
    if _HOST.fullmatch(host):
        connect += f" wss://{host}"
    # A province's other nodes: a page whose node stops answering reconnects to them.
    cluster = request.app.get(CLUSTER)
    if cluster is not None and cluster.enabled:
        for address in cluster.addresses():
            netloc = urlsplit(address).netloc
            if _HOST.fullmatch(netloc) and netloc != host:
                connect += f" wss://{netloc}"
    return "; ".join((*CSP_DIRECTIVES, connect))


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    if response.prepared:  # a WebSocket or a stream: its headers are already sent
        return response
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # Room links carry their token in the path: never leak it in a Referer.
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    # A response that sets its own (the inspection record) keeps it.
    headers.setdefault("Content-Security-Policy", content_security_policy(request))
    # Staff pages, rooms, status pages and the API carry personal data and links: no copy in
    # any cache or in the browser's history. Only the static files (versioned) are cached.
    if not request.path.startswith("/static/"):
        headers.setdefault("Cache-Control", "no-store")
    return response

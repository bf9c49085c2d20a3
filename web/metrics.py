"""/metrics for Prometheus, and the counters only the web layer sees (refused logins).

The figures come from `server.ops.metrics.Metrics`, one per application; who may read them is
`[metrics]` in the settings (loopback by default, or anyone with the bearer token).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from server.errors import KanyanError
from server.ops.metrics import Metrics, may_read, watching
from server.services import ARCHIVE, ROOMS, SETTINGS

METRICS = web.AppKey("metrics", Metrics)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def install(app: web.Application) -> None:
    """Give `app` its metrics: the registry, the event-loop watch, the login counter."""
    app[METRICS] = Metrics()
    app.cleanup_ctx.append(_metrics_ctx)
    app.middlewares.append(count_refused_logins)


async def _metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    metrics = app[METRICS]
    metrics.rooms = app[ROOMS]
    async with watching(metrics):
        yield
    metrics.rooms = None


async def serve(request: web.Request) -> web.Response:
    status = may_read(request.app[SETTINGS].metrics, request.remote, request.headers)
    if status == 403:
        raise web.HTTPForbidden(text="wrong metrics token")
    if status != 200:
        raise web.HTTPNotFound()
    metrics = request.app[METRICS]
    metrics.set_outbox(await request.app[ARCHIVE].outbox.depth())
    response = web.Response(body=metrics.render())
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


@web.middleware
async def count_refused_logins(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A staff login answered 401 (wrong password, unknown or disabled account) or 429 (too
    many attempts) counts as refused, however the login view reports it."""
    if request.method != "POST" or request.path != "/login":
        return await handler(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    except KanyanError as exc:
        status = exc.status
        raise
    finally:
        reason = {401: "wrong_password", 429: "throttled"}.get(status)
        if reason is not None:
            request.app[METRICS].logins_refused.labels(reason).inc()

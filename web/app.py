"""create_app(settings): the composition root. No globals; shared objects live under AppKeys.

The domain services come from `server.services`, the recorder joins every room as a system
participant, and the routes are this package's. Dependencies point one way: web → recorder →
server.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from recorder.participant import join_recorder
from recorder.recovery import recover_orphans, recover_unfinished
from server import services
from server.config import Settings
from server.services import ARCHIVE, FONT, ROOMS, SETTINGS

from . import metrics, routes
from .views import packages

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    services.install(app, settings)
    metrics.install(app)
    app.cleanup_ctx.append(_recorder_ctx)
    routes.setup(app)
    packages.install(app)  # the verify-files run an administrator starts
    return app


async def _recorder_ctx(app: web.Application) -> AsyncIterator[None]:
    """Recover what the last run left unfinished, then give every room its recorder."""
    settings = app[SETTINGS]
    recovered = await recover_unfinished(
        app[ARCHIVE], settings.recordings_dir, only_here=bool(settings.node.id)
    )
    recovered += await recover_orphans(app[ARCHIVE], settings.recordings_dir)
    for recording in recovered:
        log.warning(
            "recovered unfinished recording %s: %s (%.1f s, %s)",
            recording.id,
            recording.path,
            recording.duration_s or 0.0,
            recording.state,
        )
    app[ROOMS].on_open.append(
        functools.partial(
            join_recorder,
            settings=settings,
            font_path=app[FONT],
            stats=app[metrics.METRICS].recorders,
        )
    )
    yield

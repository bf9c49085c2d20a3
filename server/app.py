"""create_app(settings): the composition root. No globals; shared objects live under AppKeys."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from . import hooks
from .archive import ArchiveStore
from .auth import LinkSigner, load_or_create_secret
from .config import Settings
from .links import Links
from .rooms import RoomService
from .signalling import ReconnectLimiter

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ARCHIVE = web.AppKey("archive", ArchiveStore)
LINKS = web.AppKey("links", Links)
ROOMS = web.AppKey("rooms", RoomService)
LIMITER = web.AppKey("limiter", ReconnectLimiter)


def create_app(settings: Settings) -> web.Application:
    from web import routes  # the web layer depends on server, wired in here only

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[SETTINGS] = settings
    app[LIMITER] = ReconnectLimiter()
    hooks.use_host_addresses(settings.ice.host_addresses)
    app.cleanup_ctx.append(_archive_ctx)
    app.on_shutdown.append(_close_rooms)
    routes.setup(app)
    return app


async def _archive_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    archive = await ArchiveStore.open(settings.data_dir / "kanyan.sqlite3")
    secret = load_or_create_secret(settings.security.link_secret, settings.data_dir / "link-secret")
    app[ARCHIVE] = archive
    app[LINKS] = Links(settings, archive, LinkSigner(secret))
    app[ROOMS] = RoomService(settings, archive)
    yield
    await archive.close()


async def _close_rooms(app: web.Application) -> None:
    await app[ROOMS].close()

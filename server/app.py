"""create_app(settings): the composition root. No globals; shared objects live under AppKeys."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from . import hooks
from .accounts import Accounts, ApiKeys, LoginThrottle
from .archive import ArchiveStore
from .auth import LinkSigner, load_or_create_secret
from .cases import CaseService
from .catalog import SHIPPED, Catalog, load_file
from .config import Settings
from .links import Links
from .rooms import RoomService
from .sessions import SessionSigner
from .signalling import ReconnectLimiter
from .status_links import StatusLinks

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ARCHIVE = web.AppKey("archive", ArchiveStore)
LINKS = web.AppKey("links", Links)
LINK_SECRET = web.AppKey("link_secret", bytes)  # signs room links and status links
ROOMS = web.AppKey("rooms", RoomService)
LIMITER = web.AppKey("limiter", ReconnectLimiter)
ACCOUNTS = web.AppKey("accounts", Accounts)
API_KEYS = web.AppKey("api_keys", ApiKeys)
SESSIONS = web.AppKey("sessions", SessionSigner)
CATALOG = web.AppKey("catalog", Catalog)
CATALOG_FILE = web.AppKey("catalog_file", list)
CASES = web.AppKey("cases", CaseService)
STATUS_LINKS = web.AppKey("status_links", StatusLinks)
FONT = web.AppKey("font", Path)


def create_app(settings: Settings) -> web.Application:
    from recorder.overlay import find_cjk_font  # the recorder depends on server: wired in here
    from web import routes  # the web layer depends on server, wired in here only

    app = web.Application(client_max_size=8 * 1024 * 1024)
    app[SETTINGS] = settings
    # Refuse to start without a CJK font rather than record evidence without its header.
    app[FONT] = find_cjk_font(settings.recording.font)
    app[LIMITER] = ReconnectLimiter()
    hooks.use_host_addresses(settings.ice.host_addresses)
    app.cleanup_ctx.append(_archive_ctx)
    # The catalog is checked before anything starts: a mistake stops Kanyan naming the field.
    app[CATALOG_FILE] = load_file(catalog_path(settings))
    app.cleanup_ctx.append(_cases_ctx)
    app.on_shutdown.append(_close_rooms)
    routes.setup(app)
    return app


async def _archive_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    archive = await ArchiveStore.open(settings.data_dir / "kanyan.sqlite3")
    secret = load_or_create_secret(settings.security.link_secret, settings.data_dir / "link-secret")
    app[ARCHIVE] = archive
    app[LINK_SECRET] = secret
    app[LINKS] = Links(settings, archive, LinkSigner(secret))
    app[ROOMS] = RoomService(settings, archive)
    await _recorder_setup(app)
    yield
    await archive.close()


async def _close_rooms(app: web.Application) -> None:
    await app[ROOMS].close()


def catalog_path(settings: Settings) -> Path:
    return settings.path(settings.cases.catalog) if settings.cases.catalog else SHIPPED


async def _cases_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    archive = app[ARCHIVE]
    staff = settings.staff
    throttle = LoginThrottle(
        staff.login_max_failures,
        staff.login_max_failures_per_address,
        staff.login_window_minutes * 60,
    )
    app[ACCOUNTS] = Accounts(archive, throttle)
    app[API_KEYS] = ApiKeys(archive)
    session_secret = load_or_create_secret(
        staff.session_secret, settings.data_dir / "session-secret"
    )
    app[SESSIONS] = SessionSigner(session_secret, staff.session_hours * 3600)
    catalog = Catalog(archive)
    await catalog.sync_file(app[CATALOG_FILE], str(catalog_path(settings)))
    app[CATALOG] = catalog
    app[CASES] = CaseService(archive, catalog)
    app[STATUS_LINKS] = StatusLinks(app[LINK_SECRET], archive)
    yield


async def _recorder_setup(app: web.Application) -> None:
    """Recover what the last run left unfinished, then give every room its recorder."""
    from recorder.participant import join_recorder
    from recorder.recovery import recover_orphans, recover_unfinished

    settings = app[SETTINGS]
    recovered = await recover_unfinished(app[ARCHIVE], settings.recordings_dir)
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
        functools.partial(join_recorder, settings=settings, font_path=app[FONT])
    )

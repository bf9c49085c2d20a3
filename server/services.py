"""The services an application holds, under typed keys, and their start and stop.

`install(app, settings)` opens the archive and builds the live rooms, the case workflow and the
staff services when the application starts, and closes them when it stops. The web layer
(`web.app.create_app`) adds its routes and the recorder on top; nothing here knows of either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from .archive import ArchiveStore
from .archive.files import make_private, not_private
from .cases.catalog import SHIPPED, Catalog, CatalogItem, load_file
from .cases.links import Links, LinkSigner
from .cases.record import RecordMaker
from .cases.status_links import StatusLinks
from .cases.workflow import CaseService
from .cluster import Cluster
from .config import Settings, load_or_create_secret
from .errors import ConfigError
from .live import hooks
from .live.feed import LiveFeed
from .live.registry import RoomService
from .live.signalling import ReconnectLimiter
from .live.watchdog import watchdogs
from .notices.delivery import Channel, Delivery, Mail, Sms, Webhooks
from .notices.rules import Rules
from .staff.accounts import Accounts, LoginThrottle
from .staff.api_keys import ApiKeys
from .staff.sessions import Sessions, SessionSigner
from .storage import EvidenceFiles
from .storage.offload import Offload
from .video.service import VideoService
from .watermark import find_cjk_font

log = logging.getLogger(__name__)

SETTINGS = web.AppKey("settings", Settings)
ARCHIVE = web.AppKey("archive", ArchiveStore)
LINKS = web.AppKey("links", Links)
LINK_SECRET = web.AppKey("link_secret", bytes)  # signs room links and status links
ROOMS = web.AppKey("rooms", RoomService)
LIMITER = web.AppKey("limiter", ReconnectLimiter)
ACCOUNTS = web.AppKey("accounts", Accounts)
API_KEYS = web.AppKey("api_keys", ApiKeys)
SESSIONS = web.AppKey("sessions", SessionSigner)  # signs session cookies and form tokens
STAFF_SESSIONS = web.AppKey("staff_sessions", Sessions)  # the sessions the archive holds
CATALOG = web.AppKey("catalog", Catalog)
CATALOG_FILE = web.AppKey("catalog_file", list[CatalogItem])
CASES = web.AppKey("cases", CaseService)
STATUS_LINKS = web.AppKey("status_links", StatusLinks)
RECORDS = web.AppKey("records", RecordMaker)
VIDEO = web.AppKey("video", VideoService)
DELIVERY = web.AppKey("delivery", Delivery)
FONT = web.AppKey("font", Path)  # the CJK font of watermarks and burned-in text
EVIDENCE = web.AppKey("evidence", EvidenceFiles)  # archived files: the folder, the object store
OFFLOAD = web.AppKey("offload", Offload)  # only with an object store
FEED = web.AppKey("feed", LiveFeed)  # staff pages' live view of inspections, from any node
CLUSTER = web.AppKey("cluster", Cluster)  # this node among a province's (idle without node.id)


async def _deadlines(app: web.Application) -> None:
    """Rectification deadlines and stale uploads: checked at start, then every
    cases.deadline_check_s."""
    while True:
        try:
            await app[CASES].outcome.mark_overdue()
            await app[VIDEO].expire_stale()
        except Exception:
            log.exception("checking deadlines failed")
        await asyncio.sleep(app[SETTINGS].cases.deadline_check_s)


async def _deadlines_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(_deadlines(app))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _notices_ctx(app: web.Application) -> AsyncIterator[None]:
    """Events become messages in their own transaction (Rules); Delivery sends them."""
    settings = app[SETTINGS]
    archive = app[ARCHIVE]
    rules = Rules(settings, app[LINKS], app[STATUS_LINKS])
    archive.db.listeners.append(rules)
    channels: dict[str, Channel] = {
        "webhook": Webhooks(archive, settings.notices.webhook_timeout_s)
    }
    if settings.mail.host:
        channels["email"] = Mail(settings.mail)
    if settings.sms.url:
        channels["sms"] = Sms(settings.sms)
    delivery = Delivery(archive, settings.notices, channels)
    app[DELIVERY] = delivery
    task = asyncio.create_task(delivery.run())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    archive.db.listeners.remove(rules)


async def _file_checks(app: web.Application, hours: int) -> None:
    """verify-files on a schedule: first within the hour after start, then every `hours`."""
    await asyncio.sleep(min(hours, 1) * 3600)
    while True:
        try:
            check = await app[ARCHIVE].integrity.check(
                app[EVIDENCE].check_sync, actor="system:verify-files"
            )
            if not check.ok:
                log.error("verify-files: %s missing, %s differ", check.missing, check.mismatched)
        except Exception:
            log.exception("verify-files failed")
        await asyncio.sleep(hours * 3600)


async def _file_checks_ctx(app: web.Application) -> AsyncIterator[None]:
    hours = app[SETTINGS].archive.verify_files_hours
    task = asyncio.create_task(_file_checks(app, hours)) if hours else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _offload_ctx(app: web.Application) -> AsyncIterator[None]:
    """With an object store: archived files go there once they verify (server/storage)."""
    storage = app[SETTINGS].storage
    task = None
    if app[EVIDENCE].remote is not None:
        offload = Offload(app[ARCHIVE], app[EVIDENCE], keep_local=storage.keep_local)
        app[OFFLOAD] = offload
        task = asyncio.create_task(offload.run(storage.offload_interval_s))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def install(app: web.Application, settings: Settings) -> None:
    """Give `app` every domain service; they open on start and close on stop."""
    app[SETTINGS] = settings
    # Refuse to start without a CJK font rather than make evidence without its text.
    app[FONT] = find_cjk_font(settings.recording.font)
    app[LIMITER] = ReconnectLimiter()
    hooks.use_host_addresses(settings.ice.host_addresses)
    # The catalog is checked before anything starts: a mistake stops Kanyan naming the field.
    app[CATALOG_FILE] = load_file(catalog_path(settings))
    app.cleanup_ctx.append(_archive_ctx)
    app.cleanup_ctx.append(_cases_ctx)
    app.cleanup_ctx.append(_deadlines_ctx)
    app.cleanup_ctx.append(_notices_ctx)
    app.cleanup_ctx.append(_file_checks_ctx)
    app.cleanup_ctx.append(_offload_ctx)
    app.cleanup_ctx.append(_watchdog_ctx)
    app.on_shutdown.append(_leave_cluster)  # first: the other nodes take the rooms at once
    app.on_shutdown.append(_close_rooms)


def catalog_path(settings: Settings) -> Path:
    return settings.path(settings.cases.catalog) if settings.cases.catalog else SHIPPED


def make_folders_private(settings: Settings) -> None:
    """The archive, its secrets and the evidence are for Kanyan's user alone: every folder 0700,
    every file 0600, fixed (and logged) at each start; what cannot be fixed stops the start."""
    for root in (settings.data_dir, settings.recordings_dir):
        try:
            changed = make_private(root)
            left = not_private(root)
        except PermissionError as exc:
            raise ConfigError(
                f"cannot make {exc.filename or root} private (chmod refused): {exc.strerror}; "
                "run Kanyan as the owner of its data and recordings folders"
            ) from None
        for path, mode in changed:
            log.warning("made private: %s (was %s)", path, oct(mode))
        if left:
            raise ConfigError(f"{left[0]} is still readable by others after chmod")


async def _archive_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    make_folders_private(settings)
    archive = await ArchiveStore.open(settings.archive_location)
    secret = load_or_create_secret(settings.security.link_secret, settings.data_dir / "link-secret")
    app[ARCHIVE] = archive
    app[LINK_SECRET] = secret
    app[LINKS] = Links(settings, archive, LinkSigner(secret))
    catalog = Catalog(archive)
    app[CATALOG] = catalog
    app[CASES] = CaseService(archive, catalog)
    app[ROOMS] = RoomService(settings, archive, app[CASES], app[LINKS])
    app[FEED] = LiveFeed(archive, app[CASES].outcome)
    app[CLUSTER] = Cluster(settings, archive, app[ROOMS])  # started once its address is known
    files = EvidenceFiles.from_settings(settings.recordings_dir, settings.storage)
    app[EVIDENCE] = files
    records = RecordMaker(archive, app[CASES].outcome, settings.recordings_dir, files)
    app[RECORDS] = records
    app[ROOMS].on_concluded.append(records.after_session)
    video = VideoService(
        archive,
        catalog,
        settings.uploads,
        settings.data_dir / "uploads",
        settings.recordings_dir,
        app[FONT],
        files,
    )
    app[VIDEO] = video
    await video.resume_checks()
    # Again, now that the database's -wal and -shm files and the secrets exist.
    make_folders_private(settings)
    yield
    await app[ROOMS].drain()
    await video.drain()
    video.close()
    records.close()
    await archive.close()


async def _watchdog_ctx(app: web.Application) -> AsyncIterator[None]:
    """The rooms looked at every second, and the event loop watched for stalls."""
    async with watchdogs(app[ROOMS], app[SETTINGS].watchdog.loop_lag_s):
        yield


async def _leave_cluster(app: web.Application) -> None:
    await app[CLUSTER].stop()


async def _close_rooms(app: web.Application) -> None:
    await app[ROOMS].close()


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
    app[STAFF_SESSIONS] = Sessions(app[SESSIONS], archive)
    await app[CATALOG].sync_file(app[CATALOG_FILE], str(catalog_path(settings)))
    app[STATUS_LINKS] = StatusLinks(app[LINK_SECRET], archive)
    yield

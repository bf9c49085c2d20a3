"""Thin handlers: parse the request, call the domain, render."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server import clock
from server.cases.links import LinkGrant
from server.errors import NotAuthorised, NotFound
from server.live import signalling
from server.live.room import PERMISSIONS, Action, Role, allowed
from server.services import (
    ARCHIVE,
    CATALOG,
    CLUSTER,
    EVIDENCE,
    LIMITER,
    LINKS,
    ROOMS,
    SETTINGS,
)

from ..browsers import in_app_browser, is_ios
from ..i18n import lang_of
from ..pages import int_param
from ..render import render


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/login")


async def room_page(request: web.Request) -> web.Response:
    """A personal link: checked here on GET, and again on the WebSocket."""
    inspection_id = int_param(request.match_info["inspection"])
    token = request.match_info["token"]
    grant = await request.app[LINKS].authorise(token, inspection_id)
    home = await request.app[CLUSTER].home(inspection_id)
    if home is not None:  # the room lives on another of the province's nodes
        raise web.HTTPTemporaryRedirect(home.rstrip("/") + request.path_qs)
    role = Role(grant.invitee.role)
    context = {
        "token": token,
        "grant": grant,
        "role": str(role),
        "permissions": sorted(str(a) for a in PERMISSIONS[role]),
        "case": grant.case,
        "inspection": grant.inspection,
        "invitee": grant.invitee,
    }
    agent = request.headers.get("User-Agent", "")
    app = in_app_browser(agent)
    url = request.app[LINKS].room_url(grant.invitee, grant.inspection)
    if app is not None and request.query.get("browser") != "anyway":
        # Before any camera prompt: the app's own browser cannot hold the inspection.
        return render(
            request,
            "open_in_browser.html",
            {**context, "in_app": app, "ios": is_ios(agent), "url": url},
        )
    if role != Role.APPLICANT:
        return render(request, "room.html", context)
    context.update(await preparation(request, grant))
    return render(request, "phone.html", {**context, "ios": is_ios(agent), "url": url})


async def preparation(request: web.Request, grant: LinkGrant) -> dict[str, Any]:
    """What the applicant's lobby shows: when, who hosts, and what the camera must show."""
    archive = request.app[ARCHIVE]
    invitees = await archive.inspections.invitees(grant.inspection.id)
    host = next((i.name for i in invitees if i.role == "host"), "")
    version_id = await archive.inspections.catalog_version(grant.inspection.id)
    must_show: tuple[str, ...] = ()
    if version_id is not None:
        must_show = (await request.app[CATALOG].version(version_id)).item.shooting.must_show
    when = clock.parse(grant.inspection.scheduled_at).astimezone(clock.SHANGHAI)
    if lang_of(request) == "zh":
        scheduled = f"{when.year}年{when.month}月{when.day}日 {when:%H:%M}"
    else:
        scheduled = f"{when:%Y-%m-%d %H:%M}"
    return {"host_name": host, "scheduled": scheduled, "must_show": must_show}


async def websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    cluster = app[CLUSTER]
    return await signalling.handle(
        request,
        settings=app[SETTINGS],
        links=app[LINKS],
        rooms=app[ROOMS],
        limiter=app[LIMITER],
        nodes=cluster if cluster.enabled else None,
    )


async def screenshot_image(request: web.Request) -> web.StreamResponse:
    """A screenshot of this inspection, for a room link that may take screenshots."""
    inspection_id = int_param(request.match_info["inspection"])
    grant = await request.app[LINKS].authorise(request.match_info["token"], inspection_id)
    if not allowed(Role(grant.invitee.role), Action.SCREENSHOT):
        raise NotAuthorised("您无权查看截图 / your role may not see screenshots")
    shot = await request.app[ARCHIVE].evidence.screenshot(
        int_param(request.match_info["screenshot"])
    )
    if shot.inspection_id != inspection_id:
        raise NotFound("截图不存在 / no such screenshot")
    try:
        path = await request.app[EVIDENCE].fetch(shot.path)
    except (FileNotFoundError, ValueError):
        raise NotFound("截图不存在 / no such screenshot") from None
    if not path.is_file():
        raise NotFound("截图不存在 / no such screenshot")
    return web.FileResponse(path, headers={"Content-Type": "image/jpeg"})

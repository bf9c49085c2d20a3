"""Thin handlers: parse the request, call the domain, render."""

from __future__ import annotations

from aiohttp import web

from server.errors import NotAuthorised, NotFound
from server.live import signalling
from server.live.room import PERMISSIONS, Action, Role, allowed
from server.services import ARCHIVE, EVIDENCE, LIMITER, LINKS, ROOMS, SETTINGS

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
    template = "phone.html" if role == Role.APPLICANT else "room.html"
    return render(request, template, context)


async def websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    return await signalling.handle(
        request, settings=app[SETTINGS], links=app[LINKS], rooms=app[ROOMS], limiter=app[LIMITER]
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

"""URL map: the only place that knows which path goes to which view."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import staff_routes, views
from .middleware import error_pages, security_headers
from .render import setup_templates

STATIC = Path(__file__).parent / "static"


def setup(app: web.Application) -> None:
    setup_templates(app)
    app.middlewares.extend([security_headers, error_pages])
    app.router.add_get("/", views.index)
    app.router.add_get("/healthz", views.healthz)
    app.router.add_get("/room/{inspection:\\d+}/{token}", views.room_page)
    app.router.add_get(
        "/room/{inspection:\\d+}/{token}/screenshots/{screenshot:\\d+}.jpg",
        views.screenshot_image,
    )
    app.router.add_get("/ws", views.websocket)
    app.router.add_static("/static", STATIC, name="static", append_version=True)
    staff_routes.setup(app)

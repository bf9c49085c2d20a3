"""Template rendering with Jinja2; every page gets the language and its string table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from .i18n import lang_of, table

TEMPLATES = web.AppKey("templates", jinja2.Environment)


def setup_templates(app: web.Application) -> None:
    app[TEMPLATES] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=jinja2.select_autoescape(["html"]),
        undefined=jinja2.StrictUndefined,
    )


def render(
    request: web.Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> web.Response:
    lang = lang_of(request)
    strings = table(lang)
    page = (
        request.app[TEMPLATES]
        .get_template(template)
        .render(lang=lang, t=strings, static=static_url(request), **(context or {}))
    )
    response = web.Response(text=page, content_type="text/html", status=status)
    if request.query.get("lang") in ("zh", "en"):
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax", secure=True)
    return response


def static_url(request: web.Request):  # type: ignore[no-untyped-def]
    router = request.app.router

    def url(path: str) -> str:
        return str(router["static"].url_for(filename=path))

    return url

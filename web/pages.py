"""Rendering helpers of the staff pages: the page frame, labels, QR codes, form values."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from server import clock
from server.cases.checklist import mark_label
from server.cases.eligibility import GROUND_NAMES, Ground
from server.errors import NotFound
from server.services import SETTINGS
from server.staff.roles import STAFF_PERMISSIONS, STAFF_ROLE_NAMES, StaffRole
from server.states import case_label, inspection_label, verdict_label

from .i18n import lang_of
from .render import render
from .staff import CSRF_KEY, current

MAX_ID = 2**63 - 1  # the archive's integer ids: anything larger names nothing


def int_param(value: str) -> int:
    """An id from the address; a page that does not exist unless it could be one."""
    try:
        number = int(value)
    except ValueError:
        number = -1
    if not 0 <= number <= MAX_ID:
        raise NotFound("页面不存在 / there is no page at this address")
    return number


def public_base(request: web.Request) -> str:
    """The base of links given out: the configured public URL, else the one asked for."""
    configured = request.app[SETTINGS].server.public_url
    return configured.rstrip("/") if configured else f"{request.scheme}://{request.host}"


def lang_switch_url(request: web.Request) -> str:
    query = dict(request.query)
    query["lang"] = "en" if lang_of(request) == "zh" else "zh"
    return request.path + "?" + urlencode(query)


def page(
    request: web.Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> web.Response:
    """Render a staff page with the account, its permissions and the form token."""
    account = current(request)
    allowed = STAFF_PERMISSIONS[StaffRole(account.role)] if account else frozenset()
    lang = lang_of(request)
    base: dict[str, Any] = {
        "me": account,
        "can": {str(action) for action in allowed},
        "csrf": request[CSRF_KEY],
        "role_name": lambda role: STAFF_ROLE_NAMES[StaffRole(role)][0 if lang == "zh" else 1],
        "lang_url": lang_switch_url(request),
        "path": request.path,
        "errors": {},
        "form": {},
        "error": "",
        "notice": "",
    }
    return render(request, template, {**base, **(context or {})}, status=status)


def see_other(location: str) -> web.Response:
    """A redirect after a form post that can carry cookies (a raised one cannot)."""
    return web.Response(status=303, headers={"Location": location})


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code: prints sharp and needs no image route that would carry a token."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return Markup(image.to_string(encoding="unicode"))


def helpers(request: web.Request) -> dict[str, Any]:
    lang = lang_of(request)
    pick = 0 if lang == "zh" else 1
    return {
        "case_state": lambda s: case_label(s, lang),
        "inspection_state": lambda s: inspection_label(s, lang),
        "ground_label": lambda g: GROUND_NAMES[Ground(g)][pick],
        "verdict_label": lambda v: verdict_label(v, lang),
        "mark_label": lambda v: mark_label(v, lang),
        "beijing": lambda value, fmt="%Y-%m-%d %H:%M": clock.shanghai(value, fmt) if value else "",
    }


def form_text(form: Any, key: str, limit: int = 500) -> str:
    value = form.get(key, "")
    return value.strip()[:limit] if isinstance(value, str) else ""

"""Staff sessions on the web: the session and CSRF middleware, the `staff_page` guard, and the
login, logout and password pages."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlencode

from aiohttp import web
from yarl import URL

from server.archive import StaffAccount
from server.errors import NotAuthorised, NotFound
from server.services import ARCHIVE, SESSIONS, SETTINGS, STAFF_SESSIONS
from server.staff.roles import STAFF_ROLE_NAMES, StaffAction, StaffRole, case_scope, may
from server.staff.sessions import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE

from .views.uploads import is_upload_path

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
STAFF_KEY: web.RequestKey[StaffAccount | None] = web.RequestKey("staff")
CSRF_KEY = web.RequestKey("csrf", str)


def current(request: web.Request) -> StaffAccount | None:
    return request.get(STAFF_KEY)


def cookie_options(max_age: int | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"httponly": True, "secure": True, "samesite": "Lax", "path": "/"}
    if max_age is not None:
        options["max_age"] = max_age
    return options


async def _account_of(request: web.Request) -> StaffAccount | None:
    return await request.app[STAFF_SESSIONS].account_of(request.cookies.get(SESSION_COOKIE))


@web.middleware
async def staff_sessions(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Who is logged in, and the CSRF check of every form post (the bearer-key API is exempt:
    a browser never sends its key by itself)."""
    signer = request.app[SESSIONS]
    request[STAFF_KEY] = await _account_of(request)
    csrf_cookie = request.cookies.get(CSRF_COOKIE)
    fresh = None
    if not csrf_cookie:
        fresh = csrf_cookie = signer.new_csrf_cookie()
    request[CSRF_KEY] = signer.csrf_token(csrf_cookie)
    # The API's bearer key and an upload's status link are credentials a browser never sends by
    # itself: nothing for a forged request to ride on.
    exempt = request.path.startswith("/api/") or is_upload_path(request.path)
    if request.method not in SAFE_METHODS and not exempt:
        token = request.headers.get(CSRF_HEADER)
        if token is None and request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            value = (await request.post()).get(CSRF_FIELD)
            token = value if isinstance(value, str) else None
        if fresh is not None or not signer.csrf_ok(csrf_cookie, token):
            raise NotAuthorised(
                "表单已过期或来源不明，请刷新页面后重试。 / This form expired or did not come from "
                "Kanyan; reload the page and try again.",
                code="csrf",
            )
    response = await handler(request)
    if fresh is not None and not response.prepared:
        response.set_cookie(CSRF_COOKIE, fresh, **cookie_options())
    return response


CaseOf = Callable[[web.Request], Awaitable[int | None]]


def scope_of(request: web.Request) -> tuple[str, ...] | None:
    """The sections whose cases the logged-in person sees and acts on; None: every section's."""
    account = current(request)
    if account is None:
        return ()
    return case_scope(account, request.app[SETTINGS].staff.inspectors_by_section)


def out_of_scope() -> NotFound:
    # Not 403: another section's case is not to be confirmed to exist at all.
    return NotFound("案件不存在或不属于您的业务股室 / no such case among your sections' cases")


async def in_scope(request: web.Request, case_id: int) -> bool:
    """Whether the case is within the logged-in person's sections (every case is, for those
    not held to sections)."""
    scope = scope_of(request)
    if scope is None:
        return True
    return (await request.app[ARCHIVE].cases.get(case_id)).section in scope


async def check_case_scope(request: web.Request, case_id: int | None) -> None:
    """Refuse (404) a case outside the logged-in person's sections."""
    if case_id is not None and not await in_scope(request, case_id):
        raise out_of_scope()


def staff_page(
    action: StaffAction | None = None,
    *,
    case: CaseOf | None = None,
    during_password_change: bool = False,
) -> Callable[[Handler], Handler]:
    """Guard a staff route: logged in, password changed, allowed `action`, and — for a route
    about one case, whose id `case` finds from the request — that case within the person's
    sections (web.views.case_ids has the finders)."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account = current(request)
            if account is None:
                target = request.path_qs if request.method == "GET" else "/dashboard"
                raise web.HTTPSeeOther("/login?" + urlencode({"next": target}))
            if account.must_change_password and not during_password_change:
                raise web.HTTPSeeOther("/account/password")
            if action is not None and not may(account, action):
                zh, en = STAFF_ROLE_NAMES[StaffRole(account.role)]
                raise NotAuthorised(
                    f"您的角色（{zh}）无权进行此操作。 / Your role ({en}) may not do this."
                )
            if case is not None and scope_of(request) is not None:
                await check_case_scope(request, await case(request))
            return await handler(request)

        guarded.staff_action = action  # type: ignore[attr-defined]
        guarded.staff_case = case  # type: ignore[attr-defined]
        return guarded

    return decorate


def actor_of(request: web.Request) -> str:
    """How the event log names the person acting."""
    account = current(request)
    return f"staff:{account.username}" if account else "anonymous"


HOME = "/dashboard"
# Browsers drop tabs and newlines anywhere in a URL and read `\` as `/`: `/\t/evil.example`
# becomes `//evil.example`, another site. A control character or a backslash, raw anywhere or
# percent-encoded in the path, disqualifies a target outright rather than being cleaned away.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_ENCODED_CONTROL = re.compile(r"%(?:[01][0-9a-f]|7f|5c)", re.IGNORECASE)


def safe_next(target: str | None) -> str:
    """Where to go after the login: a path on this site, re-encoded as plain ASCII; the
    dashboard for anything else (absolute, protocol-relative, a scheme, hostile bytes)."""
    if not target or len(target) > 2000 or _CONTROL.search(target):
        return HOME
    path = target.split("?", 1)[0].split("#", 1)[0]
    if " " in path or _ENCODED_CONTROL.search(path):
        return HOME
    decoded = unquote(path)
    if not decoded.startswith("/") or decoded.startswith("//") or _CONTROL.search(decoded):
        return HOME
    try:
        url = URL(target)
    except ValueError:
        return HOME
    if url.is_absolute() or url.scheme or not url.raw_path.startswith("/"):
        return HOME
    if url.raw_path.startswith("//") or unquote(url.raw_path).startswith("//"):
        return HOME
    return str(url)


# -- login, logout, password ------------------------------------------------------------------

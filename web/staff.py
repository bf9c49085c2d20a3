"""Staff sessions on the web: the session and CSRF middleware, the `staff_page` guard, and the
login, logout and password pages."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from server.accounts import (
    STAFF_PERMISSIONS,
    STAFF_ROLE_NAMES,
    StaffAction,
    StaffRole,
    TooManyAttempts,
    may,
)
from server.app import ACCOUNTS, ARCHIVE, SESSIONS, SETTINGS
from server.archive import StaffAccount
from server.errors import BadRequest, NotAuthenticated, NotAuthorised, NotFound
from server.sessions import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE

from .i18n import lang_of
from .render import render

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
    claims = request.app[SESSIONS].parse(request.cookies.get(SESSION_COOKIE))
    if claims is None:
        return None
    try:
        account = await request.app[ARCHIVE].get_staff(claims.account_id)
    except NotFound:
        return None
    if account.session_gen != claims.generation or account.disabled_at is not None:
        return None
    return account


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
    if request.method not in SAFE_METHODS and not request.path.startswith("/api/"):
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


def staff_page(
    action: StaffAction | None = None, *, during_password_change: bool = False
) -> Callable[[Handler], Handler]:
    """Guard a staff route: logged in, password changed, and allowed `action`."""

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
            return await handler(request)

        guarded.staff_action = action  # type: ignore[attr-defined]
        return guarded

    return decorate


def actor_of(request: web.Request) -> str:
    """How the event log names the person acting."""
    account = current(request)
    return f"staff:{account.username}" if account else "anonymous"


def int_param(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise NotFound("页面不存在 / there is no page at this address") from None


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


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an absolute or protocol-relative URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/dashboard"
    return target


# -- login, logout, password ------------------------------------------------------------------


async def login_page(request: web.Request) -> web.StreamResponse:
    if current(request) is not None:
        raise web.HTTPSeeOther(safe_next(request.query.get("next")))
    return page(request, "login.html", {"next": safe_next(request.query.get("next")), "error": ""})


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    username = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:256]
    target = safe_next(str(form.get("next", "")))
    context = {"next": target, "username": username}
    try:
        result = await request.app[ACCOUNTS].login(username, password, request.remote or "")
    except TooManyAttempts as exc:
        response = page(request, "login.html", {**context, "error": exc.message}, status=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except NotAuthenticated as exc:
        return page(request, "login.html", {**context, "error": exc.message}, status=401)
    account = result.account
    response = see_other("/account/password" if result.must_change_password else target)
    signer = request.app[SESSIONS]
    response.set_cookie(
        SESSION_COOKIE,
        signer.issue(account.id, account.session_gen),
        **cookie_options(signer.lifetime_s),
    )
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    account = current(request)
    if account is not None:
        await request.app[ARCHIVE].append_event("staff.logout", actor=f"staff:{account.username}")
    response = see_other("/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    return response


@staff_page(during_password_change=True)
async def password_page(request: web.Request) -> web.StreamResponse:
    return page(request, "password.html")


@staff_page(during_password_change=True)
async def change_password(request: web.Request) -> web.StreamResponse:
    account = current(request)
    assert account is not None
    form = await request.post()
    try:
        updated = await request.app[ACCOUNTS].change_password(
            account,
            str(form.get("current", "")),
            str(form.get("new", "")),
            str(form.get("repeat", "")),
        )
    except BadRequest as exc:
        return page(request, "password.html", {"errors": exc.details or {}}, status=400)
    # The change ended every session of this account, this one too: issue a fresh one.
    signer = request.app[SESSIONS]
    response = see_other("/dashboard?" + urlencode({"notice": "password_changed"}))
    response.set_cookie(
        SESSION_COOKIE,
        signer.issue(updated.id, updated.session_gen),
        **cookie_options(signer.lifetime_s),
    )
    return response

"""Login, logout and the password page."""

from __future__ import annotations

from urllib.parse import urlencode

from aiohttp import web

from server.errors import BadRequest, NotAuthenticated
from server.services import ACCOUNTS, SESSIONS, STAFF_SESSIONS
from server.staff.accounts import TooManyAttempts
from server.staff.sessions import SESSION_COOKIE

from ..pages import page, see_other
from ..staff import cookie_options, current, safe_next, staff_page


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
    cookie = await request.app[STAFF_SESSIONS].open(
        result.account, address=request.remote or "", agent=request.headers.get("User-Agent", "")
    )
    response = see_other("/account/password" if result.must_change_password else target)
    response.set_cookie(SESSION_COOKIE, cookie, **cookie_options(request.app[SESSIONS].lifetime_s))
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session on the server, not only in this browser: a copy of the cookie elsewhere
    stops working too."""
    account = current(request)
    if account is not None:
        await request.app[STAFF_SESSIONS].end(
            request.cookies.get(SESSION_COOKIE), actor=f"staff:{account.username}"
        )
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
    # The change ended every session of this account, this one too: open a fresh one.
    cookie = await request.app[STAFF_SESSIONS].open(
        updated,
        address=request.remote or "",
        agent=request.headers.get("User-Agent", ""),
        event="staff.session_renewed",
    )
    response = see_other("/dashboard?" + urlencode({"notice": "password_changed"}))
    response.set_cookie(SESSION_COOKIE, cookie, **cookie_options(request.app[SESSIONS].lifetime_s))
    return response

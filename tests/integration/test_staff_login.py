"""Staff logins against the real server: one-time passwords, throttling, CSRF, sessions."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlencode, urljoin, urlsplit

import aiohttp
import pytest

from server.services import ACCOUNTS
from server.staff.sessions import SESSION_COOKIE
from tests.support.server import make_settings, running_server
from tests.support.staff import PASSWORD, StaffBrowser, make_account


@pytest.fixture
def settings(tmp_path, request):
    staff = {"login_max_failures_per_address": 25, **getattr(request, "param", {})}
    return make_settings(tmp_path, staff=staff)


async def test_a_one_time_password_must_be_changed_first(server):
    await make_account(server.archive, "zhangsan", "inspector", changed=False)
    async with StaffBrowser(server.base_url) as tab:
        response = await tab.login("zhangsan")
        assert (response.status, response.headers["Location"]) == (303, "/account/password")
        # Every other page sends them back to the password form until it is changed.
        for path in ("/dashboard", "/cases", "/cases/new"):
            response = await tab.get(path)
            assert (response.status, response.headers["Location"]) == (303, "/account/password")
        page = await tab.get("/account/password")
        assert page.status == 200 and "一次性密码" in page.text
        refused = [
            (
                {"current": "wrong", "new": "Better-pass-2026", "repeat": "Better-pass-2026"},
                "current",
            ),
            ({"current": PASSWORD, "new": "short1", "repeat": "short1"}, "至少 10 位"),
            ({"current": PASSWORD, "new": PASSWORD, "repeat": PASSWORD}, "相同"),
            (
                {"current": PASSWORD, "new": "Better-pass-2026", "repeat": "Better-pass-2027"},
                "不一致",
            ),
        ]
        for form, why in refused:
            response = await tab.post("/account/password", form)
            assert response.status == 400
            assert why in response.text or why == "current"
        response = await tab.post(
            "/account/password",
            {"current": PASSWORD, "new": "Better-pass-2026", "repeat": "Better-pass-2026"},
        )
        assert (response.status, response.headers["Location"]) == (
            303,
            "/dashboard?notice=password_changed",
        )
        assert (await tab.get("/dashboard")).status == 200
    account = await server.archive.staff.find("zhangsan")
    assert not account.must_change_password
    async with StaffBrowser(server.base_url) as tab:
        assert (await tab.login("zhangsan")).status == 401  # the old password is gone
        response = await tab.login("zhangsan", "Better-pass-2026")
        assert (response.status, response.headers["Location"]) == (303, "/dashboard")


async def test_ten_wrong_passwords_answer_429_with_a_retry_time(server):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab:
        for attempt in range(1, 10):
            response = await tab.login("zhangsan", f"wrong-{attempt}")
            assert response.status == 401, attempt
            assert "用户名或密码不正确" in response.text
        response = await tab.login("zhangsan", "wrong-10")
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 0
        assert "分钟后再试" in response.text
        # Locked: even the right password waits now.
        response = await tab.login("zhangsan")
        assert response.status == 429
    failures = await server.archive.events.find(types=["staff.login_failed"])
    assert len(failures) == 10


async def test_an_unknown_account_is_throttled_the_same_way(server):
    async with StaffBrowser(server.base_url) as tab:
        statuses = [(await tab.login("nobody", "x")).status for _ in range(10)]
    assert statuses == [401] * 9 + [429]


async def test_failures_are_limited_per_address_across_accounts(server):
    for name in ("user1", "user2", "user3"):
        await make_account(server.archive, name, "clerk")
    async with StaffBrowser(server.base_url) as tab:
        for round_ in range(8):
            for name in ("user1", "user2", "user3"):
                await tab.login(name, f"wrong-{round_}")
        # 24 failures from this address, no account at its own limit of 10.
        response = await tab.login("user1", "wrong")
        assert response.status == 429
        response = await tab.login("user2")
        assert response.status == 429


async def test_a_post_without_its_form_token_is_refused(server):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab:
        await tab.get("/login")
        response = await tab.post(
            "/login", {"username": "zhangsan", "password": PASSWORD}, csrf=False
        )
        assert response.status == 403 and "表单已过期" in response.text
        assert (await tab.login("zhangsan")).status == 303
        form = {"application_no": "A-1", "applicant_name": "张三"}
        assert (await tab.post("/cases", form, csrf=False)).status == 403
        assert (await tab.post("/cases", {**form, "csrf": "forged"})).status == 403
        response = await tab.post("/cases", form, csrf=False, headers={"X-CSRF-Token": tab.csrf})
        assert response.status == 400  # past the token: the form itself is incomplete
        # A token is bound to its browser's cookie: another browser's token does not pass.
        async with StaffBrowser(server.base_url) as other:
            await other.get("/login")
            assert (await tab.post("/cases", {**form, "csrf": other.csrf})).status == 403
    assert (await server.archive.cases.search())[1] == 0


async def test_session_cookies_are_httponly_secure_and_lax(server):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab:
        response = await tab.login("zhangsan")
    cookies = [v for k, v in response.headers.items() if k.lower() == "set-cookie"]
    session = next(c for c in cookies if c.startswith("kanyan_session="))
    lowered = session.lower()
    assert "httponly" in lowered and "secure" in lowered and "samesite=lax" in lowered


async def test_logout_and_a_password_reset_end_sessions(server):
    admin = await make_account(server.archive, "boss", "admin")
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as one, StaffBrowser(server.base_url) as two:
        await one.login("zhangsan")
        await two.login("zhangsan")
        assert (await one.post("/logout")).status == 303
        assert (await one.get("/dashboard")).status == 303
        assert (await two.get("/dashboard")).status == 200
        account = await server.archive.staff.find("zhangsan")
        await server.app[ACCOUNTS].reset_password(account, actor=f"staff:{admin.username}")
        response = await two.get("/dashboard")
        assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_a_disabled_account_cannot_log_in(server):
    await make_account(server.archive, "boss", "admin")
    target = await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as admin, StaffBrowser(server.base_url) as user:
        await admin.login("boss")
        await user.login("zhangsan")
        await admin.get("/admin/accounts")
        response = await admin.post(f"/admin/accounts/{target.id}/disable")
        assert response.status == 303
        assert (await user.get("/dashboard")).status == 303
        response = await user.login("zhangsan")
        assert response.status == 401 and "停用" in response.text


async def test_the_first_start_creates_one_admin(tmp_path):
    async with running_server(make_settings(tmp_path)) as running:
        accounts = running.app[ACCOUNTS]
        password = await accounts.ensure_first_admin()
        assert password and await accounts.ensure_first_admin() is None
        admin = await running.archive.staff.find("admin")
        assert admin.role == "admin" and admin.must_change_password
        async with StaffBrowser(running.base_url) as tab:
            response = await tab.login("admin", password)
            assert response.headers["Location"] == "/account/password"


HOSTILE_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "\\\\evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "/%2F/evil.example",
    "/%2f%2fevil.example",
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "%2F%2Fevil.example",
    "https://evil.example/dashboard",
    "HTTPS://evil.example",
    "http:evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "\x00//evil.example",
    "／／evil.example",
]


def lands_here(location: str, base: str) -> bool:
    """Where a browser goes: it drops tabs and newlines and reads a backslash as a slash."""
    cleaned = re.sub(r"[\t\n\r]", "", location).replace("\\", "/")
    return urlsplit(urljoin(base + "/login", cleaned)).netloc == urlsplit(base).netloc


async def test_the_login_never_sends_anyone_to_another_site(server):
    await make_account(server.archive, "zhangsan", "inspector")
    wrong = []
    for target in HOSTILE_NEXT:
        async with StaffBrowser(server.base_url) as tab:
            page = await tab.get("/login?" + urlencode({"next": target}))
            if 'name="next" value="/dashboard"' not in page.text:
                wrong.append(f"{target!r}: the login form carries another target")
            response = await tab.post(
                "/login", {"username": "zhangsan", "password": PASSWORD, "next": target}
            )
            if response.headers.get("Location") != "/dashboard":
                wrong.append(f"{target!r}: after the login to {response.headers.get('Location')!r}")
            # Already logged in, the login page sends the browser on at once: only here too.
            response = await tab.get("/login?" + urlencode({"next": target}))
            if response.headers.get("Location") != "/dashboard":
                wrong.append(f"{target!r}: logged in, to {response.headers.get('Location')!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/cases/7", "/cases/7"),
        ("/cases?state=intake&page=2", "/cases?state=intake&page=2"),
        ("/cases?q=张三", "/cases?q=%E5%BC%A0%E4%B8%89"),
    ],
)
async def test_the_login_returns_to_the_page_asked_for(server, target, location):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab:
        await tab.get("/login")
        response = await tab.post(
            "/login", {"username": "zhangsan", "password": PASSWORD, "next": target}
        )
        assert (response.status, response.headers["Location"]) == (303, location)
        assert lands_here(response.headers["Location"], server.base_url)


async def _guess_at_once(server, guesses: list[tuple[str, str]]) -> list[int]:
    """Each (name, password) from its own browser, all sent at the same moment."""
    tabs = [StaffBrowser(server.base_url) for _ in guesses]
    try:
        for tab in tabs:
            await tab.get("/login")  # each holds its form token before the burst
        responses = await asyncio.gather(
            *(
                tab.post("/login", {"username": name, "password": password})
                for tab, (name, password) in zip(tabs, guesses, strict=True)
            )
        )
    finally:
        for tab in tabs:
            await tab.close()
    return [response.status for response in responses]


@pytest.mark.parametrize(
    "settings",
    [{"login_max_failures": 3, "login_max_failures_per_address": 100}],
    indirect=True,
)
async def test_concurrent_guesses_check_no_more_passwords_than_the_limit(server):
    await make_account(server.archive, "zhangsan", "inspector")
    statuses = await _guess_at_once(server, [("zhangsan", f"wrong-{n}") for n in range(25)])
    assert set(statuses) <= {401, 429} and statuses.count(429) >= 22
    # Exactly three passwords were looked at; every other guess was refused unread.
    checked = await server.archive.events.find(types=["staff.login_failed"])
    assert len(checked) == 3
    async with StaffBrowser(server.base_url) as tab:
        assert (await tab.login("zhangsan")).status == 429


@pytest.mark.parametrize(
    "settings",
    [{"login_max_failures": 100, "login_max_failures_per_address": 5}],
    indirect=True,
)
async def test_concurrent_guesses_from_one_address_are_counted_across_accounts(server):
    await make_account(server.archive, "zhangsan", "inspector")
    statuses = await _guess_at_once(server, [(f"user{n}", "wrong") for n in range(25)])
    assert set(statuses) <= {401, 429} and statuses.count(429) >= 20
    assert len(await server.archive.events.find(types=["staff.login_failed"])) == 5
    async with StaffBrowser(server.base_url) as tab:
        assert (await tab.login("zhangsan")).status == 429


async def _with_cookie(server, cookie: str, path: str = "/dashboard") -> int:
    """A request from another machine that copied the session cookie (nothing else)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        async with session.get(
            server.base_url + path,
            headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
            allow_redirects=False,
        ) as response:
            return response.status


def session_cookie(tab: StaffBrowser) -> str:
    return next(c.value for c in tab.session.cookie_jar if c.key == SESSION_COOKIE)


async def test_a_copied_session_cookie_stops_working_at_logout(server):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab, StaffBrowser(server.base_url) as other:
        await tab.login("zhangsan")
        await other.login("zhangsan")
        copied = session_cookie(tab)
        assert await _with_cookie(server, copied) == 200
        assert (await tab.post("/logout")).status == 303
        # The copy is refused at once, on every page, long before the cookie would expire...
        assert await _with_cookie(server, copied) == 303
        assert await _with_cookie(server, copied, "/cases") == 303
        # ...and the same person's other login goes on.
        assert (await other.get("/dashboard")).status == 200
    logouts = await server.archive.events.find(types=["staff.logout"])
    assert [e.actor for e in logouts] == ["staff:zhangsan"]


async def test_a_password_change_ends_every_other_session_but_keeps_this_one(server):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab, StaffBrowser(server.base_url) as other:
        await tab.login("zhangsan")
        await other.login("zhangsan")
        copied = session_cookie(tab)
        await tab.get("/account/password")
        response = await tab.post(
            "/account/password",
            {"current": PASSWORD, "new": "Better-pass-2026", "repeat": "Better-pass-2026"},
        )
        assert response.status == 303
        assert (await tab.get("/dashboard")).status == 200  # a fresh session for this browser
        assert session_cookie(tab) != copied
        assert await _with_cookie(server, copied) == 303
        assert (await other.get("/dashboard")).status == 303


async def test_disabling_an_account_ends_its_copied_sessions(server):
    await make_account(server.archive, "boss", "admin")
    target = await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as admin, StaffBrowser(server.base_url) as user:
        await admin.login("boss")
        await user.login("zhangsan")
        copied = session_cookie(user)
        await admin.get("/admin/accounts")
        assert (await admin.post(f"/admin/accounts/{target.id}/disable")).status == 303
        assert await _with_cookie(server, copied) == 303
        # Enabled again, the old session does not come back: a new login is needed.
        assert (await admin.post(f"/admin/accounts/{target.id}/enable")).status == 303
        assert await _with_cookie(server, copied) == 303

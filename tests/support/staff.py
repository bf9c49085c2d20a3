"""A staff member's browser for integration tests: cookies, CSRF tokens, logins."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp

from server import clock
from server.archive import ArchiveStore, StaffAccount
from server.staff.accounts import Accounts, LoginThrottle
from server.staff.passwords import hash_password

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
PASSWORD = "Inspect10n-pass"


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


async def make_account(
    archive: ArchiveStore,
    username: str,
    role: str,
    *,
    changed: bool = True,
    sections: tuple[str, ...] | None = None,
) -> StaffAccount:
    """An account whose password is PASSWORD; with `changed=False` it is still a one-time
    password that must be changed at the first login. A clerk works for the section of
    INTAKE_FORM unless `sections` says otherwise."""
    if sections is None:
        sections = (INTAKE_FORM["section"],) if role == "clerk" else ()
    accounts = Accounts(archive, LoginThrottle(100, 100, 60))
    account, _ = await accounts.create(username, role, sections=sections, actor="test")
    await archive.staff.set_password(
        account.id, hash_password(PASSWORD), must_change=not changed, actor="test"
    )
    return await archive.staff.get(account.id)


@dataclass
class Response:
    status: int
    text: str
    headers: Any
    url: str

    def json(self) -> Any:
        import json

        return json.loads(self.text)


class StaffBrowser:
    """An aiohttp session that behaves like a browser tab: keeps cookies, sends form tokens."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=False),
            cookie_jar=aiohttp.CookieJar(unsafe=True),
        )
        self.csrf = ""

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> StaffBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get(self, path: str, *, follow: bool = False, **kwargs: Any) -> Response:
        async with self.session.get(
            self.base_url + path, allow_redirects=follow, **kwargs
        ) as response:
            text = (await response.read()).decode("utf-8", "replace")  # images are bytes
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
            return Response(response.status, text, response.headers, str(response.url))

    async def post(
        self,
        path: str,
        data: Any = None,
        *,
        csrf: bool = True,
        follow: bool = False,
        **kwargs: Any,
    ) -> Response:
        if not self.csrf and csrf:
            await self.get("/login")
        if isinstance(data, dict | None):
            data = dict(data or {})
            if csrf:
                data.setdefault("csrf", self.csrf)
        elif csrf and isinstance(data, list):
            data = [*data, ("csrf", self.csrf)]
        async with self.session.post(
            self.base_url + path, data=data, allow_redirects=follow, **kwargs
        ) as response:
            text = (await response.read()).decode("utf-8", "replace")  # images are bytes
            found = CSRF.search(text)
            if found:
                self.csrf = found.group(1)
            return Response(response.status, text, response.headers, str(response.url))

    async def login(self, username: str, password: str = PASSWORD) -> Response:
        await self.get("/login")
        return await self.post("/login", {"username": username, "password": password})


INTAKE_FORM = {
    "application_no": "SQ20261126000123",
    "applicant_name": "柳江区示例餐饮店",
    "applicant_id_no": "91450221MA5KDEM012",
    "applicant_phone": "13812345678",
    "item_code": "FOOD-OPERATION",
    "site_address": "柳州市柳江区拉堡镇示例路 1 号",
    "section": "食品药品审批股",
}


def schedule_form(when: str, host_account: int | None = None, **extra: str) -> list:
    """The scheduling form as a browser posts it: a host, one of each other role."""
    form = [("scheduled_at", when)]
    if host_account is not None:
        form.append(("host_account", str(host_account)))
    else:
        form += [("host_name", "刘专家"), ("host_unit", "专家库"), ("host_phone", "")]
    form += [
        ("clerk_name", "李审批"),
        ("clerk_unit", "食品药品审批股"),
        ("clerk_phone", "0772-2123456"),
        ("expert_name", "王专家"),
        ("expert_unit", "专家库"),
        ("expert_phone", ""),
        ("observer_name", "赵观察"),
        ("observer_unit", "区市场监督管理局"),
        ("observer_phone", "13900000000"),
    ]
    form += list(extra.items())
    return form


def beijing(delta: timedelta) -> str:
    """A time `delta` from now as a form's datetime-local value, in Beijing time."""
    return (clock.now() + delta).astimezone(clock.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


async def register(tab: StaffBrowser, **changes: Any) -> int:
    """Register a case through the staff form; its id."""
    await tab.get("/cases/new")
    response = await tab.post("/cases", {**INTAKE_FORM, **changes})
    assert response.status == 303, response.text[:500]
    return int(re.search(r"/cases/(\d+)", response.headers["Location"]).group(1))  # type: ignore[union-attr]


async def follow(tab: StaffBrowser, inspection: int, views: list[dict]) -> None:
    """Read the case page's live stream (server-sent events) into `views`."""
    async with tab.session.get(f"{tab.base_url}/inspections/{inspection}/live") as stream:
        assert stream.status == 200
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        async for line in stream.content:
            if line.startswith(b"data: "):
                views.append(json.loads(line[6:]))

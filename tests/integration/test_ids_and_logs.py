"""Ids in addresses that name nothing, and credentials that must never reach the log.

Every route that takes an id is asked for one too large for the archive and for one that fits
but does not exist: each answers 404 (or refuses the caller first), never 500. The server as the
bureau runs it writes its access log and errors to stderr: no room link, status link or API key
may appear there.
"""

from __future__ import annotations

import json
import re
import ssl
import urllib.request

from server.staff.api_keys import ApiKeys
from tests.integration.test_permissions import served_routes
from tests.integration.test_server_start import run_cli
from tests.support.server import ServerProcess, write_config
from tests.support.staff import StaffBrowser, make_account

HUGE = "99999999999999999999999"  # more than 64 bits
ABSENT = "999999999999999999"  # fits, names nothing
PARAM = re.compile(r"\{(\w+)\}")
NOT_IDS = {"token", "action", "code", "upload"}


def path_with(route: str, value: str, token: str, status: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return {
            "token": status if route.startswith("/s/") else token,
            "action": "disable",
            "code": "FOOD-OPERATION",
            "upload": "nope",
        }.get(name, value)

    return PARAM.sub(fill, route)


async def test_every_route_answers_404_for_an_id_that_names_nothing(server):
    """For every caller; a personal link of a real inspection carries the huge id alone."""
    invited = await server.invite("host")
    token = invited.token("host")
    for role in ("inspector", "admin", "archivist"):
        await make_account(server.archive, role, role)
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    tabs = {"anonymous": StaffBrowser(server.base_url)}
    for role in ("inspector", "admin", "archivist"):
        tabs[role] = StaffBrowser(server.base_url)
        await tabs[role].login(role)
    await tabs["anonymous"].get("/login")
    routes = sorted(r for r in served_routes(server.app) if set(PARAM.findall(r[1])) - NOT_IDS)
    assert len(routes) > 20
    wrong, not_found = [], set()
    try:
        for value in (HUGE, ABSENT):
            for method, route in routes:
                path = path_with(route, value, token, "c1.1.AAAAAAAAAAAAAAAAAAAAAA")
                if "/screenshots/" in route and route.startswith("/room/"):
                    path = path.replace(f"/room/{value}/", f"/room/{invited.inspection.id}/", 1)
                for caller, tab in tabs.items():
                    headers = {"X-CSRF-Token": tab.csrf, "Authorization": f"Bearer {key}"}
                    async with tab.session.request(
                        method, server.base_url + path, headers=headers, allow_redirects=False
                    ) as response:
                        status = response.status
                    if status >= 500 or (value == HUGE and status != 404):
                        wrong.append(f"{method} {path[:90]} as {caller}: {status}")
                    if status == 404:
                        not_found.add((method, route))
    finally:
        for tab in tabs.values():
            await tab.close()
    assert not wrong, "\n".join(wrong)
    # Every one of them was reached by somebody allowed to ask, and said there is no such thing.
    assert not_found == set(routes)


def _fetch(url: str, *, key: str = "", body: object = None) -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, context=context, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_log_never_carries_a_link_token_or_an_api_key(tmp_path):
    config = write_config(tmp_path, demo={"enabled": True})
    created = run_cli(config, "apikey", "create", "platform")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("kyk_")
    server = ServerProcess(config, tmp_path).start()
    try:
        host = server.links()["host"]
        inspection, token = re.search(r"/room/(\d+)/(\S+)$", host).groups()  # type: ignore[union-attr]
        assert _fetch(host)[0] == 200
        assert _fetch(f"{host}/screenshots/{ABSENT}.jpg")[0] == 404
        assert _fetch(f"{host}/screenshots/{HUGE}.jpg")[0] == 404
        assert _fetch(f"{server.base_url}/room/{HUGE}/{token}")[0] == 404
        application = {
            "application_no": "SQ-LOG-1",
            "applicant": {
                "name": "柳江区示例餐饮店",
                "id_no": "91450221MA5KDEM012",
                "phone": "13812345678",
            },
            "item_code": "FOOD-OPERATION",
            "site_address": "柳州市柳江区拉堡镇示例路 1 号",
            "section": "食品药品审批股",
        }
        status, body = _fetch(f"{server.base_url}/api/v1/cases", key=key, body=application)
        assert status == 201, body
        status_url = json.loads(body)["status_url"]
        assert _fetch(status_url)[0] == 200
        assert _fetch(f"{server.base_url}/api/v1/cases/{HUGE}", key=key)[0] == 404
        assert _fetch(f"{server.base_url}/api/v1/cases/{ABSENT}", key=key)[0] == 404
    finally:
        server.stop()
    log = (tmp_path / "server.log").read_text()
    status_token = status_url.rsplit("/", 1)[1]
    for secret in (token, token.rsplit(".", 1)[1], status_token.rsplit(".", 1)[1], key, key[4:]):
        assert secret not in log
    # The requests are in the access log, with what identifies them and nothing that opens.
    assert f'"GET /room/{inspection}/{token.rsplit(".", 1)[0]}.*** HTTP/1.1" 200' in log
    assert f'"GET /s/{status_token.rsplit(".", 1)[0]}.*** HTTP/1.1" 200' in log
    assert f'"GET /api/v1/cases/{HUGE} HTTP/1.1" 404' in log

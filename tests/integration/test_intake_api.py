"""POST /api/v1/cases and the dishonesty-list API against the real server, every response checked
against docs/openapi.json."""

from __future__ import annotations

import asyncio
import copy
import json
import ssl
from urllib.parse import urlsplit

import aiohttp
import pytest
from openapi_spec_validator import validate

from server.staff.api_keys import ApiKeys
from tests.support.openapi import SPEC, check_response

GOOD = {
    "application_no": "SQ20261126000123",
    "applicant": {
        "name": "柳江区示例餐饮店",
        "id_no": "91450221MA5KDEM012",
        "phone": "13812345678",
    },
    "item_code": "FOOD-OPERATION",
    "site_address": "柳州市柳江区拉堡镇示例路 1 号",
    "section": "食品药品审批股",
}


class Api:
    def __init__(self, server, key: str) -> None:
        self.server = server
        self.key = key
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False))

    async def call(self, method, path, template, *, body=None, raw=None, headers=None, key=True):
        all_headers = {"Authorization": f"Bearer {self.key}"} if key else {}
        all_headers.update(headers or {})
        kwargs = {"headers": all_headers}
        if body is not None:
            kwargs["json"] = body
        if raw is not None:
            kwargs["data"] = raw
        async with self.session.request(method, self.server.base_url + path, **kwargs) as r:
            data = await r.json()
            check_response(method, template, r.status, data)
            return r.status, data, r.headers

    async def post_case(self, body, **kwargs):
        return await self.call("POST", "/api/v1/cases", "/api/v1/cases", body=body, **kwargs)


@pytest.fixture
async def api(server):
    _, key = await ApiKeys(server.archive).create("provincial-platform", actor="test")
    client = Api(server, key)
    yield client
    await client.session.close()


def test_the_openapi_document_is_valid():
    validate(SPEC)


async def test_openapi_document_is_served(server):
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as s:
        async with s.get(server.base_url + "/api/v1/openapi.json") as r:
            assert r.status == 200 and (await r.json())["openapi"] == "3.1.0"


async def test_a_case_is_created_once_and_a_repeat_returns_it(api, server):
    status, first, headers = await api.post_case(GOOD)
    assert status == 201
    assert headers["Location"] == f"/api/v1/cases/{first['id']}"
    assert first["state"] == "intake" and first["exclusions"] == []
    assert first["item"] == {"code": "FOOD-OPERATION", "name": "食品经营许可"}
    status, again, _ = await api.post_case(GOOD)
    assert status == 200 and again == first
    _, total = await server.archive.cases.search()
    assert total == 1
    events = await server.archive.events.find(case_id=first["id"], types=["case.created"])
    assert [e.actor for e in events] == ["apikey:provincial-platform"]


async def test_normalised_input_is_the_same_application(api):
    _, first, _ = await api.post_case(GOOD)
    same = copy.deepcopy(GOOD)
    same["applicant"]["phone"] = "+86 138 1234 5678"
    same["applicant"]["id_no"] = "91450221ma5kdem012"
    status, again, _ = await api.post_case(same)
    assert status == 200 and again["id"] == first["id"]


async def test_the_same_number_with_other_data_is_a_conflict(api):
    await api.post_case(GOOD)
    other = copy.deepcopy(GOOD)
    other["site_address"] = "柳州市鱼峰区另一条路 9 号"
    other["applicant"]["phone"] = "13900000000"
    status, body, _ = await api.post_case(other)
    assert status == 409 and body["error"]["code"] == "application_conflict"
    assert set(body["error"]["fields"]) == {"site_address", "applicant.phone"}


@pytest.mark.parametrize(
    ("change", "fields"),
    [
        (lambda d: d.pop("application_no"), {"application_no"}),
        (lambda d: d.update(application_no="SQ 1"), {"application_no"}),
        (lambda d: d.pop("applicant"), {"applicant"}),
        (lambda d: d["applicant"].update(name=""), {"applicant.name"}),
        (lambda d: d["applicant"].update(id_no="110105194912310021"), {"applicant.id_no"}),
        (lambda d: d["applicant"].update(phone="110"), {"applicant.phone"}),
        (lambda d: d["applicant"].update(wechat="x"), {"applicant.wechat"}),
        (lambda d: d.update(item_code="NOT-IN-CATALOG"), {"item_code"}),
        (lambda d: d.update(site_address="近"), {"site_address"}),
        (lambda d: d.pop("section"), {"section"}),
        (lambda d: d.update(priority="high"), {"priority"}),
        (
            lambda d: d.update(application_no=7, item_code=None, site_address=[]),
            {"application_no", "item_code", "site_address"},
        ),
    ],
)
async def test_every_validation_error_names_its_field(api, server, change, fields):
    body = copy.deepcopy(GOOD)
    change(body)
    status, answer, _ = await api.post_case(body)
    assert status == 400 and answer["error"]["code"] == "invalid"
    assert set(answer["error"]["fields"]) == fields
    assert (await server.archive.cases.search())[1] == 0  # nothing registered


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
        (b"[1, 2]", "application/json", 400, "invalid"),
        (b"[" * 50_000 + b"]" * 50_000, "application/json", 400, "too_deep"),
        (json.dumps(GOOD).encode(), "text/plain", 415, "unsupported_media_type"),
    ],
)
async def test_bodies_that_are_not_a_json_object(api, raw, content_type, status, code):
    got, body, _ = await api.post_case(None, raw=raw, headers={"Content-Type": content_type})
    assert (got, body["error"]["code"]) == (status, code)


async def test_get_case_reads_the_current_state(api):
    _, created, _ = await api.post_case(GOOD)
    path = f"/api/v1/cases/{created['id']}"
    status, body, _ = await api.call("GET", path, "/api/v1/cases/{id}")
    assert status == 200 and body["case_no"] == created["case_no"]
    status, body, _ = await api.call("GET", "/api/v1/cases/999", "/api/v1/cases/{id}")
    assert status == 404


async def raw_request(server, head: str) -> tuple[int, bytes]:
    """Send only the request head, with a promised body that never comes; read the answer."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    address = urlsplit(server.base_url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port, ssl=context)
    try:
        writer.write(head.encode())
        await writer.drain()
        # If the server waited for the 100 MB body, this would never complete.
        status_line = await asyncio.wait_for(reader.readline(), timeout=20)
        rest = await asyncio.wait_for(reader.read(4096), timeout=20)
        return int(status_line.split()[1]), rest
    finally:
        writer.close()


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "missing_key"), ("Basic dXNlcjpwYXNz", "missing_key"), ("Bearer kyk_wrong", "bad_key")],
)
async def test_a_missing_or_wrong_key_is_refused_before_the_body_is_read(
    server, authorization, code
):
    head = (
        "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000000\r\n"
    )
    if authorization:
        head += f"Authorization: {authorization}\r\n"
    status, rest = await raw_request(server, head + "\r\n")
    assert status == 401
    assert b'WWW-Authenticate: Bearer realm="kanyan"' in rest
    assert code.encode() in rest


async def test_a_revoked_key_is_refused_before_the_body_is_read(api, server):
    record = (await server.archive.staff.keys())[0]
    assert (await api.post_case(GOOD))[0] == 201
    await server.archive.staff.revoke_key(record.id, actor="test")
    head = (
        "POST /api/v1/cases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: 100000000\r\nAuthorization: Bearer {api.key}\r\n\r\n"
    )
    status, rest = await raw_request(server, head)
    assert status == 401 and b"revoked_key" in rest
    status, body, _ = await api.post_case(GOOD)
    assert status == 401 and body["error"]["code"] == "revoked_key"


async def test_an_applicant_on_the_list_is_registered_as_excluded(api):
    listed = {"id_no": GOOD["applicant"]["id_no"], "name": "柳江区示例餐饮店", "reason": "虚假承诺"}
    status, result, _ = await api.call(
        "POST", "/api/v1/dishonesty", "/api/v1/dishonesty", body={"entries": [listed]}
    )
    assert status == 200 and result["added"] == 1 and result["listed"] == 1
    status, case, _ = await api.post_case(GOOD)
    assert status == 201 and case["state"] == "excluded"
    assert [(x["ground"], x["reason"]) for x in case["exclusions"]] == [("dishonest", "虚假承诺")]


async def test_an_item_not_for_video_is_registered_as_excluded(api):
    status, case, _ = await api.post_case({**GOOD, "item_code": "HAZCHEM-OPERATION"})
    assert status == 201 and case["state"] == "excluded"
    assert case["exclusions"][0]["ground"] == "content"
    assert case["exclusions"][0]["declared_by"].startswith("catalog:HAZCHEM-OPERATION v1")


async def test_dishonesty_csv_import_merge_and_replace(api, server):
    csv_text = "证件号码,名称,失信事由,列入日期\n11010519491231002X,张某,提供虚假材料,2026-03-01\n"
    status, result, _ = await api.call(
        "POST",
        "/api/v1/dishonesty",
        "/api/v1/dishonesty",
        raw=csv_text.encode("gb18030"),
        headers={"Content-Type": "text/csv"},
    )
    assert status == 200 and (result["added"], result["mode"]) == (1, "merge")
    entries = [{"id_no": "9144030071526726XG", "name": "某公司"}]
    status, result, _ = await api.call(
        "POST",
        "/api/v1/dishonesty",
        "/api/v1/dishonesty",
        body={"mode": "replace", "entries": entries},
    )
    assert (status, result["added"], result["removed"], result["listed"]) == (200, 1, 1, 1)
    assert await server.archive.eligibility.find_dishonest("11010519491231002X") is None


async def test_a_bad_dishonesty_import_changes_nothing(api, server):
    entries = [
        {"id_no": "11010519491231002X", "name": "张某"},
        {"id_no": "110105194912310021", "name": "李某"},
    ]
    status, body, _ = await api.call(
        "POST", "/api/v1/dishonesty", "/api/v1/dishonesty", body={"entries": entries}
    )
    assert status == 400 and set(body["error"]["fields"]) == {"line 2.id_no"}
    assert await server.archive.eligibility.find_dishonest("11010519491231002X") is None
    status, body, _ = await api.call(
        "POST", "/api/v1/dishonesty", "/api/v1/dishonesty", body={"mode": "all", "entries": []}
    )
    assert status == 400 and set(body["error"]["fields"]) == {"mode"}
    status, body, _ = await api.call(
        "POST", "/api/v1/dishonesty", "/api/v1/dishonesty", body={"list": []}
    )
    assert status == 400 and set(body["error"]["fields"]) == {"list", "entries"}


async def test_the_status_url_shows_the_state_and_never_the_room(api):
    _, case, _ = await api.post_case(GOOD)
    async with api.session.get(case["status_url"]) as r:
        page = await r.text()
        assert r.status == 200
    assert "待安排勘验" in page and case["case_no"] in page
    assert "/room/" not in page and "/ws" not in page

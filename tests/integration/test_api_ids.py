"""What fuzzing the API (tests/fuzz/test_api_schema.py) found, each a server error before: case
ids beyond the archive's integer range (now 404, like the staff pages'), a finding whose kind is
not a string, an invalid `mode` in the query that was ignored with a JSON body, and JSON nested
deeper than the parser goes; and query parameters an operation does not take, which were
ignored (a typo in `mode` merged instead of replacing)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from server.staff.api_keys import ApiKeys


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cases/107692736423406030790066176",
        "/api/v1/cases/9223372036854775808/record.pdf",
        "/api/v1/cases/99999999999999999999999/package.zip",
    ],
)
async def test_a_case_id_too_large_for_the_archive_is_not_found(server, path):
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            server.base_url + path, ssl=False, headers={"Authorization": f"Bearer {key}"}
        ) as response,
    ):
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "not_found"


async def test_a_finding_for_a_case_id_too_large_is_not_found(server):
    _, key = await ApiKeys(server.archive).create("regulator", actor="test")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.base_url + "/api/v1/cases/18446744073709551616/findings",
            ssl=False,
            json={"kind": "other", "summary": "x"},
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        assert response.status == 404


async def test_a_finding_whose_kind_is_not_a_string_is_refused(server):
    """`{"kind": {}}` was a server error (an unhashable lookup); found by the API fuzzing."""
    invited = await server.invite("host")
    _, key = await ApiKeys(server.archive).create("regulator", actor="test")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.base_url}/api/v1/cases/{invited.inspection.case_id}/findings",
            ssl=False,
            json={"kind": {}, "text": "现场与视频不符"},
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        assert response.status == 400
        assert "kind" in (await response.json())["error"]["fields"]


async def test_a_mode_in_the_query_is_checked_whatever_the_body(server):
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.base_url}/api/v1/dishonesty?mode=everything",
            ssl=False,
            json={"entries": [], "mode": "merge"},
            headers={"Authorization": f"Bearer {key}"},
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["fields"] == {"mode": "merge | replace"}


async def test_an_unknown_query_parameter_is_refused_not_ignored(server):
    """`?mdoe=replace` (a typo) used to merge quietly: refused, as unknown body fields are."""
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/csv"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{server.base_url}/api/v1/dishonesty?mdoe=replace",
            ssl=False,
            data="id_no,name\n91450221MA5KDEM012,示例公司\n".encode(),
            headers=headers,
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["fields"] == {
            "mdoe": "未知参数 / unknown parameter"
        }
    _, total = await server.archive.eligibility.dishonesty(limit=1)
    assert total == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/api/v1/dishonesty",
            {"entries": [{"id_no": "91450221MA5KDEM012", "name": "示例\ud800公司"}]},
        ),
        (
            "/api/v1/cases",
            {
                "application_no": "SQ20261126000999",
                "applicant": {
                    "name": "柳江区示例\udfff餐饮店",
                    "id_no": "91450221MA5KDEM012",
                    "phone": "13812345678",
                },
                "item_code": "FOOD-OPERATION",
                "site_address": "柳州市柳江区拉堡镇示例路 1 号",
                "section": "食品药品审批股",
            },
        ),
    ],
)
async def test_lone_surrogates_in_a_json_body_are_a_bad_request(server, path, body):
    """JSON may escape a lone surrogate (\\ud800); stored, it failed in UTF-8 (a 500)."""
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            server.base_url + path,
            ssl=False,
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        ) as response,
    ):
        assert response.status == 400
        assert (await response.json())["error"]["code"] == "invalid_json"

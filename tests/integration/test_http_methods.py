"""A method a URL does not take is answered 405 with the `Allow` header naming the ones it does
(RFC 9110), also once the error is rendered as a page or as the API's JSON (found by
tests/fuzz/test_api_schema.py)."""

from __future__ import annotations

import aiohttp
import pytest


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("TRACE", "/api/v1/cases", "POST"),
        ("PUT", "/api/v1/dishonesty", "POST"),
        ("OPTIONS", "/login", "POST"),
        ("OPTIONS", "/metrics", "GET"),
    ],
)
async def test_a_method_not_allowed_names_the_allowed_ones(server, method, path, allowed):
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, server.base_url + path, ssl=False) as response,
    ):
        assert response.status == 405
        assert allowed in {m.strip() for m in response.headers.get("Allow", "").split(",")}

"""Schemathesis against docs/openapi.json on a real server, with a real API key: every
operation with data that fits its schema and data that does not. No server error, every answer
as documented (status, content type, body schema), and nothing unhandled in the server's log.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
import urllib3
from hypothesis import settings
from schemathesis.checks import positive_data_acceptance

from server.staff.api_keys import ApiKeys
from tests.fuzz.support import LiveServer, examples
from tests.support.server import ROOT

schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the test certificate


@dataclass
class Api:
    live: LiveServer
    key: str
    case_id: int


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with LiveServer(tmp_path_factory.mktemp("fuzz-api")) as live:
        assert live.server is not None
        _, key = live.run(ApiKeys(live.server.archive).create("fuzz-platform", actor="test"))
        invited = live.run(live.server.invite("host", "applicant"))
        yield Api(live, key, invited.inspection.case_id)
        live.log.assert_clean()


@schema.parametrize()
@settings(max_examples=examples(30))
def test_the_api_answers_as_documented(case: schemathesis.Case, api: Api) -> None:
    if case.path_parameters and case.path_parameters.get("id") == 0:
        case.path_parameters["id"] = api.case_id  # now and then, a case that exists
    before = len(api.live.log.records)
    # The real key where the case carries one; a case made without (to see it refused) stays so.
    headers = (
        {"Authorization": f"Bearer {api.key}"} if "Authorization" in (case.headers or {}) else {}
    )
    case.call_and_validate(
        base_url=api.live.base_url,
        headers=headers,
        # Data that fits the schema may still be refused: no schema can say an ID number's
        # check digit, a phone number's form or which items the catalog holds. The API then
        # answers 400 naming each field, which the other checks hold to the document.
        excluded_checks=[positive_data_acceptance],
        verify=False,
        timeout=30,
    )
    assert len(api.live.log.records) == before, api.live.log.problems()[before:][:3]

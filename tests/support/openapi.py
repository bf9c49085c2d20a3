"""Responses checked against docs/openapi.json: status documented, body matching its schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS31Validator

ROOT = Path(__file__).resolve().parents[2]
SPEC: dict[str, Any] = json.loads((ROOT / "docs" / "openapi.json").read_text())


def check_response(method: str, path: str, status: int, body: Any) -> None:
    """Fail unless `status` is documented for the operation and `body` fits its schema."""
    operation = SPEC["paths"][path][method.lower()]
    responses = operation["responses"]
    assert str(status) in responses, f"{method} {path}: status {status} is not documented"
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    # The schema's $refs point into the document: validate with the components beside it.
    root = {**schema, "components": SPEC["components"]}
    errors = sorted(OAS31Validator(root).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: " + "; ".join(e.message for e in errors[:5])

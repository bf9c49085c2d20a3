"""What the case page shows of the notices: each message the case caused, with its state and the
receiver's answer, and the regulators' findings (web.views.notices handles their forms)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.archive import Case
from server.services import ARCHIVE


def masked(channel: str, target: str) -> str:
    """A phone number as staff lists show it: enough to tell people apart."""
    if channel == "sms" and len(target) > 7:
        return target[:3] + "****" + target[-4:]
    return target


async def case_notices(request: web.Request, case: Case) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    return {
        "deliveries": list(reversed(await archive.outbox.of_case(case.id))),
        "findings": await archive.findings.of_case(case.id),
        "masked": masked,
    }

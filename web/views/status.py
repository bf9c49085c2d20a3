"""The applicant's status page (办理进度查询): the case's state, never the archive."""

from __future__ import annotations

from aiohttp import web

from server.services import ARCHIVE, STATUS_LINKS
from server.states import ACTIVE_INSPECTION

from ..pages import helpers, page


async def status_page(request: web.Request) -> web.StreamResponse:
    case = await request.app[STATUS_LINKS].authorise(request.match_info["token"])
    archive = request.app[ARCHIVE]
    inspections = await archive.inspections.of_case(case.id)
    upcoming = next((i for i in inspections if i.state in ACTIVE_INSPECTION), None)
    blocking = await archive.eligibility.exclusions(case.id, active_only=True)
    response = page(
        request,
        "status.html",
        {
            "case": case,
            "upcoming": upcoming,
            # The grounds only: a declaration's text may name what must stay confidential.
            "grounds": sorted({row.ground for row in blocking}),
            **helpers(request),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response

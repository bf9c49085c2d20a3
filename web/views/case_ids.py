"""Which case a staff address concerns, for the routes about one case.

`staff_page(action, case=…)` calls one of these to keep section-bound staff (approval clerks,
and inspectors when the bureau says so) to their own sections' cases: a case of another section
answers 404. A new route about a case, an inspection, or anything of theirs names its finder
here (tests/integration/test_sections.py fails for a route that does not).
"""

from __future__ import annotations

from aiohttp import web

from server.errors import UserError
from server.services import ARCHIVE

from ..pages import int_param


def _id(request: web.Request, name: str) -> int:
    return int_param(request.match_info[name])


async def case_id_of(request: web.Request) -> int:
    return _id(request, "case")


async def inspection_case_id(request: web.Request) -> int:
    return (await request.app[ARCHIVE].inspections.get(_id(request, "inspection"))).case_id


async def exclusion_case_id(request: web.Request) -> int:
    return (await request.app[ARCHIVE].eligibility.exclusion(_id(request, "exclusion"))).case_id


async def invitee_case_id(request: web.Request) -> int:
    archive = request.app[ARCHIVE]
    invitee = await archive.inspections.invitee(_id(request, "invitee"))
    return (await archive.inspections.get(invitee.inspection_id)).case_id


async def message_case(request: web.Request) -> int | None:
    """A message's case; None for one that belongs to no case."""
    return (await request.app[ARCHIVE].outbox.get(_id(request, "message"))).case_id


async def message_case_id(request: web.Request) -> int:
    case_id = await message_case(request)
    if case_id is None:
        raise UserError("该消息不属于任何案件 / this message belongs to no case")
    return case_id


async def finding_case_id(request: web.Request) -> int:
    return (await request.app[ARCHIVE].findings.get(_id(request, "finding"))).case_id


async def screenshot_case_id(request: web.Request) -> int:
    return (await request.app[ARCHIVE].evidence.screenshot(_id(request, "screenshot"))).case_id


async def record_case_id(request: web.Request) -> int:
    return (await request.app[ARCHIVE].records.get(_id(request, "record"))).case_id

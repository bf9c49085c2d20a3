"""The applicant's status page (办理进度查询): the case's state in plain words, the scheduled time,
an interrupted session, the conclusion with what must be rectified and by when; the
applicant confirms having seen the conclusion and asks for re-inspection here.

No login: the signed status link is the key. Never the archive, ID numbers, marks or notes.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from server import clock
from server.archive import Case, Inspection
from server.archive.conclusions import beijing_today
from server.errors import BadRequest, UserError
from server.services import ARCHIVE, CASES, RECORDS, ROOMS, SETTINGS, STATUS_LINKS, VIDEO
from server.states import (
    ACTIVE_INSPECTION,
    FINISHED,
    CaseState,
    InspectionState,
    Method,
    Verdict,
)

from ..i18n import lang_of, table
from ..pages import form_text, helpers, page
from ..staff import Handler


async def status_case(request: web.Request) -> Case:
    return await request.app[STATUS_LINKS].authorise(request.match_info["token"])


async def status_page(request: web.Request) -> web.StreamResponse:
    return await render_status(request, await status_case(request))


async def render_status(
    request: web.Request, case: Case, *, error: str = "", status: int = 200, note: str = ""
) -> web.Response:
    archive = request.app[ARCHIVE]
    inspections = await archive.inspections.of_case(case.id)
    upcoming = next((i for i in inspections if i.state in ACTIVE_INSPECTION), None)
    blocking = await archive.eligibility.exclusions(case.id, active_only=True)
    conclusion = await request.app[CASES].outcome.latest_conclusion(case)
    requests = await archive.conclusions.requests(case.id)
    rectify = conclusion is not None and conclusion.verdict == Verdict.RECTIFY
    deadline = conclusion.deadline if conclusion is not None and rectify else None
    rectifying = case.state == CaseState.RECTIFYING and rectify
    late = rectifying and deadline is not None and beijing_today() > deadline
    context: dict[str, Any] = {
        **await video_context(request, case, inspections),
        "case": case,
        "request_token": request.match_info["token"],
        "upcoming": upcoming,
        # Interrupted, or moved to a new time after it was.
        "interrupted": (
            upcoming
            if upcoming is not None
            and upcoming.interrupt_reason
            and upcoming.state in (InspectionState.INTERRUPTED, InspectionState.SCHEDULED)
            else None
        ),
        # The grounds only: a declaration's text may name what must stay confidential.
        "grounds": sorted({row.ground for row in blocking}),
        "conclusion": conclusion,
        "deadline": deadline,
        "may_confirm": conclusion is not None and conclusion.confirmation != "confirmed",
        "may_request": rectifying and not late,
        "late": late,
        "request_sent": (
            requests[-1] if requests and case.state == CaseState.REINSPECTION_REQUESTED else None
        ),
        "notice": request.query.get("notice", ""),
        "error": error,
        "note": note,
        **helpers(request),
    }
    response = page(request, "status.html", context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


async def video_context(
    request: web.Request, case: Case, inspections: list[Inspection]
) -> dict[str, Any]:
    """A self-recorded inspection on the status page: while the video is awaited, what to film
    and by when and the upload (web/static/js/upload.js); every attempt with its result; once
    a video passed its checks, that it is under review."""
    video = request.app[VIDEO]
    shown = next(
        (
            i
            for i in reversed(inspections)
            if i.method == Method.VIDEO and i.state != InspectionState.CANCELLED
        ),
        None,
    )
    context: dict[str, Any] = {
        "awaiting_video": None,
        "video_reviewing": shown is not None and shown.state == InspectionState.REVIEWING,
        "attempts": [],
        "mb": lambda size: f"{size / 1024**2:.1f} MB",
    }
    if shown is None or case.state in FINISHED:
        return context
    context["attempts"] = [
        u for u in await video.archive.uploads.of_case(case.id) if u.inspection_id == shown.id
    ]
    awaiting = await video.awaiting(case)
    if awaiting is None:
        return context
    asked = await video.archive.events.find(inspection_id=awaiting.id, types=["video.asked_again"])
    settings = request.app[SETTINGS].uploads
    strings = table(lang_of(request))
    context.update(
        {
            "awaiting_video": awaiting,
            "shooting": await video.shooting(awaiting),
            "video_deadline": awaiting.submission_deadline or awaiting.scheduled_at,
            "video_late": clock.now()
            > clock.parse(awaiting.submission_deadline or awaiting.scheduled_at),
            "asked_again": asked[-1].data.get("reason", "") if asked else "",
            "upload_config": {
                "endpoint": f"/s/{request.match_info['token']}/uploads",
                "chunkSize": settings.chunk_bytes,
                "maxBytes": settings.max_bytes,
                "checking": [u.id for u in context["attempts"] if u.state == "checking"],
                "lang": lang_of(request),
                "strings": {k: v for k, v in strings.items() if k.startswith("video_")},
            },
        }
    )
    return context


def on_status(handler: Handler) -> Handler:
    """A form posted from the status page: a refusal shows the page again with the reason."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except (BadRequest, UserError) as exc:
            form = await request.post()
            return await render_status(
                request,
                await status_case(request),
                error=exc.message,
                status=exc.status,
                note=form_text(form, "note"),
            )

    return wrapped


def _back(request: web.Request, notice: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"/s/{request.match_info['token']}?notice={notice}")


def _client(request: web.Request) -> dict[str, str]:
    """Where a confirmation or request came from, for the archive."""
    return {"address": request.remote or "", "agent": request.headers.get("User-Agent", "")}


@on_status
async def confirm(request: web.Request) -> web.StreamResponse:
    """确认已知悉 / 不予确认: the applicant's answer to the latest conclusion."""
    case = await status_case(request)
    form = await request.post()
    answer = form.get("accepted")
    if answer not in ("1", "0"):
        raise BadRequest(
            "请选择「确认已知悉」或「不予确认」 / choose to confirm or to decline",
            code="invalid",
        )
    conclusion = await request.app[CASES].outcome.latest_conclusion(case)
    if conclusion is None:
        raise UserError("尚未作出勘验结论 / there is no conclusion yet", code="no_conclusion")
    seen = form.get("conclusion")
    if seen and seen != str(conclusion.id):
        raise UserError(
            "勘验结论已更新，请阅读最新结论后再确认 / the conclusion changed; read the new one "
            "before you answer",
            code="stale_conclusion",
        )
    await request.app[CASES].outcome.confirm(
        None, conclusion.inspection_id, answer == "1", form_text(form, "note"), **_client(request)
    )
    # The record carries the applicant's confirmation: a record made before it gets a new
    # version that says so.
    if await request.app[ARCHIVE].records.of_inspection(conclusion.inspection_id):
        request.app[ROOMS].spawn(
            request.app[RECORDS].generate(conclusion.inspection_id, actor="system:confirmation")
        )
    raise _back(request, "confirmed" if answer == "1" else "declined")


@on_status
async def request_reinspection(request: web.Request) -> web.StreamResponse:
    """整改完成，申请复勘: before the deadline, with what was done."""
    case = await status_case(request)
    form = await request.post()
    note = form.get("note")
    await request.app[CASES].outcome.request_reinspection(
        case, note if isinstance(note, str) else None, **_client(request)
    )
    raise _back(request, "requested")

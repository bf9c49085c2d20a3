"""Staff pages of the case workflow: dashboard, case list, intake, eligibility, the case page
and the forms posted from it (closing a case, regenerating a record)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from server import clock
from server.archive import Case, Inspection, Invitee
from server.cases.eligibility import DECLARABLE
from server.cases.intake import application_from_form
from server.errors import BadRequest, NotFound, UserError
from server.services import ARCHIVE, CASES, CATALOG, LINKS, RECORDS, SETTINGS, STATUS_LINKS
from server.staff.roles import StaffAction, may
from server.states import ACTIVE_INSPECTION, CaseState, InspectionState, Method, case_may_move

from ..pages import form_text, helpers, int_param, page, public_base, qr_svg
from ..staff import CSRF_KEY, Handler, actor_of, check_case_scope, current, scope_of, staff_page
from .case_ids import case_id_of, exclusion_case_id, inspection_case_id
from .notice_panel import case_notices
from .outcome import case_outcome, inspection_outcome
from .packages import dashboard_context
from .review import review_config, video_section

PAGE_SIZE = 50


@dataclass(frozen=True)
class Member:
    """A member of an inspection group as the case page shows them."""

    invitee: Invitee
    url: str  # their personal link, when this staff member may see it
    mine: bool  # the member is the logged-in staff member


# -- dashboard and case list --------------------------------------------------------------------


@staff_page()
async def dashboard(request: web.Request) -> web.StreamResponse:
    account = current(request)
    assert account is not None
    scope = scope_of(request)
    context: dict[str, Any] = {
        "notice": request.query.get("notice", ""),
        "scope": scope,
        **helpers(request),
    }
    if may(account, StaffAction.VIEW_CASES):
        archive = request.app[ARCHIVE]
        now = clock.now()
        today = now.astimezone(clock.SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        tomorrow = today + timedelta(days=1)
        agenda = await archive.inspections.agenda(clock.iso(today), sections=scope)
        context["today"] = [e for e in agenda if e.scheduled_at < clock.iso(tomorrow)]
        context["upcoming"] = [e for e in agenda if e.scheduled_at >= clock.iso(tomorrow)]
        waiting, waiting_count = await archive.cases.search(
            state=CaseState.INTAKE, sections=scope, limit=10
        )
        context["waiting"] = waiting
        context["waiting_count"] = waiting_count
        context["requests"] = await archive.conclusions.open_requests(sections=scope)
        context["to_close"] = await archive.conclusions.awaiting_section(sections=scope)
    if may(account, StaffAction.REVIEW_FINDINGS):
        context["open_findings"] = await request.app[ARCHIVE].findings.open(sections=scope)
    if may(account, StaffAction.MANAGE_WEBHOOKS):
        depth = await request.app[ARCHIVE].outbox.depth()
        context["backlog"] = {s: depth.get(s, 0) for s in ("pending", "retrying", "failed")}
    context.update(await dashboard_context(request))  # the archive's: the last verify-files
    return page(request, "staff/dashboard.html", context)


@staff_page(StaffAction.VIEW_CASES)
async def case_list(request: web.Request) -> web.StreamResponse:
    query = request.query
    filters = {
        "state": query.get("state", "") if query.get("state", "") in set(CaseState) else "",
        "item_code": query.get("item", "")[:32],
        "section": query.get("section", "")[:64],
        "query": query.get("q", "").strip()[:100],
    }
    created_from, created_before = "", ""
    try:
        if query.get("from"):
            start = datetime.strptime(query["from"], "%Y-%m-%d").replace(tzinfo=clock.SHANGHAI)
            created_from = clock.iso(start)
        if query.get("to"):
            end = datetime.strptime(query["to"], "%Y-%m-%d").replace(tzinfo=clock.SHANGHAI)
            created_before = clock.iso(end + timedelta(days=1))
    except ValueError:
        pass
    number = max(1, int_param(query.get("page", "1")))
    archive = request.app[ARCHIVE]
    scope = scope_of(request)
    cases, total = await archive.cases.search(
        **filters,
        created_from=created_from,
        created_before=created_before,
        sections=scope,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    params = {k: v for k, v in query.items() if k != "page" and v}
    return page(
        request,
        "staff/cases.html",
        {
            "cases": cases,
            "total": total,
            "page_number": number,
            "pages": max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
            "params": params,
            "page_url": lambda n: "/cases?" + urlencode({**params, "page": n}),
            "states": [str(state) for state in CaseState],
            "items": await request.app[CATALOG].items(),
            "sections": list(scope) if scope is not None else await archive.cases.sections(),
            "query": dict(query),
            **helpers(request),
        },
    )


# -- intake -------------------------------------------------------------------------------------


async def _intake_context(request: web.Request) -> dict[str, Any]:
    scope = scope_of(request)
    sections = list(scope) if scope is not None else await request.app[ARCHIVE].cases.sections()
    return {"items": await request.app[CATALOG].items(), "sections": sections}


def _check_intake_section(request: web.Request, form: Any) -> None:
    """A section-bound person registers cases of their own sections only (a case of another
    section would be theirs to register and nobody's of theirs to see)."""
    scope = scope_of(request)
    section = form_text(form, "section", 64)
    if scope is not None and section and section not in scope:
        raise BadRequest(
            "只能登记本人所在业务股室的案件 / you may register cases of your own sections only",
            code="invalid",
            details={"section": "、".join(scope) or "—"},
        )


@staff_page(StaffAction.INTAKE)
async def new_case(request: web.Request) -> web.StreamResponse:
    return page(request, "staff/case_new.html", await _intake_context(request))


@staff_page(StaffAction.INTAKE)
async def create_case(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        _check_intake_section(request, form)
        case, created = await request.app[CASES].intake(
            application_from_form(form), actor=actor_of(request)
        )
    except (BadRequest, UserError) as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return page(
            request,
            "staff/case_new.html",
            {
                **await _intake_context(request),
                "form": dict(form),
                "errors": details,
                "error": exc.message,
            },
            status=exc.status,
        )
    notice = "created" if created else "existing"
    await check_case_scope(request, case.id)  # an existing case of another section: not shown
    raise web.HTTPSeeOther(f"/cases/{case.id}?notice={notice}")


# -- the case page -----------------------------------------------------------------------------


async def case_of(request: web.Request) -> Case:
    return await request.app[ARCHIVE].cases.get(int_param(request.match_info["case"]))


async def inspection_view(
    request: web.Request, inspection: Inspection, show_all_links: bool
) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    links = request.app[LINKS]
    account = current(request)
    accounts = await archive.inspections.invitee_accounts(inspection.id)
    # A self-recorded video is uploaded through the status link: no room, no room links.
    open_links = inspection.state in ACTIVE_INSPECTION and inspection.method != Method.VIDEO
    members: list[Member] = []
    for invitee in await archive.inspections.invitees(inspection.id):
        mine = account is not None and accounts.get(invitee.id) == account.id
        url = ""
        if open_links and invitee.revoked_at is None and (show_all_links or mine):
            url = links.room_url(invitee, inspection)
        members.append(Member(invitee, url, mine))
    applicant = next((m for m in members if m.invitee.role == "applicant" and m.url), None)
    version_id = await archive.inspections.catalog_version(inspection.id)
    checklist = await request.app[CATALOG].version(version_id) if version_id else None
    return {
        "inspection": inspection,
        "members": members,
        "host": next((m for m in members if m.invitee.role == "host" and m.url), None),
        "applicant_qr": qr_svg(applicant.url) if applicant else None,
        "checklist": checklist,
        "cancel_reason": (
            await archive.inspections.cancel_reason(inspection.id)
            if inspection.state == InspectionState.CANCELLED
            else None
        ),
        "opens_at": clock.parse(inspection.scheduled_at)
        - timedelta(minutes=request.app[SETTINGS].security.link_lead_minutes),
    }


@staff_page(StaffAction.VIEW_CASES, case=case_id_of)
async def case_page(request: web.Request) -> web.StreamResponse:
    return await render_case(request, await case_of(request))


async def render_case(
    request: web.Request, case: Case, *, error: str = "", status: int = 200
) -> web.Response:
    archive = request.app[ARCHIVE]
    account = current(request)
    assert account is not None
    schedules = may(account, StaffAction.SCHEDULE)
    of_case = await archive.inspections.of_case(case.id)
    seqs = {inspection.id: inspection.seq for inspection in of_case}
    inspections = []
    for inspection in reversed(of_case):  # the newest first
        view = await inspection_view(request, inspection, schedules)
        view["outcome"] = await inspection_outcome(request, inspection, seqs)
        view["video"] = await video_section(request, inspection)
        inspections.append(view)
    status_url = ""
    status_qr = None
    if schedules or may(account, StaffAction.INTAKE):
        status_url = await request.app[STATUS_LINKS].url(case, public_base(request))
        status_qr = qr_svg(status_url)
    item = None
    try:
        item = await request.app[CATALOG].current(case.item_code)
    except NotFound:
        pass
    return page(
        request,
        "staff/case.html",
        {
            "case": case,
            "item": item,
            "exclusions": await archive.eligibility.exclusions(case.id),
            "blocking": await archive.eligibility.exclusions(case.id, active_only=True),
            "inspections": inspections,
            "seqs": seqs,
            # Not while a self-recorded video is under review: it holds the case.
            "schedulable": case_may_move(case.state, CaseState.SCHEDULED)
            and not any(i.state == InspectionState.REVIEWING for i in of_case),
            "active": next(
                (v for v in inspections if v["inspection"].state in ACTIVE_INSPECTION), None
            ),
            "events": await archive.events.find(case_id=case.id),
            "declarable": DECLARABLE,
            "status_url": status_url,
            "status_qr": status_qr,
            "notice": request.query.get("notice", ""),
            "error": error,
            **await case_outcome(request, case),
            **await case_notices(request, case),
            "review_config": (
                review_config(request, request[CSRF_KEY])
                if any(v["video"] for v in inspections)
                else None
            ),
            **helpers(request),
        },
        status=status,
    )


def on_case(
    find: Callable[[web.Request], Awaitable[int]],
) -> Callable[[Handler], Handler]:
    """A form posted from the case page: a refusal re-shows the case page with the reason."""

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                return await handler(request)
            except (BadRequest, UserError) as exc:
                case = await request.app[ARCHIVE].cases.get(await find(request))
                details = exc.details if isinstance(exc.details, dict) else {}
                message = exc.message
                if details and not details.get("exclusions"):
                    message += " — " + "; ".join(f"{k}: {v}" for k, v in details.items())
                return await render_case(request, case, error=message, status=exc.status)

        return wrapped

    return decorate


def back(case_id: int, notice: str = "") -> web.HTTPSeeOther:
    suffix = f"?notice={notice}" if notice else ""
    return web.HTTPSeeOther(f"/cases/{case_id}{suffix}")


@staff_page(StaffAction.DECLARE_EXCLUSION, case=case_id_of)
@on_case(case_id_of)
async def declare_exclusion(request: web.Request) -> web.StreamResponse:
    case = await case_of(request)
    form = await request.post()
    await request.app[CASES].declare(
        case.id,
        form_text(form, "ground", 20),
        form_text(form, "reason"),
        actor=actor_of(request),
    )
    raise back(case.id, "excluded")


@staff_page(StaffAction.WITHDRAW_EXCLUSION, case=exclusion_case_id)
@on_case(exclusion_case_id)
async def withdraw_exclusion(request: web.Request) -> web.StreamResponse:
    archive = request.app[ARCHIVE]
    exclusion = await archive.eligibility.exclusion(int_param(request.match_info["exclusion"]))
    form = await request.post()
    await request.app[CASES].withdraw(
        exclusion.id, form_text(form, "reason"), actor=actor_of(request)
    )
    raise back(exclusion.case_id, "withdrawn")


@staff_page(StaffAction.CLOSE_CASE, case=case_id_of)
@on_case(case_id_of)
async def close_case(request: web.Request) -> web.StreamResponse:
    """办结: the owning section has acted on the conclusion; the status link stops working."""
    case = await case_of(request)
    form = await request.post()
    await request.app[CASES].outcome.close(case, form_text(form, "note"), actor=actor_of(request))
    raise back(case.id, "closed")


@staff_page(StaffAction.SCHEDULE, case=inspection_case_id)
@on_case(inspection_case_id)
async def regenerate_record(request: web.Request) -> web.StreamResponse:
    """A new version of the inspection's record (勘验笔录); the earlier ones stay."""
    inspection = await inspection_of(request)
    await request.app[RECORDS].regenerate(inspection.id, actor=actor_of(request))
    raise back(inspection.case_id, "record_generated")


async def inspection_of(request: web.Request) -> Inspection:
    return await request.app[ARCHIVE].inspections.get(int_param(request.match_info["inspection"]))

"""Staff pages of the case workflow: dashboard, case list, intake, eligibility, scheduling; and
the applicant's status page."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from markupsafe import Markup

from server import clock
from server.accounts import StaffAction, StaffRole, may
from server.app import ARCHIVE, CASES, CATALOG, LINKS, SETTINGS, STATUS_LINKS
from server.archive import Case, GroupMember, Inspection, Invitee
from server.cases import CASE_STATES, INSPECTION_STATES, application_from_form
from server.eligibility import DECLARABLE, GROUND_NAMES, Ground
from server.errors import BadRequest, NotFound, UserError

from .i18n import lang_of
from .staff import Handler, actor_of, current, int_param, page, public_base, staff_page

PAGE_SIZE = 50


@dataclass(frozen=True)
class Member:
    """A member of an inspection group as the case page shows them."""

    invitee: Invitee
    url: str  # their personal link, when this staff member may see it
    mine: bool  # the member is the logged-in staff member


GROUP_ROWS = {"clerk": 2, "expert": 3, "observer": 2}


def qr_svg(url: str) -> Markup:
    """An inline SVG QR code: prints sharp and needs no image route that would carry a token."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return Markup(image.to_string(encoding="unicode"))


def state_label(request: web.Request, state: str) -> str:
    zh, en = CASE_STATES.get(state, (state, state))
    return zh if lang_of(request) == "zh" else en


def helpers(request: web.Request) -> dict[str, Any]:
    lang = lang_of(request)
    pick = 0 if lang == "zh" else 1
    return {
        "case_state": lambda s: CASE_STATES.get(s, (s, s))[pick],
        "inspection_state": lambda s: INSPECTION_STATES.get(s, (s, s))[pick],
        "ground_label": lambda g: GROUND_NAMES[Ground(g)][pick],
        "beijing": lambda value, fmt="%Y-%m-%d %H:%M": clock.shanghai(value, fmt) if value else "",
    }


def _form_text(form: Any, key: str, limit: int = 500) -> str:
    value = form.get(key, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


# -- dashboard and case list --------------------------------------------------------------------


@staff_page()
async def dashboard(request: web.Request) -> web.StreamResponse:
    account = current(request)
    assert account is not None
    context: dict[str, Any] = {"notice": request.query.get("notice", ""), **helpers(request)}
    if may(account, StaffAction.VIEW_CASES):
        archive = request.app[ARCHIVE]
        now = clock.now()
        today = now.astimezone(clock.SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        tomorrow = today + timedelta(days=1)
        agenda = await archive.agenda(clock.iso(today))
        context["today"] = [e for e in agenda if e.scheduled_at < clock.iso(tomorrow)]
        context["upcoming"] = [e for e in agenda if e.scheduled_at >= clock.iso(tomorrow)]
        waiting, waiting_count = await archive.list_cases(state="intake", limit=10)
        context["waiting"] = waiting
        context["waiting_count"] = waiting_count
    return page(request, "staff/dashboard.html", context)


@staff_page(StaffAction.VIEW_CASES)
async def case_list(request: web.Request) -> web.StreamResponse:
    query = request.query
    filters = {
        "state": query.get("state", "") if query.get("state", "") in CASE_STATES else "",
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
    cases, total = await archive.list_cases(
        **filters,
        created_from=created_from,
        created_before=created_before,
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
            "states": CASE_STATES,
            "items": await request.app[CATALOG].items(),
            "sections": await archive.case_sections(),
            "query": dict(query),
            **helpers(request),
        },
    )


# -- intake -------------------------------------------------------------------------------------


async def _intake_context(request: web.Request) -> dict[str, Any]:
    return {
        "items": await request.app[CATALOG].items(),
        "sections": await request.app[ARCHIVE].case_sections(),
    }


@staff_page(StaffAction.INTAKE)
async def new_case(request: web.Request) -> web.StreamResponse:
    return page(request, "staff/case_new.html", await _intake_context(request))


@staff_page(StaffAction.INTAKE)
async def create_case(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
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
    raise web.HTTPSeeOther(f"/cases/{case.id}?notice={notice}")


# -- the case page -----------------------------------------------------------------------------


async def _case(request: web.Request) -> Case:
    return await request.app[ARCHIVE].get_case(int_param(request.match_info["case"]))


async def _inspection_view(
    request: web.Request, inspection: Inspection, show_all_links: bool
) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    links = request.app[LINKS]
    account = current(request)
    accounts = await archive.invitee_accounts(inspection.id)
    open_links = inspection.state in ("scheduled", "live")
    members: list[Member] = []
    for invitee in await archive.invitees(inspection.id):
        mine = account is not None and accounts.get(invitee.id) == account.id
        url = ""
        if open_links and invitee.revoked_at is None and (show_all_links or mine):
            url = links.room_url(invitee, inspection)
        members.append(Member(invitee, url, mine))
    applicant = next((m for m in members if m.invitee.role == "applicant" and m.url), None)
    version_id = await archive.inspection_catalog_version(inspection.id)
    checklist = await request.app[CATALOG].version(version_id) if version_id else None
    return {
        "inspection": inspection,
        "members": members,
        "host": next((m for m in members if m.invitee.role == "host" and m.url), None),
        "applicant_qr": qr_svg(applicant.url) if applicant else None,
        "checklist": checklist,
        "cancel_reason": (
            await archive.inspection_cancel_reason(inspection.id)
            if inspection.state == "cancelled"
            else None
        ),
        "opens_at": clock.parse(inspection.scheduled_at)
        - timedelta(minutes=request.app[SETTINGS].security.link_lead_minutes),
    }


@staff_page(StaffAction.VIEW_CASES)
async def case_page(request: web.Request) -> web.StreamResponse:
    return await render_case(request, await _case(request))


async def render_case(
    request: web.Request, case: Case, *, error: str = "", status: int = 200
) -> web.Response:
    archive = request.app[ARCHIVE]
    account = current(request)
    assert account is not None
    schedules = may(account, StaffAction.SCHEDULE)
    inspections = [
        await _inspection_view(request, inspection, schedules)
        for inspection in reversed(await archive.inspections_of_case(case.id))
    ]
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
            "exclusions": await archive.exclusions(case.id),
            "blocking": await archive.exclusions(case.id, active_only=True),
            "inspections": inspections,
            "active": next(
                (v for v in inspections if v["inspection"].state in ("scheduled", "live")), None
            ),
            "events": await archive.case_events(case.id),
            "declarable": DECLARABLE,
            "status_url": status_url,
            "status_qr": status_qr,
            "notice": request.query.get("notice", ""),
            "error": error,
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
                case = await request.app[ARCHIVE].get_case(await find(request))
                details = exc.details if isinstance(exc.details, dict) else {}
                message = exc.message
                if details and not details.get("exclusions"):
                    message += " — " + "; ".join(f"{k}: {v}" for k, v in details.items())
                return await render_case(request, case, error=message, status=exc.status)

        return wrapped

    return decorate


async def _case_id(request: web.Request) -> int:
    return int_param(request.match_info["case"])


async def _inspection_case_id(request: web.Request) -> int:
    return (await _inspection(request)).case_id


async def _exclusion_case_id(request: web.Request) -> int:
    archive = request.app[ARCHIVE]
    return (await archive.get_exclusion(int_param(request.match_info["exclusion"]))).case_id


async def _invitee_case_id(request: web.Request) -> int:
    archive = request.app[ARCHIVE]
    invitee = await archive.get_invitee(int_param(request.match_info["invitee"]))
    return (await archive.get_inspection(invitee.inspection_id)).case_id


def _back(case_id: int, notice: str = "") -> web.HTTPSeeOther:
    suffix = f"?notice={notice}" if notice else ""
    return web.HTTPSeeOther(f"/cases/{case_id}{suffix}")


@staff_page(StaffAction.DECLARE_EXCLUSION)
@on_case(_case_id)
async def declare_exclusion(request: web.Request) -> web.StreamResponse:
    case = await _case(request)
    form = await request.post()
    await request.app[CASES].declare(
        case.id,
        _form_text(form, "ground", 20),
        _form_text(form, "reason"),
        actor=actor_of(request),
    )
    raise _back(case.id, "excluded")


@staff_page(StaffAction.WITHDRAW_EXCLUSION)
@on_case(_exclusion_case_id)
async def withdraw_exclusion(request: web.Request) -> web.StreamResponse:
    archive = request.app[ARCHIVE]
    exclusion = await archive.get_exclusion(int_param(request.match_info["exclusion"]))
    form = await request.post()
    await request.app[CASES].withdraw(
        exclusion.id, _form_text(form, "reason"), actor=actor_of(request)
    )
    raise _back(exclusion.case_id, "withdrawn")


# -- scheduling ---------------------------------------------------------------------------------


def parse_when(value: str) -> datetime | None:
    """A datetime-local field, read as Beijing time."""
    for fmt in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=clock.SHANGHAI)
        except ValueError:
            continue
    return None


def _rows(form: Any, role: str) -> list[GroupMember]:
    names = form.getall(f"{role}_name", [])
    units = form.getall(f"{role}_unit", [])
    phones = form.getall(f"{role}_phone", [])
    members = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            continue
        unit = units[index] if index < len(units) and isinstance(units[index], str) else ""
        phone = phones[index] if index < len(phones) and isinstance(phones[index], str) else ""
        members.append(GroupMember(role, name.strip(), unit.strip(), phone.strip()))
    return members


async def _group_from_form(request: web.Request, form: Any, case: Case) -> list[GroupMember]:
    archive = request.app[ARCHIVE]
    group: list[GroupMember] = []
    host_account = _form_text(form, "host_account", 20)
    if host_account:
        account = await archive.get_staff(int_param(host_account))
        if account.role != StaffRole.INSPECTOR or account.disabled_at is not None:
            raise BadRequest(
                "主持人须为在用的勘验人员账号 / the host must be an active inspector account",
                code="invalid",
                details={"host": "inspector account"},
            )
        group.append(GroupMember("host", account.display_name, "", "", account.id))
    else:
        group.extend(_rows(form, "host"))
    for value in form.getall("clerk_account", []):
        account = await archive.get_staff(int_param(str(value)))
        if account.role != StaffRole.CLERK:
            raise BadRequest(
                "所选账号不是业务审批人员 / not a clerk account",
                code="invalid",
                details={"clerk": "clerk account"},
            )
        group.append(GroupMember("clerk", account.display_name, case.section, "", account.id))
    for role in ("clerk", "expert", "observer"):
        group.extend(_rows(form, role))
    applicant_name = _form_text(form, "applicant_name", 100) or case.applicant_name
    group.append(
        GroupMember(
            "applicant",
            applicant_name,
            case.applicant_name if applicant_name != case.applicant_name else "",
            _form_text(form, "applicant_phone", 30) or case.applicant_phone,
        )
    )
    return group


async def _schedule_context(request: web.Request, case: Case) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    now = clock.now().astimezone(clock.SHANGHAI)
    default = (now + timedelta(days=1)).replace(hour=9, minute=30, second=0, microsecond=0)
    account = current(request)
    return {
        "case": case,
        "inspectors": await archive.list_staff(StaffRole.INSPECTOR),
        "clerks": await archive.list_staff(StaffRole.CLERK),
        "rows": GROUP_ROWS,
        "default_when": default.strftime("%Y-%m-%dT%H:%M"),
        "me_id": account.id if account else None,
        "blocking": await archive.exclusions(case.id, active_only=True),
        "already": any(
            i.state in ("scheduled", "live") for i in await archive.inspections_of_case(case.id)
        ),
        **helpers(request),
    }


@staff_page(StaffAction.SCHEDULE)
async def schedule_page(request: web.Request) -> web.StreamResponse:
    case = await _case(request)
    return page(request, "staff/schedule.html", await _schedule_context(request, case))


@staff_page(StaffAction.SCHEDULE)
async def schedule(request: web.Request) -> web.StreamResponse:
    case = await _case(request)
    form = await request.post()
    try:
        when = parse_when(_form_text(form, "scheduled_at", 30))
        group = await _group_from_form(request, form, case)
        if when is None:
            raise BadRequest(
                "请填写勘验时间 / give the time",
                code="invalid",
                details={"scheduled_at": "必填 / required"},
            )
        await request.app[CASES].schedule(case.id, when, group, actor=actor_of(request))
    except (BadRequest, UserError) as exc:
        context = await _schedule_context(request, await _case(request))
        details = exc.details if isinstance(exc.details, dict) else {}
        return page(
            request,
            "staff/schedule.html",
            {**context, "form": form, "errors": details, "error": exc.message},
            status=exc.status,
        )
    raise _back(case.id, "scheduled")


async def _inspection(request: web.Request) -> Inspection:
    return await request.app[ARCHIVE].get_inspection(int_param(request.match_info["inspection"]))


@staff_page(StaffAction.SCHEDULE)
@on_case(_inspection_case_id)
async def reschedule(request: web.Request) -> web.StreamResponse:
    inspection = await _inspection(request)
    form = await request.post()
    when = parse_when(_form_text(form, "scheduled_at", 30))
    if when is None:
        raise BadRequest(
            "请填写新的勘验时间 / give the new time",
            code="invalid",
            details={"scheduled_at": "必填 / required"},
        )
    await request.app[CASES].reschedule(
        inspection.id, when, _form_text(form, "reason"), actor=actor_of(request)
    )
    raise _back(inspection.case_id, "rescheduled")


@staff_page(StaffAction.SCHEDULE)
@on_case(_inspection_case_id)
async def cancel(request: web.Request) -> web.StreamResponse:
    inspection = await _inspection(request)
    form = await request.post()
    await request.app[CASES].cancel(
        inspection.id, _form_text(form, "reason"), actor=actor_of(request)
    )
    raise _back(inspection.case_id, "cancelled")


@staff_page(StaffAction.SCHEDULE)
@on_case(_inspection_case_id)
async def add_member(request: web.Request) -> web.StreamResponse:
    inspection = await _inspection(request)
    form = await request.post()
    member = GroupMember(
        _form_text(form, "role", 20),
        _form_text(form, "name", 60),
        _form_text(form, "unit", 120),
        _form_text(form, "phone", 30),
    )
    await request.app[CASES].add_member(inspection.id, member, actor=actor_of(request))
    raise _back(inspection.case_id, "member_added")


@staff_page(StaffAction.SCHEDULE)
@on_case(_invitee_case_id)
async def revoke_member(request: web.Request) -> web.StreamResponse:
    archive = request.app[ARCHIVE]
    invitee: Invitee = await archive.get_invitee(int_param(request.match_info["invitee"]))
    inspection = await archive.get_inspection(invitee.inspection_id)
    await request.app[CASES].revoke_member(invitee.id, actor=actor_of(request))
    raise _back(inspection.case_id, "member_revoked")


@staff_page(StaffAction.SCHEDULE)
async def renew_status_link(request: web.Request) -> web.StreamResponse:
    case = await _case(request)
    await request.app[ARCHIVE].renew_status_link(case.id, actor=actor_of(request))
    raise _back(case.id, "status_renewed")


@staff_page(StaffAction.SCHEDULE)
async def applicant_notice(request: web.Request) -> web.StreamResponse:
    """A printable sheet for the applicant: time, what to prepare, and both QR codes."""
    inspection = await _inspection(request)
    archive = request.app[ARCHIVE]
    case = await archive.get_case(inspection.case_id)
    view = await _inspection_view(request, inspection, True)
    applicant = next((m for m in view["members"] if m.invitee.role == "applicant"), None)
    if applicant is None or not applicant.url:
        raise UserError("该勘验没有有效的申请人链接 / this inspection has no open applicant link")
    status_url = await request.app[STATUS_LINKS].url(case, public_base(request))
    return page(
        request,
        "staff/notice.html",
        {
            "case": case,
            "view": view,
            "room_url": applicant.url,
            "room_qr": qr_svg(applicant.url),
            "status_url": status_url,
            "status_qr": qr_svg(status_url),
            **helpers(request),
        },
    )


# -- the applicant's status page ------------------------------------------------------------------


async def status_page(request: web.Request) -> web.StreamResponse:
    case = await request.app[STATUS_LINKS].authorise(request.match_info["token"])
    archive = request.app[ARCHIVE]
    inspections = await archive.inspections_of_case(case.id)
    upcoming = next((i for i in inspections if i.state in ("scheduled", "live")), None)
    blocking = await archive.exclusions(case.id, active_only=True)
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

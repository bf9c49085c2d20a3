"""Scheduling an inspection: the group, moving and cancelling it, links, the notice sheet."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from server import clock
from server.archive import Case, GroupMember, Invitee, StaffAccount
from server.errors import BadRequest, UserError
from server.services import ARCHIVE, CASES, SETTINGS, STATUS_LINKS
from server.staff.roles import StaffAction, StaffRole, case_scope
from server.states import ACTIVE_INSPECTION, CaseState, Method

from ..pages import form_text, helpers, int_param, page, public_base, qr_svg
from ..staff import actor_of, current, staff_page
from .case_ids import case_id_of, inspection_case_id, invitee_case_id
from .cases import back, case_of, inspection_of, inspection_view, on_case


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
    emails = form.getall(f"{role}_email", [])

    def at(values: list[Any], index: int) -> str:
        value = values[index] if index < len(values) else ""
        return value.strip() if isinstance(value, str) else ""

    members = []
    for index, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            continue
        members.append(
            GroupMember(
                role,
                name.strip(),
                at(units, index),
                at(phones, index),
                email=at(emails, index)[:254],
            )
        )
    return members


async def _group_from_form(request: web.Request, form: Any, case: Case) -> list[GroupMember]:
    archive = request.app[ARCHIVE]
    group: list[GroupMember] = []
    host_account = form_text(form, "host_account", 20)
    if host_account:
        account = await archive.staff.get(int_param(host_account))
        if account.role != StaffRole.INSPECTOR or account.disabled_at is not None:
            raise BadRequest(
                "主持人须为在用的勘验人员账号 / the host must be an active inspector account",
                code="invalid",
                details={"host": "inspector account"},
            )
        if not sees_case(request, account, case):
            raise BadRequest(
                f"{account.display_name} 不负责承办股室 {case.section} 的案件 / "
                f"{account.display_name} does not work on {case.section}'s cases",
                code="invalid",
                details={"host": case.section},
            )
        group.append(GroupMember("host", account.display_name, "", "", account.id))
    else:
        group.extend(_rows(form, "host"))
    for value in form.getall("clerk_account", []):
        account = await archive.staff.get(int_param(str(value)))
        if account.role != StaffRole.CLERK:
            raise BadRequest(
                "所选账号不是业务审批人员 / not a clerk account",
                code="invalid",
                details={"clerk": "clerk account"},
            )
        if not sees_case(request, account, case):
            raise BadRequest(
                f"{account.display_name} 不属于承办股室 {case.section} / {account.display_name} "
                f"is not a clerk of {case.section}",
                code="invalid",
                details={"clerk": case.section},
            )
        group.append(GroupMember("clerk", account.display_name, case.section, "", account.id))
    for role in ("clerk", "expert", "observer"):
        group.extend(_rows(form, role))
    applicant_name = form_text(form, "applicant_name", 100) or case.applicant_name
    group.append(
        GroupMember(
            "applicant",
            applicant_name,
            case.applicant_name if applicant_name != case.applicant_name else "",
            form_text(form, "applicant_phone", 30) or case.applicant_phone,
            email=form_text(form, "applicant_email", 254),
        )
    )
    return group


def sees_case(request: web.Request, account: StaffAccount, case: Case) -> bool:
    """Whether `account` may work on `case` (its sections, when it is held to them)."""
    scope = case_scope(account, request.app[SETTINGS].staff.inspectors_by_section)
    return scope is None or case.section in scope


async def _reinspection_context(request: web.Request, case: Case) -> dict[str, Any]:
    """For a case whose applicant asked for re-inspection (复勘): the rectify conclusion it
    answers, the inspection that pronounced it, and the request."""
    if case.state != CaseState.REINSPECTION_REQUESTED:
        return {"demand": None}
    archive = request.app[ARCHIVE]
    try:
        demand = await request.app[CASES].outcome.reinspection_source(case)
    except UserError:
        return {"demand": None}
    requests = await archive.conclusions.requests(case.id)
    return {
        "demand": demand,
        "demanded_by": await archive.inspections.get(demand.inspection_id),
        "request": requests[-1] if requests else None,
    }


async def _schedule_context(request: web.Request, case: Case) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    now = clock.now().astimezone(clock.SHANGHAI)
    default = (now + timedelta(days=1)).replace(hour=9, minute=30, second=0, microsecond=0)
    account = current(request)
    return {
        **await _reinspection_context(request, case),
        "case": case,
        "inspectors": [
            inspector
            for inspector in await archive.staff.accounts(StaffRole.INSPECTOR)
            if sees_case(request, inspector, case)
        ],
        # The owning section's clerks: only they may see the case they would inspect.
        "clerks": [
            clerk
            for clerk in await archive.staff.accounts(StaffRole.CLERK)
            if sees_case(request, clerk, case)
        ],
        "rows": GROUP_ROWS,
        "default_when": default.strftime("%Y-%m-%dT%H:%M"),
        "me_id": account.id if account else None,
        "blocking": await archive.eligibility.exclusions(case.id, active_only=True),
        "already": any(
            i.state in ACTIVE_INSPECTION for i in await archive.inspections.of_case(case.id)
        ),
        **helpers(request),
    }


@staff_page(StaffAction.SCHEDULE, case=case_id_of)
async def schedule_page(request: web.Request) -> web.StreamResponse:
    case = await case_of(request)
    return page(request, "staff/schedule.html", await _schedule_context(request, case))


@staff_page(StaffAction.SCHEDULE, case=case_id_of)
async def schedule(request: web.Request) -> web.StreamResponse:
    case = await case_of(request)
    form = await request.post()
    try:
        when = parse_when(form_text(form, "scheduled_at", 30))
        group = await _group_from_form(request, form, case)
        if when is None:
            raise BadRequest(
                "请填写勘验时间 / give the time",
                code="invalid",
                details={"scheduled_at": "必填 / required"},
            )
        method = form_text(form, "method", 10) or Method.LIVE
        await request.app[CASES].schedule(
            case.id, when, group, actor=actor_of(request), method=method
        )
    except (BadRequest, UserError) as exc:
        context = await _schedule_context(request, await case_of(request))
        details = exc.details if isinstance(exc.details, dict) else {}
        return page(
            request,
            "staff/schedule.html",
            {**context, "form": form, "errors": details, "error": exc.message},
            status=exc.status,
        )
    raise back(case.id, "scheduled")


@staff_page(StaffAction.SCHEDULE, case=inspection_case_id)
@on_case(inspection_case_id)
async def reschedule(request: web.Request) -> web.StreamResponse:
    inspection = await inspection_of(request)
    form = await request.post()
    when = parse_when(form_text(form, "scheduled_at", 30))
    if when is None:
        raise BadRequest(
            "请填写新的勘验时间 / give the new time",
            code="invalid",
            details={"scheduled_at": "必填 / required"},
        )
    await request.app[CASES].reschedule(
        inspection.id, when, form_text(form, "reason"), actor=actor_of(request)
    )
    raise back(inspection.case_id, "rescheduled")


@staff_page(StaffAction.SCHEDULE, case=inspection_case_id)
@on_case(inspection_case_id)
async def cancel(request: web.Request) -> web.StreamResponse:
    inspection = await inspection_of(request)
    form = await request.post()
    await request.app[CASES].cancel(
        inspection.id, form_text(form, "reason"), actor=actor_of(request)
    )
    raise back(inspection.case_id, "cancelled")


@staff_page(StaffAction.SCHEDULE, case=inspection_case_id)
@on_case(inspection_case_id)
async def add_member(request: web.Request) -> web.StreamResponse:
    inspection = await inspection_of(request)
    form = await request.post()
    member = GroupMember(
        form_text(form, "role", 20),
        form_text(form, "name", 60),
        form_text(form, "unit", 120),
        form_text(form, "phone", 30),
        email=form_text(form, "email", 254),
    )
    await request.app[CASES].add_member(inspection.id, member, actor=actor_of(request))
    raise back(inspection.case_id, "member_added")


@staff_page(StaffAction.SCHEDULE, case=invitee_case_id)
@on_case(invitee_case_id)
async def revoke_member(request: web.Request) -> web.StreamResponse:
    archive = request.app[ARCHIVE]
    invitee: Invitee = await archive.inspections.invitee(int_param(request.match_info["invitee"]))
    inspection = await archive.inspections.get(invitee.inspection_id)
    await request.app[CASES].revoke_member(invitee.id, actor=actor_of(request))
    raise back(inspection.case_id, "member_revoked")


@staff_page(StaffAction.SCHEDULE, case=case_id_of)
async def renew_status_link(request: web.Request) -> web.StreamResponse:
    case = await case_of(request)
    await request.app[ARCHIVE].cases.renew_status_link(case.id, actor=actor_of(request))
    raise back(case.id, "status_renewed")


@staff_page(StaffAction.SCHEDULE, case=inspection_case_id)
async def applicant_notice(request: web.Request) -> web.StreamResponse:
    """A printable sheet for the applicant: time, what to prepare, and both QR codes."""
    inspection = await inspection_of(request)
    archive = request.app[ARCHIVE]
    case = await archive.cases.get(inspection.case_id)
    view = await inspection_view(request, inspection, True)
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


GROUP_ROWS = {"clerk": 2, "expert": 3, "observer": 2}

"""Deliveries, reminders, regulators' findings and webhook receivers on the staff pages.

The case page shows each message the case caused (invitations, reminders, results, pushes) with
its state and the receiver's answer, and the regulators' findings to review; the administrator
has one page for the receivers and every message not delivered.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from server.errors import BadRequest, UserError
from server.notices.receivers import add_receiver
from server.notices.rules import TOPICS
from server.services import ARCHIVE
from server.staff.roles import StaffAction, may

from ..pages import form_text, helpers, int_param, page
from ..staff import actor_of, current, staff_page
from .case_ids import finding_case_id, invitee_case_id, message_case, message_case_id
from .cases import back, on_case
from .notice_panel import masked

FINDING_KINDS = ("faked_video", "site_differs", "other")


@staff_page(StaffAction.RESEND_NOTICE, case=message_case)
async def resend(request: web.Request) -> web.StreamResponse:
    """Send a message again by hand (logged); back to the page it was sent from."""
    form = await request.post()
    account = current(request)
    assert account is not None
    if form_text(form, "back", 10) == "admin" or not may(account, StaffAction.VIEW_CASES):
        try:
            await _resend(request)
        except UserError as exc:
            return await _admin_page(request, error=exc.message, status=exc.status)
        raise web.HTTPSeeOther("/admin/notices?notice=resent")
    return await _resend_on_case(request)


async def _resend(request: web.Request) -> int | None:
    archive = request.app[ARCHIVE]
    message = await archive.outbox.get(int_param(request.match_info["message"]))
    await archive.outbox.resend(message.id, actor=actor_of(request))
    return message.case_id


@on_case(message_case_id)
async def _resend_on_case(request: web.Request) -> web.StreamResponse:
    case_id = await message_case_id(request)
    await _resend(request)
    raise back(case_id, "resent")


@staff_page(StaffAction.SCHEDULE, case=invitee_case_id)
@on_case(invitee_case_id)
async def set_reminders(request: web.Request) -> web.StreamResponse:
    """The person does not want reminders (they asked staff), or wants them again."""
    archive = request.app[ARCHIVE]
    invitee = await archive.inspections.invitee(int_param(request.match_info["invitee"]))
    form = await request.post()
    wanted = form_text(form, "wanted", 3)
    if wanted not in ("yes", "no"):
        raise BadRequest("请选择是否提醒 / choose yes or no", code="invalid")
    await archive.inspections.set_reminders(invitee.id, wanted == "yes", actor=actor_of(request))
    raise back(await invitee_case_id(request), "reminders_changed")


@staff_page(StaffAction.REVIEW_FINDINGS, case=finding_case_id)
@on_case(finding_case_id)
async def review_finding(request: web.Request) -> web.StreamResponse:
    """Confirm a regulator's finding (the applicant goes on the dishonesty list) or dismiss it."""
    archive = request.app[ARCHIVE]
    finding = await archive.findings.get(int_param(request.match_info["finding"]))
    form = await request.post()
    decision = form_text(form, "decision", 10)
    note = form_text(form, "note", 500)
    if decision not in ("confirm", "dismiss"):
        raise BadRequest("请选择确认或不予采信 / choose confirm or dismiss", code="invalid")
    if len(note) < 2:
        raise BadRequest(
            "请填写审核意见 / write a review note", code="invalid", details={"note": "required"}
        )
    await archive.findings.review(finding.id, decision == "confirm", note, actor=actor_of(request))
    raise back(finding.case_id, "finding_reviewed")


# -- the administrator's page -------------------------------------------------------------------


async def _admin_page(
    request: web.Request, *, extra: dict[str, Any] | None = None, error: str = "", status: int = 200
) -> web.Response:
    archive = request.app[ARCHIVE]
    depth = await archive.outbox.depth()
    return page(
        request,
        "staff/notices.html",
        {
            "backlog": {s: depth.get(s, 0) for s in ("pending", "retrying", "failed")},
            "troubled": await archive.outbox.troubled(),
            "webhooks": await archive.outbox.webhooks(),
            "topics": list(TOPICS.values()),
            "masked": masked,
            "notice": request.query.get("notice", ""),
            "error": error,
            **(extra or {}),
            **helpers(request),
        },
        status=status,
    )


@staff_page(StaffAction.MANAGE_WEBHOOKS)
async def admin_notices(request: web.Request) -> web.StreamResponse:
    return await _admin_page(request)


@staff_page(StaffAction.MANAGE_WEBHOOKS)
async def add_webhook(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    topics = [str(t) for t in form.getall("topics", [])]
    try:
        webhook, secret = await add_receiver(
            request.app[ARCHIVE],
            form_text(form, "name", 60),
            form_text(form, "url", 500),
            topics,
            actor=actor_of(request),
        )
    except (BadRequest, UserError) as exc:
        details = exc.details if isinstance(exc.details, dict) else {}
        return await _admin_page(
            request,
            extra={"form": dict(form), "errors": details, "chosen": topics},
            error=exc.message,
            status=exc.status,
        )
    return await _admin_page(request, extra={"issued": (webhook, secret)})


@staff_page(StaffAction.MANAGE_WEBHOOKS)
async def disable_webhook(request: web.Request) -> web.StreamResponse:
    webhook_id = int_param(request.match_info["webhook"])
    await request.app[ARCHIVE].outbox.disable_webhook(webhook_id, actor=actor_of(request))
    raise web.HTTPSeeOther("/admin/notices?notice=webhook_disabled")

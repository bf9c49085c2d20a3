"""The review of a self-recorded site video (SPEC §6), from the case page: the video with its
evidence timeline, its checks and hash, the checklist walked point by point against the video
(current point, marks, work record, screenshots of the exact frame at an instant), then the
conclusion — or a request for another video.

Who may do what; the server enforces it on every route here, the page only hides what is refused:

    watch the video, see its checks, the checklist,    every role that sees cases: inspectors,
    the screenshots and the timeline                   clerks, archivists (VIEW_CASES)
    set the current point, mark, write the work        inspectors; and staff whose account holds
    record, take screenshots                           a seat in the inspection's group as host,
                                                       clerk or expert (invitees.user_id)
    pronounce the conclusion (通过 / 整改 / 不通过),    inspectors (they host inspections; as in the
    ask the applicant for another video                room, clerks and experts do not conclude)

Every change is stamped like one in the room (server time, who, in which role) with its instant
in the video: the player's current time, on the clock of the original upload.

    GET  /inspections/<id>/video                 the playable file (Range requests: seeking)
    GET  /inspections/<id>/video/poster.jpg      the poster frame; strip.jpg the thumbnails
    GET  /inspections/<id>/review                the review as JSON (what review.js draws)
    POST /inspections/<id>/review/current        {"item", "at"}
    POST /inspections/<id>/review/marks          {"item", "verdict", "note", "at"}
    POST /inspections/<id>/review/notes          {"text", "item", "at"}
    POST /inspections/<id>/review/screenshots    {"at"}: the frame shown at `at`, on the current
                                                 point
    POST /inspections/<id>/review/conclusion     {"verdict", "reasons", "deadline",
                                                 "rectifications", "at"}
    POST /inspections/<id>/review/ask-again      {"reason"}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from server import clock
from server.archive import Inspection, Invitee, Recording, StaffAccount, Stamp
from server.archive.uploads import Upload
from server.cases.checklist import clean_text, conclusion_view
from server.cases.conclusion import check_conclusion
from server.cases.timeline import video_timeline
from server.errors import BadRequest, NotAuthorised, NotFound, UserError
from server.services import ARCHIVE, CASES, RECORDS, ROOMS, VIDEO
from server.staff.roles import STAFF_ROLE_NAMES, StaffAction, StaffRole
from server.states import InspectionState, Method
from server.video.checks import check_rows, requirements_of

from ..i18n import lang_of, table
from ..pages import int_param
from ..staff import actor_of, current, staff_page
from .case_ids import inspection_case_id
from .outcome import evidence_file

# The seats in an inspection's group whose holders review its video.
REVIEWING_SEATS = ("host", "clerk", "expert")
# How a reviewer who holds no seat (an inspector) is named in stamps.
INSPECTOR = "inspector"
ASK_AGAIN_LIMIT = 500


@dataclass(frozen=True)
class Reviewer:
    """The logged-in staff member facing one inspection's video, and what they may do."""

    account: StaffAccount
    seat: Invitee | None  # their seat in the group (host, clerk or expert), if any
    review: bool  # current point, marks, work record, screenshots
    conclude: bool  # the conclusion, and asking for another video

    @property
    def role(self) -> str:
        return self.seat.role if self.seat is not None else INSPECTOR

    def stamp(self, request: web.Request, upload: Upload, at: float | None) -> Stamp:
        return Stamp(
            actor=actor_of(request),
            name=self.account.display_name,
            role=self.role,
            at=clock.now_iso(),
            recording_id=upload.recording_id,
            offset_s=None if at is None else round(at, 3),
        )


async def reviewer_of(request: web.Request, inspection: Inspection) -> Reviewer:
    account = current(request)
    assert account is not None  # staff_page let the request in
    archive = request.app[ARCHIVE]
    accounts = await archive.inspections.invitee_accounts(inspection.id)
    seat = next(
        (
            invitee
            for invitee in await archive.inspections.invitees(inspection.id)
            if accounts.get(invitee.id) == account.id
            and invitee.role in REVIEWING_SEATS
            and invitee.revoked_at is None
        ),
        None,
    )
    inspector = account.role == StaffRole.INSPECTOR
    return Reviewer(account, seat, inspector or seat is not None, inspector)


async def _video_inspection(request: web.Request) -> Inspection:
    inspection = await request.app[ARCHIVE].inspections.get(
        int_param(request.match_info["inspection"])
    )
    if inspection.method != Method.VIDEO:
        raise NotFound("该勘验不是申请人自行录制视频 / not a self-recorded inspection")
    return inspection


async def _accepted(request: web.Request, inspection: Inspection) -> Upload:
    """The video this inspection reviews (or reviewed): its accepted attempt."""
    try:
        return await request.app[VIDEO].under_review(inspection)
    except UserError:
        raise NotFound("尚无通过自动检查的视频 / no accepted video yet", code="no_video") from None


async def _files(request: web.Request, upload: Upload) -> dict[str, Recording]:
    return await request.app[ARCHIVE].uploads.files(upload)


async def _playable(request: web.Request, upload: Upload) -> Recording:
    archive = request.app[ARCHIVE]
    return await archive.evidence.recording(upload.playable_id or upload.recording_id or 0)


def _private(headers: dict[str, str]) -> dict[str, str]:
    return {"Cache-Control": "private, no-store", **headers}


# -- files -------------------------------------------------------------------------------------


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def video_file(request: web.Request) -> web.StreamResponse:
    """The browser-playable file; FileResponse answers Range requests (206), so it seeks."""
    inspection = await _video_inspection(request)
    upload = await _accepted(request, inspection)
    playable = await _playable(request, upload)
    path = await evidence_file(request, playable.path)
    return web.FileResponse(path, headers=_private({"Content-Type": "video/mp4"}))


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def video_picture(request: web.Request) -> web.StreamResponse:
    inspection = await _video_inspection(request)
    upload = await _accepted(request, inspection)
    picture = (await _files(request, upload)).get(request.match_info["kind"])
    if picture is None:
        raise NotFound("没有该图片 / no such picture")
    path = await evidence_file(request, picture.path)
    return web.FileResponse(path, headers=_private({"Content-Type": "image/jpeg"}))


# -- the review as JSON ------------------------------------------------------------------------


async def review_view(
    request: web.Request, inspection: Inspection, reviewer: Reviewer
) -> dict[str, Any]:
    """Everything the review section draws: the video and its checks, the timeline, the
    checklist with marks, the work record, the screenshots, the conclusion."""
    archive = request.app[ARCHIVE]
    upload = await _accepted(request, inspection)
    files = await _files(request, upload)
    original = files.get("upload") or await archive.evidence.recording(upload.recording_id or 0)
    playable = await _playable(request, upload)
    checklist = await request.app[CASES].outcome.load(inspection)
    invitees = await archive.inspections.invitees(inspection.id)
    events = await archive.events.find(inspection_id=inspection.id)
    timeline = video_timeline(playable, events, {i.id: i.name for i in invitees}, original=original)
    for segment in timeline["segments"]:
        segment["url"] = f"/inspections/{inspection.id}/video"
    wanted = requirements_of(await request.app[VIDEO].shooting(inspection))
    shots = await archive.evidence.screenshots(inspection.id)
    reviewing = inspection.state == InspectionState.REVIEWING
    return {
        "inspection": {"id": inspection.id, "seq": inspection.seq, "state": inspection.state},
        "may": {
            "review": reviewer.review and reviewing,
            "conclude": reviewer.conclude and reviewing and checklist.conclusion is None,
        },
        "me": {"name": reviewer.account.display_name, "role": reviewer.role},
        "video": {
            "upload": upload.id,
            "filename": upload.filename,
            "sha256": upload.sha256,
            "size": upload.length,
            "uploaded_at": upload.completed_at or upload.created_at,
            "facts": upload.facts,
            "checks": check_rows(upload.facts, upload.failures, wanted),
            "poster": (
                f"/inspections/{inspection.id}/video/poster.jpg" if "poster" in files else None
            ),
            "strip": f"/inspections/{inspection.id}/video/strip.jpg" if "strip" in files else None,
            "converted": playable.id != original.id,
        },
        "timeline": timeline,
        "checklist": checklist.view(full=True),
        "entries": checklist.entries_view(),
        "screenshots": [
            {
                "id": shot.id,
                "url": f"/screenshots/{shot.id}.jpg",
                "item": shot.checklist_item_id,
                "offset_s": shot.offset_s,
                "width": shot.width,
                "height": shot.height,
                "taken_at": shot.taken_at,
            }
            for shot in shots
        ],
        "conclusion": conclusion_view(checklist.conclusion) if checklist.conclusion else None,
    }


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def review_state(request: web.Request) -> web.StreamResponse:
    inspection = await _video_inspection(request)
    reviewer = await reviewer_of(request, inspection)
    return _json(await review_view(request, inspection, reviewer))


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, headers={"Cache-Control": "no-store"})


# -- what reviewers do -------------------------------------------------------------------------


async def _acting(
    request: web.Request, *, conclude: bool = False
) -> tuple[Inspection, Reviewer, dict[str, Any]]:
    """The inspection, who acts and what they sent — refused unless they may, and unless the
    video is under review."""
    inspection = await _video_inspection(request)
    reviewer = await reviewer_of(request, inspection)
    if not (reviewer.conclude if conclude else reviewer.review):
        zh, en = STAFF_ROLE_NAMES[StaffRole(reviewer.account.role)]
        what = "宣布结论或要求重新拍摄" if conclude else "审查本视频"
        raise NotAuthorised(
            f"您（{zh}）无权{what}：须为勘验人员"
            + ("" if conclude else "，或以账号列入本次勘验组的主持人、审批人员、专家")
            + f" / you ({en}) may not do this"
        )
    try:
        data = await request.json()
    except ValueError:
        raise BadRequest("请求应为 JSON / send JSON", code="invalid") from None
    if not isinstance(data, dict):
        raise BadRequest("请求应为 JSON 对象 / send a JSON object", code="invalid")
    if inspection.state != InspectionState.REVIEWING:
        raise UserError(
            "该视频不在审查中 / this video is not under review",
            code="not_reviewing",
            details={"state": inspection.state},
        )
    return inspection, reviewer, data


def _instant(data: dict[str, Any], upload: Upload, *, required: bool = False) -> float | None:
    """The player's current time: seconds into the video."""
    value = data.get("at")
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest("请给出视频中的时间点 / give the instant (at)", code="invalid")
    duration = float(upload.facts.get("duration_s") or 0)
    if value < 0 or (duration and value > duration + 0.5):
        raise BadRequest("时间超出视频长度 / the instant is outside the video", code="invalid")
    return float(value)


def _item(data: dict[str, Any], key: str = "item", *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest("请选择要点 / choose a checklist point", code="invalid")
    return value


def _text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{key} 应为文字 / {key} must be text", code="invalid")
    return value


async def _after(request: web.Request, inspection: Inspection, reviewer: Reviewer) -> web.Response:
    fresh = await request.app[ARCHIVE].inspections.get(inspection.id)
    return _json(await review_view(request, fresh, reviewer))


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def set_current(request: web.Request) -> web.StreamResponse:
    inspection, reviewer, data = await _acting(request)
    upload = await _accepted(request, inspection)
    outcome = request.app[CASES].outcome
    checklist = await outcome.load(inspection)
    at = _instant(data, upload)
    await outcome.set_current(
        checklist, inspection, _item(data) or 0, reviewer.stamp(request, upload, at)
    )
    return await _after(request, inspection, reviewer)


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def mark(request: web.Request) -> web.StreamResponse:
    inspection, reviewer, data = await _acting(request)
    upload = await _accepted(request, inspection)
    outcome = request.app[CASES].outcome
    checklist = await outcome.load(inspection)
    verdict = _text(data, "verdict") or ""
    await outcome.mark(
        checklist,
        inspection,
        _item(data) or 0,
        verdict,
        _text(data, "note"),
        reviewer.stamp(request, upload, _instant(data, upload)),
    )
    return await _after(request, inspection, reviewer)


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def note(request: web.Request) -> web.StreamResponse:
    inspection, reviewer, data = await _acting(request)
    upload = await _accepted(request, inspection)
    outcome = request.app[CASES].outcome
    checklist = await outcome.load(inspection)
    await outcome.note(
        checklist,
        inspection,
        _text(data, "text"),
        _item(data, required=False),
        reviewer.stamp(request, upload, _instant(data, upload)),
    )
    return await _after(request, inspection, reviewer)


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def screenshot(request: web.Request) -> web.StreamResponse:
    """截图: the frame shown at `at` in the original upload, at its own resolution, watermarked,
    on the point being verified."""
    inspection, reviewer, data = await _acting(request)
    upload = await _accepted(request, inspection)
    at = _instant(data, upload, required=True)
    assert at is not None
    archive = request.app[ARCHIVE]
    applicant = next(
        (i for i in await archive.inspections.invitees(inspection.id) if i.role == "applicant"),
        None,
    )
    case = await archive.cases.get(inspection.case_id)
    subject = (applicant.id, applicant.name) if applicant else (0, case.applicant_name)
    role = reviewer.seat.role if reviewer.seat else STAFF_ROLE_NAMES[StaffRole.INSPECTOR][0]
    shot = await request.app[VIDEO].screenshot(
        inspection,
        at,
        taker=(reviewer.seat.id if reviewer.seat else 0, reviewer.account.display_name, role),
        subject=subject,
        item_id=await archive.checklists.current(inspection.id),
    )
    view = await review_view(request, inspection, reviewer)
    view["screenshot"] = shot.id
    return _json(view, status=201)


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def conclude(request: web.Request) -> web.StreamResponse:
    """The conclusion, by the rules of the room: it finishes the inspection (concluded) and
    moves the case; the record (勘验笔录) is made in the background."""
    inspection, reviewer, data = await _acting(request, conclude=True)
    upload = await _accepted(request, inspection)
    outcome = request.app[CASES].outcome
    checklist = await outcome.load(inspection)
    rectifications = data.get("rectifications")
    if rectifications is not None and not (
        isinstance(rectifications, list) and all(isinstance(r, dict) for r in rectifications)
    ):
        raise BadRequest("整改事项格式错误 / rectifications must be a list", code="invalid")
    today = clock.now().astimezone(clock.SHANGHAI).date()
    pronouncement = check_conclusion(
        _text(data, "verdict") or "",
        _text(data, "reasons"),
        _text(data, "deadline"),
        rectifications,
        checklist,
        today,
    )
    await outcome.conclude(
        checklist,
        inspection,
        pronouncement,
        reviewer.stamp(request, upload, _instant(data, upload)),
    )
    request.app[ROOMS].spawn(request.app[RECORDS].generate(inspection.id, actor=actor_of(request)))
    return await _after(request, inspection, reviewer)


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def ask_again(request: web.Request) -> web.StreamResponse:
    """要求重新拍摄: the applicant is asked for another video, with the reason; the one under
    review stays archived. The status link shows the upload page again."""
    inspection, _reviewer, data = await _acting(request, conclude=True)
    reason = clean_text(_text(data, "reason"), ASK_AGAIN_LIMIT, "重新拍摄的原因", required=True)
    if len(reason) < 2:
        raise BadRequest("请写明原因 / give the reason", code="invalid")
    await request.app[ARCHIVE].uploads.ask_again(inspection.id, reason, actor=actor_of(request))
    return _json({"inspection": inspection.id, "state": InspectionState.SCHEDULED})


# -- the case page -------------------------------------------------------------------------------


async def video_section(request: web.Request, inspection: Inspection) -> dict[str, Any] | None:
    """What the case page shows of a self-recorded inspection (templates/staff/
    _video_review.html): every attempt with its checks, the accepted video, and what the
    logged-in staff member may do with it. None for a live inspection."""
    if inspection.method != Method.VIDEO:
        return None
    archive = request.app[ARCHIVE]
    attempts = [
        u
        for u in await archive.uploads.of_case(inspection.case_id)
        if u.inspection_id == inspection.id
    ]
    wanted = requirements_of(await request.app[VIDEO].shooting(inspection))
    accepted = next((u for u in reversed(attempts) if u.state == "accepted"), None)
    files = await archive.uploads.files(accepted) if accepted else {}
    reviewer = await reviewer_of(request, inspection)
    reviewing = inspection.state == InspectionState.REVIEWING
    return {
        "attempts": [
            {"upload": u, "checks": check_rows(u.facts, u.failures, wanted)} for u in attempts
        ],
        "accepted": accepted,
        "checks": check_rows(accepted.facts, accepted.failures, wanted) if accepted else [],
        "poster": "poster" in files,
        "strip": "strip" in files,
        "converted": accepted is not None and accepted.playable_id != accepted.recording_id,
        "deadline": inspection.submission_deadline or inspection.scheduled_at,
        "may_review": reviewer.review and reviewing,
        "may_conclude": reviewer.conclude and reviewing,
        "mb": lambda size: f"{size / 1024**2:.1f} MB",
    }


def review_config(request: web.Request, csrf: str) -> dict[str, Any]:
    """review.js's settings: the form token, the language and its strings."""
    strings = table(lang_of(request))
    return {
        "csrf": csrf,
        "lang": lang_of(request),
        "strings": {
            key: value
            for key, value in strings.items()
            if key.startswith(("video_", "room_", "role_"))
        },
    }

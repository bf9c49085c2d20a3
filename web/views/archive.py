"""The archive's pages: search (with its JSON twin), a case as the archive keeps it, the player
with the evidence timeline, annotations, and the deletion of files after the retention period.

Reads only, apart from the annotation and the deletion: an archived case never changes.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from server import clock
from server.archive import Case, Inspection, Recording
from server.archive.package import plan
from server.archive.search import CaseQuery, FoundCase
from server.cases.checklist import clean_text
from server.cases.retention import Retention
from server.cases.timeline import live_timeline, video_timeline
from server.errors import BadRequest, UserError
from server.services import ARCHIVE, CATALOG, EVIDENCE, SETTINGS
from server.staff.roles import StaffAction, may
from server.states import CaseState, Method, Verdict

from ..middleware import wants_json
from ..pages import form_text, helpers, int_param, page, see_other
from ..staff import actor_of, current, staff_page
from .access import archive_page, archive_reader
from .case_ids import case_id_of
from .outcome import Outcome, inspection_outcome
from .packages import expected_size

PAGE_SIZE = 50
KIND_ORDER = ("composite", "raw", "upload", "playable", "poster", "strip")


# -- search ------------------------------------------------------------------------------------


def _day(text: str, field: str) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=clock.SHANGHAI)
    except ValueError:
        raise BadRequest(
            f"日期格式应为 YYYY-MM-DD / dates are YYYY-MM-DD ({field})", code="invalid"
        ) from None


def case_query(request: web.Request) -> CaseQuery:
    """The search form's filters; an inspector's search covers only their own cases."""
    q = request.query
    account = current(request)
    assert account is not None
    start, end = _day(q.get("from", ""), "from"), _day(q.get("to", ""), "to")
    return CaseQuery(
        number=q.get("number", "").strip()[:64],
        applicant=q.get("applicant", "").strip()[:100],
        id_no=q.get("id_no", "").strip()[:40],
        item_code=q.get("item", "").strip()[:32],
        section=q.get("section", "").strip()[:64],
        received_from=clock.iso(start) if start else "",
        received_before=clock.iso(end + timedelta(days=1)) if end else "",
        verdict=q.get("verdict", "") if q.get("verdict", "") in set(Verdict) else "",
        state=q.get("state", "") if q.get("state", "") in set(CaseState) else "",
        member=None if may(account, StaffAction.READ_ARCHIVE) else account.id,
    )


def found_json(found: FoundCase) -> dict[str, Any]:
    c = found.case
    return {
        "id": c.id,
        "case_no": c.case_no,
        "application_no": c.application_no,
        "applicant_name": c.applicant_name,
        "applicant_id_no": c.applicant_id_no,
        "item_code": c.item_code,
        "item_name": c.item_name,
        "section": c.section,
        "state": c.state,
        "verdict": found.verdict,
        "inspections": found.inspections,
        "received_at": c.created_at,
        "archived_at": found.archived_at,
        "url": f"/archive/cases/{c.id}",
    }


@archive_page
async def search(request: web.Request) -> web.StreamResponse:
    """GET /archive: the same filters as a page, or as JSON (`?format=json` or Accept)."""
    query = case_query(request)
    number = max(1, int_param(request.query.get("page", "1")))
    found = await request.app[ARCHIVE].search.cases(
        query, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    pages = max(1, (found.total + PAGE_SIZE - 1) // PAGE_SIZE)
    params = {k: v for k, v in request.query.items() if k not in ("page", "format") and v}
    if request.query.get("format") == "json" or wants_json(request):
        return web.json_response(
            {
                "total": found.total,
                "page": number,
                "pages": pages,
                "page_size": PAGE_SIZE,
                "filters": params,
                "cases": [found_json(f) for f in found.cases],
            }
        )
    return page(
        request,
        "archive/search.html",
        {
            "found": found,
            "page_number": number,
            "pages": pages,
            "query": params,
            "page_url": lambda n: "/archive?" + urlencode({**params, "page": n}),
            "json_url": "/archive?" + urlencode({**params, "format": "json"}),
            "states": [str(s) for s in CaseState],
            "verdicts": [str(v) for v in Verdict],
            "items": await request.app[CATALOG].items(),
            "sections": await request.app[ARCHIVE].cases.sections(),
            **helpers(request),
        },
    )


# -- one case ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileRow:
    """One recorded file as the case page lists it."""

    recording: Recording
    url: str
    who: str  # whose track (raw tracks)


@dataclass(frozen=True)
class InspectionEvidence:
    inspection: Inspection
    outcome: Outcome
    files: list[FileRow]
    uploads: list[Any]  # server.archive.uploads.Upload
    timeline: dict[str, Any] | None  # what the player plays, None when nothing
    instants: dict[int, float]  # screenshot id → seconds on the timeline


def recording_url(recording: Recording) -> str:
    return f"/inspections/{recording.inspection_id}/recordings/{recording.id}"


async def evidence_timeline(request: web.Request, inspection: Inspection) -> dict[str, Any] | None:
    """The player's timeline of an inspection, each segment with its address; None when there
    is nothing to play."""
    archive = request.app[ARCHIVE]
    events = await archive.events.find(inspection_id=inspection.id)
    names = {i.id: i.name for i in await archive.inspections.invitees(inspection.id)}
    if inspection.method == Method.VIDEO:
        accepted = [
            u
            for u in await archive.uploads.of_case(inspection.case_id)
            if u.inspection_id == inspection.id and u.state == "accepted" and u.playable_id
        ]
        if not accepted:
            return None
        upload = accepted[-1]
        playable = await archive.evidence.recording(upload.playable_id or 0)
        original = await archive.evidence.recording(upload.recording_id or 0)
        timeline = video_timeline(playable, events, names, original=original)
    else:
        timeline = live_timeline(await archive.evidence.recordings(inspection.id), events, names)
        if not timeline["segments"]:
            return None
    for segment in timeline["segments"]:
        segment["url"] = f"/inspections/{inspection.id}/recordings/{segment['recording_id']}"
    return timeline


def screenshot_instants(
    inspection: Inspection, timeline: dict[str, Any] | None, shots: list[Any]
) -> dict[int, float]:
    """Where each screenshot sits on the timeline: a live one at its offset into the segment it
    was taken in (else at the moment it was taken), a self-recorded video's at the instant the
    reviewer chose."""
    if timeline is None:
        return {}
    starts = {s["recording_id"]: s["start"] for s in timeline["segments"]}
    found = {}
    for shot in shots:
        if inspection.method == Method.VIDEO:
            at = shot.offset_s
        elif shot.recording_id in starts and shot.offset_s is not None:
            at = starts[shot.recording_id] + shot.offset_s
        else:
            zero = clock.parse(timeline["zero"]).timestamp()
            at = clock.parse(shot.taken_at).timestamp() - zero
        if at is not None and -5 <= at <= timeline["duration"] + 5:
            found[shot.id] = round(max(0.0, min(at, timeline["duration"])), 3)
    return found


async def inspection_evidence(
    request: web.Request, inspection: Inspection, seqs: dict[int, int]
) -> InspectionEvidence:
    archive = request.app[ARCHIVE]
    outcome = await inspection_outcome(request, inspection, seqs)
    recordings = sorted(
        await archive.evidence.recordings(inspection.id),
        key=lambda r: (
            r.segment,
            KIND_ORDER.index(r.kind) if r.kind in KIND_ORDER else 99,
            r.participant_id or 0,
            r.track or "",
            r.id,
        ),
    )
    files = [
        FileRow(r, recording_url(r), outcome.subjects.get(r.participant_id or 0, ""))
        for r in recordings
    ]
    timeline = await evidence_timeline(request, inspection)
    shots = [s for p in outcome.points for s in p.shots] + outcome.loose_shots
    return InspectionEvidence(
        inspection,
        outcome,
        files,
        [
            u
            for u in await archive.uploads.of_case(inspection.case_id)
            if u.inspection_id == inspection.id
        ],
        timeline,
        screenshot_instants(inspection, timeline, shots),
    )


def retention_of(request: web.Request) -> Retention:
    return Retention(
        request.app[ARCHIVE],
        request.app[CATALOG],
        request.app[SETTINGS].recordings_dir,
        request.app[EVIDENCE],
    )


async def render_case(
    request: web.Request, case: Case, *, error: str = "", status: int = 200
) -> web.Response:
    archive = request.app[ARCHIVE]
    of_case = await archive.inspections.of_case(case.id)
    seqs = {i.id: i.seq for i in of_case}
    keep_until = await retention_of(request).keep_until(case.id)
    today = clock.shanghai(clock.now(), "%Y-%m-%d")
    tombstones = await archive.retention.tombstones(case.id)
    account = current(request)
    assert account is not None
    package = None
    if may(account, StaffAction.EXPORT_PACKAGE):
        planned = await plan(archive, case.id, actor=actor_of(request))
        size = await asyncio.to_thread(expected_size, planned, request.app[EVIDENCE])
        package = {"files": len(planned.files), "bytes": size}
    return page(
        request,
        "archive/case.html",
        {
            "case": case,
            "inspections": [await inspection_evidence(request, i, seqs) for i in of_case],
            "seqs": seqs,
            "annotations": await archive.cases.annotations(case.id),
            "events": await archive.events.find(case_id=case.id),
            "archived_at": await archive.cases.archived_at(case.id),
            "keep_until": keep_until,
            "deletable": keep_until is not None and today >= keep_until and not tombstones,
            "tombstones": tombstones,
            "package": package,
            "notice": request.query.get("notice", ""),
            "error": error,
            "as_json": lambda data: json.dumps(data, ensure_ascii=False, sort_keys=True),
            **helpers(request),
        },
        status=status,
    )


async def _case(request: web.Request) -> Case:
    case = await request.app[ARCHIVE].cases.get(int_param(request.match_info["case"]))
    await archive_reader(request, case.id)
    return case


@archive_page
async def case_page(request: web.Request) -> web.StreamResponse:
    return await render_case(request, await _case(request))


@archive_page
async def annotate(request: web.Request) -> web.StreamResponse:
    """A note on the case (who, when, what): an archived case changes only this way."""
    case = await _case(request)
    form = await request.post()
    try:
        text = clean_text(form_text(form, "text", 4000), 2000, "批注", required=True)
    except (BadRequest, UserError) as exc:
        return await render_case(request, case, error=exc.message, status=exc.status)
    await request.app[ARCHIVE].cases.annotate(case.id, text, actor=actor_of(request))
    return see_other(f"/archive/cases/{case.id}?notice=annotated#annotations")


@staff_page(StaffAction.DELETE_FILES, case=case_id_of)
async def delete_files(request: web.Request) -> web.StreamResponse:
    """After the retention period: the files go, a tombstone with their hashes stays."""
    case = await request.app[ARCHIVE].cases.get(int_param(request.match_info["case"]))
    form = await request.post()
    try:
        await retention_of(request).delete(
            case.id, form_text(form, "reason", 600), actor=actor_of(request)
        )
    except (BadRequest, UserError) as exc:
        return await render_case(request, case, error=exc.message, status=exc.status)
    return see_other(f"/archive/cases/{case.id}?notice=files_deleted#retention")


# -- the player ----------------------------------------------------------------------------------


@archive_page
async def inspection_page(request: web.Request) -> web.StreamResponse:
    """One inspection's recording with its evidence timeline and screenshot gallery."""
    archive = request.app[ARCHIVE]
    inspection = await archive.inspections.get(int_param(request.match_info["inspection"]))
    await archive_reader(request, inspection.case_id)
    case = await archive.cases.get(inspection.case_id)
    seqs = {i.id: i.seq for i in await archive.inspections.of_case(case.id)}
    evidence = await inspection_evidence(request, inspection, seqs)
    try:
        start = float(request.query.get("t", ""))
    except ValueError:
        start = None
    if start is not None and not 0 <= start <= 10**7:
        start = None
    return page(
        request,
        "archive/inspection.html",
        {"case": case, "v": evidence, "seqs": seqs, "start": start, **helpers(request)},
    )

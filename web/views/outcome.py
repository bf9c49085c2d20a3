"""What the case page shows of each inspection's outcome — its checklist with the latest marks
and the screenshots attached to each point, the work record, the conclusion and the applicant's
confirmation, the record versions — and the evidence files staff open from it.

Files are read only inside the recordings directory, by the path the archive holds for them
(.downloads serves them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from aiohttp import web

from server.archive import (
    Case,
    ChecklistItem,
    Conclusion,
    Inspection,
    Mark,
    RecordEntry,
    RecordFile,
    Screenshot,
)
from server.archive.files import safe_component
from server.cases.checklist import Checklist
from server.services import ARCHIVE
from server.states import AWAITING_SECTION

from ..pages import int_param
from .access import evidence_page, evidence_reader
from .downloads import disposition, serve, wants_download
from .downloads import evidence_file as evidence_file

# The record as a page: its own styles and inline thumbnails, nothing else, no script.
RECORD_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'; sandbox"
)


@dataclass(frozen=True)
class Point:
    """One checklist point as the case page shows it."""

    item: ChecklistItem
    mark: Mark | None  # the latest
    marks: int  # how many times it was marked
    shots: list[Screenshot]


@dataclass(frozen=True)
class Line:
    """One line of the work record, with the point it concerns."""

    entry: RecordEntry
    point: int | None  # the point's number


@dataclass(frozen=True)
class Outcome:
    points: list[Point]
    loose_shots: list[Screenshot]  # attached to no point
    lines: list[Line]
    conclusion: Conclusion | None
    records: list[RecordFile]
    previous_seq: int | None  # a re-inspection: the number of the inspection it follows
    subjects: dict[int, str]  # invitee id → name: whose video a screenshot shows


async def inspection_outcome(
    request: web.Request, inspection: Inspection, seqs: dict[int, int]
) -> Outcome:
    """One inspection's outcome from the archive (reads only: a page view changes nothing)."""
    archive = request.app[ARCHIVE]
    shots = await archive.evidence.screenshots(inspection.id)
    checklist = Checklist.of(
        await archive.checklists.items(inspection.id),
        await archive.checklists.marks(inspection.id),
        None,
        shots,
        await archive.checklists.entries(inspection.id),
        await archive.conclusions.of_inspection(inspection.id),
    )
    numbers = {item.id: item.seq for item in checklist.items}
    points = [
        Point(
            item,
            checklist.latest.get(item.id),
            checklist.marks.get(item.id, 0),
            [s for s in shots if s.checklist_item_id == item.id],
        )
        for item in checklist.items
    ]
    return Outcome(
        points=points,
        loose_shots=[s for s in shots if s.checklist_item_id not in numbers],
        lines=[Line(e, numbers.get(e.item_id or 0)) for e in checklist.entries],
        conclusion=checklist.conclusion,
        records=await archive.records.of_inspection(inspection.id),
        previous_seq=(
            seqs.get(inspection.previous_inspection_id)
            if inspection.previous_inspection_id is not None
            else None
        ),
        subjects={i.id: i.name for i in await archive.inspections.invitees(inspection.id)},
    )


async def case_outcome(request: web.Request, case: Case) -> dict[str, Any]:
    """The case's latest conclusion and the applicant's requests for re-inspection."""
    archive = request.app[ARCHIVE]
    conclusions = await archive.conclusions.of_case(case.id)
    return {
        "latest_conclusion": conclusions[-1] if conclusions else None,
        "requests": await archive.conclusions.requests(case.id),
        "awaiting_close": case.state in AWAITING_SECTION,
    }


# -- evidence files ----------------------------------------------------------------------------
# Served by .downloads (ranges, download names, every transfer logged) to whoever sees the staff
# case page or reads the case in the archive (.access.evidence_reader).


@evidence_page
async def screenshot_file(request: web.Request) -> web.StreamResponse:
    archive = request.app[ARCHIVE]
    shot = await archive.evidence.screenshot(int_param(request.match_info["screenshot"]))
    await evidence_reader(request, shot.case_id)
    case = await archive.cases.get(shot.case_id)
    inspection = await archive.inspections.get(shot.inspection_id)
    name = disposition(
        case,
        inspection,
        shot.taken_at,
        "screenshot",
        f"-{shot.id}",
        shot.path,
        inline=not wants_download(request),
    )
    return await serve(
        request,
        shot.path,
        case_id=case.id,
        inspection_id=inspection.id,
        what={"screenshot": shot.id, "kind": "screenshot", "sha256": shot.sha256},
        headers={"Content-Type": "image/jpeg", "Content-Disposition": name},
    )


async def _record(request: web.Request) -> tuple[RecordFile, Case, Inspection]:
    archive = request.app[ARCHIVE]
    record = await archive.records.get(int_param(request.match_info["record"]))
    await evidence_reader(request, record.case_id)
    inspection = await archive.inspections.get(record.inspection_id)
    return record, await archive.cases.get(record.case_id), inspection


def record_filename(case: Case, inspection: Inspection, record: RecordFile, ext: str) -> str:
    """`attachment; filename=…` naming the case, the inspection and the version, with the
    Chinese name for browsers that read RFC 5987."""
    number = safe_component(case.case_no)
    ascii_name = f"{number}-inspection{inspection.seq}-record-v{record.version}.{ext}"
    chinese = f"{number}-第{inspection.seq}次勘验笔录-v{record.version}.{ext}"
    return f"filename=\"{ascii_name}\"; filename*=UTF-8''{quote(chinese)}"


def _record_event(record: RecordFile, kind: str, sha256: str) -> dict[str, object]:
    return {"record": record.id, "version": record.version, "kind": kind, "sha256": sha256}


@evidence_page
async def record_pdf(request: web.Request) -> web.StreamResponse:
    record, case, inspection = await _record(request)
    return await serve(
        request,
        record.pdf_path,
        case_id=case.id,
        inspection_id=inspection.id,
        what=_record_event(record, "record-pdf", record.pdf_sha256),
        headers={
            "Content-Type": "application/pdf",
            "Content-Disposition": "attachment; "
            + record_filename(case, inspection, record, "pdf"),
        },
    )


@evidence_page
async def record_html(request: web.Request) -> web.StreamResponse:
    record, case, inspection = await _record(request)
    return await serve(
        request,
        record.html_path,
        case_id=case.id,
        inspection_id=inspection.id,
        what=_record_event(record, "record-html", record.html_sha256),
        headers={
            "Content-Type": "text/html; charset=utf-8",
            "Content-Disposition": "inline; " + record_filename(case, inspection, record, "html"),
            "Content-Security-Policy": RECORD_CSP,
        },
    )

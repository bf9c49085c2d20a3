"""An inspection's outcome: its checklist, marks and work record, the conclusion, the
applicant's confirmation, and after it rectification, re-inspection, overdue and closing.

The live room calls this for what happens in a session; the staff pages and the applicant's
status page for what happens after it.
"""

from __future__ import annotations

import logging

from ..archive import ArchiveStore, Case, Conclusion, Inspection, Mark, RecordEntry, Stamp
from ..errors import UserError
from ..states import CaseState, Verdict
from .catalog import Catalog
from .checklist import Checklist, catalog_points, clean_text, reinspection_points
from .conclusion import Pronouncement

log = logging.getLogger(__name__)

REQUEST_NOTE_LIMIT = 500


class OutcomeService:
    def __init__(self, archive: ArchiveStore, catalog: Catalog) -> None:
        self.archive = archive
        self.catalog = catalog

    async def points_for(self, inspection: Inspection) -> list[tuple[str, str, int | None]]:
        """The checklist an inspection verifies: its catalog version's points, or for a
        re-inspection what the last one demanded."""
        if inspection.previous_inspection_id is not None:
            previous = await self.archive.conclusions.of_inspection(
                inspection.previous_inspection_id
            )
            if previous is not None:
                return reinspection_points(previous)
        version_id = await self.archive.inspections.catalog_version(inspection.id)
        if version_id is None:
            return catalog_points([])
        version = await self.catalog.version(version_id)
        return catalog_points(version.item.checklist)

    async def load(self, inspection: Inspection) -> Checklist:
        """The checklist as it stands (made now for an inspection scheduled before
        checklists were kept)."""
        archive = self.archive
        items = await archive.checklists.items(inspection.id)
        if not items:
            items = await archive.checklists.create(
                inspection.id, await self.points_for(inspection), actor="system"
            )
        return Checklist.of(
            items,
            await archive.checklists.marks(inspection.id),
            await archive.checklists.current(inspection.id),
            await archive.evidence.screenshots(inspection.id),
            await archive.checklists.entries(inspection.id),
            await archive.conclusions.of_inspection(inspection.id),
        )

    # -- in a session ----------------------------------------------------------------------------

    async def set_current(
        self, checklist: Checklist, inspection: Inspection, item_id: int, stamp: Stamp
    ) -> None:
        checklist.item(item_id)
        await self.archive.checklists.set_current(inspection.id, item_id, stamp)
        checklist.set_current(item_id)

    async def mark(
        self,
        checklist: Checklist,
        inspection: Inspection,
        item_id: int,
        verdict: str,
        note: str | None,
        stamp: Stamp,
    ) -> Mark:
        verdict, text = checklist.check_mark(item_id, verdict, note)
        mark = await self.archive.checklists.mark(inspection.id, item_id, verdict, text, stamp)
        checklist.apply(mark)
        return mark

    async def note(
        self,
        checklist: Checklist,
        inspection: Inspection,
        text: str | None,
        item_id: int | None,
        stamp: Stamp,
    ) -> RecordEntry:
        if item_id is not None:
            checklist.item(item_id)
        clean = clean_text(text, 1000, "记录内容", required=True)
        entry = await self.archive.checklists.add_entry(inspection.id, item_id, clean, stamp)
        checklist.add_entry(entry)
        return entry

    async def move_screenshot(
        self, checklist: Checklist | None, screenshot_id: int, item_id: int | None, stamp: Stamp
    ) -> None:
        await self.archive.checklists.move_screenshot(
            screenshot_id, item_id, actor=stamp.actor, name=stamp.name
        )
        if checklist is not None:
            checklist.place_shot(screenshot_id, item_id)

    async def conclude(
        self,
        checklist: Checklist,
        inspection: Inspection,
        pronouncement: Pronouncement,
        stamp: Stamp,
    ) -> Conclusion:
        if checklist.conclusion is not None:
            raise UserError(
                "本次勘验已宣布结论，不能再次宣布 / the conclusion was already pronounced",
                code="already_concluded",
            )
        conclusion = await self.archive.conclusions.conclude(
            inspection.id,
            pronouncement.verdict,
            pronouncement.reasons,
            pronouncement.deadline,
            pronouncement.rectifications,
            stamp,
        )
        checklist.conclude(conclusion)
        return conclusion

    async def confirm(
        self,
        checklist: Checklist | None,
        inspection_id: int,
        accepted: bool,
        note: str | None,
        *,
        address: str,
        agent: str,
    ) -> Conclusion:
        text = clean_text(note, REQUEST_NOTE_LIMIT, "说明", required=False)
        conclusion = await self.archive.conclusions.confirm(
            inspection_id, accepted, text, address=address[:100], agent=agent[:300]
        )
        if checklist is not None:
            checklist.conclude(conclusion)
        return conclusion

    # -- after the session -----------------------------------------------------------------------

    async def latest_conclusion(self, case: Case) -> Conclusion | None:
        conclusions = await self.archive.conclusions.of_case(case.id)
        return conclusions[-1] if conclusions else None

    async def request_reinspection(
        self, case: Case, note: str | None, *, address: str, agent: str
    ) -> None:
        text = clean_text(note, REQUEST_NOTE_LIMIT, "整改情况说明", required=True)
        await self.archive.conclusions.request_reinspection(
            case.id, text, address=address[:100], agent=agent[:300]
        )

    async def reinspection_source(self, case: Case) -> Conclusion:
        """The rectify conclusion a re-inspection of this case answers."""
        if case.state != CaseState.REINSPECTION_REQUESTED:
            raise UserError(
                "申请人尚未申请复勘 / the applicant has not asked for re-inspection",
                code="no_request",
            )
        conclusion = await self.latest_conclusion(case)
        if conclusion is None or conclusion.verdict != Verdict.RECTIFY:
            raise UserError("本案没有整改要求 / this case has no rectification demand")
        return conclusion

    async def mark_overdue(self) -> list[int]:
        """Cases whose rectification deadline passed without a request become overdue."""
        overdue = []
        for case_id in await self.archive.conclusions.past_deadline():
            if await self.archive.conclusions.mark_overdue(case_id):
                overdue.append(case_id)
        if overdue:
            log.info("rectification overdue: cases %s", overdue)
        return overdue

    async def close(self, case: Case, note: str | None, *, actor: str) -> None:
        text = clean_text(note, REQUEST_NOTE_LIMIT, "办结说明", required=False)
        await self.archive.conclusions.close_case(case.id, text, actor=actor)
        # Archived at once when its records exist; otherwise when the last one is made.
        await self.archive.cases.archive(case.id, actor=actor)

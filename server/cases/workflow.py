"""The case workflow up to a scheduled inspection: intake, eligibility, scheduling.

A case arrives from the staff form or the platform's API. It is checked against the five
exclusions (SPEC §3) at intake and again when it is scheduled, because a declaration, a catalog
edit or a dishonesty-list import may come in between. Scheduling forms the group, freezes the
checklist version and gives each person a personal link; moving or cancelling the inspection
makes every link issued for it stop working.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from .. import clock
from ..archive import ArchiveStore, Case, ExclusionRow, GroupMember, Inspection
from ..errors import BadRequest, UserError
from ..states import ACTIVE_INSPECTION, CaseState, InspectionState, Method, case_may_move
from .catalog import Catalog
from .checklist import catalog_points, reinspection_points
from .eligibility import DECLARABLE, GROUND_NAMES, Ground
from .intake import (
    SCHEDULE_GRACE,
    SCHEDULE_HORIZON,
    DishonestyRow,
    check_group,
    normalise_group,
    parse_application,
    same_application,
)
from .outcome import OutcomeService


class Excluded(UserError):
    """The case cannot be inspected by video; the message says why."""

    code = "excluded"


@dataclass(frozen=True)
class GateFinding:
    """An exclusion the catalog or the dishonesty list calls for, not yet recorded."""

    ground: str
    reason: str
    actor: str


class CaseService:
    def __init__(self, archive: ArchiveStore, catalog: Catalog) -> None:
        self.archive = archive
        self.catalog = catalog
        self.outcome = OutcomeService(archive, catalog)
        # Intake compares and inserts by application number: one at a time.
        self._intake_lock = asyncio.Lock()

    # -- intake -------------------------------------------------------------------------------

    async def intake(self, data: Any, *, actor: str, is_demo: bool = False) -> tuple[Case, bool]:
        """Register a case; (case, created). A repeated request returns the same case."""
        application = parse_application(data, await self.catalog.codes())
        async with self._intake_lock:
            existing = await self.archive.cases.find_by_application_no(application.application_no)
            if existing is not None:
                differences = same_application(existing, application)
                if differences:
                    raise UserError(
                        f"申请编号 {application.application_no} 已登记为案件 {existing.case_no}，"
                        "但内容不同 / this application number is already registered with "
                        "different data: " + ", ".join(differences),
                        code="application_conflict",
                        details=differences,
                    )
                return existing, False
            item = await self.catalog.current(application.item_code)
            case = await self.archive.cases.create(
                application_no=application.application_no,
                applicant_name=application.applicant_name,
                applicant_id_no=application.applicant_id_no,
                applicant_phone=application.applicant_phone,
                item_code=application.item_code,
                item_name=item.item.name,
                site_address=application.site_address,
                section=application.section,
                is_demo=is_demo,
                actor=actor,
            )
        await self._automatic_gates(case)
        return await self.archive.cases.get(case.id), True

    async def _automatic_gates(self, case: Case) -> list[ExclusionRow]:
        """Check the catalog item and the dishonesty list; record what excludes the case."""
        return await self._record(case, await self._gate_findings(case))

    async def _gate_findings(self, case: Case) -> list[GateFinding]:
        """What the catalog item and the dishonesty list say against the case now, beyond the
        exclusions already recorded. Writes nothing."""
        found = []
        active = {
            row.ground
            for row in await self.archive.eligibility.exclusions(case.id, active_only=True)
        }
        item = await self.catalog.current(case.item_code)
        if not item.item.video_allowed and item.item.exclusion_ground not in active:
            found.append(
                GateFinding(
                    item.item.exclusion_ground,
                    item.item.exclusion_reason,
                    f"catalog:{item.code} v{item.version} ({item.created_by})",
                )
            )
        entry = await self.archive.eligibility.find_dishonest(case.applicant_id_no)
        if entry is not None and Ground.DISHONEST not in active:
            reason = entry.reason or "列入失信名单"
            if entry.listed_on:
                reason += f"（列入日期 {entry.listed_on}）"
            found.append(GateFinding(Ground.DISHONEST, reason, "system:dishonesty-list"))
        return found

    async def check_before_start(self, inspection_id: int) -> None:
        """The gates once more as a live session starts: a dishonesty-list import or a catalog
        edit may have come since the inspection was scheduled. A case they exclude now is
        treated like a declared exclusion: the inspection is cancelled (its room closes and
        everyone is told; staff read the reason), the exclusion recorded, and Excluded raised
        with the reasons."""
        inspection = await self.archive.inspections.get(inspection_id)
        case = await self.archive.cases.get(inspection.case_id)
        found = await self._gate_findings(case)
        blocking: list[ExclusionRow | GateFinding] = [*await self.blocking(case), *found]
        if not blocking:
            return
        zh = "；".join(f"{GROUND_NAMES[Ground(b.ground)][0]}：{b.reason}" for b in blocking)
        en = "; ".join(GROUND_NAMES[Ground(b.ground)][1] for b in blocking)
        refusal = Excluded(
            f"开始前复核：本案不适用视频勘验，不能开始，本次勘验已取消：{zh} / checked again "
            f"before the start: not for video inspection ({en}); the inspection is cancelled",
            details={"exclusions": [asdict(b) for b in blocking]},
        )
        # Recorded before the room closes, where the case may be excluded as it stands (a
        # scheduled case); an interrupted one is first freed by the cancellation.
        first = case_may_move(case.state, CaseState.EXCLUDED)
        if first:
            await self._record(case, found)
        if inspection.state in (InspectionState.SCHEDULED, InspectionState.INTERRUPTED):
            await self.archive.inspections.cancel(
                inspection.id,
                f"开始前复核：本案不适用视频勘验：{zh} / not for video inspection: {en}",
                actor="system:eligibility",
            )
        if not first:
            await self._record(case, found)
        raise refusal

    async def _record(self, case: Case, found: list[GateFinding]) -> list[ExclusionRow]:
        return [
            await self.archive.eligibility.add_exclusion(
                case.id, finding.ground, finding.reason, actor=finding.actor
            )
            for finding in found
        ]

    # -- eligibility --------------------------------------------------------------------------

    async def declare(self, case_id: int, ground: str, reason: str, *, actor: str) -> ExclusionRow:
        """A person's declaration that the case is excluded (grounds 1, 2, 3, 5). Inspections
        not yet started are cancelled with it."""
        errors = {}
        if ground not in DECLARABLE:
            errors["ground"] = "请选择排除情形 / choose a ground"
        reason = reason.strip()
        if not 2 <= len(reason) <= 500:
            errors["reason"] = "请说明理由（2–500 字） / give the reason (2–500 characters)"
        if errors:
            raise BadRequest("排除声明有误 / invalid declaration", code="invalid", details=errors)
        case = await self.archive.cases.get(case_id)
        inspections = await self.archive.inspections.of_case(case.id)
        if any(i.state == InspectionState.LIVE for i in inspections):
            raise UserError(
                "勘验正在进行，不能声明排除 / an inspection is live; declare after it ends"
            )
        exclusion = await self.archive.eligibility.add_exclusion(
            case.id, ground, reason, actor=actor
        )
        for inspection in inspections:
            if inspection.state in (InspectionState.SCHEDULED, InspectionState.INTERRUPTED):
                await self.archive.inspections.cancel(
                    inspection.id, f"案件不适用视频勘验：{reason}", actor=actor
                )
        return exclusion

    async def withdraw(self, exclusion_id: int, reason: str, *, actor: str) -> None:
        reason = reason.strip()
        if not 2 <= len(reason) <= 500:
            raise BadRequest(
                "请说明撤回理由 / give the reason for withdrawing",
                code="invalid",
                details={"reason": "必填 / required"},
            )
        await self.archive.eligibility.withdraw_exclusion(exclusion_id, reason, actor=actor)

    async def blocking(self, case: Case) -> list[ExclusionRow]:
        return await self.archive.eligibility.exclusions(case.id, active_only=True)

    # -- scheduling ---------------------------------------------------------------------------

    async def schedule(
        self,
        case_id: int,
        when: datetime,
        group: list[GroupMember],
        *,
        actor: str,
        method: str = Method.LIVE,
    ) -> Inspection:
        """A live session at `when`; or (method video) the applicant films the site and
        uploads the video by `when`, and the group reviews it."""
        case = await self.archive.cases.get(case_id)
        errors = check_group(group)
        if method not in set(Method):
            errors["method"] = "请选择勘验方式 / choose live or self-recorded video"
        time_error = self._time_problem(when)
        if time_error:
            errors["scheduled_at"] = time_error
        # The gates run again: a list import or a catalog edit may have come since intake.
        await self._automatic_gates(case)
        blocking = await self.blocking(case)
        if blocking:
            raise self._excluded(blocking)
        if errors:
            raise BadRequest(
                "勘验安排有误 / the schedule has invalid fields: " + ", ".join(errors),
                code="invalid",
                details=errors,
            )
        group = normalise_group(group)
        active = [
            i
            for i in await self.archive.inspections.of_case(case.id)
            # A self-recorded video under review holds the case too.
            if i.state in ACTIVE_INSPECTION or i.state == InspectionState.REVIEWING
        ]
        if active:
            raise UserError(
                "本案已有待进行的勘验，请改期或取消后再安排 / this case already has an inspection "
                "scheduled; move or cancel it instead"
            )
        item = await self.catalog.current(case.item_code)
        points = catalog_points(item.item.checklist)
        previous = None
        if case.state == CaseState.REINSPECTION_REQUESTED:
            # 复勘: a new inspection of the same case, linked to the one that demanded it, with
            # the rectifications carried over as its checklist.
            demand = await self.outcome.reinspection_source(case)
            previous = demand.inspection_id
            points = reinspection_points(demand)
        return await self.archive.inspections.schedule(
            case.id,
            clock.iso(when),
            item.id,
            group,
            actor=actor,
            checklist=points,
            previous_inspection_id=previous,
            method=method,
        )

    @staticmethod
    def _time_problem(when: datetime) -> str | None:
        if when.tzinfo is None:
            return "缺少时区 / the time needs a time zone"
        now = clock.now()
        if when < now - SCHEDULE_GRACE:
            return "勘验时间不能早于当前时间 / the time is in the past"
        if when > now + SCHEDULE_HORIZON:
            return "勘验时间不能超过一年 / the time is more than a year ahead"
        return None

    @staticmethod
    def _excluded(blocking: list[ExclusionRow]) -> Excluded:
        reasons = "；".join(
            f"{GROUND_NAMES[Ground(row.ground)][0]}：{row.reason}" for row in blocking
        )
        english = "; ".join(GROUND_NAMES[Ground(row.ground)][1] for row in blocking)
        return Excluded(
            f"本案不适用视频勘验，不能安排：{reasons} / not for video inspection: {english}",
            details={"exclusions": [asdict(row) for row in blocking]},
        )

    async def reschedule(
        self, inspection_id: int, when: datetime, reason: str, *, actor: str
    ) -> Inspection:
        problem = self._time_problem(when)
        errors = {"scheduled_at": problem} if problem else {}
        if not 2 <= len(reason.strip()) <= 300:
            errors["reason"] = "请说明改期理由 / give the reason"
        if errors:
            raise BadRequest("改期信息有误 / invalid reschedule", code="invalid", details=errors)
        inspection = await self.archive.inspections.get(inspection_id)
        case = await self.archive.cases.get(inspection.case_id)
        await self._automatic_gates(case)
        blocking = await self.blocking(case)
        if blocking:
            raise self._excluded(blocking)
        return await self.archive.inspections.reschedule(
            inspection_id, clock.iso(when), reason.strip(), actor=actor
        )

    async def cancel(self, inspection_id: int, reason: str, *, actor: str) -> Inspection:
        if not 2 <= len(reason.strip()) <= 300:
            raise BadRequest(
                "请说明取消理由 / give the reason",
                code="invalid",
                details={"reason": "必填 / required"},
            )
        return await self.archive.inspections.cancel(inspection_id, reason.strip(), actor=actor)

    async def add_member(self, inspection_id: int, member: GroupMember, *, actor: str) -> None:
        inspection = await self.archive.inspections.get(inspection_id)
        if inspection.state not in (InspectionState.SCHEDULED, InspectionState.INTERRUPTED):
            raise UserError("只能为尚未开始的勘验增加人员 / only before the inspection starts")
        if member.role not in ("clerk", "expert", "observer"):
            raise BadRequest(
                "只能增加审批人员、专家或观察员 / only clerks, experts or observers can be added",
                code="invalid",
                details={"role": "clerk, expert or observer"},
            )
        present = [
            i
            for i in await self.archive.inspections.invitees(inspection_id)
            if i.revoked_at is None
        ]
        errors = check_group([GroupMember(i.role, i.name, i.unit, "") for i in present] + [member])
        if errors:
            raise BadRequest("人员信息有误 / invalid member", code="invalid", details=errors)
        [member] = normalise_group([member])
        await self.archive.inspections.add_member(inspection_id, member, actor=actor)

    async def revoke_member(self, invitee_id: int, *, actor: str) -> None:
        invitee = await self.archive.inspections.invitee(invitee_id)
        if invitee.role in ("host", "applicant"):
            raise UserError(
                "主持人和申请人不能移除，请改期或取消勘验 / the host and the applicant cannot be "
                "removed; move or cancel the inspection"
            )
        await self.archive.inspections.revoke_member(invitee_id, "撤销邀请", actor=actor)

    # -- dishonesty list ----------------------------------------------------------------------

    async def import_dishonesty(
        self, rows: list[DishonestyRow], *, replace: bool, source: str, actor: str
    ) -> Any:
        if replace and not rows:
            raise BadRequest(
                "替换模式下名单不能为空 / a replacing import cannot be empty", code="invalid"
            )
        return await self.archive.eligibility.import_dishonesty(
            [(r.id_no, r.name, r.reason, r.listed_on) for r in rows],
            replace=replace,
            source=source[:200],
            actor=actor,
        )

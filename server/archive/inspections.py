"""Inspections of a case and the staff dashboard's agenda; the group invited to each is in
invitees.py (`GroupQueries`, which `InspectionStore` includes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import clock
from ..errors import NotFound, UserError
from ..states import (
    ACTIVE_INSPECTION,
    CaseState,
    InspectionState,
    Method,
    StateError,
    check_inspection,
)
from .cases import move_case
from .checklists import insert_items
from .db import Database, Row, Tx, in_sections, writer
from .invitees import GroupMember, GroupQueries, insert_member, inspection_state


@dataclass(frozen=True)
class Inspection:
    id: int
    case_id: int
    seq: int
    scheduled_at: str
    state: str  # InspectionState
    started_at: str | None  # the start of the current (or last) session
    ended_at: str | None
    created_at: str
    previous_inspection_id: int | None = None  # a re-inspection: the one that demanded it
    interrupt_reason: str | None = None
    method: str = "live"  # Method: a live session, or a video the applicant films
    submission_deadline: str | None = None  # self-recorded: the video is due by then

    @classmethod
    def from_row(cls, row: Row) -> Inspection:
        return cls(
            row["id"],
            row["case_id"],
            row["seq"],
            row["scheduled_at"],
            row["state"],
            row["started_at"],
            row["ended_at"],
            row["created_at"],
            row["previous_inspection_id"],
            row["interrupt_reason"],
            row["method"],
            row["submission_deadline"],
        )


@dataclass(frozen=True)
class AgendaEntry:
    """One line of the staff dashboard."""

    inspection_id: int
    scheduled_at: str
    state: str
    seq: int
    case_id: int
    case_no: str
    item_name: str
    applicant_name: str
    site_address: str
    section: str
    host_name: str | None
    host_user_id: int | None


async def _active_elsewhere(tx: Tx, case_id: int) -> bool:
    placeholders = ", ".join("?" for _ in ACTIVE_INSPECTION)
    row = await tx.one(
        f"SELECT 1 FROM inspections WHERE case_id = ? AND state IN ({placeholders}) LIMIT 1",
        (case_id, *ACTIVE_INSPECTION),
    )
    return row is not None


class InspectionStore(GroupQueries):
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- inspections -----------------------------------------------------------------------------

    @writer
    async def schedule(
        self,
        case_id: int,
        scheduled_at: str,
        catalog_version_id: int | None,
        group: list[GroupMember],
        *,
        actor: str,
        checklist: list[tuple[str, str, int | None]] | None = None,
        previous_inspection_id: int | None = None,
        method: str = "live",
    ) -> Inspection:
        """A new inspection of the case with its whole group and its checklist (kind, text,
        rectification id); the case becomes scheduled. A re-inspection names the inspection
        that demanded it, and answers the open request for it."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            await move_case(tx, case_id, CaseState.SCHEDULED)
            seq = (
                await tx.value(
                    "SELECT COALESCE(MAX(seq), 0) FROM inspections WHERE case_id = ?", (case_id,)
                )
                + 1
            )
            inspection_id = await tx.insert(
                """INSERT INTO inspections (case_id, seq, scheduled_at, state, created_at,
                       catalog_version_id, previous_inspection_id, method,
                       submission_deadline)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    case_id,
                    seq,
                    scheduled_at,
                    InspectionState.SCHEDULED,
                    now,
                    catalog_version_id,
                    previous_inspection_id,
                    method,
                    scheduled_at if method == "video" else None,
                ),
            )
            for member in group:
                await insert_member(tx, inspection_id, member, now)
            await insert_items(tx, inspection_id, checklist or [])
            if previous_inspection_id is not None:
                await tx.execute(
                    "UPDATE reinspection_requests SET inspection_id = ? "
                    "WHERE case_id = ? AND inspection_id IS NULL",
                    (inspection_id, case_id),
                )
            await tx.event(
                "inspection.scheduled",
                actor=actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={
                    "seq": seq,
                    "scheduled_at": scheduled_at,
                    "catalog_version_id": catalog_version_id,
                    "previous_inspection": previous_inspection_id,
                    "method": method,
                    "group": [member.describe() for member in group],
                    "checklist": [text for _, text, _ in checklist or []],
                },
            )
        return await self.get(inspection_id)

    async def get(self, inspection_id: int) -> Inspection:
        row = await self._db.one("SELECT * FROM inspections WHERE id = ?", (inspection_id,))
        if row is None:
            raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
        return Inspection.from_row(row)

    async def of_case(self, case_id: int) -> list[Inspection]:
        rows = await self._db.all(
            "SELECT * FROM inspections WHERE case_id = ? ORDER BY seq", (case_id,)
        )
        return [Inspection.from_row(row) for row in rows]

    @writer
    async def start(self, inspection_id: int, *, actor: str) -> Inspection:
        """The host started a session (the first, or again after an interruption)."""
        at = clock.now_iso()
        async with self._db.transaction() as tx:
            row = await inspection_state(tx, inspection_id)
            check_inspection(row["state"], InspectionState.LIVE)
            await move_case(tx, row["case_id"], CaseState.LIVE)
            await tx.execute(
                "UPDATE inspections SET state = ?, started_at = ?, ended_at = NULL WHERE id = ?",
                (InspectionState.LIVE, at, inspection_id),
            )
            await tx.event(
                "session.started",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"started_at": at, "again": row["state"] == InspectionState.INTERRUPTED},
            )
        return await self.get(inspection_id)

    @writer
    async def end(self, inspection_id: int, *, actor: str) -> Inspection:
        """The session ended after the conclusion was pronounced; nobody joins it any more."""
        at = clock.now_iso()
        async with self._db.transaction() as tx:
            row = await inspection_state(tx, inspection_id)
            check_inspection(row["state"], InspectionState.CONCLUDED)
            if not await tx.one(
                "SELECT 1 FROM conclusions WHERE inspection_id = ?", (inspection_id,)
            ):
                raise UserError(
                    "请先宣布勘验结论；如需结束而不出结论，请选择「中止」 / pronounce the "
                    "conclusion first, or interrupt the session",
                    code="no_conclusion",
                )
            await tx.execute(
                "UPDATE inspections SET state = ?, ended_at = ? WHERE id = ?",
                (InspectionState.CONCLUDED, at, inspection_id),
            )
            await tx.event(
                "session.ended",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"ended_at": at},
            )
        return await self.get(inspection_id)

    @writer
    async def interrupt(self, inspection_id: int, reason: str, *, actor: str) -> Inspection:
        """The host ends the session without a conclusion (中止): the inspection stays open for
        a new session, with the same links."""
        at = clock.now_iso()
        async with self._db.transaction() as tx:
            row = await inspection_state(tx, inspection_id)
            check_inspection(row["state"], InspectionState.INTERRUPTED)
            await move_case(tx, row["case_id"], CaseState.AWAITING_CONCLUSION)
            await tx.execute(
                "UPDATE inspections SET state = ?, ended_at = ?, interrupt_reason = ? WHERE id = ?",
                (InspectionState.INTERRUPTED, at, reason, inspection_id),
            )
            await tx.event(
                "session.interrupted",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"ended_at": at, "reason": reason},
            )
        return await self.get(inspection_id)

    @writer
    async def reschedule(
        self, inspection_id: int, scheduled_at: str, reason: str, *, actor: str
    ) -> Inspection:
        """Move a scheduled inspection; every link issued for it so far stops working."""
        async with self._db.transaction() as tx:
            row = await inspection_state(tx, inspection_id)
            if row["state"] == InspectionState.REVIEWING:
                # Only asking for another video (uploads.ask_again) sends it back.
                raise StateError(
                    "视频审查中的勘验不能改期 / a video under review cannot be moved",
                    details={"state": row["state"], "target": str(InspectionState.SCHEDULED)},
                )
            check_inspection(row["state"], InspectionState.SCHEDULED)
            case = await tx.row("SELECT state FROM cases WHERE id = ?", (row["case_id"],))
            if case["state"] == CaseState.AWAITING_CONCLUSION:
                await move_case(tx, row["case_id"], CaseState.SCHEDULED)
            # A self-recorded video's time is its submission deadline: it moves with it.
            await tx.execute(
                """UPDATE inspections SET state = ?, scheduled_at = ?,
                       submission_deadline = CASE WHEN method = ? THEN ?
                                                  ELSE submission_deadline END
                   WHERE id = ?""",
                (
                    InspectionState.SCHEDULED,
                    scheduled_at,
                    Method.VIDEO,
                    scheduled_at,
                    inspection_id,
                ),
            )
            await tx.execute(
                "UPDATE invitees SET link_gen = link_gen + 1 WHERE inspection_id = ?",
                (inspection_id,),
            )
            await tx.event(
                "inspection.rescheduled",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"from": row["scheduled_at"], "to": scheduled_at, "reason": reason},
            )
        return await self.get(inspection_id)

    @writer
    async def cancel(self, inspection_id: int, reason: str, *, actor: str) -> Inspection:
        """Cancel a scheduled or interrupted inspection (its links stop working); the case goes
        back to intake (a re-inspection: to its request) unless it has another one scheduled or
        is excluded."""
        async with self._db.transaction() as tx:
            row = await inspection_state(tx, inspection_id)
            check_inspection(row["state"], InspectionState.CANCELLED)
            case_id = row["case_id"]
            await tx.execute(
                "UPDATE inspections SET state = ?, cancelled_at = ?, cancel_reason = ? "
                "WHERE id = ?",
                (InspectionState.CANCELLED, clock.now_iso(), reason, inspection_id),
            )
            case = await tx.row("SELECT state FROM cases WHERE id = ?", (case_id,))
            holding = (CaseState.SCHEDULED, CaseState.AWAITING_CONCLUSION)
            if case["state"] in holding and not await _active_elsewhere(tx, case_id):
                back = CaseState.INTAKE
                if row["previous_inspection_id"] is not None:
                    back = CaseState.REINSPECTION_REQUESTED
                    await tx.execute(
                        "UPDATE reinspection_requests SET inspection_id = NULL "
                        "WHERE inspection_id = ?",
                        (inspection_id,),
                    )
                await move_case(tx, case_id, back)
            await tx.event(
                "inspection.cancelled",
                actor=actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={"reason": reason},
            )
        return await self.get(inspection_id)

    async def catalog_version(self, inspection_id: int) -> int | None:
        row = await self._db.one(
            "SELECT catalog_version_id FROM inspections WHERE id = ?", (inspection_id,)
        )
        return row[0] if row else None

    async def cancel_reason(self, inspection_id: int) -> str | None:
        row = await self._db.one(
            "SELECT cancel_reason FROM inspections WHERE id = ?", (inspection_id,)
        )
        return row[0] if row else None

    async def agenda(
        self, since: str, *, sections: Sequence[str] | None = None, limit: int = 200
    ) -> list[AgendaEntry]:
        """Scheduled and live inspections from `since` on (live ones whatever their time);
        `sections`: only those sections' cases (None: every section's)."""
        scope, scope_args = in_sections("c.section", sections)
        rows = await self._db.all(
            """SELECT i.id AS inspection_id, i.scheduled_at, i.state, i.seq,
                      c.id AS case_id, c.case_no, c.item_name, c.applicant_name,
                      c.site_address, c.section,
                      (SELECT name FROM invitees h WHERE h.inspection_id = i.id
                         AND h.role = 'host' AND h.revoked_at IS NULL ORDER BY h.id LIMIT 1)
                        AS host_name,
                      (SELECT user_id FROM invitees h WHERE h.inspection_id = i.id
                         AND h.role = 'host' AND h.revoked_at IS NULL ORDER BY h.id LIMIT 1)
                        AS host_user_id
               FROM inspections i JOIN cases c ON c.id = i.case_id
               WHERE ((i.state = ? AND i.scheduled_at >= ?) OR i.state = ?) AND """
            + scope
            + " ORDER BY i.scheduled_at LIMIT ?",
            (InspectionState.SCHEDULED, since, InspectionState.LIVE, *scope_args, limit),
        )
        return [AgendaEntry(**dict(row)) for row in rows]

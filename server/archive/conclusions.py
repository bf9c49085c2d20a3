"""Conclusions (pass, rectify with a deadline, fail), the applicant's confirmation, requests for
re-inspection, and what happens to a case after its conclusion (overdue, closed)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .. import clock
from ..errors import NotFound, UserError
from ..states import AWAITING_SECTION, VERDICT_CASE_STATE, CaseState, InspectionState, Verdict
from .cases import move_case
from .checklists import Stamp
from .db import Database, Row, Tx, in_sections, writer


@dataclass(frozen=True)
class Rectification:
    id: int
    conclusion_id: int
    case_id: int
    seq: int
    item_id: int | None
    item_text: str  # the checklist point it concerns, as it read
    text: str

    @classmethod
    def from_row(cls, row: Row) -> Rectification:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class Conclusion:
    id: int
    inspection_id: int
    case_id: int
    verdict: str  # Verdict
    reasons: str
    deadline: str | None  # YYYY-MM-DD, Beijing date: rectify by the end of that day
    actor: str
    actor_name: str
    at: str
    recording_id: int | None
    offset_s: float | None
    confirmation: str | None  # confirmed | declined, by the applicant
    confirmed_at: str | None
    confirm_address: str | None
    confirm_agent: str | None
    confirm_note: str | None
    rectifications: tuple[Rectification, ...] = ()

    @classmethod
    def from_row(cls, row: Row) -> Conclusion:
        return cls(*(row[name] for name in cls.__dataclass_fields__ if name != "rectifications"))


@dataclass(frozen=True)
class ReinspectionRequest:
    id: int
    case_id: int
    conclusion_id: int
    note: str
    at: str
    address: str
    agent: str
    inspection_id: int | None  # the re-inspection scheduled for it

    @classmethod
    def from_row(cls, row: Row) -> ReinspectionRequest:
        return cls(*(row[name] for name in cls.__dataclass_fields__))


@dataclass(frozen=True)
class OpenRequest:
    """A case whose applicant asked for re-inspection: a line of the staff dashboard."""

    case_id: int
    case_no: str
    item_name: str
    applicant_name: str
    section: str
    request_id: int
    note: str
    at: str
    conclusion_id: int
    deadline: str | None


@dataclass(frozen=True)
class AwaitingClose:
    """A case whose outcome is known and waits for its section to act (办结)."""

    case_id: int
    case_no: str
    item_name: str
    applicant_name: str
    section: str
    state: str
    conclusion_id: int
    verdict: str
    concluded_at: str
    deadline: str | None


def beijing_today() -> str:
    return clock.shanghai(clock.now(), "%Y-%m-%d")


async def _latest_rectify(tx: Tx, case_id: int) -> Row:
    row = await tx.one(
        "SELECT * FROM conclusions WHERE case_id = ? AND verdict = ? ORDER BY id DESC LIMIT 1",
        (case_id, Verdict.RECTIFY),
    )
    if row is None:
        raise UserError("本案没有整改要求 / this case has no rectification demand")
    return row


class ConclusionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def _with_rectifications(self, row: Row) -> Conclusion:
        rows = await self._db.all(
            "SELECT * FROM rectifications WHERE conclusion_id = ? ORDER BY seq", (row["id"],)
        )
        return replace(
            Conclusion.from_row(row),
            rectifications=tuple(Rectification.from_row(r) for r in rows),
        )

    async def of_inspection(self, inspection_id: int) -> Conclusion | None:
        row = await self._db.one(
            "SELECT * FROM conclusions WHERE inspection_id = ?", (inspection_id,)
        )
        return await self._with_rectifications(row) if row else None

    async def of_case(self, case_id: int) -> list[Conclusion]:
        rows = await self._db.all(
            "SELECT * FROM conclusions WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [await self._with_rectifications(row) for row in rows]

    async def requests(self, case_id: int) -> list[ReinspectionRequest]:
        rows = await self._db.all(
            "SELECT * FROM reinspection_requests WHERE case_id = ? ORDER BY id", (case_id,)
        )
        return [ReinspectionRequest.from_row(row) for row in rows]

    async def open_requests(
        self, *, sections: Sequence[str] | None = None, limit: int = 100
    ) -> list[OpenRequest]:
        """Cases waiting for their re-inspection to be scheduled, with the applicant's latest
        request; the longest waiting first. `sections`: only those sections' (None: all)."""
        scope, scope_args = in_sections("c.section", sections)
        rows = await self._db.all(
            """SELECT c.id AS case_id, c.case_no, c.item_name, c.applicant_name, c.section,
                      r.id AS request_id, r.note, r.at, r.conclusion_id, k.deadline
               FROM cases c JOIN reinspection_requests r ON r.case_id = c.id
               JOIN conclusions k ON k.id = r.conclusion_id
               WHERE c.state = ? AND """
            + scope
            + """ AND r.id = (SELECT MAX(id) FROM reinspection_requests WHERE case_id = c.id)
               ORDER BY r.at, r.id LIMIT ?""",
            (CaseState.REINSPECTION_REQUESTED, *scope_args, limit),
        )
        return [OpenRequest(**dict(row)) for row in rows]

    async def awaiting_section(
        self, *, sections: Sequence[str] | None = None, limit: int = 100
    ) -> list[AwaitingClose]:
        """Cases passed, failed or overdue, with their latest conclusion; the oldest first.
        `sections`: only those sections' (None: all)."""
        states = sorted(AWAITING_SECTION)
        placeholders = ", ".join("?" for _ in states)
        scope, scope_args = in_sections("c.section", sections)
        rows = await self._db.all(
            f"""SELECT c.id AS case_id, c.case_no, c.item_name, c.applicant_name, c.section,
                       c.state, k.id AS conclusion_id, k.verdict, k.at AS concluded_at,
                       k.deadline
                FROM cases c JOIN conclusions k ON k.case_id = c.id
                WHERE c.state IN ({placeholders}) AND {scope}
                AND k.id = (SELECT MAX(id) FROM conclusions WHERE case_id = c.id)
                ORDER BY k.at, k.id LIMIT ?""",
            (*states, *scope_args, limit),
        )
        return [AwaitingClose(**dict(row)) for row in rows]

    @writer
    async def conclude(
        self,
        inspection_id: int,
        verdict: Verdict,
        reasons: str,
        deadline: str | None,
        rectifications: list[tuple[int | None, str]],
        stamp: Stamp,
    ) -> Conclusion:
        """The host pronounces the conclusion; the case moves with it. Once only."""
        async with self._db.transaction() as tx:
            inspection = await tx.one(
                "SELECT case_id, state FROM inspections WHERE id = ?", (inspection_id,)
            )
            if inspection is None:
                raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
            if await tx.one("SELECT 1 FROM conclusions WHERE inspection_id = ?", (inspection_id,)):
                raise UserError(
                    "本次勘验已宣布结论，不能再次宣布 / the conclusion of this inspection was "
                    "already pronounced",
                    code="already_concluded",
                )
            if inspection["state"] not in (InspectionState.LIVE, InspectionState.REVIEWING):
                raise UserError(
                    "勘验未在进行中，不能宣布结论 / the inspection is not live",
                    code="not_live",
                )
            case_id = inspection["case_id"]
            await move_case(tx, case_id, VERDICT_CASE_STATE[verdict])
            if inspection["state"] == InspectionState.REVIEWING:
                # A reviewed video has no session to end: concluding it finishes it.
                await tx.execute(
                    "UPDATE inspections SET state = ?, ended_at = ? WHERE id = ?",
                    (InspectionState.CONCLUDED, stamp.at, inspection_id),
                )
            conclusion_id = await tx.insert(
                """INSERT INTO conclusions (inspection_id, case_id, verdict, reasons, deadline,
                       actor, actor_name, at, recording_id, offset_s)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    inspection_id,
                    case_id,
                    verdict,
                    reasons,
                    deadline,
                    stamp.actor,
                    stamp.name,
                    stamp.at,
                    stamp.recording_id,
                    stamp.offset_s,
                ),
            )
            listed: list[dict[str, Any]] = []
            for seq, (item_id, text) in enumerate(rectifications, start=1):
                item_text = ""
                if item_id is not None:
                    item = await tx.one(
                        "SELECT text FROM checklist_items WHERE id = ? AND inspection_id = ?",
                        (item_id, inspection_id),
                    )
                    if item is None:
                        raise NotFound(f"本次勘验没有该要点 / no checklist point {item_id}")
                    item_text = item["text"]
                await tx.insert(
                    """INSERT INTO rectifications (conclusion_id, case_id, seq, item_id,
                           item_text, text) VALUES (?, ?, ?, ?, ?, ?)""",
                    (conclusion_id, case_id, seq, item_id, item_text, text),
                )
                listed.append({"item": item_id, "point": item_text, "text": text})
            await tx.event(
                "conclusion.pronounced",
                actor=stamp.actor,
                case_id=case_id,
                inspection_id=inspection_id,
                data={
                    "conclusion": conclusion_id,
                    "verdict": str(verdict),
                    "reasons": reasons,
                    "deadline": deadline,
                    "rectifications": listed,
                    **stamp.data(),
                },
            )
        found = await self.of_inspection(inspection_id)
        assert found is not None
        return found

    @writer
    async def confirm(
        self, inspection_id: int, accepted: bool, note: str, *, address: str, agent: str
    ) -> Conclusion:
        """The applicant confirms having seen the conclusion (or declines to): the remote
        stand-in for their signature on the record. A decline may later become a confirmation."""
        at = clock.now_iso()
        async with self._db.transaction() as tx:
            row = await tx.one(
                "SELECT id, case_id, confirmation FROM conclusions WHERE inspection_id = ?",
                (inspection_id,),
            )
            if row is None:
                raise UserError("尚未宣布结论 / no conclusion yet", code="no_conclusion")
            if row["confirmation"] == "confirmed":
                raise UserError("您已确认过 / already confirmed", code="already_confirmed")
            answer = "confirmed" if accepted else "declined"
            await tx.execute(
                """UPDATE conclusions SET confirmation = ?, confirmed_at = ?, confirm_address = ?,
                       confirm_agent = ?, confirm_note = ? WHERE id = ?""",
                (answer, at, address, agent, note, row["id"]),
            )
            await tx.event(
                f"conclusion.{answer}",
                actor="applicant",
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"conclusion": row["id"], "address": address, "agent": agent, "note": note},
            )
        found = await self.of_inspection(inspection_id)
        assert found is not None
        return found

    @writer
    async def request_reinspection(
        self, case_id: int, note: str, *, address: str, agent: str
    ) -> ReinspectionRequest:
        """The applicant declares the rectification done, before the deadline."""
        async with self._db.transaction() as tx:
            conclusion = await _latest_rectify(tx, case_id)
            if conclusion["deadline"] and beijing_today() > conclusion["deadline"]:
                raise UserError(
                    f"整改期限（{conclusion['deadline']}）已过，不能申请复勘，请联系审批窗口 / "
                    f"the rectification deadline ({conclusion['deadline']}) has passed; contact "
                    "the approval desk",
                    code="deadline_passed",
                )
            await move_case(tx, case_id, CaseState.REINSPECTION_REQUESTED)
            request_id = await tx.insert(
                """INSERT INTO reinspection_requests (case_id, conclusion_id, note, at, address,
                       agent) VALUES (?, ?, ?, ?, ?, ?)""",
                (case_id, conclusion["id"], note, clock.now_iso(), address, agent),
            )
            await tx.event(
                "reinspection.requested",
                actor="applicant",
                case_id=case_id,
                data={"request": request_id, "conclusion": conclusion["id"], "note": note},
            )
            row = await tx.row("SELECT * FROM reinspection_requests WHERE id = ?", (request_id,))
        return ReinspectionRequest.from_row(row)

    @writer
    async def mark_overdue(self, case_id: int) -> bool:
        """The rectification deadline passed without a request: the case is overdue."""
        async with self._db.transaction() as tx:
            case = await tx.one("SELECT state FROM cases WHERE id = ?", (case_id,))
            if case is None or case["state"] != CaseState.RECTIFYING:
                return False
            conclusion = await _latest_rectify(tx, case_id)
            if not conclusion["deadline"] or beijing_today() <= conclusion["deadline"]:
                return False
            await move_case(tx, case_id, CaseState.OVERDUE)
            await tx.event(
                "case.overdue",
                actor="system",
                case_id=case_id,
                data={"conclusion": conclusion["id"], "deadline": conclusion["deadline"]},
            )
        return True

    async def past_deadline(self) -> list[int]:
        """Cases still rectifying after their deadline."""
        rows = await self._db.all(
            """SELECT c.id FROM cases c JOIN conclusions k ON k.case_id = c.id
               WHERE c.state = ? AND k.verdict = ? AND k.deadline < ?
               AND k.id = (SELECT MAX(id) FROM conclusions WHERE case_id = c.id)""",
            (CaseState.RECTIFYING, Verdict.RECTIFY, beijing_today()),
        )
        return [row[0] for row in rows]

    @writer
    async def close_case(self, case_id: int, note: str, *, actor: str) -> None:
        """The owning section has acted on the conclusion (办结)."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            before = await move_case(tx, case_id, CaseState.CLOSED)
            await tx.execute("UPDATE cases SET closed_at = ? WHERE id = ?", (now, case_id))
            await tx.event(
                "case.closed", actor=actor, case_id=case_id, data={"from": before, "note": note}
            )

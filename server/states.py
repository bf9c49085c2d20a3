"""Case and inspection states and the transitions between them: one pure table each.

Every write that changes a state goes through `check_case` or `check_inspection` inside its
transaction (server.archive), so a forbidden move is refused with the state the case is really
in, whoever asks. No other module spells a state as a string literal.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import UserError


class CaseState(StrEnum):
    INTAKE = "intake"  # registered, awaiting scheduling
    EXCLUDED = "excluded"  # not for video inspection (SPEC §3), until the exclusion is withdrawn
    SCHEDULED = "scheduled"  # an inspection is scheduled
    LIVE = "live"
    CONCLUDED = "concluded"
    CLOSED = "closed"
    ARCHIVED = "archived"


class InspectionState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"  # the host started the session
    ENDED = "ended"
    CANCELLED = "cancelled"


CASE_LABELS: dict[CaseState, tuple[str, str]] = {
    CaseState.INTAKE: ("待安排勘验", "Awaiting scheduling"),
    CaseState.SCHEDULED: ("已安排勘验", "Inspection scheduled"),
    CaseState.LIVE: ("勘验进行中", "Inspection in progress"),
    CaseState.EXCLUDED: ("不适用视频勘验", "Not for video inspection"),
    CaseState.CONCLUDED: ("已出具勘验结论", "Concluded"),
    CaseState.CLOSED: ("已办结", "Closed"),
    CaseState.ARCHIVED: ("已归档", "Archived"),
}
INSPECTION_LABELS: dict[InspectionState, tuple[str, str]] = {
    InspectionState.SCHEDULED: ("待开始", "Scheduled"),
    InspectionState.LIVE: ("进行中", "Live"),
    InspectionState.ENDED: ("已结束", "Ended"),
    InspectionState.CANCELLED: ("已取消", "Cancelled"),
}

# from → the states it may move to. A state missing from a set is refused.
CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    CaseState.INTAKE: frozenset({CaseState.EXCLUDED, CaseState.SCHEDULED}),
    # Another ground may be found for a case already excluded; withdrawing the last one
    # returns it to intake.
    CaseState.EXCLUDED: frozenset({CaseState.EXCLUDED, CaseState.INTAKE}),
    # A declaration cancels the scheduled inspection; cancelling returns the case to intake.
    CaseState.SCHEDULED: frozenset({CaseState.EXCLUDED, CaseState.INTAKE}),
    CaseState.LIVE: frozenset(),
    CaseState.CONCLUDED: frozenset(),
    CaseState.CLOSED: frozenset(),
    CaseState.ARCHIVED: frozenset(),
}
INSPECTION_TRANSITIONS: dict[InspectionState, frozenset[InspectionState]] = {
    InspectionState.SCHEDULED: frozenset({InspectionState.LIVE, InspectionState.CANCELLED}),
    InspectionState.LIVE: frozenset({InspectionState.ENDED}),
    InspectionState.ENDED: frozenset(),
    InspectionState.CANCELLED: frozenset(),
}

_CASES = {str(s) for s in CaseState}
_INSPECTIONS = {str(s) for s in InspectionState}

# Inspections that hold the case: at most one at a time.
ACTIVE_INSPECTION = frozenset({InspectionState.SCHEDULED, InspectionState.LIVE})


class StateError(UserError):
    """A move the transition table refuses; the message names the state things are in."""

    code = "wrong_state"


def case_label(state: str, lang: str = "zh") -> str:
    if state not in _CASES:
        return state
    zh, en = CASE_LABELS[CaseState(state)]
    return zh if lang == "zh" else en


def inspection_label(state: str, lang: str = "zh") -> str:
    if state not in _INSPECTIONS:
        return state
    zh, en = INSPECTION_LABELS[InspectionState(state)]
    return zh if lang == "zh" else en


def case_may_move(current: str, target: CaseState) -> bool:
    return current in _CASES and target in CASE_TRANSITIONS[CaseState(current)]


def inspection_may_move(current: str, target: InspectionState) -> bool:
    return current in _INSPECTIONS and target in INSPECTION_TRANSITIONS[InspectionState(current)]


def check_case(current: str, target: CaseState) -> None:
    """Raise StateError unless a case in `current` may become `target`."""
    if not case_may_move(current, target):
        raise StateError(
            f"案件当前状态为「{case_label(current)}」，不能变为「{case_label(target)}」 / the case "
            f"is {case_label(current, 'en').lower()}; it cannot become "
            f"{case_label(target, 'en').lower()}",
            details={"state": current, "target": str(target)},
        )


def check_inspection(current: str, target: InspectionState) -> None:
    """Raise StateError unless an inspection in `current` may become `target`."""
    if not inspection_may_move(current, target):
        raise StateError(
            f"勘验当前状态为「{inspection_label(current)}」，不能变为"
            f"「{inspection_label(target)}」 / the inspection is "
            f"{inspection_label(current, 'en').lower()}; it cannot become "
            f"{inspection_label(target, 'en').lower()}",
            details={"state": current, "target": str(target)},
        )

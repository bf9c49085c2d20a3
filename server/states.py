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
    LIVE = "live"  # its session is running
    # Interrupted (中止), or a self-recorded video under review.
    AWAITING_CONCLUSION = "awaiting_conclusion"
    PASSED = "passed"  # 通过
    RECTIFYING = "rectifying"  # 整改: the applicant rectifies before the deadline
    REINSPECTION_REQUESTED = "reinspection_requested"  # 已申请复勘
    OVERDUE = "overdue"  # the rectification deadline passed without a request
    FAILED = "failed"  # 不通过
    CLOSED = "closed"  # 已办结: the owning section has acted on the conclusion
    ARCHIVED = "archived"


class InspectionState(StrEnum):
    SCHEDULED = "scheduled"
    LIVE = "live"  # the host started the session
    INTERRUPTED = "interrupted"  # the host ended the session without a conclusion (中止)
    REVIEWING = "reviewing"  # self-recorded: the video passed its checks; reviewers watch it
    CONCLUDED = "concluded"  # the session ended after the host pronounced the conclusion
    ENDED = "ended"  # ended before conclusions were recorded (earlier versions)
    CANCELLED = "cancelled"


class Method(StrEnum):
    """How the site is inspected (seed §3): a live session, or a video the applicant films."""

    LIVE = "live"
    VIDEO = "video"


class Verdict(StrEnum):
    """The conclusion the host pronounces (SPEC §4 step 3)."""

    PASS = "pass"  # 通过
    RECTIFY = "rectify"  # 整改
    FAIL = "fail"  # 不通过


CASE_LABELS: dict[CaseState, tuple[str, str]] = {
    CaseState.INTAKE: ("待安排勘验", "Awaiting scheduling"),
    CaseState.SCHEDULED: ("已安排勘验", "Inspection scheduled"),
    CaseState.LIVE: ("勘验进行中", "Inspection in progress"),
    CaseState.AWAITING_CONCLUSION: ("待出具结论", "Awaiting the conclusion"),
    CaseState.EXCLUDED: ("不适用视频勘验", "Not for video inspection"),
    CaseState.PASSED: ("勘验通过", "Passed"),
    CaseState.RECTIFYING: ("待整改", "Rectification required"),
    CaseState.REINSPECTION_REQUESTED: ("已申请复勘", "Re-inspection requested"),
    CaseState.OVERDUE: ("整改逾期", "Rectification overdue"),
    CaseState.FAILED: ("勘验不通过", "Failed"),
    CaseState.CLOSED: ("已办结", "Closed"),
    CaseState.ARCHIVED: ("已归档", "Archived"),
}
INSPECTION_LABELS: dict[InspectionState, tuple[str, str]] = {
    InspectionState.SCHEDULED: ("待开始", "Scheduled"),
    InspectionState.LIVE: ("进行中", "Live"),
    InspectionState.INTERRUPTED: ("已中止", "Interrupted"),
    InspectionState.REVIEWING: ("视频审查中", "Video under review"),
    InspectionState.CONCLUDED: ("已出具结论", "Concluded"),
    InspectionState.ENDED: ("已结束", "Ended"),
    InspectionState.CANCELLED: ("已取消", "Cancelled"),
}
VERDICT_LABELS: dict[Verdict, tuple[str, str]] = {
    Verdict.PASS: ("通过", "Pass"),
    Verdict.RECTIFY: ("整改", "Rectify"),
    Verdict.FAIL: ("不通过", "Fail"),
}
# The case state a verdict puts the case in.
VERDICT_CASE_STATE: dict[Verdict, CaseState] = {
    Verdict.PASS: CaseState.PASSED,
    Verdict.RECTIFY: CaseState.RECTIFYING,
    Verdict.FAIL: CaseState.FAILED,
}

_C = CaseState
# from → the states it may move to. A state missing from a set is refused.
CASE_TRANSITIONS: dict[CaseState, frozenset[CaseState]] = {
    _C.INTAKE: frozenset({_C.EXCLUDED, _C.SCHEDULED}),
    # Another ground may be found for a case already excluded; withdrawing the last one
    # returns it to intake.
    _C.EXCLUDED: frozenset({_C.EXCLUDED, _C.INTAKE}),
    # A declaration cancels the scheduled inspection; cancelling returns the case to intake
    # (or, for a re-inspection, to the request that asked for it).
    # A self-recorded video that passes its checks goes to review (awaiting the conclusion).
    _C.SCHEDULED: frozenset(
        {_C.EXCLUDED, _C.INTAKE, _C.REINSPECTION_REQUESTED, _C.LIVE, _C.AWAITING_CONCLUSION}
    ),
    _C.LIVE: frozenset({_C.PASSED, _C.RECTIFYING, _C.FAILED, _C.AWAITING_CONCLUSION}),
    # An interrupted inspection is started again, moved, or cancelled; a reviewed video is
    # concluded (or a new video is asked for).
    _C.AWAITING_CONCLUSION: frozenset(
        {
            _C.LIVE,
            _C.SCHEDULED,
            _C.INTAKE,
            _C.REINSPECTION_REQUESTED,
            _C.PASSED,
            _C.RECTIFYING,
            _C.FAILED,
        }
    ),
    _C.RECTIFYING: frozenset({_C.REINSPECTION_REQUESTED, _C.OVERDUE}),
    # The gates run again when the re-inspection is scheduled.
    _C.REINSPECTION_REQUESTED: frozenset({_C.SCHEDULED, _C.EXCLUDED}),
    _C.PASSED: frozenset({_C.CLOSED}),
    _C.FAILED: frozenset({_C.CLOSED}),
    _C.OVERDUE: frozenset({_C.CLOSED}),
    _C.CLOSED: frozenset({_C.ARCHIVED}),
    _C.ARCHIVED: frozenset(),
}
_I = InspectionState
INSPECTION_TRANSITIONS: dict[InspectionState, frozenset[InspectionState]] = {
    # scheduled → scheduled: moved to another time.
    _I.SCHEDULED: frozenset({_I.SCHEDULED, _I.LIVE, _I.CANCELLED, _I.REVIEWING}),
    _I.LIVE: frozenset({_I.CONCLUDED, _I.INTERRUPTED}),
    _I.INTERRUPTED: frozenset({_I.LIVE, _I.SCHEDULED, _I.CANCELLED}),
    # Reviewers conclude on the video, or ask the applicant for another one.
    _I.REVIEWING: frozenset({_I.CONCLUDED, _I.SCHEDULED}),
    _I.CONCLUDED: frozenset(),
    _I.ENDED: frozenset(),
    _I.CANCELLED: frozenset(),
}

_CASES = {str(s) for s in CaseState}
_INSPECTIONS = {str(s) for s in InspectionState}
_VERDICTS = {str(v) for v in Verdict}

# Inspections that hold the case: at most one at a time. An interrupted one is still open.
ACTIVE_INSPECTION = frozenset({_I.SCHEDULED, _I.LIVE, _I.INTERRUPTED})
# Cases whose outcome is known and waits for the owning section to act (办结).
AWAITING_SECTION = frozenset({_C.PASSED, _C.FAILED, _C.OVERDUE})
# Cases that are over: their status link stops working.
FINISHED = frozenset({_C.CLOSED, _C.ARCHIVED})


class StateError(UserError):
    """A move the transition table refuses; the message names the state things are in."""

    code = "wrong_state"


def case_label(state: str, lang: str = "zh") -> str:
    if state not in _CASES:
        return state
    zh, en = CASE_LABELS[CaseState(state)]
    return zh if lang == "zh" else en


def verdict_label(verdict: str, lang: str = "zh") -> str:
    if verdict not in _VERDICTS:
        return verdict
    zh, en = VERDICT_LABELS[Verdict(verdict)]
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

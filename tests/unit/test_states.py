"""The case and inspection transition tables, pair by pair."""

from __future__ import annotations

from itertools import product

import pytest

from server.states import (
    CaseState,
    InspectionState,
    StateError,
    case_label,
    case_may_move,
    check_case,
    check_inspection,
    inspection_label,
)

C, S = CaseState, InspectionState

CASE_MOVES = {
    (C.INTAKE, C.EXCLUDED),
    (C.INTAKE, C.SCHEDULED),
    (C.EXCLUDED, C.EXCLUDED),
    (C.EXCLUDED, C.INTAKE),
    (C.SCHEDULED, C.EXCLUDED),
    (C.SCHEDULED, C.INTAKE),
    (C.SCHEDULED, C.REINSPECTION_REQUESTED),
    (C.SCHEDULED, C.LIVE),
    (C.SCHEDULED, C.AWAITING_CONCLUSION),
    (C.LIVE, C.PASSED),
    (C.LIVE, C.RECTIFYING),
    (C.LIVE, C.FAILED),
    (C.LIVE, C.AWAITING_CONCLUSION),
    (C.AWAITING_CONCLUSION, C.LIVE),
    (C.AWAITING_CONCLUSION, C.SCHEDULED),
    (C.AWAITING_CONCLUSION, C.INTAKE),
    (C.AWAITING_CONCLUSION, C.REINSPECTION_REQUESTED),
    (C.AWAITING_CONCLUSION, C.PASSED),
    (C.AWAITING_CONCLUSION, C.RECTIFYING),
    (C.AWAITING_CONCLUSION, C.FAILED),
    (C.RECTIFYING, C.REINSPECTION_REQUESTED),
    (C.RECTIFYING, C.OVERDUE),
    (C.REINSPECTION_REQUESTED, C.SCHEDULED),
    (C.REINSPECTION_REQUESTED, C.EXCLUDED),
    (C.PASSED, C.CLOSED),
    (C.FAILED, C.CLOSED),
    (C.OVERDUE, C.CLOSED),
    (C.CLOSED, C.ARCHIVED),
}
INSPECTION_MOVES = {
    (S.SCHEDULED, S.SCHEDULED),
    (S.SCHEDULED, S.LIVE),
    (S.SCHEDULED, S.CANCELLED),
    (S.SCHEDULED, S.REVIEWING),
    (S.REVIEWING, S.CONCLUDED),
    (S.REVIEWING, S.SCHEDULED),
    (S.LIVE, S.CONCLUDED),
    (S.LIVE, S.INTERRUPTED),
    (S.INTERRUPTED, S.LIVE),
    (S.INTERRUPTED, S.SCHEDULED),
    (S.INTERRUPTED, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), list(product(CaseState, CaseState)))
def test_case_transitions(current, target):
    if (current, target) in CASE_MOVES:
        check_case(current, target)
        return
    with pytest.raises(StateError) as refused:
        check_case(current, target)
    # The refusal says what state the case is in, in both languages.
    assert case_label(current) in refused.value.message
    assert case_label(current, "en").lower() in refused.value.message
    assert refused.value.details == {"state": str(current), "target": str(target)}


@pytest.mark.parametrize(("current", "target"), list(product(InspectionState, InspectionState)))
def test_inspection_transitions(current, target):
    if (current, target) in INSPECTION_MOVES:
        check_inspection(current, target)
        return
    with pytest.raises(StateError) as refused:
        check_inspection(current, target)
    assert inspection_label(current) in refused.value.message


def test_an_unknown_stored_state_is_refused_not_crashed():
    with pytest.raises(StateError, match="bogus"):
        check_case("bogus", C.SCHEDULED)


def test_what_the_outcome_rules_refuse():
    # Concluding twice is refused by the archive (one conclusion per inspection); these are the
    # case moves that stand behind the rest of the rules.
    assert not case_may_move(C.PASSED, C.REINSPECTION_REQUESTED)  # nothing to rectify
    assert not case_may_move(C.OVERDUE, C.REINSPECTION_REQUESTED)  # after the deadline
    assert not case_may_move(C.RECTIFYING, C.SCHEDULED)  # only once the applicant asks
    assert not case_may_move(C.PASSED, C.PASSED)
    assert not case_may_move(C.ARCHIVED, C.CLOSED)


def test_every_state_has_both_labels():
    for state in CaseState:
        assert case_label(state) != str(state) and case_label(state, "en") != str(state)
    for inspection_state in InspectionState:
        assert inspection_label(inspection_state) != str(inspection_state)

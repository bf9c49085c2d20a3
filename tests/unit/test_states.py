"""The case and inspection transition tables, pair by pair."""

from __future__ import annotations

from itertools import product

import pytest

from server.states import (
    CaseState,
    InspectionState,
    StateError,
    case_label,
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
}
INSPECTION_MOVES = {
    (S.SCHEDULED, S.LIVE),
    (S.SCHEDULED, S.CANCELLED),
    (S.LIVE, S.ENDED),
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


def test_every_state_has_both_labels():
    for state in CaseState:
        assert case_label(state) != str(state) and case_label(state, "en") != str(state)
    for inspection_state in InspectionState:
        assert inspection_label(inspection_state) != str(inspection_state)

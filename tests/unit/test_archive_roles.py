"""Who holds the archive's actions (SPEC §2): the table the server enforces on every route."""

from __future__ import annotations

from server.staff.roles import STAFF_PERMISSIONS, STAFF_ROLE_NAMES, StaffAction, StaffRole


def holders(action: StaffAction) -> set[StaffRole]:
    return {role for role, actions in STAFF_PERMISSIONS.items() if action in actions}


def test_the_archive_is_for_archivists_and_the_admin_and_an_inspectors_own_cases():
    assert holders(StaffAction.READ_ARCHIVE) == {StaffRole.ARCHIVIST, StaffRole.ADMIN}
    assert holders(StaffAction.READ_OWN_ARCHIVE) == {StaffRole.INSPECTOR}
    assert holders(StaffAction.EXPORT_PACKAGE) == {StaffRole.ARCHIVIST, StaffRole.ADMIN}
    # Destructive or costly: the administrator alone.
    assert holders(StaffAction.DELETE_FILES) == {StaffRole.ADMIN}
    assert holders(StaffAction.CHECK_FILES) == {StaffRole.ADMIN}


def test_a_leader_reads_statistics_and_nothing_of_cases():
    assert STAFF_ROLE_NAMES[StaffRole.LEADER] == ("领导", "Leader")
    assert holders(StaffAction.VIEW_STATISTICS) == {StaffRole.LEADER, StaffRole.ADMIN}
    assert STAFF_PERMISSIONS[StaffRole.LEADER] == {
        StaffAction.VIEW_STATISTICS,
        StaffAction.VIEW_CATALOG,
    }

"""Staff roles and what each may do on the staff pages (SPEC §2).

Staff — admin, inspector, clerk, archivist, leader — log in with a password. Experts, observers and
applicants have no accounts: they hold personal links (server.live.room has their rules).
"""

from __future__ import annotations

from enum import StrEnum

from ..archive import StaffAccount


class StaffRole(StrEnum):
    ADMIN = "admin"  # accounts, catalog, API keys, settings
    INSPECTOR = "inspector"  # 现场勘查股: intake, scheduling, may host
    CLERK = "clerk"  # 业务审批股室: intake and eligibility of their cases
    ARCHIVIST = "archivist"  # 档案管理员: reads cases and the archive
    LEADER = "leader"  # 领导: the bureau's statistics


STAFF_ROLE_NAMES = {
    StaffRole.ADMIN: ("系统管理员", "Administrator"),
    StaffRole.INSPECTOR: ("勘验人员", "Inspector"),
    StaffRole.CLERK: ("业务审批人员", "Approval clerk"),
    StaffRole.ARCHIVIST: ("档案管理员", "Archivist"),
    StaffRole.LEADER: ("领导", "Leader"),
}


class StaffAction(StrEnum):
    VIEW_CASES = "view_cases"
    INTAKE = "intake"
    DECLARE_EXCLUSION = "declare_exclusion"
    WITHDRAW_EXCLUSION = "withdraw_exclusion"
    SCHEDULE = "schedule"  # schedule, reschedule, cancel, change the group, see every link
    CLOSE_CASE = "close_case"  # 办结: the owning section has acted on the conclusion
    VIEW_DISHONESTY = "view_dishonesty"
    IMPORT_DISHONESTY = "import_dishonesty"
    VIEW_CATALOG = "view_catalog"
    EDIT_CATALOG = "edit_catalog"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_API_KEYS = "manage_api_keys"
    RESEND_NOTICE = "resend_notice"  # send a message again by hand
    REVIEW_FINDINGS = "review_findings"  # confirm or dismiss a regulator's finding
    MANAGE_WEBHOOKS = "manage_webhooks"  # the receivers and every delivery in trouble
    # The archive: search, play, download and annotate every case, or only one's own (the cases
    # of inspections whose group holds one's account).
    READ_ARCHIVE = "read_archive"
    READ_OWN_ARCHIVE = "read_own_archive"
    EXPORT_PACKAGE = "export_package"  # case packages: export and verify
    CHECK_FILES = "check_files"  # start verify-files from the dashboard
    DELETE_FILES = "delete_files"  # after the retention period
    VIEW_STATISTICS = "view_statistics"


# SPEC §2. The server enforces this table on every staff route.
STAFF_PERMISSIONS: dict[StaffRole, frozenset[StaffAction]] = {
    StaffRole.ADMIN: frozenset(
        {
            StaffAction.VIEW_CATALOG,
            StaffAction.EDIT_CATALOG,
            StaffAction.MANAGE_ACCOUNTS,
            StaffAction.MANAGE_API_KEYS,
            StaffAction.MANAGE_WEBHOOKS,
            StaffAction.RESEND_NOTICE,
            StaffAction.VIEW_DISHONESTY,
            StaffAction.IMPORT_DISHONESTY,
            StaffAction.READ_ARCHIVE,
            StaffAction.EXPORT_PACKAGE,
            StaffAction.CHECK_FILES,
            StaffAction.DELETE_FILES,
            StaffAction.VIEW_STATISTICS,
        }
    ),
    StaffRole.INSPECTOR: frozenset(
        {
            StaffAction.VIEW_CASES,
            StaffAction.INTAKE,
            StaffAction.DECLARE_EXCLUSION,
            StaffAction.WITHDRAW_EXCLUSION,
            StaffAction.SCHEDULE,
            StaffAction.CLOSE_CASE,
            StaffAction.VIEW_DISHONESTY,
            StaffAction.IMPORT_DISHONESTY,
            StaffAction.VIEW_CATALOG,
            StaffAction.RESEND_NOTICE,
            StaffAction.REVIEW_FINDINGS,
            StaffAction.READ_OWN_ARCHIVE,
        }
    ),
    StaffRole.CLERK: frozenset(
        {
            StaffAction.VIEW_CASES,
            StaffAction.INTAKE,
            StaffAction.DECLARE_EXCLUSION,
            StaffAction.CLOSE_CASE,
            StaffAction.VIEW_CATALOG,
        }
    ),
    StaffRole.ARCHIVIST: frozenset(
        {
            StaffAction.VIEW_CASES,
            StaffAction.VIEW_CATALOG,
            StaffAction.READ_ARCHIVE,
            StaffAction.EXPORT_PACKAGE,
        }
    ),
    StaffRole.LEADER: frozenset({StaffAction.VIEW_STATISTICS, StaffAction.VIEW_CATALOG}),
}


def may(account: StaffAccount, action: StaffAction) -> bool:
    return action in STAFF_PERMISSIONS[StaffRole(account.role)]


def section_bound(account: StaffAccount, inspectors_by_section: bool) -> bool:
    """Whether the account works on its own sections' cases only: an approval clerk always (the
    staff of the section that owns the case, SPEC §2), an inspector when the bureau says so
    (staff.inspectors_by_section). Admins and archivists see every case they may see at all."""
    role = StaffRole(account.role)
    return role == StaffRole.CLERK or (role == StaffRole.INSPECTOR and inspectors_by_section)


def case_scope(account: StaffAccount, inspectors_by_section: bool) -> tuple[str, ...] | None:
    """The sections whose cases the account sees and acts on; None: every section's. A bound
    account without sections sees no case at all."""
    return account.sections if section_bound(account, inspectors_by_section) else None

"""Who may open which case in the archive (SPEC §2): archivists and administrators every case,
inspectors the cases of inspections whose group holds their account. Screenshots and records
are also for everyone who sees the staff case page. Enforced here, on every archive route."""

from __future__ import annotations

import functools

from aiohttp import web

from server.archive import StaffAccount
from server.errors import NotAuthorised
from server.services import ARCHIVE
from server.staff.roles import STAFF_ROLE_NAMES, StaffAction, StaffRole, may

from ..staff import Handler, current, in_scope, out_of_scope, staff_page

ARCHIVE_ACTIONS = (StaffAction.READ_ARCHIVE, StaffAction.READ_OWN_ARCHIVE)
EVIDENCE_ACTIONS = (StaffAction.VIEW_CASES, *ARCHIVE_ACTIONS)


def refusal(account: StaffAccount) -> NotAuthorised:
    zh, en = STAFF_ROLE_NAMES[StaffRole(account.role)]
    return NotAuthorised(f"您的角色（{zh}）无权进行此操作。 / Your role ({en}) may not do this.")


def not_yours() -> NotAuthorised:
    return NotAuthorised(
        "您只能查阅本人参与勘验的案件档案。 / You may open only the archive of cases whose "
        "inspections you took part in.",
        code="not_your_case",
    )


def _guard(actions: tuple[StaffAction, ...]):  # type: ignore[no-untyped-def]
    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        async def guarded(request: web.Request) -> web.StreamResponse:
            account = current(request)
            assert account is not None  # staff_page saw to it
            if not any(may(account, action) for action in actions):
                raise refusal(account)
            return await handler(request)

        page = staff_page()(guarded)
        # Which case it may read, the handler asks `archive_reader` or `evidence_reader`: the
        # sections' rule included (tests/integration/test_sections.py checks every route has one).
        page.case_access = True  # type: ignore[attr-defined]
        return page

    return decorate


# A page of the archive: the role may read some cases (which ones: `archive_reader`).
archive_page = _guard(ARCHIVE_ACTIONS)
# An evidence file shown on the staff case page or in the archive (which: `evidence_reader`).
evidence_page = _guard(EVIDENCE_ACTIONS)


async def may_read(request: web.Request, account: StaffAccount, case_id: int) -> bool:
    if may(account, StaffAction.READ_ARCHIVE):
        return True
    return may(account, StaffAction.READ_OWN_ARCHIVE) and await request.app[
        ARCHIVE
    ].search.is_member(case_id, account.id)


async def archive_reader(request: web.Request, case_id: int) -> StaffAccount:
    """The logged-in staff member, when they may read this case in the archive."""
    account = current(request)
    assert account is not None
    if not await may_read(request, account, case_id):
        raise not_yours() if may(account, StaffAction.READ_OWN_ARCHIVE) else refusal(account)
    return account


async def evidence_reader(request: web.Request, case_id: int) -> StaffAccount:
    """Screenshots and records: whoever sees the staff case page (a case of their sections, for
    those held to their sections), or reads the case's archive."""
    account = current(request)
    assert account is not None
    if may(account, StaffAction.VIEW_CASES):
        if await in_scope(request, case_id):
            return account
        if not any(may(account, action) for action in ARCHIVE_ACTIONS):
            raise out_of_scope()
    return await archive_reader(request, case_id)

"""The demo inspection that `make run` prints links for.

Made on first start through the real workflow: the case is registered like any other (a real
catalog item, the eligibility gates) and scheduled with the five roles. On every start its links
are issued afresh; when they would have expired the inspection is moved to now (which renews
them), and when the demo session has ended a re-inspection of the same case is scheduled, so
the printed links always open a room.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from . import clock
from .archive import ArchiveStore, GroupMember, Inspection, Invitee
from .cases.links import Links
from .cases.workflow import CaseService, Excluded
from .config import Settings
from .states import ACTIVE_INSPECTION, CaseState, InspectionState

DEMO_APPLICATION = {
    "application_no": "DEMO-0001",
    "applicant": {
        "name": "柳江区示例餐饮店（陈申请）",
        "id_no": "91450221MA5KDEM012",
        "phone": "13800000000",
    },
    "item_code": "FOOD-OPERATION",
    "site_address": "柳州市柳江区拉堡镇示例路 1 号",
    "section": "食品药品审批股",
}

DEMO_PEOPLE = [
    ("host", "张主持", "现场勘查股"),
    ("clerk", "李审批", "食品药品审批股"),
    ("expert", "王专家", "专家库"),
    ("observer", "赵观察", "区市场监督管理局"),
    ("applicant", "陈申请", "柳江区示例餐饮店"),
]
ACTOR = "system:demo"
# A demo case in one of these states has had its say: the next start makes a new one.
CONCLUDED = frozenset(
    {
        CaseState.PASSED,
        CaseState.RECTIFYING,
        CaseState.REINSPECTION_REQUESTED,
        CaseState.OVERDUE,
        CaseState.FAILED,
        CaseState.CLOSED,
        CaseState.ARCHIVED,
    }
)
log = logging.getLogger(__name__)


async def ensure_demo(
    archive: ArchiveStore, cases: CaseService, settings: Settings
) -> tuple[Inspection, list[Invitee]] | None:
    """The demo inspection and its group; None when the demo case has been excluded (someone
    declared an exclusion on it, or listed its applicant), logged with the reason. A demo case
    that has been concluded makes way for a new one."""
    case = await archive.cases.find_demo()
    if case is None or case.state in CONCLUDED:
        number = 1 if case is None else int(case.application_no.rsplit("-", 1)[1]) + 1
        application = {**DEMO_APPLICATION, "application_no": f"DEMO-{number:04d}"}
        case, _ = await cases.intake(application, actor=ACTOR, is_demo=True)
    current = next(
        (i for i in await archive.inspections.of_case(case.id) if i.state in ACTIVE_INSPECTION),
        None,
    )
    lifetime = timedelta(hours=settings.security.link_lifetime_hours)
    # Links expire `lifetime` after the scheduled time; keep an hour's margin for the demo.
    stale = clock.now() - lifetime + timedelta(hours=1)
    if current is not None and clock.parse(current.scheduled_at) < stale:
        if current.state == InspectionState.LIVE:  # left by a server that stopped long ago
            await archive.inspections.interrupt(current.id, "演示：会话已过期", actor=ACTOR)
        current = await archive.inspections.reschedule(
            current.id, clock.now_iso(), "演示：重新开放链接", actor=ACTOR
        )
    if current is None:
        group = [GroupMember(role, name, unit) for role, name, unit in DEMO_PEOPLE]
        try:
            current = await cases.schedule(case.id, clock.now(), group, actor=ACTOR)
        except Excluded as exc:
            log.warning("no demo inspection: %s", exc.message)
            return None
    return current, await archive.inspections.invitees(current.id)


def demo_lines(links: Links, inspection: Inspection, invitees: list[Invitee]) -> list[str]:
    """`link <role> <url>` for the first live invitee of every role."""
    lines = []
    seen = set()
    for invitee in invitees:
        if invitee.role in seen or invitee.revoked_at is not None:
            continue
        seen.add(invitee.role)
        lines.append(f"link {invitee.role} {links.room_url(invitee, inspection)}")
    return lines

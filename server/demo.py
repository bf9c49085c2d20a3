"""The demo inspection that `make run` prints links for.

Made on first start; on every start its links are issued afresh, and when the demo session has
ended a re-inspection of the same case is scheduled, so the printed links always open a room.
"""

from __future__ import annotations

from . import clock
from .archive import ArchiveStore, Inspection, Invitee
from .links import Links

DEMO_PEOPLE = [
    ("host", "张主持", "现场勘查股"),
    ("clerk", "李审批", "食品药品审批股"),
    ("expert", "王专家", "专家库"),
    ("observer", "赵观察", "区市场监督管理局"),
    ("applicant", "陈申请", "柳江区示例餐饮店"),
]


async def ensure_demo(archive: ArchiveStore) -> tuple[Inspection, list[Invitee]]:
    case = await archive.find_demo_case()
    if case is None:
        case = await archive.create_case(
            application_no="DEMO-0001",
            applicant_name="柳江区示例餐饮店（陈申请）",
            applicant_id_no="91450221MA5DEMO01X",
            applicant_phone="13800000000",
            item_code="FOOD-OPERATION",
            item_name="食品经营许可",
            site_address="柳州市柳江区拉堡镇示例路 1 号",
            section="食品药品审批股",
            state="scheduled",
            is_demo=True,
        )
    inspections = await archive.inspections_of_case(case.id)
    current = next((i for i in inspections if i.state in ("scheduled", "live")), None)
    if current is None:
        current = await archive.create_inspection(case.id, clock.now_iso())
        for role, name, unit in DEMO_PEOPLE:
            await archive.add_invitee(current.id, role, name, unit=unit)
    return current, await archive.invitees(current.id)


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

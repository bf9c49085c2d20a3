"""The case workflow up to a scheduled inspection: intake, eligibility, scheduling.

A case arrives from the staff form or the platform's API. It is checked against the five
exclusions (SPEC §3) at intake and again when it is scheduled, because a declaration, a catalog
edit or a dishonesty-list import may come in between. Scheduling forms the group, freezes the
checklist version and gives each person a personal link; moving or cancelling the inspection
makes every link issued for it stop working.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from . import clock
from .archive import ArchiveStore, Case, ExclusionRow, GroupMember, Inspection
from .catalog import Catalog
from .eligibility import DECLARABLE, GROUND_NAMES, Ground
from .errors import BadRequest, UserError
from .identifiers import check_identity_number, check_phone

CASE_STATES: dict[str, tuple[str, str]] = {
    "intake": ("待安排勘验", "Awaiting scheduling"),
    "scheduled": ("已安排勘验", "Inspection scheduled"),
    "live": ("勘验进行中", "Inspection in progress"),
    "excluded": ("不适用视频勘验", "Not for video inspection"),
    "concluded": ("已出具勘验结论", "Concluded"),
    "closed": ("已办结", "Closed"),
    "archived": ("已归档", "Archived"),
}
INSPECTION_STATES: dict[str, tuple[str, str]] = {
    "scheduled": ("待开始", "Scheduled"),
    "live": ("进行中", "Live"),
    "ended": ("已结束", "Ended"),
    "cancelled": ("已取消", "Cancelled"),
}

APPLICATION_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-/]{0,63}")
GROUP_LIMITS = {"host": (1, 1), "clerk": (0, 6), "expert": (0, 6), "observer": (0, 6)}
# A scheduled time may be a few minutes in the past: "now" typed into a form takes a moment.
SCHEDULE_GRACE = timedelta(minutes=10)
SCHEDULE_HORIZON = timedelta(days=366)
MAX_DISHONESTY_ROWS = 200_000


class Excluded(UserError):
    """The case cannot be inspected by video; the message says why."""

    code = "excluded"


def _clean(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _no_controls(text: str) -> bool:
    return not any(ord(c) < 32 for c in text)


@dataclass(frozen=True)
class Application:
    """A validated intake request."""

    application_no: str
    applicant_name: str
    applicant_id_no: str
    applicant_phone: str
    item_code: str
    site_address: str
    section: str

    def to_json(self) -> dict[str, Any]:
        return {
            "application_no": self.application_no,
            "applicant": {
                "name": self.applicant_name,
                "id_no": self.applicant_id_no,
                "phone": self.applicant_phone,
            },
            "item_code": self.item_code,
            "site_address": self.site_address,
            "section": self.section,
        }


TOP_FIELDS = {"application_no", "applicant", "item_code", "site_address", "section"}
APPLICANT_FIELDS = {"name", "id_no", "phone"}


def parse_application(data: Any, item_codes: set[str]) -> Application:
    """Validate an intake request (the API's JSON shape); BadRequest names every bad field."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        raise BadRequest(
            "请求体应为 JSON 对象 / the body must be a JSON object",
            code="invalid",
            details={"": "expected an object"},
        )
    for key in sorted(set(data) - TOP_FIELDS):
        errors[key] = "未知字段 / unknown field"
    applicant = data.get("applicant")
    if not isinstance(applicant, dict):
        errors["applicant"] = (
            "必填 / required" if applicant is None else "应为对象 / expected an object"
        )
        applicant = {}
    for key in sorted(set(applicant) - APPLICANT_FIELDS):
        errors[f"applicant.{key}"] = "未知字段 / unknown field"

    def text(where: str, value: Any, low: int, high: int) -> str:
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[where] = "必填 / required"
            return ""
        if not isinstance(value, str):
            errors[where] = "应为文本 / expected a string"
            return ""
        value = value.strip()
        if not low <= len(value) <= high:
            errors[where] = f"长度应为 {low}–{high} 个字符 / must be {low}–{high} characters"
        elif not _no_controls(value):
            errors[where] = "含有控制字符 / contains control characters"
        return value

    application_no = text("application_no", data.get("application_no"), 1, 64)
    if "application_no" not in errors and not APPLICATION_NO.fullmatch(application_no):
        errors["application_no"] = (
            "只能包含字母、数字、-、_ 和 / / only letters, digits, '-', '_' and '/'"
        )
    name = id_no = phone = ""
    if "applicant" not in errors:  # a missing applicant is one error, not four
        name = text("applicant.name", applicant.get("name"), 2, 100)
        id_no = text("applicant.id_no", applicant.get("id_no"), 1, 40)
        if id_no and "applicant.id_no" not in errors:
            try:
                id_no = check_identity_number(id_no)
            except ValueError as exc:
                errors["applicant.id_no"] = str(exc)
        phone = text("applicant.phone", applicant.get("phone"), 1, 30)
        if phone and "applicant.phone" not in errors:
            try:
                phone = check_phone(phone)
            except ValueError as exc:
                errors["applicant.phone"] = str(exc)
    item_code = text("item_code", data.get("item_code"), 1, 32)
    if item_code and "item_code" not in errors and item_code not in item_codes:
        errors["item_code"] = (
            f"事项目录中没有 {item_code} / not in the catalog "
            f"(known: {', '.join(sorted(item_codes))})"
        )
    site_address = text("site_address", data.get("site_address"), 5, 200)
    section = text("section", data.get("section"), 2, 64)
    if errors:
        raise BadRequest(
            "申请信息有误：" + "、".join(errors) + " / invalid fields: " + ", ".join(errors),
            code="invalid",
            details=errors,
        )
    return Application(application_no, name, id_no, phone, item_code, site_address, section)


def application_from_form(form: Any) -> dict[str, Any]:
    """The staff intake form's flat fields in the API's shape."""
    return {
        "application_no": form.get("application_no", ""),
        "applicant": {
            "name": form.get("applicant_name", ""),
            "id_no": form.get("applicant_id_no", ""),
            "phone": form.get("applicant_phone", ""),
        },
        "item_code": form.get("item_code", ""),
        "site_address": form.get("site_address", ""),
        "section": form.get("section", ""),
    }


def _same_application(case: Case, application: Application) -> dict[str, str]:
    """Fields where a repeated application number carries different data."""
    pairs = {
        "applicant.name": (case.applicant_name, application.applicant_name),
        "applicant.id_no": (case.applicant_id_no, application.applicant_id_no),
        "applicant.phone": (case.applicant_phone, application.applicant_phone),
        "item_code": (case.item_code, application.item_code),
        "site_address": (case.site_address, application.site_address),
        "section": (case.section, application.section),
    }
    return {
        field: f"已登记为 {stored!r} / already recorded as {stored!r}"
        for field, (stored, sent) in pairs.items()
        if stored != sent
    }


@dataclass(frozen=True)
class DishonestyRow:
    id_no: str
    name: str
    reason: str
    listed_on: str


HEADER_ALIASES = {
    "id_no": {"id_no", "证件号码", "身份证号码", "统一社会信用代码", "证件号", "信用代码"},
    "name": {"name", "名称", "姓名", "企业名称", "当事人", "被执行人"},
    "reason": {"reason", "失信事由", "事由", "列入原因", "失信行为"},
    "listed_on": {"listed_on", "列入日期", "认定日期", "发布日期"},
}


def decode_upload(raw: bytes) -> str:
    """CSV bytes as text: UTF-8 (with or without BOM), else GB18030 as Excel writes it here."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            raise BadRequest(
                "文件编码无法识别，请另存为 UTF-8 或 GBK 编码的 CSV / unreadable text encoding: "
                "save the file as UTF-8 or GBK CSV",
                code="invalid",
            ) from None


def parse_dishonesty_csv(text: str) -> list[DishonestyRow]:
    """Rows of a dishonesty-list CSV with a header row; every bad line is named."""
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise BadRequest("文件为空 / the file is empty", code="invalid") from None
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        for key, aliases in HEADER_ALIASES.items():
            if title.strip().lower() in aliases and key not in columns:
                columns[key] = index
    missing = [key for key in ("id_no", "name") if key not in columns]
    if missing:
        raise BadRequest(
            "表头缺少列：" + "、".join(missing) + "（可用“证件号码”“名称”“失信事由”“列入日期”"
            " 或 id_no,name,reason,listed_on） / the header lacks: " + ", ".join(missing),
            code="invalid",
            details={"header": ", ".join(missing)},
        )
    entries: list[dict[str, str]] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            entries.append({})  # keeps line numbers right; skipped below
            continue
        entries.append(
            {
                key: (row[index].strip() if index < len(row) else "")
                for key, index in columns.items()
            }
        )
    return check_dishonesty_entries(entries, first_line=2)


def check_dishonesty_entries(entries: list[Any], first_line: int = 1) -> list[DishonestyRow]:
    errors: dict[str, str] = {}
    rows: dict[str, DishonestyRow] = {}
    if len(entries) > MAX_DISHONESTY_ROWS:
        raise BadRequest(
            f"一次最多导入 {MAX_DISHONESTY_ROWS} 条 / at most {MAX_DISHONESTY_ROWS} rows at once",
            code="invalid",
        )
    for offset, entry in enumerate(entries):
        where = f"line {first_line + offset}"
        if entry == {}:
            continue
        if not isinstance(entry, dict):
            errors[where] = "应为对象 / expected an object"
            continue
        try:
            id_no = check_identity_number(_clean(entry.get("id_no")))
        except ValueError as exc:
            errors[f"{where}.id_no"] = str(exc)
            continue
        name = _clean(entry.get("name"))
        if not name or len(name) > 100:
            errors[f"{where}.name"] = "名称必填，最多 100 字 / a name of 1–100 characters"
            continue
        rows[id_no] = DishonestyRow(
            id_no, name, _clean(entry.get("reason"))[:300], _clean(entry.get("listed_on"))[:20]
        )
        if len(errors) > 50:
            break
    if errors:
        raise BadRequest(
            f"有 {len(errors)} 处错误，未导入任何条目 / {len(errors)} bad rows; nothing imported: "
            + "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:10]),
            code="invalid",
            details=errors,
        )
    return list(rows.values())


def check_group(members: list[GroupMember]) -> dict[str, str]:
    """Problems with an inspection group, keyed by form field."""
    errors: dict[str, str] = {}
    counts: dict[str, int] = {}
    for member in members:
        where = f"{member.role}[{counts.get(member.role, 0)}]"
        counts[member.role] = counts.get(member.role, 0) + 1
        if not member.name.strip() or len(member.name) > 50:
            errors[f"{where}.name"] = "姓名必填，最多 50 字 / a name of 1–50 characters"
        if len(member.unit) > 100:
            errors[f"{where}.unit"] = "单位最多 100 字 / at most 100 characters"
        if member.phone:
            try:
                check_phone(member.phone)
            except ValueError as exc:
                errors[f"{where}.phone"] = str(exc)
    for role, (low, high) in {**GROUP_LIMITS, "applicant": (1, 1)}.items():
        count = counts.get(role, 0)
        if count < low:
            errors[role] = "必须指定 / required"
        elif count > high:
            errors[role] = f"最多 {high} 人 / at most {high}"
    return errors


class CaseService:
    def __init__(self, archive: ArchiveStore, catalog: Catalog) -> None:
        self.archive = archive
        self.catalog = catalog
        # Intake compares and inserts by application number: one at a time.
        self._intake_lock = asyncio.Lock()

    # -- intake -------------------------------------------------------------------------------

    async def intake(self, data: Any, *, actor: str, is_demo: bool = False) -> tuple[Case, bool]:
        """Register a case; (case, created). A repeated request returns the same case."""
        application = parse_application(data, await self.catalog.codes())
        async with self._intake_lock:
            existing = await self.archive.find_case_by_application_no(application.application_no)
            if existing is not None:
                differences = _same_application(existing, application)
                if differences:
                    raise UserError(
                        f"申请编号 {application.application_no} 已登记为案件 {existing.case_no}，"
                        "但内容不同 / this application number is already registered with "
                        "different data: " + ", ".join(differences),
                        code="application_conflict",
                        details=differences,
                    )
                return existing, False
            item = await self.catalog.current(application.item_code)
            case = await self.archive.create_case(
                application_no=application.application_no,
                applicant_name=application.applicant_name,
                applicant_id_no=application.applicant_id_no,
                applicant_phone=application.applicant_phone,
                item_code=application.item_code,
                item_name=item.item.name,
                site_address=application.site_address,
                section=application.section,
                state="intake",
                is_demo=is_demo,
                actor=actor,
            )
        await self._automatic_gates(case)
        return await self.archive.get_case(case.id), True

    async def _automatic_gates(self, case: Case) -> list[ExclusionRow]:
        """Check the catalog item and the dishonesty list; record what excludes the case."""
        found = []
        active = {row.ground for row in await self.archive.exclusions(case.id, active_only=True)}
        item = await self.catalog.current(case.item_code)
        if not item.item.video_allowed and item.item.exclusion_ground not in active:
            found.append(
                await self.archive.add_exclusion(
                    case.id,
                    item.item.exclusion_ground,
                    item.item.exclusion_reason,
                    actor=f"catalog:{item.code} v{item.version} ({item.created_by})",
                )
            )
        entry = await self.archive.find_dishonest(case.applicant_id_no)
        if entry is not None and Ground.DISHONEST not in active:
            reason = entry.reason or "列入失信名单"
            if entry.listed_on:
                reason += f"（列入日期 {entry.listed_on}）"
            found.append(
                await self.archive.add_exclusion(
                    case.id, Ground.DISHONEST, reason, actor="system:dishonesty-list"
                )
            )
        return found

    # -- eligibility --------------------------------------------------------------------------

    async def declare(self, case_id: int, ground: str, reason: str, *, actor: str) -> ExclusionRow:
        """A person's declaration that the case is excluded (grounds 1, 2, 3, 5). Inspections
        not yet started are cancelled with it."""
        errors = {}
        if ground not in DECLARABLE:
            errors["ground"] = "请选择排除情形 / choose a ground"
        reason = reason.strip()
        if not 2 <= len(reason) <= 500:
            errors["reason"] = "请说明理由（2–500 字） / give the reason (2–500 characters)"
        if errors:
            raise BadRequest("排除声明有误 / invalid declaration", code="invalid", details=errors)
        case = await self.archive.get_case(case_id)
        inspections = await self.archive.inspections_of_case(case.id)
        if any(i.state == "live" for i in inspections):
            raise UserError(
                "勘验正在进行，不能声明排除 / an inspection is live; declare after it ends"
            )
        exclusion = await self.archive.add_exclusion(case.id, ground, reason, actor=actor)
        for inspection in inspections:
            if inspection.state == "scheduled":
                await self.archive.cancel_inspection(
                    inspection.id, f"案件不适用视频勘验：{reason}", actor=actor
                )
        return exclusion

    async def withdraw(self, exclusion_id: int, reason: str, *, actor: str) -> None:
        reason = reason.strip()
        if not 2 <= len(reason) <= 500:
            raise BadRequest(
                "请说明撤回理由 / give the reason for withdrawing",
                code="invalid",
                details={"reason": "必填 / required"},
            )
        await self.archive.withdraw_exclusion(
            exclusion_id, reason, actor=actor, state_after="intake"
        )

    async def blocking(self, case: Case) -> list[ExclusionRow]:
        return await self.archive.exclusions(case.id, active_only=True)

    # -- scheduling ---------------------------------------------------------------------------

    async def schedule(
        self, case_id: int, when: datetime, group: list[GroupMember], *, actor: str
    ) -> Inspection:
        case = await self.archive.get_case(case_id)
        errors = check_group(group)
        time_error = self._time_problem(when)
        if time_error:
            errors["scheduled_at"] = time_error
        # The gates run again: a list import or a catalog edit may have come since intake.
        await self._automatic_gates(case)
        blocking = await self.blocking(case)
        if blocking:
            raise self._excluded(blocking)
        if errors:
            raise BadRequest(
                "勘验安排有误 / the schedule has invalid fields: " + ", ".join(errors),
                code="invalid",
                details=errors,
            )
        active = [
            i
            for i in await self.archive.inspections_of_case(case.id)
            if i.state in ("scheduled", "live")
        ]
        if active:
            raise UserError(
                "本案已有待进行的勘验，请改期或取消后再安排 / this case already has an inspection "
                "scheduled; move or cancel it instead"
            )
        item = await self.catalog.current(case.item_code)
        return await self.archive.schedule_inspection(
            case.id, clock.iso(when), item.id, group, actor=actor
        )

    @staticmethod
    def _time_problem(when: datetime) -> str | None:
        if when.tzinfo is None:
            return "缺少时区 / the time needs a time zone"
        now = clock.now()
        if when < now - SCHEDULE_GRACE:
            return "勘验时间不能早于当前时间 / the time is in the past"
        if when > now + SCHEDULE_HORIZON:
            return "勘验时间不能超过一年 / the time is more than a year ahead"
        return None

    @staticmethod
    def _excluded(blocking: list[ExclusionRow]) -> Excluded:
        reasons = "；".join(
            f"{GROUND_NAMES[Ground(row.ground)][0]}：{row.reason}" for row in blocking
        )
        english = "; ".join(GROUND_NAMES[Ground(row.ground)][1] for row in blocking)
        return Excluded(
            f"本案不适用视频勘验，不能安排：{reasons} / not for video inspection: {english}",
            details={"exclusions": [asdict(row) for row in blocking]},
        )

    async def reschedule(
        self, inspection_id: int, when: datetime, reason: str, *, actor: str
    ) -> Inspection:
        problem = self._time_problem(when)
        errors = {"scheduled_at": problem} if problem else {}
        if not 2 <= len(reason.strip()) <= 300:
            errors["reason"] = "请说明改期理由 / give the reason"
        if errors:
            raise BadRequest("改期信息有误 / invalid reschedule", code="invalid", details=errors)
        inspection = await self.archive.get_inspection(inspection_id)
        case = await self.archive.get_case(inspection.case_id)
        await self._automatic_gates(case)
        blocking = await self.blocking(case)
        if blocking:
            raise self._excluded(blocking)
        return await self.archive.reschedule_inspection(
            inspection_id, clock.iso(when), reason.strip(), actor=actor
        )

    async def cancel(self, inspection_id: int, reason: str, *, actor: str) -> Inspection:
        if not 2 <= len(reason.strip()) <= 300:
            raise BadRequest(
                "请说明取消理由 / give the reason",
                code="invalid",
                details={"reason": "必填 / required"},
            )
        return await self.archive.cancel_inspection(inspection_id, reason.strip(), actor=actor)

    async def add_member(self, inspection_id: int, member: GroupMember, *, actor: str) -> None:
        inspection = await self.archive.get_inspection(inspection_id)
        if inspection.state != "scheduled":
            raise UserError("只能为尚未开始的勘验增加人员 / only before the inspection starts")
        if member.role not in ("clerk", "expert", "observer"):
            raise BadRequest(
                "只能增加审批人员、专家或观察员 / only clerks, experts or observers can be added",
                code="invalid",
                details={"role": "clerk, expert or observer"},
            )
        present = [i for i in await self.archive.invitees(inspection_id) if i.revoked_at is None]
        errors = check_group([GroupMember(i.role, i.name, i.unit, "") for i in present] + [member])
        if errors:
            raise BadRequest("人员信息有误 / invalid member", code="invalid", details=errors)
        await self.archive.add_group_member(inspection_id, member, actor=actor)

    async def revoke_member(self, invitee_id: int, *, actor: str) -> None:
        invitee = await self.archive.get_invitee(invitee_id)
        if invitee.role in ("host", "applicant"):
            raise UserError(
                "主持人和申请人不能移除，请改期或取消勘验 / the host and the applicant cannot be "
                "removed; move or cancel the inspection"
            )
        await self.archive.revoke_group_member(invitee_id, "撤销邀请", actor=actor)

    # -- dishonesty list ----------------------------------------------------------------------

    async def import_dishonesty(
        self, rows: list[DishonestyRow], *, replace: bool, source: str, actor: str
    ) -> Any:
        if replace and not rows:
            raise BadRequest(
                "替换模式下名单不能为空 / a replacing import cannot be empty", code="invalid"
            )
        return await self.archive.import_dishonesty(
            [(r.id_no, r.name, r.reason, r.listed_on) for r in rows],
            replace=replace,
            source=source[:200],
            actor=actor,
        )

"""What intake accepts: an application (the API's JSON or the staff form), a dishonesty-list
import (CSV or JSON), an inspection group. Pure validation: every bad field is named, in zh-CN
then English, and nothing is stored.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from ..archive import Case, GroupMember
from ..errors import BadRequest
from .identifiers import check_email, check_identity_number, check_phone

APPLICATION_NO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-/]{0,63}")
GROUP_LIMITS = {"host": (1, 1), "clerk": (0, 6), "expert": (0, 6), "observer": (0, 6)}
# A scheduled time may be a few minutes in the past: "now" typed into a form takes a moment.
SCHEDULE_GRACE = timedelta(minutes=10)
SCHEDULE_HORIZON = timedelta(days=366)
MAX_DISHONESTY_ROWS = 200_000


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


def same_application(case: Case, application: Application) -> dict[str, str]:
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


def normalise_group(members: list[GroupMember]) -> list[GroupMember]:
    """The members as stored: phone numbers and addresses in one form (check_group passed)."""
    return [
        dataclasses.replace(
            m,
            phone=check_phone(m.phone) if m.phone else "",
            email=check_email(m.email) if m.email else "",
        )
        for m in members
    ]


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
        if member.email:
            try:
                check_email(member.email)
            except ValueError as exc:
                errors[f"{where}.email"] = str(exc)
    for role, (low, high) in {**GROUP_LIMITS, "applicant": (1, 1)}.items():
        count = counts.get(role, 0)
        if count < low:
            errors[role] = "必须指定 / required"
        elif count > high:
            errors[role] = f"最多 {high} 人 / at most {high}"
    return errors

"""The catalog of licence items eligible for video inspection (seed attachment 1 and 2).

`config/catalog.toml` seeds it: one `[[item]]` table per licence item with its checklist points
(勘验要点) and its shooting requirements. The file is checked at start, and an error names the
file, the item and the field. Items then live in the archive as numbered versions: the admin's
edits in the UI add versions, and so does a changed file at the next start. An inspection keeps
the version it was scheduled with, so a later edit never changes an inspection's checklist.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..archive import ArchiveStore, CatalogRow
from ..errors import BadRequest, ConfigError, NotFound, UserError
from .eligibility import ITEM_GROUNDS, Ground

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "catalog.toml"

CODE = re.compile(r"[A-Z][A-Z0-9-]{1,31}")
ITEM_KEYS = {
    "code",
    "name",
    "video_allowed",
    "checklist",
    "shooting",
    "exclusion_ground",
    "exclusion_reason",
    "retention_years",
}
SHOOTING_KEYS = {"min_duration_s", "min_width", "min_height", "must_show", "max_age_hours"}
# How long before its upload a self-recorded video may have been made, unless the item says.
DEFAULT_MAX_AGE_HOURS = 168
DEFAULT_EXCLUSION_REASON = "事项目录规定该事项不适用视频勘验"
# How long an archived case is kept before it may be deleted, unless the item says otherwise.
DEFAULT_RETENTION_YEARS = 30
# SPEC §4 step 2: the first point is the applicant's self-introduction and commitment that the
# site shown is genuine. A point that mentions both words says so; anything else is a mistake.
FIRST_POINT_WORDS = ("承诺", "真实")


@dataclass(frozen=True)
class Shooting:
    """What a recording of this item must show (attachment 2, 事项视频拍摄要求)."""

    min_duration_s: int
    min_width: int
    min_height: int
    must_show: tuple[str, ...]
    max_age_hours: int | None = None  # None: DEFAULT_MAX_AGE_HOURS


@dataclass(frozen=True)
class CatalogItem:
    code: str
    name: str
    video_allowed: bool
    checklist: tuple[str, ...]
    shooting: Shooting
    exclusion_ground: str = ""
    exclusion_reason: str = ""
    retention_years: int | None = None  # None: DEFAULT_RETENTION_YEARS

    @property
    def retention(self) -> int:
        return self.retention_years or DEFAULT_RETENTION_YEARS

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["checklist"] = list(self.checklist)
        data["shooting"]["must_show"] = list(self.shooting.must_show)
        # Optional fields an item does not set stay out, so its digest stays as it was.
        if self.retention_years is None:
            del data["retention_years"]
        if self.shooting.max_age_hours is None:
            del data["shooting"]["max_age_hours"]
        return data

    def digest(self) -> str:
        canonical = json.dumps(self.to_json(), ensure_ascii=False, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogItem:
        shooting = dict(data["shooting"])
        shooting["must_show"] = tuple(shooting["must_show"])
        return cls(
            code=data["code"],
            name=data["name"],
            video_allowed=data["video_allowed"],
            checklist=tuple(data["checklist"]),
            shooting=Shooting(**shooting),
            exclusion_ground=data.get("exclusion_ground", ""),
            exclusion_reason=data.get("exclusion_reason", ""),
            retention_years=data.get("retention_years"),
        )


@dataclass(frozen=True)
class CatalogVersion:
    """One saved version of an item. `id` is what an inspection refers to."""

    id: int
    version: int
    item: CatalogItem
    source: str  # file | ui
    note: str
    created_by: str
    created_at: str

    @property
    def code(self) -> str:
        return self.item.code


def _text(errors: dict[str, str], data: dict[str, Any], key: str, limit: int) -> str:
    value = data.get(key)
    if value is None:
        errors[key] = "必填 / required"
        return ""
    if not isinstance(value, str):
        errors[key] = f"应为文本 / expected a string, got {value!r}"
        return ""
    value = value.strip()
    if not value:
        errors[key] = "不能为空 / must not be empty"
    elif len(value) > limit:
        errors[key] = f"不能超过 {limit} 个字符 / at most {limit} characters"
    return value


def _texts(
    errors: dict[str, str], data: dict[str, Any], key: str, where: str, least: int
) -> tuple[str, ...]:
    value = data.get(key)
    if value is None:
        errors[where] = "必填 / required"
        return ()
    if not isinstance(value, list):
        errors[where] = f"应为文本列表 / expected a list of strings, got {value!r}"
        return ()
    items: list[str] = []
    for index, entry in enumerate(value):
        if not isinstance(entry, str) or not entry.strip():
            errors[f"{where}[{index}]"] = "应为非空文本 / expected a non-empty string"
            continue
        if len(entry.strip()) > 300:
            errors[f"{where}[{index}]"] = "不能超过 300 个字符 / at most 300 characters"
        if entry.strip() in items:
            errors[f"{where}[{index}]"] = "与前面的条目重复 / repeats an earlier entry"
        items.append(entry.strip())
    if len(value) < least:
        errors[where] = f"至少需要 {least} 条 / needs at least {least} entries"
    if len(value) > 100:
        errors[where] = "不能超过 100 条 / at most 100 entries"
    return tuple(items)


def _int(
    errors: dict[str, str], data: dict[str, Any], key: str, where: str, low: int, high: int
) -> int:
    value = data.get(key)
    if value is None:
        errors[where] = "必填 / required"
        return 0
    if isinstance(value, bool) or not isinstance(value, int):
        errors[where] = f"应为整数 / expected an integer, got {value!r}"
        return 0
    if not low <= value <= high:
        errors[where] = f"应在 {low}–{high} 之间 / must be between {low} and {high}"
    return value


def validate_item(data: Any) -> tuple[CatalogItem | None, dict[str, str]]:
    """Check one item's fields; returns the item, or None and an error per field path."""
    errors: dict[str, str] = {}
    if not isinstance(data, dict):
        return None, {"": "应为表 / expected a table"}
    for key in sorted(set(data) - ITEM_KEYS):
        errors[key] = f"未知字段 / unknown field (known: {', '.join(sorted(ITEM_KEYS))})"
    code = _text(errors, data, "code", 32)
    if "code" not in errors and not CODE.fullmatch(code):
        errors["code"] = (
            "应为大写字母开头的字母、数字和连字符，2–32 位 / expected 2–32 capitals, digits or "
            "hyphens starting with a capital, e.g. FOOD-OPERATION"
        )
    name = _text(errors, data, "name", 100)
    video_allowed = data.get("video_allowed")
    if not isinstance(video_allowed, bool):
        errors["video_allowed"] = (
            "必填，应为 true 或 false / required, true or false"
            if video_allowed is None
            else f"应为 true 或 false / expected true or false, got {video_allowed!r}"
        )
    checklist = _texts(errors, data, "checklist", "checklist", 2)
    if checklist and "checklist[0]" not in errors:
        if not all(word in checklist[0] for word in FIRST_POINT_WORDS):
            errors["checklist[0]"] = (
                "第一条应为申请人自我介绍并承诺所展示现场真实（须含“承诺”“真实”） / the first "
                "point must be the applicant's self-introduction and commitment that the site "
                "shown is genuine (must mention 承诺 and 真实)"
            )
    raw_shooting = data.get("shooting")
    shooting = Shooting(0, 0, 0, ())
    if not isinstance(raw_shooting, dict):
        errors["shooting"] = (
            "必填：[item.shooting] 表 / required: an [item.shooting] table"
            if raw_shooting is None
            else "应为表 / expected a table"
        )
    else:
        for key in sorted(set(raw_shooting) - SHOOTING_KEYS):
            errors[f"shooting.{key}"] = (
                f"未知字段 / unknown field (known: {', '.join(sorted(SHOOTING_KEYS))})"
            )
        max_age = raw_shooting.get("max_age_hours")
        if max_age is not None:
            max_age = _int(errors, raw_shooting, "max_age_hours", "shooting.max_age_hours", 1, 8760)
        shooting = Shooting(
            _int(errors, raw_shooting, "min_duration_s", "shooting.min_duration_s", 10, 7200),
            _int(errors, raw_shooting, "min_width", "shooting.min_width", 160, 7680),
            _int(errors, raw_shooting, "min_height", "shooting.min_height", 120, 4320),
            _texts(errors, raw_shooting, "must_show", "shooting.must_show", 1),
            max_age,
        )
    ground = data.get("exclusion_ground", "")
    reason = data.get("exclusion_reason", "")
    if ground not in ("", *ITEM_GROUNDS):
        errors["exclusion_ground"] = f"应为 {', '.join(ITEM_GROUNDS)} 之一 / one of those"
    if not isinstance(reason, str):
        errors["exclusion_reason"] = "应为文本 / expected a string"
        reason = ""
    elif len(reason) > 300:
        errors["exclusion_reason"] = "不能超过 300 个字符 / at most 300 characters"
    retention = data.get("retention_years")
    if retention is not None:
        retention = _int(errors, data, "retention_years", "retention_years", 1, 100)
    if video_allowed is False:
        ground = str(ground or Ground.LAW)
        reason = reason.strip() or DEFAULT_EXCLUSION_REASON
    else:
        ground, reason = "", ""
    if errors:
        return None, errors
    item = CatalogItem(code, name, bool(video_allowed), checklist, shooting, ground, reason)
    return replace(item, retention_years=retention), {}


def parse(data: dict[str, Any], source: str) -> list[CatalogItem]:
    """Items from parsed TOML; ConfigError naming file, item and field for every problem."""
    problems: list[str] = []
    for key in sorted(set(data) - {"item"}):
        problems.append(f"{source}: unknown top-level key {key!r} (expected [[item]] tables)")
    raw_items = data.get("item")
    if not isinstance(raw_items, list) or not raw_items:
        problems.append(f"{source}: no [[item]] tables")
        raw_items = []
    items: list[CatalogItem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(raw_items, start=1):
        code = raw.get("code") if isinstance(raw, dict) else None
        label = f"item {number}" + (f" ({code})" if isinstance(code, str) and code else "")
        item, errors = validate_item(raw)
        for field_path, message in errors.items():
            where = f"{label}: {field_path}" if field_path else label
            problems.append(f"{source}: {where}: {message}")
        if item is None:
            continue
        if item.code in seen:
            problems.append(f"{source}: {label}: code: {item.code} repeats item {seen[item.code]}")
            continue
        seen[item.code] = number
        items.append(item)
    if problems:
        raise ConfigError("\n".join(problems))
    return items


def load_file(path: Path) -> list[CatalogItem]:
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such catalog file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # e.g. saved as GBK by a Windows editor
        raise ConfigError(
            f"{path}: 不是 UTF-8 文本，请另存为 UTF-8 / not UTF-8 text (byte {exc.start}): "
            "save it as UTF-8"
        ) from None
    return parse(data, str(path))


def item_from_form(form: dict[str, str]) -> tuple[CatalogItem | None, dict[str, str]]:
    """An item from the admin's edit form: lists are one entry per line."""

    def lines(key: str) -> list[str]:
        return [line.strip() for line in form.get(key, "").splitlines() if line.strip()]

    def number(key: str) -> int | str:
        text = form.get(key, "").strip()
        return int(text) if re.fullmatch(r"\d{1,6}", text) else text

    data: dict[str, Any] = {
        "code": form.get("code", "").strip().upper(),
        "name": form.get("name", ""),
        "video_allowed": form.get("video_allowed") == "on",
        "checklist": lines("checklist"),
        "shooting": {
            "min_duration_s": number("min_duration_s"),
            "min_width": number("min_width"),
            "min_height": number("min_height"),
            "must_show": lines("must_show"),
        },
        "exclusion_ground": form.get("exclusion_ground", ""),
        "exclusion_reason": form.get("exclusion_reason", ""),
    }
    if form.get("retention_years", "").strip():  # optional: empty keeps the default
        data["retention_years"] = number("retention_years")
    return validate_item(data)


def require_valid(item: CatalogItem | None, errors: dict[str, str]) -> CatalogItem:
    if item is None:
        raise BadRequest(
            "事项内容有误 / the item has invalid fields: " + "; ".join(errors),
            code="invalid",
            details=errors,
        )
    return item


def version_of(row: CatalogRow) -> CatalogVersion:
    return CatalogVersion(
        row.id,
        row.version,
        CatalogItem.from_json(row.data),
        row.source,
        row.note,
        row.created_by,
        row.created_at,
    )


class Catalog:
    """The versioned catalog in the archive."""

    def __init__(self, archive: ArchiveStore) -> None:
        self.archive = archive

    async def sync_file(self, items: list[CatalogItem], source: str) -> list[CatalogVersion]:
        """Add a version for every item of the file that is new or changed in the file since the
        last start. Edits made in the UI stay current until the file itself changes."""
        added = []
        for item in items:
            digest = item.digest()
            if await self.archive.catalog.last_file_digest(item.code) == digest:
                continue
            added.append(await self._save(item, source="file", note=source, actor="catalog-file"))
        return added

    async def _save(
        self, item: CatalogItem, *, source: str, note: str, actor: str
    ) -> CatalogVersion:
        row = await self.archive.catalog.add_version(
            item.code,
            item.name,
            item.video_allowed,
            item.to_json(),
            item.digest(),
            source=source,
            note=note,
            actor=actor,
        )
        return version_of(row)

    async def save(self, item: CatalogItem, *, note: str, actor: str) -> CatalogVersion:
        """An edit from the UI: a new version unless nothing changed."""
        versions = await self.archive.catalog.versions(item.code)
        if versions and versions[0].digest == item.digest():
            raise UserError("内容未变化，未保存新版本 / nothing changed; no new version saved")
        return await self._save(item, source="ui", note=note.strip()[:300], actor=actor)

    async def items(self) -> list[CatalogVersion]:
        return [version_of(row) for row in await self.archive.catalog.current()]

    async def codes(self) -> set[str]:
        return {version.code for version in await self.items()}

    async def current(self, code: str) -> CatalogVersion:
        versions = await self.archive.catalog.versions(code)
        if not versions:
            raise NotFound(f"事项目录中没有 {code} / no catalog item {code}")
        return version_of(versions[0])

    async def versions(self, code: str) -> list[CatalogVersion]:
        versions = await self.archive.catalog.versions(code)
        if not versions:
            raise NotFound(f"事项目录中没有 {code} / no catalog item {code}")
        return [version_of(row) for row in versions]

    async def version(self, version_id: int) -> CatalogVersion:
        return version_of(await self.archive.catalog.version(version_id))

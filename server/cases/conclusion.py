"""What a conclusion must say (SPEC §4 step 3): pure rules, no storage.

通过 (pass) and 不通过 (fail) give their reasons; 整改 (rectify) also lists each rectification,
tied to the checklist point it concerns where there is one, and a deadline date by which the
applicant rectifies and asks for re-inspection (复勘).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ..errors import BadRequest
from ..states import Verdict
from .checklist import Checklist, clean_text

REASONS_LIMIT = 1000
RECTIFICATION_LIMIT = 300
MAX_RECTIFICATIONS = 50
MAX_DEADLINE_DAYS = 180


@dataclass(frozen=True)
class Pronouncement:
    verdict: Verdict
    reasons: str
    deadline: str | None
    rectifications: list[tuple[int | None, str]]


def check_conclusion(
    verdict: str,
    reasons: str | None,
    deadline: str | None,
    rectifications: list[dict[str, Any]] | None,
    checklist: Checklist,
    today: date,
) -> Pronouncement:
    """A conclusion as the rules allow it, or BadRequest naming every problem."""
    errors: dict[str, str] = {}
    if verdict not in {str(v) for v in Verdict}:
        errors["verdict"] = "请选择 通过、整改 或 不通过 / choose pass, rectify or fail"
    try:
        text = clean_text(reasons, REASONS_LIMIT, "结论理由", required=True)
        if len(text) < 2:
            errors["reasons"] = "请写明理由 / give the reasons"
    except BadRequest as exc:
        errors["reasons"] = exc.message
        text = ""
    listed: list[tuple[int | None, str]] = []
    due: str | None = None
    if verdict == Verdict.RECTIFY:
        due = _deadline(deadline, today, errors)
        if not rectifications:
            errors["rectifications"] = "请列出整改事项 / list what must be rectified"
        elif len(rectifications) > MAX_RECTIFICATIONS:
            errors["rectifications"] = (
                f"最多 {MAX_RECTIFICATIONS} 项 / at most {MAX_RECTIFICATIONS}"
            )
        else:
            for index, entry in enumerate(rectifications):
                listed.append(_rectification(index, entry, checklist, errors))
    elif deadline or rectifications:
        errors["deadline"] = (
            "只有「整改」结论才有整改事项和期限 / only a rectify conclusion has rectifications "
            "and a deadline"
        )
    if errors:
        raise BadRequest(
            "结论有误："
            + "；".join(errors.values())
            + " / invalid conclusion: "
            + ", ".join(errors),
            code="invalid",
            details=errors,
        )
    return Pronouncement(Verdict(verdict), text, due, listed)


def _deadline(value: str | None, today: date, errors: dict[str, str]) -> str | None:
    try:
        due = date.fromisoformat((value or "").strip())
    except ValueError:
        errors["deadline"] = "请填写整改期限（日期） / give the deadline (a date)"
        return None
    if due <= today:
        errors["deadline"] = "整改期限应晚于今天 / the deadline must be after today"
    elif due > today + timedelta(days=MAX_DEADLINE_DAYS):
        errors["deadline"] = (
            f"整改期限不能超过 {MAX_DEADLINE_DAYS} 天 / at most {MAX_DEADLINE_DAYS} days ahead"
        )
    return due.isoformat()


def _rectification(
    index: int, entry: dict[str, Any], checklist: Checklist, errors: dict[str, str]
) -> tuple[int | None, str]:
    where = f"rectifications[{index}]"
    item = entry.get("item")
    if item is not None:
        try:
            checklist.item(item)
        except Exception:
            errors[f"{where}.item"] = "不是本次勘验的要点 / not a point of this inspection"
    try:
        text = clean_text(entry.get("text"), RECTIFICATION_LIMIT, "整改内容", required=True)
    except BadRequest as exc:
        errors[f"{where}.text"] = exc.message
        text = ""
    return item, text

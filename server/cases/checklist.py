"""The live checklist of one inspection (逐项核实): pure state and rules, no storage.

Step 1 is always the applicant's identity and commitment that the site shown is genuine: the
host marks it verified (or not). Every other point is marked conforms / does not conform /
needs rectification, with a note. `Checklist` holds what a room shows — the points, each
point's latest mark, the current point, which screenshots belong where, the work record and
the conclusion — and renders it for each role: staff and observers see everything, the
applicant sees the points and which one is being verified, never the marks or notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..archive import ChecklistItem, Conclusion, Mark, RecordEntry, Screenshot
from ..errors import BadRequest, NotFound
from ..states import verdict_label

# Step 1 of every inspection (SPEC §4 step 2) when its checklist does not phrase it itself.
IDENTITY_POINT = (
    "申请人（或委托代理人）出示身份证件并自我介绍，承诺所展示的场所真实、与申请材料一致"
)
NOTE_LIMIT = 500
ENTRY_LIMIT = 1000


class ItemKind(StrEnum):
    IDENTITY = "identity"
    POINT = "point"
    RECTIFICATION = "rectification"  # a re-inspection verifies what the last one demanded


class MarkVerdict(StrEnum):
    VERIFIED = "verified"  # identity and commitment checked (step 1 only)
    CONFORMS = "conforms"  # 符合
    NOT_CONFORMS = "not_conforms"  # 不符合
    RECTIFY = "rectify"  # 需整改


MARK_LABELS: dict[MarkVerdict, tuple[str, str]] = {
    MarkVerdict.VERIFIED: ("已核验", "Verified"),
    MarkVerdict.CONFORMS: ("符合", "Conforms"),
    MarkVerdict.NOT_CONFORMS: ("不符合", "Does not conform"),
    MarkVerdict.RECTIFY: ("需整改", "Needs rectification"),
}
ALLOWED_MARKS: dict[ItemKind, frozenset[MarkVerdict]] = {
    ItemKind.IDENTITY: frozenset({MarkVerdict.VERIFIED, MarkVerdict.NOT_CONFORMS}),
    ItemKind.POINT: frozenset(
        {MarkVerdict.CONFORMS, MarkVerdict.NOT_CONFORMS, MarkVerdict.RECTIFY}
    ),
    ItemKind.RECTIFICATION: frozenset(
        {MarkVerdict.CONFORMS, MarkVerdict.NOT_CONFORMS, MarkVerdict.RECTIFY}
    ),
}


def mark_label(verdict: str, lang: str = "zh") -> str:
    pair = MARK_LABELS.get(MarkVerdict(verdict)) if verdict in set(MarkVerdict) else None
    if pair is None:
        return verdict
    return pair[0] if lang == "zh" else pair[1]


def catalog_points(checklist: tuple[str, ...] | list[str]) -> list[tuple[str, str, int | None]]:
    """An inspection's points from its catalog version: the first is identity and commitment
    (the catalog checks that it says so)."""
    points: list[tuple[str, str, int | None]] = []
    for index, text in enumerate(checklist):
        points.append((ItemKind.IDENTITY if index == 0 else ItemKind.POINT, text, None))
    if not points:
        points.append((ItemKind.IDENTITY, IDENTITY_POINT, None))
    return points


def reinspection_points(conclusion: Conclusion) -> list[tuple[str, str, int | None]]:
    """A re-inspection verifies identity again, then every rectification demanded."""
    points: list[tuple[str, str, int | None]] = [(ItemKind.IDENTITY, IDENTITY_POINT, None)]
    for rectification in conclusion.rectifications:
        text = rectification.text
        if rectification.item_text:
            text = f"{rectification.item_text}：{rectification.text}"
        points.append((ItemKind.RECTIFICATION, text[:300], rectification.id))
    return points


def clean_text(value: str | None, limit: int, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise BadRequest(f"请填写{what} / {what} is required", code="invalid")
    if len(text) > limit:
        raise BadRequest(f"{what}不能超过 {limit} 字 / at most {limit} characters", code="invalid")
    if any(ord(c) < 32 and c not in "\n\t" for c in text):
        raise BadRequest(f"{what}含有控制字符 / control characters", code="invalid")
    return text


@dataclass
class Checklist:
    """What a room shows of one inspection's checklist, kept in step with the archive."""

    items: list[ChecklistItem]
    latest: dict[int, Mark] = field(default_factory=dict)  # item id → its last mark
    marks: dict[int, int] = field(default_factory=dict)  # item id → how many marks
    current: int | None = None
    shots: dict[int, int | None] = field(default_factory=dict)  # screenshot id → item id
    entries: list[RecordEntry] = field(default_factory=list)
    conclusion: Conclusion | None = None
    version: int = 0  # every change moves it: pages apply only newer views

    @classmethod
    def of(
        cls,
        items: list[ChecklistItem],
        marks: list[Mark],
        current: int | None,
        screenshots: list[Screenshot],
        entries: list[RecordEntry],
        conclusion: Conclusion | None,
    ) -> Checklist:
        checklist = cls(items, current=current, entries=list(entries), conclusion=conclusion)
        for mark in marks:
            checklist.apply(mark)
        checklist.shots = {shot.id: shot.checklist_item_id for shot in screenshots}
        checklist.version = len(marks) + len(entries) + 1
        return checklist

    def item(self, item_id: int) -> ChecklistItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise NotFound(f"本次勘验没有该要点 / no checklist point {item_id}", code="no_point")

    def check_mark(self, item_id: int, verdict: str, note: str | None) -> tuple[str, str]:
        """A mark as the rules allow it on this point: (verdict, note)."""
        item = self.item(item_id)
        allowed = ALLOWED_MARKS[ItemKind(item.kind)]
        if verdict not in {str(v) for v in allowed}:
            names = "、".join(mark_label(v) for v in sorted(allowed))
            raise BadRequest(
                f"该要点只能标记为：{names} / this point can be marked: "
                + ", ".join(sorted(allowed)),
                code="bad_verdict",
            )
        return verdict, clean_text(note, NOTE_LIMIT, "说明", required=False)

    # -- changes, as the archive accepted them -----------------------------------------------

    def apply(self, mark: Mark) -> None:
        self.latest[mark.item_id] = mark
        self.marks[mark.item_id] = self.marks.get(mark.item_id, 0) + 1
        self.version += 1

    def set_current(self, item_id: int) -> None:
        self.current = item_id
        self.version += 1

    def place_shot(self, screenshot_id: int, item_id: int | None) -> None:
        self.shots[screenshot_id] = item_id
        self.version += 1

    def add_entry(self, entry: RecordEntry) -> None:
        self.entries.append(entry)
        self.version += 1

    def conclude(self, conclusion: Conclusion) -> None:
        self.conclusion = conclusion
        self.version += 1

    # -- views -------------------------------------------------------------------------------

    def view(self, *, full: bool) -> dict[str, Any]:
        """The `checklist` message's content; without `full`, the applicant's: the points and
        the current one only."""
        items = []
        for item in self.items:
            row: dict[str, Any] = {
                "id": item.id,
                "seq": item.seq,
                "kind": item.kind,
                "text": item.text,
            }
            if full:
                mark = self.latest.get(item.id)
                row["mark"] = mark_view(mark) if mark else None
                row["marks"] = self.marks.get(item.id, 0)
                row["screenshots"] = sorted(s for s, i in self.shots.items() if i == item.id)
            items.append(row)
        return {"version": self.version, "current": self.current, "items": items}

    def entries_view(self) -> list[dict[str, Any]]:
        return [entry_view(entry) for entry in self.entries]


def mark_view(mark: Mark) -> dict[str, Any]:
    return {
        "verdict": mark.verdict,
        "label": mark_label(mark.verdict),
        "note": mark.note,
        "by": mark.actor_name,
        "role": mark.actor_role,
        "at": mark.at,
        "offset_s": mark.offset_s,
    }


def entry_view(entry: RecordEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "item": entry.item_id,
        "text": entry.text,
        "by": entry.actor_name,
        "role": entry.actor_role,
        "at": entry.at,
        "offset_s": entry.offset_s,
    }


def conclusion_view(conclusion: Conclusion) -> dict[str, Any]:
    """The conclusion as the room and the status page show it: plain words for the applicant."""
    return {
        "id": conclusion.id,
        "verdict": conclusion.verdict,
        "label": verdict_label(conclusion.verdict),
        "label_en": verdict_label(conclusion.verdict, "en"),
        "reasons": conclusion.reasons,
        "deadline": conclusion.deadline,
        "by": conclusion.actor_name,
        "at": conclusion.at,
        "rectifications": [
            {"item": r.item_id, "point": r.item_text, "text": r.text}
            for r in conclusion.rectifications
        ],
        "confirmation": conclusion.confirmation,
        "confirmed_at": conclusion.confirmed_at,
    }

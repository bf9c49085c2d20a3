"""Statistics for the bureau's leaders: pure sums over the archive's rows (Beijing months).

Inspections concluded per month, item and section; pass / rectify / fail rates; the share of
re-inspections; the median session length; how many were self-recorded; cases excluded by
ground. The same numbers make the page and its CSV.
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .. import clock
from ..archive.statistics import ConcludedRow, ExclusionCount
from ..states import Verdict
from .eligibility import GROUND_NAMES, Ground


@dataclass
class Tally:
    total: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    reinspections: int = 0
    self_recorded: int = 0
    minutes: list[float] = field(default_factory=list)

    def add(self, row: ConcludedRow) -> None:
        self.total += 1
        self.verdicts[row.verdict] += 1
        self.reinspections += row.reinspection
        self.self_recorded += row.method != "live"
        if row.started_at and row.ended_at:
            seconds = (clock.parse(row.ended_at) - clock.parse(row.started_at)).total_seconds()
            self.minutes.append(max(0.0, seconds / 60))

    def rate(self, verdict: Verdict) -> float:
        return self.verdicts[verdict] / self.total if self.total else 0.0

    @property
    def median_minutes(self) -> float | None:
        return statistics.median(self.minutes) if self.minutes else None

    def row(self) -> dict[str, Any]:
        median = self.median_minutes
        return {
            "inspections": self.total,
            "pass": self.verdicts[Verdict.PASS],
            "rectify": self.verdicts[Verdict.RECTIFY],
            "fail": self.verdicts[Verdict.FAIL],
            "pass_rate": round(self.rate(Verdict.PASS), 3),
            "rectify_rate": round(self.rate(Verdict.RECTIFY), 3),
            "fail_rate": round(self.rate(Verdict.FAIL), 3),
            "reinspection_share": round(self.reinspections / self.total, 3) if self.total else 0.0,
            "self_recorded": self.self_recorded,
            "median_session_minutes": None if median is None else round(median, 1),
        }


@dataclass
class Report:
    overall: Tally
    by_month: dict[str, Tally]
    by_item: dict[str, Tally]
    by_section: dict[str, Tally]
    excluded: list[dict[str, Any]]


def report(rows: list[ConcludedRow], exclusions: list[ExclusionCount]) -> Report:
    overall = Tally()
    by_month: dict[str, Tally] = {}
    by_item: dict[str, Tally] = {}
    by_section: dict[str, Tally] = {}
    for row in rows:
        overall.add(row)
        by_month.setdefault(clock.shanghai(row.at, "%Y-%m"), Tally()).add(row)
        by_item.setdefault(row.item_name, Tally()).add(row)
        by_section.setdefault(row.section or "—", Tally()).add(row)
    excluded = [
        {
            "ground": e.ground,
            "name": GROUND_NAMES[Ground(e.ground)][0] if e.ground in set(Ground) else e.ground,
            "cases": e.cases,
        }
        for e in exclusions
    ]
    return Report(overall, dict(sorted(by_month.items())), by_item, by_section, excluded)


COLUMNS = [
    ("inspections", "勘验次数"),
    ("pass", "通过"),
    ("rectify", "整改"),
    ("fail", "不通过"),
    ("pass_rate", "通过率"),
    ("rectify_rate", "整改率"),
    ("fail_rate", "不通过率"),
    ("reinspection_share", "复勘占比"),
    ("self_recorded", "自行录制"),
    ("median_session_minutes", "勘验时长中位数（分钟）"),
]


def to_csv(result: Report) -> str:
    """One table: every grouping in turn, then the exclusions; UTF-8 with a BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["分组", "名称"] + [title for _, title in COLUMNS])
    groups = [("合计", {"全部": result.overall})]
    groups += [("月份", result.by_month), ("事项", result.by_item), ("股室", result.by_section)]
    for kind, tallies in groups:
        for name, tally in tallies.items():
            values = tally.row()
            writer.writerow(
                [kind, name] + ["" if values[k] is None else values[k] for k, _ in COLUMNS]
            )
    writer.writerow([])
    writer.writerow(["不适用视频勘验情形", "案件数"])
    for row in result.excluded:
        writer.writerow([row["name"], row["cases"]])
    return "\ufeff" + out.getvalue()

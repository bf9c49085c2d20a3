"""The leaders' statistics: sums by Beijing month, item and section; rates; medians; CSV."""

from __future__ import annotations

import csv
import io

from server.archive.statistics import ConcludedRow, ExclusionCount
from server.cases.statistics import report, to_csv


def row(at, verdict, item="食品经营许可", section="食品股", re=False, minutes=30, method="live"):
    start = "2026-10-01T02:00:00.000Z"
    end_minute = 0 + minutes
    end = f"2026-10-01T{2 + end_minute // 60:02d}:{end_minute % 60:02d}:00.000Z"
    return ConcludedRow(at, verdict, "X", item, section, re, start, end, method)


ROWS = [
    # 2026-10-31 17:00 UTC is already November in Beijing.
    row("2026-10-31T17:00:00.000Z", "pass", minutes=20),
    row("2026-10-15T02:00:00.000Z", "rectify", minutes=40),
    row("2026-10-20T02:00:00.000Z", "pass", item="药品零售", section="药品股", re=True, minutes=60),
    row("2026-11-02T02:00:00.000Z", "fail", section="药品股", minutes=10, method="self_recorded"),
]


def test_months_are_beijing_months_and_rates_add_up():
    result = report(ROWS, [ExclusionCount("dishonest", 2)])
    assert list(result.by_month) == ["2026-10", "2026-11"]
    assert result.by_month["2026-10"].total == 2 and result.by_month["2026-11"].total == 2
    overall = result.overall.row()
    assert overall["inspections"] == 4
    assert (overall["pass"], overall["rectify"], overall["fail"]) == (2, 1, 1)
    assert overall["pass_rate"] == 0.5 and overall["reinspection_share"] == 0.25
    assert overall["self_recorded"] == 1
    assert overall["median_session_minutes"] == 30.0
    assert result.by_section["药品股"].total == 2
    assert result.excluded == [{"ground": "dishonest", "name": "申请人被列入失信名单", "cases": 2}]


def test_nothing_concluded_is_zero_not_an_error():
    result = report([], [])
    assert result.overall.row()["pass_rate"] == 0.0
    assert result.overall.row()["median_session_minutes"] is None


def test_csv_opens_in_excel_and_has_every_grouping():
    text = to_csv(report(ROWS, [ExclusionCount("site", 1)]))
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    kinds = {r[0] for r in rows if r}
    assert {"合计", "月份", "事项", "股室"} <= kinds
    assert ["现场不具备视频勘验条件", "1"] in rows

"""The rows the bureau's statistics are computed from (server.cases.statistics does the sums):
one per conclusion, one per exclusion, in a date range."""

from __future__ import annotations

from dataclasses import dataclass

from .db import Database, Row


@dataclass(frozen=True)
class ConcludedRow:
    at: str  # when the conclusion was pronounced
    verdict: str
    item_code: str
    item_name: str
    section: str
    reinspection: bool
    started_at: str | None  # the session's start and end
    ended_at: str | None
    method: str  # live | video (self-recorded)

    @classmethod
    def from_row(cls, row: Row) -> ConcludedRow:
        return cls(
            row["at"],
            row["verdict"],
            row["item_code"],
            row["item_name"],
            row["section"],
            row["previous_inspection_id"] is not None,
            row["started_at"],
            row["ended_at"],
            row["method"],
        )


@dataclass(frozen=True)
class ExclusionCount:
    ground: str
    cases: int


class StatisticsStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def concluded(self, since: str, until: str) -> list[ConcludedRow]:
        rows = await self._db.all(
            """SELECT k.at, k.verdict, c.item_code, c.item_name, c.section,
                      i.previous_inspection_id, i.started_at, i.ended_at, i.method
               FROM conclusions k
               JOIN inspections i ON i.id = k.inspection_id
               JOIN cases c ON c.id = k.case_id
               WHERE k.at >= ? AND k.at < ? ORDER BY k.at""",
            (since, until),
        )
        return [ConcludedRow.from_row(row) for row in rows]

    async def exclusions(self, since: str, until: str) -> list[ExclusionCount]:
        rows = await self._db.all(
            """SELECT ground, COUNT(DISTINCT case_id) AS cases FROM exclusions
               WHERE declared_at >= ? AND declared_at < ? GROUP BY ground ORDER BY ground""",
            (since, until),
        )
        return [ExclusionCount(row["ground"], row["cases"]) for row in rows]

"""Reads of the archive's own pages: cases found by what an archivist knows of them (numbers,
the applicant, the item, the conclusion), and whose cases an inspector may open there."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .cases import Case, like_pattern
from .db import Database, Row


@dataclass(frozen=True)
class CaseQuery:
    """Every filter is optional; together they must all hold."""

    number: str = ""  # application number or case number, any part of it
    applicant: str = ""  # the applicant's name, any part of it
    id_no: str = ""  # ID number or unified social credit code, any part of it
    item_code: str = ""
    section: str = ""
    received_from: str = ""  # ISO instants: received at or after …
    received_before: str = ""  # … and before
    verdict: str = ""  # the case's latest conclusion
    state: str = ""
    member: int | None = None  # only cases whose inspections invited this staff account

    def describe(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in ("", None)}


@dataclass(frozen=True)
class FoundCase:
    case: Case
    verdict: str | None  # the latest conclusion's
    inspections: int
    archived_at: str | None


@dataclass(frozen=True)
class Found:
    cases: list[FoundCase] = field(default_factory=list)
    total: int = 0


_LATEST_VERDICT = (
    "(SELECT k.verdict FROM conclusions k WHERE k.case_id = c.id "
    "ORDER BY k.at DESC, k.id DESC LIMIT 1)"
)
_MEMBER = (
    "EXISTS (SELECT 1 FROM invitees v JOIN inspections i ON i.id = v.inspection_id "
    "WHERE i.case_id = c.id AND v.user_id = ?)"
)


def _where(query: CaseQuery) -> tuple[str, list[Any]]:
    where: list[str] = ["1 = 1"]
    args: list[Any] = []
    if query.number:
        where.append("(c.application_no LIKE ? ESCAPE '\\' OR c.case_no LIKE ? ESCAPE '\\')")
        args += [like_pattern(query.number)] * 2
    for column, value in (("applicant_name", query.applicant), ("applicant_id_no", query.id_no)):
        if value:
            where.append(f"c.{column} LIKE ? ESCAPE '\\'")
            args.append(like_pattern(value))
    for column, value in (
        ("item_code", query.item_code),
        ("section", query.section),
        ("state", query.state),
    ):
        if value:
            where.append(f"c.{column} = ?")
            args.append(value)
    if query.received_from:
        where.append("c.created_at >= ?")
        args.append(query.received_from)
    if query.received_before:
        where.append("c.created_at < ?")
        args.append(query.received_before)
    if query.verdict:
        where.append(f"{_LATEST_VERDICT} = ?")
        args.append(query.verdict)
    if query.member is not None:
        where.append(_MEMBER)
        args.append(query.member)
    return " AND ".join(where), args


def _found(row: Row) -> FoundCase:
    return FoundCase(
        Case.from_row(row), row["verdict"], row["inspection_count"], row["archived_at"]
    )


class ArchiveSearch:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def cases(self, query: CaseQuery, *, limit: int = 50, offset: int = 0) -> Found:
        """Cases matching `query`, newest first, and how many match in all."""
        clause, args = _where(query)
        total = await self._db.value(f"SELECT COUNT(*) FROM cases c WHERE {clause}", args)
        rows = await self._db.all(
            f"""SELECT c.*, {_LATEST_VERDICT} AS verdict,
                       (SELECT COUNT(*) FROM inspections i WHERE i.case_id = c.id)
                         AS inspection_count
                FROM cases c WHERE {clause} ORDER BY c.id DESC LIMIT ? OFFSET ?""",
            [*args, limit, offset],
        )
        return Found([_found(row) for row in rows], total)

    async def is_member(self, case_id: int, account_id: int) -> bool:
        """Whether a staff account was invited to one of the case's inspections."""
        row = await self._db.one(
            f"SELECT 1 FROM cases c WHERE c.id = ? AND {_MEMBER}", (case_id, account_id)
        )
        return row is not None

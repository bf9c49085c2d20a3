"""The archive's event log: append-only and hash-chained from its first row; on SQLite and on
PostgreSQL alike."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import asyncpg
import pytest

from server.archive import GENESIS_HASH, ArchiveStore, Stamp, event_hash
from server.errors import UserError
from server.states import Verdict


@pytest.fixture
async def archive(archive_location):
    store = await ArchiveStore.open(archive_location)
    yield store
    await store.close()


async def test_chain_links_every_row_to_the_one_before(archive):
    first = await archive.events.append("a", actor="t", data={"n": 1})
    second = await archive.events.append("b", actor="t", data={"text": "中文"})
    assert first.prev_hash == GENESIS_HASH and second.prev_hash == first.hash
    assert await archive.verify_events() == (2, None, "")


async def test_updates_and_deletes_are_refused(archive):
    await archive.events.append("a", actor="t")
    for statement in ("UPDATE events SET actor = 'x'", "DELETE FROM events"):
        with pytest.raises((sqlite3.IntegrityError, asyncpg.RaiseError), match="append-only"):
            async with archive.db.transaction() as tx:
                await tx.execute(statement)


async def tamper(location, statements):
    """What someone with the file and a SQLite shell (or a database superuser) could do: drop
    the guard, edit."""
    if isinstance(location, Path):
        db = sqlite3.connect(location)
        db.execute("DROP TRIGGER events_append_only_update")
        db.execute("DROP TRIGGER events_append_only_delete")
        for statement in statements:
            db.execute(statement)
        db.commit()
        db.close()
        return
    connection = await asyncpg.connect(location)
    try:
        await connection.execute("DROP TRIGGER events_append_only_update ON events")
        await connection.execute("DROP TRIGGER events_append_only_delete ON events")
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.mark.parametrize(
    ("statements", "broken", "why"),
    [
        (["UPDATE events SET data = '{\"n\":99}' WHERE id = 3"], 3, "altered"),
        (["DELETE FROM events WHERE id = 2"], 3, "removed"),
        (["UPDATE events SET at = '2020-01-01T00:00:00.000Z' WHERE id = 1"], 1, "altered"),
    ],
)
async def test_verification_names_the_first_broken_row(archive_location, statements, broken, why):
    store = await ArchiveStore.open(archive_location)
    for n in range(5):
        await store.events.append("e", actor="t", data={"n": n})
    await store.close()
    await tamper(archive_location, statements)
    store = await ArchiveStore.open(archive_location)
    _, first_broken, reason = await store.verify_events()
    await store.close()
    assert first_broken == broken and why in reason


async def test_a_rewritten_row_with_a_recomputed_hash_still_breaks_the_next_row(
    archive_location,
):
    store = await ArchiveStore.open(archive_location)
    events = [await store.events.append("e", actor="t", data={"n": n}) for n in range(3)]
    await store.close()
    row = events[1]
    forged = event_hash(row.prev_hash, row.id, row.at, row.type, None, None, "t", '{"n":42}')
    await tamper(
        archive_location,
        [f"UPDATE events SET data = '{{\"n\":42}}', hash = '{forged}' WHERE id = 2"],
    )
    store = await ArchiveStore.open(archive_location)
    assert (await store.verify_events())[1] == 3
    await store.close()


async def test_migrations_apply_once(archive_location):
    store = await ArchiveStore.open(archive_location)
    version = await store.schema_version()
    assert version >= 1
    assert await store.migrate() == []
    await store.close()


async def test_inspection_states_only_move_forward(archive):
    case = await archive.cases.create(
        application_no="A1", applicant_name="n", item_code="X", item_name="x"
    )
    inspection = await archive.inspections.schedule(
        case.id, "2026-11-27T02:00:00.000Z", None, [], actor="t"
    )
    with pytest.raises(UserError):
        await archive.inspections.end(inspection.id, actor="t")
    await archive.inspections.start(inspection.id, actor="t")
    with pytest.raises(UserError):
        await archive.inspections.start(inspection.id, actor="t")
    with pytest.raises(UserError, match="结论"):
        await archive.inspections.end(inspection.id, actor="t")
    stamp = Stamp("t", "主持", "host", "2026-11-27T02:30:00.000Z")
    await archive.conclusions.conclude(inspection.id, Verdict.PASS, "一致", None, [], stamp)
    ended = await archive.inspections.end(inspection.id, actor="t")
    assert ended.state == "concluded" and ended.ended_at
    types = [e.type for e in await archive.events.find(inspection_id=inspection.id)]
    assert types == [
        "inspection.scheduled",
        "session.started",
        "conclusion.pronounced",
        "session.ended",
    ]


async def _held(archive, number: str, verdict: Verdict, previous: int | None = None):
    """A case (or, with `previous`, its re-inspection) inspected and concluded."""
    if previous is None:
        case = await archive.cases.create(
            application_no=number, applicant_name="n", item_code="X", item_name="x"
        )
        case_id = case.id
    else:
        case_id = (await archive.inspections.get(previous)).case_id
    inspection = await archive.inspections.schedule(
        case_id, "2026-11-27T02:00:00.000Z", None, [], actor="t", previous_inspection_id=previous
    )
    await archive.inspections.start(inspection.id, actor="t")
    stamp = Stamp("t", "主持", "host", "2026-11-27T02:30:00.000Z")
    rectify = verdict == Verdict.RECTIFY
    await archive.conclusions.conclude(
        inspection.id,
        verdict,
        "理由",
        "2099-12-31" if rectify else None,
        [(None, "加装温度计")] if rectify else [],
        stamp,
    )
    await archive.inspections.end(inspection.id, actor="t")
    return case_id, inspection.id


async def test_the_dashboard_reads_take_each_cases_latest_conclusion_and_request(archive):
    again, first = await _held(archive, "A", Verdict.RECTIFY)
    await archive.conclusions.request_reinspection(again, "已整改", address="a", agent="b")
    quiet, _ = await _held(archive, "B", Verdict.RECTIFY)
    failed, _ = await _held(archive, "C", Verdict.FAIL)
    [request] = await archive.conclusions.open_requests()
    assert (request.case_id, request.note, request.deadline) == (again, "已整改", "2099-12-31")
    assert [(e.case_id, e.verdict) for e in await archive.conclusions.awaiting_section()] == [
        (failed, "fail")
    ]
    # The re-inspection passes: the request is answered, the case waits for its section once.
    await _held(archive, "", Verdict.PASS, previous=first)
    assert await archive.conclusions.open_requests() == []
    waiting = await archive.conclusions.awaiting_section()
    assert [(e.case_id, e.verdict, e.state) for e in waiting] == [
        (failed, "fail", "failed"),
        (again, "pass", "passed"),
    ]
    assert quiet not in [e.case_id for e in waiting]

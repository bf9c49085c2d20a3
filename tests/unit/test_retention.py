"""Retention: nothing is deleted before the item's period; after it, an administrator's deletion
removes the files and leaves a tombstone with their hashes, and the log says so."""

from __future__ import annotations

import hashlib

import pytest

from server.archive import ArchiveStore, GroupMember, Stamp
from server.cases.catalog import Catalog
from server.cases.retention import Retention
from server.errors import UserError
from server.states import Verdict


@pytest.fixture
async def archived(tmp_path, archive_location):
    archive = await ArchiveStore.open(archive_location)
    root = tmp_path / "recordings"
    case = await archive.cases.create(
        application_no="R1", applicant_name="申", item_code="NOPE", item_name="x"
    )
    inspection = await archive.inspections.schedule(
        case.id, "2026-11-27T02:00:00.000Z", None, [GroupMember("host", "h")], actor="t"
    )
    await archive.inspections.start(inspection.id, actor="t")
    shot = root / "KY" / "1" / "shot.jpg"
    shot.parent.mkdir(parents=True)
    shot.write_bytes(b"jpeg bytes")
    digest = hashlib.sha256(b"jpeg bytes").hexdigest()
    await archive.evidence.add_screenshot(
        inspection_id=inspection.id,
        case_id=case.id,
        participant_id=1,
        taker_id=1,
        taken_at="2026-11-27T02:01:00.000Z",
        path="KY/1/shot.jpg",
        width=1,
        height=1,
        size_bytes=10,
        sha256=digest,
    )
    stamp = Stamp("1", "h", "host", "2026-11-27T02:05:00.000Z")
    await archive.conclusions.conclude(inspection.id, Verdict.PASS, "一致", None, [], stamp)
    await archive.conclusions.close_case(case.id, "", actor="t")
    assert await archive.cases.archive(case.id, actor="t")
    yield archive, Retention(archive, Catalog(archive), root), case, shot, digest
    await archive.close()


async def test_nothing_is_deleted_before_the_retention_period(archived):
    _, retention, case, shot, _ = archived
    keep_until = await retention.keep_until(case.id)
    assert keep_until is not None and keep_until[:4] >= "2056"  # 30 years by default
    with pytest.raises(UserError, match=keep_until):
        await retention.delete(case.id, "到期", actor="staff:admin")
    assert shot.exists()


async def test_after_the_period_files_go_and_a_tombstone_keeps_their_hashes(archived):
    archive, retention, case, shot, digest = archived
    async with archive.db.transaction() as tx:  # as if archived 31 years ago
        await tx.execute(
            "UPDATE cases SET archived_at = '1995-01-01T00:00:00.000Z' WHERE id = ?", (case.id,)
        )
    tombstone = await retention.delete(case.id, "保管期满，经批准销毁", actor="staff:admin")
    assert not shot.exists()
    assert tombstone.files == [{"path": "KY/1/shot.jpg", "sha256": digest, "size": 10}]
    [event] = await archive.events.find(case_id=case.id, types=["case.files_deleted"])
    assert event.data["files"][0]["sha256"] == digest and event.actor == "staff:admin"
    # verify-files no longer expects what was deleted, and the chain holds.
    assert [f.path for f in await archive.integrity.archived_files()] == []
    assert (await archive.verify_events())[1] is None
    assert await archive.retention.tombstones(case.id) == [tombstone]


async def test_a_case_not_archived_keeps_its_files(tmp_path):
    archive = await ArchiveStore.open(tmp_path / "kanyan.sqlite3")
    try:
        case = await archive.cases.create(
            application_no="R2", applicant_name="申", item_code="X", item_name="x"
        )
        retention = Retention(archive, Catalog(archive), tmp_path)
        assert await retention.keep_until(case.id) is None
        with pytest.raises(UserError, match="已归档"):
            await retention.delete(case.id, "想删", actor="staff:admin")
    finally:
        await archive.close()

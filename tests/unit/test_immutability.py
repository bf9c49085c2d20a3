"""An archived case never changes: every write path that touches a case refuses, and only
annotations (and reads, exports, retention deletions) are added."""

from __future__ import annotations

import pytest

from server.errors import Archived, KanyanError
from tests.unit.test_transactions import WRITERS, seed, snapshot

# Writers that touch no existing case: they are not about immutability.
NOT_CASE_WRITES = {
    "events.append",  # an event of no case (a login)
    "cases.create",  # a new case
    "staff.create",
    "staff.set_password",
    "staff.set_disabled",
    "staff.open_session",
    "staff.end_session",
    "staff.set_sections",
    "staff.create_key",
    "staff.revoke_key",
    "catalog.add_version",
    "eligibility.import_dishonesty",
    "integrity.record",
    "outbox.add_webhook",
    "outbox.disable_webhook",
    "stored.record",  # a file's verified copy in the object store: no change to any case
}
# Allowed on an archived case.
STILL_ALLOWED = {
    "cases.annotate",
    "retention.delete_files",
    # Messages about the case, and what a regulator later finds about it.
    "outbox.sent",
    "outbox.failed",
    "outbox.resend",
    "findings.record",
    "findings.review",
}


@pytest.fixture
async def archive(archive_location):
    from server.archive import ArchiveStore

    store = await ArchiveStore.open(archive_location)
    yield store
    await store.close()


async def archive_everything(archive) -> None:
    """Every case archived (written directly: the real path needs closed cases with records)."""
    async with archive.db.transaction() as tx:
        await tx.execute("UPDATE cases SET state = 'archived'")


CASE_WRITES = sorted(set(WRITERS) - NOT_CASE_WRITES - STILL_ALLOWED)


def test_every_writer_is_classified():
    assert set(WRITERS) == set(CASE_WRITES) | NOT_CASE_WRITES | STILL_ALLOWED


# Writers that look for work and find none in an archived case.
NOTHING_TO_DO = {"conclusions.mark_overdue"}


@pytest.mark.parametrize("name", CASE_WRITES)
async def test_an_archived_case_refuses_every_change(archive, name):
    data = await seed(archive)
    await archive_everything(archive)
    before = await snapshot(archive)
    if name in NOTHING_TO_DO:
        assert await WRITERS[name](archive, data) is False
        assert await snapshot(archive) == before
        return
    with pytest.raises(KanyanError) as refused:
        await WRITERS[name](archive, data)
    # Refused as archived, or by the state table that knows no move out of `archived`.
    assert isinstance(refused.value, Archived) or "已归档" in refused.value.message, (
        refused.value.message
    )
    assert await snapshot(archive) == before


async def test_an_archived_case_is_annotated_and_stays_as_it_was(archive):
    data = await seed(archive)
    await archive_everything(archive)
    case_before = await archive.cases.get(data.case_id)
    note = await archive.cases.annotate(
        data.case_id, "2031 年调阅：与纸质档案一致", actor="staff:li"
    )
    assert note.text.startswith("2031") and note.actor == "staff:li"
    assert await archive.cases.get(data.case_id) == case_before
    [event] = await archive.events.find(case_id=data.case_id, types=["case.annotated"])
    assert event.data["text"] == note.text
    assert (await archive.verify_events())[1] is None

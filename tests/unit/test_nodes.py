"""Placements of rooms on media nodes (server/archive/nodes.py), on SQLite and PostgreSQL: one
node per room while its lease holds, renewed by heartbeats, taken over once it ran out — and
every placement and takeover in the event log."""

from __future__ import annotations

import asyncio

import pytest

from server.archive import ArchiveStore
from server.cases.workflow import GroupMember


@pytest.fixture
async def archive(archive_location):
    store = await ArchiveStore.open(archive_location)
    yield store
    await store.close()


async def an_inspection(archive: ArchiveStore) -> int:
    case = await archive.cases.create(
        application_no="N1", applicant_name="申请人", item_code="X", item_name="x"
    )
    group = [GroupMember("host", "主持"), GroupMember("applicant", "申")]
    inspection = await archive.inspections.schedule(
        case.id, "2026-11-27T02:00:00.000Z", None, group, actor="t"
    )
    return inspection.id


async def test_a_room_stays_on_the_node_it_was_placed_on(archive):
    inspection = await an_inspection(archive)
    first = await archive.nodes.place(inspection, "node-b", lease_s=30)
    assert (first.node_id, first.epoch) == ("node-b", 1)
    # Node A asks a moment later (a link opened there): the room is B's.
    again = await archive.nodes.place(inspection, "node-a", lease_s=30)
    assert (again.node_id, again.epoch) == ("node-b", 1)
    events = [e for e in await archive.events.find(inspection_id=inspection)]
    assert [(e.type, e.data) for e in events if e.type.startswith("room.")] == [
        ("room.placed", {"node": "node-b"})
    ]


async def test_two_nodes_placing_at_once_agree(archive_location, archive):
    inspection = await an_inspection(archive)
    other = await ArchiveStore.open(archive_location)  # the other node's connection
    try:
        placed = await asyncio.gather(
            *(
                store.nodes.place(inspection, node, lease_s=30)
                for store, node in [(archive, "node-a"), (other, "node-b")] * 5
            )
        )
    finally:
        await other.close()
    assert len({p.node_id for p in placed}) == 1
    events = await archive.events.find(inspection_id=inspection)
    assert sum(e.type == "room.placed" for e in events) == 1


async def test_a_lease_that_ran_out_is_taken_over_and_logged(archive):
    inspection = await an_inspection(archive)
    await archive.nodes.heartbeat("node-b", "https://b.example", 0.1, lease_s=30)
    await archive.nodes.place(inspection, "node-b", lease_s=0.2)
    assert await archive.nodes.expired() == []
    await asyncio.sleep(0.3)  # node B stopped heart-beating
    assert [p.inspection_id for p in await archive.nodes.expired()] == [inspection]
    taken = await archive.nodes.place(inspection, "node-a", lease_s=30)
    assert (taken.node_id, taken.epoch) == ("node-a", 2)
    last = (await archive.events.find(inspection_id=inspection))[-1]
    assert last.type == "room.taken_over"
    assert last.actor == "node:node-a"
    assert (last.data["from"], last.data["node"], last.data["epoch"]) == ("node-b", "node-a", 2)
    assert (await archive.verify_events())[1] is None


async def test_heartbeats_renew_the_leases_and_leaving_frees_them(archive):
    inspection = await an_inspection(archive)
    await archive.nodes.place(inspection, "node-b", lease_s=0.3)
    for _ in range(4):  # alive: its heartbeats keep the room
        await asyncio.sleep(0.15)
        await archive.nodes.heartbeat("node-b", "https://b.example", 0.1, lease_s=0.3)
        assert await archive.nodes.expired() == []
    assert [n.id for n in await archive.nodes.alive(within_s=5)] == ["node-b"]
    await archive.nodes.leave("node-b")  # stopped cleanly: free at once, and gone
    assert [p.inspection_id for p in await archive.nodes.expired()] == [inspection]
    assert await archive.nodes.alive(within_s=5) == []


async def test_a_closed_room_is_released_only_by_its_node(archive):
    inspection = await an_inspection(archive)
    await archive.nodes.place(inspection, "node-b", lease_s=30)
    await archive.nodes.release(inspection, "node-a")
    assert (await archive.nodes.placement(inspection)) is not None
    await archive.nodes.release(inspection, "node-b")
    assert (await archive.nodes.placement(inspection)) is None


async def test_watchers_hear_of_commits_that_touch_an_inspection(archive_location, archive):
    """On PostgreSQL every connection's commits (another node's) reach the watchers, through
    NOTIFY; on SQLite this process's own. Rolled back changes are never heard of."""
    inspection = await an_inspection(archive)
    heard: list[set[int]] = []
    await archive.db.watch(heard.append)
    writer = archive
    if archive.db.shared:
        writer = await ArchiveStore.open(archive_location)  # another node
    try:
        with pytest.raises(RuntimeError):
            async with writer.db.transaction() as tx:
                await tx.event("x.failed", actor="t", inspection_id=inspection)
                raise RuntimeError("rolled back")
        await writer.events.append("x.done", actor="t", inspection_id=inspection)
        await writer.events.append("x.nothing", actor="t")  # touches no inspection
        for _ in range(50):
            if heard:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.3)
        assert heard == [{inspection}]
    finally:
        if writer is not archive:
            await writer.close()


async def test_a_node_that_never_comes_back_has_its_cut_files_marked_lost(archive):
    from server.cluster import forget_node

    inspection = await an_inspection(archive)
    case_id = (await archive.inspections.get(inspection)).case_id
    cut = await archive.evidence.add_recording(
        inspection_id=inspection,
        case_id=case_id,
        segment=1,
        kind="composite",
        path="KY/1/s01-composite.recording.mp4",
        started_at="2026-11-27T02:00:00.000Z",
    )
    await archive.nodes.heartbeat("node-b", "https://b.example", 0.1, lease_s=30)
    await archive.nodes.place(inspection, "node-b", lease_s=0.1)
    await asyncio.sleep(0.2)
    await archive.nodes.place(inspection, "node-a", lease_s=30, left=[cut.path])
    # Another node's file, still being written, is not touched.
    elsewhere = await archive.evidence.add_recording(
        inspection_id=inspection,
        case_id=case_id,
        segment=2,
        kind="composite",
        path="KY/1/s02-composite.recording.mp4",
        started_at="2026-11-27T02:01:00.000Z",
    )
    assert await forget_node(archive, "node-b") == [cut.path]
    assert (await archive.evidence.recording(cut.id)).state == "failed"
    assert (await archive.evidence.recording(elsewhere.id)).state == "recording"
    lost = await archive.events.find(types=["recording.lost"])
    assert [e.data.get("path") or e.data.get("file") for e in lost] == [cut.path]
    assert "node-b" in lost[0].data["why"]
    assert await archive.nodes.get("node-b") is None
    assert (await archive.verify_events())[1] is None


async def test_a_lost_listening_connection_comes_back_and_says_anything_may_have_changed(
    archive_location, archive
):
    """PostgreSQL restarted or failed over: the connection that hears other nodes' commits is
    cut. It is made again; the watchers hear "anything" (what was committed meanwhile went
    unheard) and then every commit as before."""
    if not archive.db.shared:
        pytest.skip("SQLite's watchers hear this process's commits: no connection to lose")
    inspection = await an_inspection(archive)
    heard: list[set[int] | None] = []
    await archive.db.watch(heard.append)
    other = await ArchiveStore.open(archive_location)  # another node
    try:
        cut = await other.db.all(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
        )
        assert [row[0] for row in cut] == [True]
        await other.events.append("x.meanwhile", actor="t", inspection_id=inspection)
        await until(lambda: None in heard)
        await other.events.append("x.after", actor="t", inspection_id=inspection)
        await until(lambda: heard and heard[-1] == {inspection})
        assert heard[heard.index(None) :] == [None, {inspection}]
    finally:
        await other.close()


async def until(condition, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_staff_pages_read_afresh_when_anything_may_have_changed(archive):
    from server.live.feed import LiveFeed

    feed = LiveFeed(archive, outcome=None)  # type: ignore[arg-type]  # not read for waking
    first, second = await feed.subscribe(1), await feed.subscribe(2)
    archive.db.changed({2})
    assert (first.qsize(), second.qsize()) == (0, 1)
    second.get_nowait()
    archive.db.changed(None)  # the connection that hears other nodes came back
    assert (first.qsize(), second.qsize()) == (1, 1)

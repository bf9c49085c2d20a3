"""One transaction per change: every archive write and its events commit together or not at all.

For every writer (not a sample) the event append is made to fail inside the write by a trigger
on the real SQLite file; afterwards neither the change nor an event may be there, and the next
write must work. Concurrent writers from several tasks and from a second connection to the same
file keep one valid chain.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from server.archive import ArchiveStore, GroupMember, Stamp
from server.archive.outbox import enqueue
from server.archive.uploads import StoredFile
from server.states import Verdict
from tests.support.archive import inject_failure, remove_failure
from tests.support.server import ROOT


@dataclass
class Seed:
    """One of everything a writer may need, made through the archive's own writers."""

    case_id: int
    intake_case_id: int
    inspection_id: int
    live_inspection_id: int
    concluded_inspection_id: int
    rectifying_case_id: int
    late_case_id: int
    passed_case_id: int
    closed_case_id: int
    archived_case_id: int
    item_id: int
    invitee_id: int
    staff_id: int
    key_id: int
    exclusion_id: int
    recording_id: int
    screenshot_id: int
    video_inspection_id: int
    reviewing_inspection_id: int
    message_ids: list[int]
    webhook_id: int
    finding_id: int


SEED_SESSION = "0" * 64
STAMP = Stamp("1", "主持", "host", "2026-11-27T02:05:00.000Z")


async def seed(archive: ArchiveStore) -> Seed:
    def case(n: str) -> dict[str, Any]:
        return {"application_no": n, "applicant_name": "申请人", "item_code": "X", "item_name": "x"}

    group = [
        GroupMember("host", "主持"),
        GroupMember("observer", "观察"),
        GroupMember("applicant", "申"),
    ]
    points = [("identity", "出示证件，承诺真实", None), ("point", "经营场所", None)]
    when = "2026-11-27T02:00:00.000Z"

    async def live(n: str) -> tuple[int, int]:
        made = await archive.cases.create(**case(n))
        inspection = await archive.inspections.schedule(
            made.id, when, None, group, actor="t", checklist=points
        )
        await archive.inspections.start(inspection.id, actor="t")
        return made.id, inspection.id

    scheduled = await archive.cases.create(**case("S1"))
    inspection = await archive.inspections.schedule(scheduled.id, when, None, group, actor="t")
    observer = next(
        i for i in await archive.inspections.invitees(inspection.id) if i.role == "observer"
    )
    live_case, live_inspection = await live("L1")
    item = (await archive.checklists.items(live_inspection))[1]
    _, concluded = await live("C1")
    await archive.conclusions.conclude(concluded, Verdict.PASS, "一致", None, [], STAMP)
    rectifying, rectify_inspection = await live("R1")
    await archive.conclusions.conclude(
        rectify_inspection, Verdict.RECTIFY, "需整改", "2099-01-01", [(None, "补齐")], STAMP
    )
    late, late_inspection = await live("D1")
    await archive.conclusions.conclude(
        late_inspection, Verdict.RECTIFY, "需整改", "2020-01-01", [(None, "补齐")], STAMP
    )
    passed, passed_inspection = await live("P1")
    await archive.conclusions.conclude(passed_inspection, Verdict.PASS, "一致", None, [], STAMP)
    closed, closed_inspection = await live("Z1")
    await archive.conclusions.conclude(closed_inspection, Verdict.FAIL, "不符", None, [], STAMP)
    await archive.inspections.end(closed_inspection, actor="t")
    await archive.records.add(
        closed_inspection,
        1,
        html_path="KY/z/record-v1.html",
        html_sha256="7" * 64,
        pdf_path="KY/z/record-v1.pdf",
        pdf_sha256="8" * 64,
        pdf_bytes=1,
        actor="t",
    )
    await archive.conclusions.close_case(closed, "", actor="t")
    kept, kept_inspection = await live("K1")
    await archive.conclusions.conclude(kept_inspection, Verdict.PASS, "一致", None, [], STAMP)
    await archive.conclusions.close_case(kept, "", actor="t")
    assert await archive.cases.archive(kept, actor="t")
    intake = await archive.cases.create(**case("I1"))
    excluded = await archive.cases.create(**case("E1"))
    exclusion = await archive.eligibility.add_exclusion(excluded.id, "site", "停电", actor="t")
    staff = await archive.staff.create("zhang", "张", "inspector", "hash", actor="t")
    await archive.staff.open_session(
        staff.id, SEED_SESSION, "2099-01-01T00:00:00.000Z", address="10.0.0.1", agent="t"
    )
    key = await archive.staff.create_key("platform", "khash", "kyk_ab", actor="t")
    recording = await archive.evidence.add_recording(
        inspection_id=live_inspection,
        case_id=live_case,
        segment=1,
        kind="composite",
        path="KY/1/a.recording.mp4",
        started_at=when,
    )
    shot = await archive.evidence.add_screenshot(
        inspection_id=live_inspection,
        case_id=live_case,
        participant_id=observer.id,
        taker_id=observer.id,
        taken_at="2026-11-27T02:01:00.000Z",
        path="KY/1/first.jpg",
        width=640,
        height=480,
        size_bytes=1,
        sha256="4" * 64,
    )

    async def by_video(n: str) -> int:
        made = await archive.cases.create(**case(n))
        inspection = await archive.inspections.schedule(
            made.id, when, None, group, actor="t", checklist=points, method="video"
        )
        return inspection.id

    video = await by_video("V1")
    for name in ("uploading", "checking"):
        await archive.uploads.create(
            name,
            video,
            10,
            filename="a.mp4",
            filetype="video/mp4",
            address="",
            agent="",
            expires_at="2099-01-01T00:00:00.000Z",
        )
    await archive.uploads.complete("checking")
    reviewing = await by_video("V2")
    await archive.uploads.create(
        "reviewed",
        reviewing,
        10,
        filename="b.mp4",
        filetype="",
        address="",
        agent="",
        expires_at="2099-01-01T00:00:00.000Z",
    )
    await archive.uploads.complete("reviewed")
    await archive.uploads.checked(
        "reviewed",
        files=[StoredFile("upload", "KY/v/b.mp4", "a" * 64, 10, 11.0, 165)],
        facts={},
        failures=[],
    )
    webhook = await archive.outbox.add_webhook(
        "platform", "https://platform.test/hook", "secret", ["case.concluded"], actor="t"
    )
    async with archive.db.transaction() as tx:
        for n in range(3):
            await enqueue(
                tx,
                key=f"seed:{n}",
                channel="webhook",
                receiver="platform",
                target="https://platform.test/hook",
                topic="case.concluded",
                body={"n": n},
                case_id=scheduled.id,
            )
    messages = [m.id for m in await archive.outbox.of_case(scheduled.id)]
    await archive.outbox.sent(messages[2], 200, "ok")
    finding = await archive.findings.record(scheduled.id, "other", "现场不符", source="apikey:r")
    return Seed(
        scheduled.id,
        intake.id,
        inspection.id,
        live_inspection,
        concluded,
        rectifying,
        late,
        passed,
        closed,
        kept,
        item.id,
        observer.id,
        staff.id,
        key.id,
        exclusion.id,
        recording.id,
        shot.id,
        video,
        reviewing,
        messages,
        webhook.id,
        finding.id,
    )


Writer = Callable[[ArchiveStore, Seed], Awaitable[Any]]

# Each writer, called so that it succeeds when nothing fails.
WRITERS: dict[str, Writer] = {
    "events.append": lambda a, s: a.events.append("note", actor="t", data={"n": 1}),
    "cases.create": lambda a, s: a.cases.create(
        application_no="N1", applicant_name="新", item_code="X", item_name="x"
    ),
    "cases.renew_status_link": lambda a, s: a.cases.renew_status_link(s.case_id, actor="t"),
    "inspections.schedule": lambda a, s: a.inspections.schedule(
        s.intake_case_id, "2026-11-28T02:00:00.000Z", None, [GroupMember("host", "h")], actor="t"
    ),
    "inspections.start": lambda a, s: a.inspections.start(s.inspection_id, actor="t"),
    "inspections.end": lambda a, s: a.inspections.end(s.concluded_inspection_id, actor="t"),
    "inspections.interrupt": lambda a, s: a.inspections.interrupt(
        s.live_inspection_id, "网络中断", actor="t"
    ),
    "inspections.reschedule": lambda a, s: a.inspections.reschedule(
        s.inspection_id, "2026-11-29T02:00:00.000Z", "改期", actor="t"
    ),
    "inspections.cancel": lambda a, s: a.inspections.cancel(s.inspection_id, "取消", actor="t"),
    "inspections.add_member": lambda a, s: a.inspections.add_member(
        s.inspection_id, GroupMember("expert", "专家"), actor="t"
    ),
    "inspections.revoke_member": lambda a, s: a.inspections.revoke_member(
        s.invitee_id, "撤销", actor="t"
    ),
    "inspections.set_reminders": lambda a, s: a.inspections.set_reminders(
        s.invitee_id, False, actor="t"
    ),
    "inspections.remove_from_room": lambda a, s: a.inspections.remove_from_room(
        s.invitee_id, actor="1"
    ),
    "staff.create": lambda a, s: a.staff.create("li", "李", "clerk", "hash", actor="t"),
    "staff.set_password": lambda a, s: a.staff.set_password(
        s.staff_id, "hash2", must_change=False, actor="t"
    ),
    "staff.set_disabled": lambda a, s: a.staff.set_disabled(s.staff_id, True, actor="t"),
    "staff.open_session": lambda a, s: a.staff.open_session(
        s.staff_id, "another-session", "2099-01-01T00:00:00.000Z", address="10.0.0.2", agent="t"
    ),
    "staff.end_session": lambda a, s: a.staff.end_session(SEED_SESSION, actor="staff:zhang"),
    "staff.set_sections": lambda a, s: a.staff.set_sections(s.staff_id, ("卫生审批股",), actor="t"),
    "staff.create_key": lambda a, s: a.staff.create_key("other", "k2", "kyk_cd", actor="t"),
    "staff.revoke_key": lambda a, s: a.staff.revoke_key(s.key_id, actor="t"),
    "catalog.add_version": lambda a, s: a.catalog.add_version(
        "X", "x", True, {"code": "X"}, "d1", source="ui", note="", actor="t"
    ),
    "eligibility.add_exclusion": lambda a, s: a.eligibility.add_exclusion(
        s.intake_case_id, "law", "法规", actor="t"
    ),
    "eligibility.withdraw_exclusion": lambda a, s: a.eligibility.withdraw_exclusion(
        s.exclusion_id, "恢复", actor="t"
    ),
    "eligibility.import_dishonesty": lambda a, s: a.eligibility.import_dishonesty(
        [("11010519491231002X", "名", "", "")], replace=True, source="t", actor="t"
    ),
    "evidence.add_recording": lambda a, s: a.evidence.add_recording(
        inspection_id=s.live_inspection_id,
        case_id=s.case_id,
        segment=2,
        kind="composite",
        path="KY/1/b.recording.mp4",
        started_at="2026-11-27T02:10:00.000Z",
    ),
    "evidence.finish_recording": lambda a, s: a.evidence.finish_recording(
        s.recording_id, path="KY/1/a.mp4", sha256="0" * 64, size_bytes=1, duration_s=1, frames=1
    ),
    "evidence.interrupt_recording": lambda a, s: a.evidence.interrupt_recording(
        s.recording_id,
        path="KY/1/a.recovered.mp4",
        original_path="KY/1/a.recording.mp4",
        sha256="1" * 64,
        original_sha256="2" * 64,
        size_bytes=1,
        duration_s=1,
        frames=1,
        why="crash",
    ),
    "evidence.add_screenshot": lambda a, s: a.evidence.add_screenshot(
        inspection_id=s.live_inspection_id,
        case_id=s.case_id,
        participant_id=s.invitee_id,
        taker_id=s.invitee_id,
        taken_at="2026-11-27T02:01:00.000Z",
        path="KY/1/shot.jpg",
        width=640,
        height=480,
        size_bytes=1,
        sha256="3" * 64,
    ),
    "checklists.create": lambda a, s: a.checklists.create(
        s.inspection_id, [("identity", "出示证件", None)], actor="t"
    ),
    "checklists.set_current": lambda a, s: a.checklists.set_current(
        s.live_inspection_id, s.item_id, STAMP
    ),
    "checklists.mark": lambda a, s: a.checklists.mark(
        s.live_inspection_id, s.item_id, "conforms", "见截图", STAMP
    ),
    "checklists.add_entry": lambda a, s: a.checklists.add_entry(
        s.live_inspection_id, s.item_id, "现场有消毒柜", STAMP
    ),
    "checklists.move_screenshot": lambda a, s: a.checklists.move_screenshot(
        s.screenshot_id, s.item_id, actor="1", name="主持"
    ),
    "conclusions.conclude": lambda a, s: a.conclusions.conclude(
        s.live_inspection_id, Verdict.FAIL, "不符合", None, [], STAMP
    ),
    "conclusions.confirm": lambda a, s: a.conclusions.confirm(
        s.concluded_inspection_id, True, "", address="127.0.0.1", agent="phone"
    ),
    "conclusions.request_reinspection": lambda a, s: a.conclusions.request_reinspection(
        s.rectifying_case_id, "已整改", address="127.0.0.1", agent="phone"
    ),
    "conclusions.mark_overdue": lambda a, s: a.conclusions.mark_overdue(s.late_case_id),
    "conclusions.close_case": lambda a, s: a.conclusions.close_case(
        s.passed_case_id, "已办结", actor="t"
    ),
    "cases.archive": lambda a, s: a.cases.archive(s.closed_case_id, actor="t"),
    "cases.annotate": lambda a, s: a.cases.annotate(s.case_id, "档案批注", actor="t"),
    "retention.delete_files": lambda a, s: a.retention.delete_files(
        s.archived_case_id,
        [{"path": "KY/k/a.mp4", "sha256": "9" * 64, "size": 1}],
        "期满",
        actor="t",
    ),
    "integrity.record": lambda a, s: a.integrity.record(
        "2026-11-27T02:00:00.000Z", 3, [{"path": "x", "what": "y", "problem": "missing"}], actor="t"
    ),
    "uploads.create": lambda a, s: a.uploads.create(
        "new",
        s.video_inspection_id,
        10,
        filename="c.mp4",
        filetype="",
        address="",
        agent="",
        expires_at="2099-01-01T00:00:00.000Z",
    ),
    "uploads.end": lambda a, s: a.uploads.end("uploading", "cancelled", "terminated", actor="t"),
    "uploads.complete": lambda a, s: a.uploads.complete("uploading"),
    "uploads.checked": lambda a, s: a.uploads.checked(
        "checking",
        files=[StoredFile("upload", "KY/v/a.mp4", "b" * 64, 10, 11.0, 165)],
        facts={"width": 640},
        failures=[],
    ),
    "uploads.ask_again": lambda a, s: a.uploads.ask_again(
        s.reviewing_inspection_id, "画面不清楚", actor="t"
    ),
    "outbox.sent": lambda a, s: a.outbox.sent(s.message_ids[0], 200, "received"),
    "outbox.failed": lambda a, s: a.outbox.failed(s.message_ids[1], "HTTP 500", 500),
    "outbox.resend": lambda a, s: a.outbox.resend(s.message_ids[2], actor="staff:li"),
    "outbox.add_webhook": lambda a, s: a.outbox.add_webhook(
        "regulator", "https://regulator.test/hook", "s2", ["case.archived"], actor="t"
    ),
    "outbox.disable_webhook": lambda a, s: a.outbox.disable_webhook(s.webhook_id, actor="t"),
    "findings.record": lambda a, s: a.findings.record(
        s.case_id, "faked_video", "视频造假", source="apikey:r"
    ),
    "findings.review": lambda a, s: a.findings.review(s.finding_id, False, "不属实", actor="t"),
    "nodes.place": lambda a, s: a.nodes.place(s.live_inspection_id, "node-1", 10),
    "stored.record": lambda a, s: a.stored.record(
        "KY/k/a.mp4", "9" * 64, 1, "KY/k/a.mp4", actor="system:storage"
    ),
    "records.add": lambda a, s: a.records.add(
        s.concluded_inspection_id,
        1,
        html_path="KY/1/record-v1.html",
        html_sha256="5" * 64,
        pdf_path="KY/1/record-v1.pdf",
        pdf_sha256="6" * 64,
        pdf_bytes=1,
        actor="t",
    ),
}


@pytest.fixture
async def archive(archive_location):
    store = await ArchiveStore.open(archive_location)
    yield store
    await store.close()


async def snapshot(archive: ArchiveStore) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, as it is on disk."""
    tables = await archive.db.tables()
    return {
        table: [tuple(row) for row in await archive.db.all(f"SELECT * FROM {table} ORDER BY 1")]
        for table in tables
    }


async def test_every_writer_is_in_the_table(archive):
    assert sorted(WRITERS) == archive.writers()
    # Writes that record no event are few and known.
    assert archive.writers("__archive_bookkeeping__") == [
        "nodes.heartbeat",
        "nodes.leave",
        "nodes.release",
        "outbox.claim",
        "outbox.release",
        "outbox.retry",
        "staff.touch_key",
        "stored.forget",
    ]


@pytest.mark.parametrize("name", sorted(WRITERS))
async def test_a_failing_event_append_leaves_neither_change_nor_event(archive, name):
    data = await seed(archive)
    before = await snapshot(archive)
    await inject_failure(archive, "events")
    with pytest.raises((sqlite3.IntegrityError, asyncpg.RaiseError), match="injected failure"):
        await WRITERS[name](archive, data)
    await remove_failure(archive, "events")
    assert await snapshot(archive) == before
    # The next write works, with its event, and the chain holds.
    events = await archive.events.count()
    await WRITERS[name](archive, data)
    assert await archive.events.count() > events
    assert (await archive.verify_events())[1] is None


async def test_refused_writes_change_nothing(archive):
    """A write refused by its own checks leaves the archive as it was."""
    await seed(archive)
    before = await snapshot(archive)
    with pytest.raises(Exception, match="已存在"):
        await archive.staff.create("zhang", "张", "inspector", "hash", actor="t")
    with pytest.raises(Exception, match="不适用视频勘验"):
        # Scheduling an excluded case: the state table refuses after the case row was read.
        excluded = (await archive.cases.search(query="E1"))[0][0]
        await archive.inspections.schedule(
            excluded.id, "2026-11-28T02:00:00.000Z", None, [], actor="t"
        )
    assert await snapshot(archive) == before


async def test_a_change_reads_back_while_the_event_log_is_being_walked(archive_location):
    """verify-log walks every event; meanwhile a case created is read back by its writer (on
    SQLite the walk once held the shared reader's snapshot, and the new case was not found)."""
    archive = await ArchiveStore.open(archive_location)
    try:
        for _ in range(200):  # more than a driver fetches at once
            await archive.events.append("tick", actor="t")
        walk = archive.db.rows("SELECT id FROM events ORDER BY id")
        assert (await anext(walk))[0] == 1
        case = await archive.cases.create(
            application_no="W1", applicant_name="甲", item_code="X", item_name="x"
        )
        assert case.application_no == "W1"
        assert [row[0] async for row in walk] == list(range(2, 201))  # the walk's own snapshot
        await walk.aclose()
    finally:
        await archive.close()


async def test_concurrent_writers_keep_one_chain(tmp_path, archive_location):
    first = await ArchiveStore.open(archive_location)
    # Another connection, as a CLI command (or, on PostgreSQL, another node) would hold.
    second = await ArchiveStore.open(archive_location)
    try:

        async def write(store: ArchiveStore, n: int) -> None:
            if n % 3 == 0:
                await store.cases.create(
                    application_no=f"C{n}", applicant_name="a", item_code="X", item_name="x"
                )
            else:
                await store.events.append("tick", actor=f"task{n}", data={"n": n})

        await asyncio.gather(
            *(write(first, n) for n in range(60)), *(write(second, n) for n in range(60, 120))
        )
        count, broken, why = await first.verify_events()
        assert (count, broken, why) == (120, None, "")
    finally:
        await first.close()
        await second.close()
    # And the command an auditor would run says so.
    config = tmp_path / "kanyan.toml"
    url = "" if isinstance(archive_location, Path) else archive_location
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n[archive]\nurl = "{url}"\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "--config",
        str(config),
        "verify-log",
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), 60))[0].decode()
    assert process.returncode == 0, output
    assert "ok: 120 events" in output


async def test_hooks_after_commit_see_the_committed_events_only(archive, caplog):
    """What an event causes outside the archive (a live room disconnecting someone) runs after
    the commit, outside the write lock, before the writer returns; a rollback runs nothing."""
    heard: list[list[str]] = []

    async def hook(events):  # type: ignore[no-untyped-def]
        heard.append([e.type for e in events])
        if len(heard) == 1:
            # Outside the lock: a hook may write (and hears of its own write, nested).
            await archive.cases.create(
                application_no="H1", applicant_name="h", item_code="X", item_name="x"
            )
            assert await archive.cases.find_by_application_no("A1") is not None  # committed

    async def broken(events):  # type: ignore[no-untyped-def]
        raise RuntimeError("hook failed")

    archive.db.after_commit.extend([broken, hook])
    case = await archive.cases.create(
        application_no="A1", applicant_name="a", item_code="X", item_name="x"
    )
    assert heard == [["case.created"], ["case.created"]]
    assert (await archive.cases.get(case.id)).application_no == "A1"
    assert "hook failed" in caplog.text  # logged; the write it followed stands
    with pytest.raises(RuntimeError, match="rolled back"):
        async with archive.db.transaction() as tx:
            await tx.event("case.annotated", actor="t", case_id=case.id, data={})
            raise RuntimeError("rolled back")
    async with archive.db.transaction() as tx:
        await tx.execute("UPDATE cases SET site_address = 'x' WHERE id = ?", (case.id,))
    assert len(heard) == 2  # nothing for a rollback, nor for a write without events

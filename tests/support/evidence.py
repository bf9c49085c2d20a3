"""A case with evidence on disk, made fast and without a session: for the archive's pages and
downloads, where what matters is the rows and the files, not how the recorder made them.
(tests/integration/test_package.py `archived_case` records a real session.)"""

from __future__ import annotations

import hashlib
import io
import time
from dataclasses import dataclass, field
from datetime import timedelta

from PIL import Image

from server import clock
from server.archive import Case, GroupMember, Inspection, RecordFile, Recording, Screenshot, Stamp
from server.cases.checklist import catalog_points
from server.states import Verdict


@dataclass
class FakeCase:
    case: Case
    inspection: Inspection
    composite: Recording  # segment 1, finished
    raw: Recording  # the applicant's video track of segment 1
    interrupted: Recording  # segment 2: recovered, with its unfinished original
    shot: Screenshot
    record: RecordFile
    files: dict[str, bytes] = field(default_factory=dict)  # stored path → content


def pattern(size: int, seed: int) -> bytes:
    """Bytes that differ at every offset, so a wrong range never passes for a right one."""
    return hashlib.shake_256(str(seed).encode()).digest(size)


def jpeg(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), rgb).save(out, "JPEG", quality=92)
    return out.getvalue()


async def fake_recorded_case(
    server,  # type: ignore[no-untyped-def]
    *,
    host_account: int | None = None,
    archive: bool = True,
    applicant: str = "柳江区示例餐饮店",
    id_no: str = "91450221MA5KDEM012",
    section: str = "食品药品审批股",
    verdict: Verdict = Verdict.PASS,
) -> FakeCase:
    """A concluded inspection with two composite segments (the second interrupted and
    recovered), a raw track, a screenshot, a mark and a record; archived unless told not."""
    store = server.archive
    root = server.settings.recordings_dir
    case = await store.cases.create(
        application_no=f"SQ-{time.time_ns()}",
        applicant_name=applicant,
        applicant_id_no=id_no,
        item_code="FOOD-OPERATION",
        item_name="食品经营许可",
        section=section,
    )
    versions = await store.catalog.versions(case.item_code)
    inspection = await store.inspections.schedule(
        case.id,
        clock.now_iso(),
        versions[0].id,
        [GroupMember("host", "张主持", user_id=host_account), GroupMember("applicant", "陈申请")],
        actor="test",
        checklist=catalog_points(versions[0].data["checklist"]),
    )
    invitees = await store.inspections.invitees(inspection.id)
    host = next(i for i in invitees if i.role == "host")
    subject = next(i for i in invitees if i.role == "applicant")
    inspection = await store.inspections.start(inspection.id, actor=str(host.id))
    start = clock.parse(inspection.started_at or clock.now_iso())
    folder = f"{case.case_no}/{inspection.id}"
    files: dict[str, bytes] = {}

    def put(name: str, data: bytes) -> tuple[str, str]:
        stored = f"{folder}/{name}"
        path = root / stored
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        files[stored] = data
        return stored, hashlib.sha256(data).hexdigest()

    async def finished(segment: int, kind: str, name: str, data: bytes, at: float, **extra):  # type: ignore[no-untyped-def]
        stored, digest = put(name, data)
        row = await store.evidence.add_recording(
            inspection_id=inspection.id,
            case_id=case.id,
            segment=segment,
            kind=kind,
            path=stored,
            started_at=clock.iso(start + timedelta(seconds=at)),
            **extra,
        )
        return await store.evidence.finish_recording(
            row.id, path=stored, sha256=digest, size_bytes=len(data), duration_s=60.0, frames=900
        )

    composite = await finished(1, "composite", "s01-composite.mp4", pattern(200_000, 1), 0)
    raw = await finished(
        1,
        "raw",
        "s01-p2-applicant-video.webm",
        pattern(50_000, 2),
        0,
        participant_id=subject.id,
        track="video",
    )
    recovered, recovered_sha = put("s02-composite.recovered.mp4", pattern(30_000, 3))
    original, original_sha = put("s02-composite.recording.mp4", pattern(31_000, 4))
    row = await store.evidence.add_recording(
        inspection_id=inspection.id,
        case_id=case.id,
        segment=2,
        kind="composite",
        path=original,
        started_at=clock.iso(start + timedelta(seconds=90)),
    )
    interrupted = await store.evidence.interrupt_recording(
        row.id,
        path=recovered,
        original_path=original,
        sha256=recovered_sha,
        original_sha256=original_sha,
        size_bytes=30_000,
        duration_s=30.0,
        frames=450,
        why="recorder process died",
    )
    items = await store.checklists.items(inspection.id)
    shot_path, shot_sha = put("shot-1.jpg", jpeg())
    shot = await store.evidence.add_screenshot(
        inspection_id=inspection.id,
        case_id=case.id,
        participant_id=subject.id,
        taker_id=host.id,
        taken_at=clock.iso(start + timedelta(seconds=5)),
        path=shot_path,
        width=64,
        height=48,
        size_bytes=len(files[shot_path]),
        sha256=shot_sha,
        recording_id=composite.id,
        offset_s=5.0,
        checklist_item_id=items[1].id,
    )

    def stamp(seconds: float) -> Stamp:
        return Stamp(
            str(host.id),
            host.name,
            "host",
            clock.iso(start + timedelta(seconds=seconds)),
            composite.id,
            seconds,
        )

    await store.checklists.mark(inspection.id, items[1].id, "conforms", "与材料一致", stamp(10))
    await store.conclusions.conclude(
        inspection.id, verdict, "现场与申请材料一致", None, [], stamp(50)
    )
    await store.inspections.end(inspection.id, actor=str(host.id))
    html, html_sha = put("record-v1.html", "<!doctype html><p>勘验笔录</p>".encode())
    pdf, pdf_sha = put("record-v1.pdf", b"%PDF-1.7 test record")
    record = await store.records.add(
        inspection.id,
        1,
        html_path=html,
        html_sha256=html_sha,
        pdf_path=pdf,
        pdf_sha256=pdf_sha,
        pdf_bytes=len(files[pdf]),
        actor="test",
    )
    if archive:
        await store.conclusions.close_case(case.id, "已办结", actor="test")
        assert await store.cases.archive(case.id, actor="test")
    return FakeCase(
        await store.cases.get(case.id),
        await store.inspections.get(inspection.id),
        composite,
        raw,
        interrupted,
        shot,
        record,
        files,
    )

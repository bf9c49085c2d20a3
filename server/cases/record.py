"""The inspection record (勘验笔录): one template, printable HTML and PDF, archived with hashes.

Made when a session ends with its conclusion (its recordings are final by then), and again
whenever staff ask: each time a new version, never overwriting one. The HTML carries its
screenshot thumbnails inline, so the file stands alone in an archive years later; the PDF is
the same HTML laid out by WeasyPrint (Pango and the CJK font), in a separate process so that
laying out pages never holds up the live rooms.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import logging
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from .. import clock
from ..archive import ArchiveStore, Event, Inspection, RecordFile, Screenshot
from ..archive.files import inspection_dir, write_exclusive
from ..errors import UserError
from ..roles import ROLE_NAMES_ZH, Role
from ..states import CaseState, InspectionState, Method, inspection_label
from ..storage import EvidenceFiles
from ..video.checks import check_rows, requirements_of
from .checklist import mark_label
from .outcome import OutcomeService

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
THUMBNAIL_WIDTH = 480
ATTENDANCE = {
    "participant.joined": "进入",
    "participant.reconnected": "重新连接",
    "participant.admitted": "准入",
    "participant.dropped": "断线",
    "participant.left": "离开",
    "participant.removed": "被移出",
}
SIGNING_ROLES = ("host", "clerk", "expert")
FILE_KINDS = {
    "composite": "合成录像",
    "raw": "原始音视频",
    "upload": "申请人上传的视频",
    "playable": "可播放副本",
    "poster": "封面图",
    "strip": "缩略图",
}
UPLOAD_STATES = {
    "uploading": "未传完",
    "checking": "检查中",
    "accepted": "通过自动检查（审查所用视频）",
    "rejected": "未通过自动检查",
    "cancelled": "已取消",
    "expired": "未按时传完，已删除",
    "failed": "处理失败",
}
# Inspections whose session has been held: a record of them says something.
RECORDABLE = frozenset(
    {InspectionState.CONCLUDED, InspectionState.ENDED, InspectionState.INTERRUPTED}
)


def html_to_pdf(html: str) -> bytes:
    """Lay the record out as PDF (runs in the record process)."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()


def thumbnail(path: Path) -> str:
    """A screenshot as a small JPEG data URI (blocking: run it in an executor)."""
    from PIL import Image

    with Image.open(path) as image:
        image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()


def _time(value: str | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return clock.shanghai(value, fmt) if value else ""


def _offset(seconds: float | None) -> str:
    if seconds is None:
        return ""
    total = int(seconds)
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


def _duration(seconds: float | None) -> str:
    return _offset(seconds) if seconds is not None else "—"


def _role(role: str) -> str:
    try:
        return ROLE_NAMES_ZH[Role(role)]
    except ValueError:
        # A reviewer of a self-recorded video who holds no seat in the group.
        return {"inspector": "勘验人员"}.get(role, role)


@dataclass(frozen=True)
class Made:
    html: str
    pdf: bytes


class RecordMaker:
    def __init__(
        self,
        archive: ArchiveStore,
        outcome: OutcomeService,
        root: Path,
        files: EvidenceFiles | None = None,
    ) -> None:
        self.archive = archive
        self.outcome = outcome
        self.root = root
        self.files = files or EvidenceFiles(root)
        self._templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=jinja2.select_autoescape(["html"]),
            undefined=jinja2.StrictUndefined,
        )
        self._pool: ProcessPoolExecutor | None = None
        self._lock = asyncio.Lock()  # one record at a time: versions are numbered in order

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _process(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # spawn: the server process holds aiortc's threads and an event loop; never fork it.
            self._pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        return self._pool

    async def generate(self, inspection_id: int, *, actor: str = "system") -> RecordFile:
        """A new version of the inspection's record, written and archived with its hashes."""
        async with self._lock:
            inspection = await self.archive.inspections.get(inspection_id)
            version = await self.archive.records.next_version(inspection_id)
            html = await self.render(inspection, version)
            loop = asyncio.get_running_loop()
            pdf = await loop.run_in_executor(self._process(), html_to_pdf, html)
            case = await self.archive.cases.get(inspection.case_id)
            directory = inspection_dir(self.root, case.case_no, inspection.id)
            stem = f"{case.case_no}-{inspection.seq}-record-v{version}"
            html_path = await loop.run_in_executor(
                None, write_exclusive, directory / f"{stem}.html", html.encode()
            )
            pdf_path = await loop.run_in_executor(
                None, write_exclusive, directory / f"{stem}.pdf", pdf
            )
            record = await self.archive.records.add(
                inspection_id,
                version,
                html_path=str(html_path.resolve().relative_to(self.root.resolve())),
                html_sha256=hashlib.sha256(html.encode()).hexdigest(),
                pdf_path=str(pdf_path.resolve().relative_to(self.root.resolve())),
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                pdf_bytes=len(pdf),
                actor=actor,
            )
            log.info("record v%s of inspection %s: %s", version, inspection_id, pdf_path.name)
        if case.state == CaseState.CLOSED:  # closed while its record was being made
            await self.archive.cases.archive(case.id, actor=actor)
        return record

    async def regenerate(self, inspection_id: int, *, actor: str) -> RecordFile:
        """Staff ask for the record again: a new version, once the session has been held."""
        inspection = await self.archive.inspections.get(inspection_id)
        if inspection.state not in RECORDABLE:
            raise UserError(
                f"勘验当前状态为「{inspection_label(inspection.state)}」，尚无笔录可生成 / the "
                f"inspection is {inspection_label(inspection.state, 'en').lower()}; there is no "
                "record to make yet",
                code="not_recordable",
            )
        return await self.generate(inspection_id, actor=actor)

    async def after_session(self, inspection: Inspection) -> None:
        """RoomService hook: the session ended with its conclusion."""
        await self.generate(inspection.id)

    async def render(self, inspection: Inspection, version: int) -> str:
        context = await self.gather(inspection)
        template = self._templates.get_template("record.html")
        return template.render(version=version, **context)

    # -- what goes into it -----------------------------------------------------------------------

    async def gather(self, inspection: Inspection) -> dict[str, Any]:
        archive = self.archive
        case = await archive.cases.get(inspection.case_id)
        previous = None
        if inspection.previous_inspection_id is not None:
            previous = await archive.inspections.get(inspection.previous_inspection_id)
        invitees = await archive.inspections.invitees(inspection.id)
        events = await archive.events.find(inspection_id=inspection.id)
        checklist = await self.outcome.load(inspection)
        shots = await archive.evidence.screenshots(inspection.id)
        names = {i.id: i.name for i in invitees}
        thumbs = await self._thumbnails(shots, names)
        items = []
        history = await archive.checklists.marks(inspection.id)
        for item in checklist.items:
            mark = checklist.latest.get(item.id)
            earlier = [m for m in history if m.item_id == item.id][:-1]
            items.append(
                {
                    "seq": item.seq,
                    "text": item.text,
                    "result": mark_label(mark.verdict) if mark else "",
                    "note": mark.note if mark else "",
                    "by": f"{mark.actor_name}（{_role(mark.actor_role)}）" if mark else "",
                    "time": _time(mark.at, "%H:%M:%S") if mark else "",
                    "earlier": [
                        f"{mark_label(m.verdict)}（{m.actor_name} {_time(m.at, '%H:%M:%S')}）"
                        for m in earlier
                    ],
                    "shots": [t for s, t in thumbs if s.checklist_item_id == item.id],
                }
            )
        conclusion = checklist.conclusion
        marks_by: dict[tuple[str, str], list[int]] = {}
        for mark in history:
            marks_by.setdefault((mark.actor_name, mark.actor_role), [0, 0])[0] += 1
        for entry in checklist.entries:
            marks_by.setdefault((entry.actor_name, entry.actor_role), [0, 0])[1] += 1
        video = await self._video(inspection) if inspection.method == Method.VIDEO else None
        signers = [
            {"role": _role(i.role), "name": i.name}
            for i in invitees
            if i.role in SIGNING_ROLES and i.revoked_at is None
        ]
        if video is not None:
            # Inspectors who reviewed the video without a seat in the group sign too: they
            # marked as "inspector", or pronounced the conclusion.
            accounts = await archive.inspections.invitee_accounts(inspection.id)
            seated = {f"staff:{(await archive.staff.get(a)).username}" for a in accounts.values()}
            unseated = [(name, role) for name, role in marks_by if role == "inspector"]
            if conclusion is not None and conclusion.actor not in seated:
                unseated.append((conclusion.actor_name, "inspector"))
            for name, role in dict.fromkeys(unseated):
                signers.append({"role": _role(role), "name": name})
        return {
            "case": case,
            "inspection": inspection,
            "video": video,
            "reviewers": [
                {"name": name, "role": _role(role), "marks": counts[0], "entries": counts[1]}
                for (name, role), counts in marks_by.items()
            ],
            "previous": previous,
            "beijing": lambda value: _time(value, "%Y-%m-%d %H:%M"),
            "sessions": _sessions(events),
            "people": _people(invitees, events),
            "items": items,
            "loose_shots": [t for s, t in thumbs if s.checklist_item_id is None],
            "entries": [
                {
                    "time": _time(e.at, "%H:%M:%S"),
                    "by": f"{e.actor_name}（{_role(e.actor_role)}）",
                    "item": next((i.seq for i in checklist.items if i.id == e.item_id), None),
                    "text": e.text,
                }
                for e in checklist.entries
            ],
            "conclusion": _conclusion(conclusion) if conclusion else None,
            "confirmation": _confirmation(conclusion),
            "recordings": [
                {
                    "file": Path(r.path).name,
                    "kind": FILE_KINDS.get(r.kind, r.kind),
                    "duration": _duration(r.duration_s),
                    "state": {"finished": "完整", "interrupted": "中断后恢复"}.get(
                        r.state, r.state
                    ),
                    "sha256": r.sha256 or "—",
                }
                for r in await archive.evidence.recordings(inspection.id)
            ],
            "signers": signers,
            "generated": _time(clock.now_iso()),
        }

    async def _video(self, inspection: Inspection) -> dict[str, Any]:
        """A self-recorded inspection's video: the one reviewed with its hash, facts and checks,
        and every attempt the applicant made."""
        archive = self.archive
        attempts = [
            u
            for u in await archive.uploads.of_case(inspection.case_id)
            if u.inspection_id == inspection.id
        ]
        wanted = requirements_of(await self._shooting(inspection))
        accepted = next((u for u in reversed(attempts) if u.state == "accepted"), None)
        reviewed = None
        if accepted is not None:
            files = await archive.uploads.files(accepted)
            facts = accepted.facts
            original = files.get("upload")
            reviewed = {
                "name": accepted.filename or "—",
                "file": Path(original.path).name if original else "—",
                "sha256": accepted.sha256 or "—",
                "size": f"{accepted.length / 1024**2:.1f} MB（{accepted.length} 字节）",
                "duration": f"{_duration(facts.get('duration_s'))}"
                f"（{float(facts.get('duration_s') or 0):.1f} 秒）",
                "resolution": f"{facts.get('width')}×{facts.get('height')}",
                "rotation": facts.get("rotation") or 0,
                "fps": f"{float(facts.get('fps') or 0):.2f}",
                "codecs": " / ".join(
                    str(x) for x in (facts.get("video_codec"), facts.get("audio_codec")) if x
                ),
                "uploaded": _time(accepted.completed_at or accepted.created_at),
                "checked": _time(accepted.checked_at),
                "checks": check_rows(facts, accepted.failures, wanted),
                "playable": (
                    Path(files["playable"].path).name
                    if "playable" in files and files["playable"].id != accepted.recording_id
                    else ""
                ),
            }
        return {
            "deadline": _time(inspection.submission_deadline or inspection.scheduled_at),
            "reviewed": reviewed,
            "attempts": [
                {
                    "time": _time(u.created_at),
                    "name": u.filename or "—",
                    "state": UPLOAD_STATES.get(u.state, u.state),
                    "sha256": u.sha256 or "",
                    "failures": [f.get("message", "") for f in u.failures],
                }
                for u in attempts
            ],
        }

    async def _shooting(self, inspection: Inspection) -> Any:
        catalog = self.outcome.catalog
        version_id = await self.archive.inspections.catalog_version(inspection.id)
        if version_id is not None:
            return (await catalog.version(version_id)).item.shooting
        case = await self.archive.cases.get(inspection.case_id)
        return (await catalog.current(case.item_code)).item.shooting

    async def _thumbnails(
        self, shots: list[Screenshot], names: dict[int, str]
    ) -> list[tuple[Screenshot, dict[str, Any]]]:
        loop = asyncio.get_running_loop()
        made = []
        for shot in shots:
            try:
                path = await self.files.fetch(shot.path)
                data = await loop.run_in_executor(None, thumbnail, path)
            except (OSError, ValueError) as exc:
                log.warning("screenshot %s has no thumbnail: %s", shot.id, exc)
                data = ""
            made.append(
                (
                    shot,
                    {
                        "id": shot.id,
                        "data": data,
                        "time": _time(shot.taken_at, "%H:%M:%S"),
                        "subject": names.get(shot.participant_id, ""),
                        "offset": _offset(shot.offset_s),
                    },
                )
            )
        return made


def _sessions(events: list[Event]) -> list[dict[str, Any]]:
    sessions: list[dict[str, Any]] = []
    for event in events:
        if event.type == "session.started":
            sessions.append({"start": _time(event.at), "end": "", "interrupted": ""})
        elif event.type in ("session.ended", "session.interrupted") and sessions:
            sessions[-1]["end"] = _time(event.at)
            sessions[-1]["interrupted"] = (
                event.data.get("reason", "") if "interrupted" in (event.type) else ""
            )
    return sessions


def _people(invitees: list[Any], events: list[Event]) -> list[dict[str, Any]]:
    people = []
    for invitee in invitees:
        attendance = [
            f"{_time(e.at, '%H:%M:%S')} {ATTENDANCE[e.type]}"
            for e in events
            if e.type in ATTENDANCE
            and (e.actor == str(invitee.id) or e.data.get("participant") == invitee.id)
            and (e.type != "participant.admitted" or e.data.get("participant") == invitee.id)
        ]
        people.append(
            {
                "role": _role(invitee.role),
                "name": invitee.name,
                "unit": invitee.unit,
                "attendance": attendance,
            }
        )
    return people


def _conclusion(conclusion: Any) -> dict[str, Any]:
    return {
        "label": {"pass": "通过", "rectify": "整改", "fail": "不通过"}.get(
            conclusion.verdict, conclusion.verdict
        ),
        "reasons": conclusion.reasons,
        "deadline": conclusion.deadline,
        "rectifications": [
            {"point": r.item_text, "text": r.text} for r in conclusion.rectifications
        ],
        "by": conclusion.actor_name,
        "time": _time(conclusion.at),
        "offset": _offset(conclusion.offset_s),
    }


def _confirmation(conclusion: Any) -> str:
    if conclusion is None or conclusion.confirmation is None:
        return "申请人尚未确认已知悉勘验结论。"
    at = _time(conclusion.confirmed_at)
    where = f"（地址 {conclusion.confirm_address}，浏览器 {conclusion.confirm_agent}）"
    if conclusion.confirmation == "confirmed":
        return f"申请人已于 {at} 在线确认已知悉上述勘验结论{where}。"
    note = f"说明：{conclusion.confirm_note}" if conclusion.confirm_note else ""
    return f"申请人于 {at} 在线表示不予确认{where}。{note}"

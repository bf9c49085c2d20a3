"""Self-recorded videos: each upload attempt, and what its checks decided.

An attempt's bytes stay in the staging folder while it uploads (its offset is the staged
file's size). When it is complete and checked, the file moves into the inspection's folder as
evidence — accepted or not, every attempt is kept — and one transaction records its hash, the
check results, the browser-playable copy, poster and thumbnail strip, and, when it is accepted,
moves the inspection to review and the case to awaiting its conclusion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound, UserError
from ..states import CaseState, InspectionState, Method, check_inspection
from .cases import move_case
from .db import Database, Row, Tx, writer
from .evidence import Recording


@dataclass(frozen=True)
class Upload:
    id: str
    case_id: int
    inspection_id: int
    length: int
    filename: str
    filetype: str
    state: str  # uploading | checking | accepted | rejected | cancelled | expired | failed
    address: str
    agent: str
    created_at: str
    expires_at: str
    completed_at: str | None
    checked_at: str | None
    sha256: str | None
    failures: list[dict[str, str]]
    facts: dict[str, Any]
    recording_id: int | None  # the file as uploaded, once checked
    playable_id: int | None  # the copy browsers play (the original itself when it plays)

    @classmethod
    def from_row(cls, row: Row) -> Upload:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["failures"] = json.loads(row["failures"])
        values["facts"] = json.loads(row["facts"])
        return cls(**values)


@dataclass(frozen=True)
class StoredFile:
    """A file written into the inspection's folder, with its hash."""

    kind: str  # upload | playable | poster | strip
    path: str  # relative to the recordings directory
    sha256: str
    size: int
    duration_s: float | None = None
    frames: int | None = None


# Attempts that are over: neither bytes nor checks will come.
OVER = frozenset({"accepted", "rejected", "cancelled", "expired", "failed"})


async def _upload(tx: Tx, upload_id: str) -> Row:
    row = await tx.one("SELECT * FROM uploads WHERE id = ?", (upload_id,))
    if row is None:
        raise NotFound("上传不存在 / no such upload", code="no_upload")
    return row


async def _add_file(tx: Tx, upload: Row, stored: StoredFile, at: str) -> int:
    return await tx.insert(
        """INSERT INTO recordings (inspection_id, case_id, segment, kind, state, path, started_at,
               ended_at, duration_s, size_bytes, frames, sha256, note, created_at)
           VALUES (?, ?, 0, ?, 'finished', ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            upload["inspection_id"],
            upload["case_id"],
            stored.kind,
            stored.path,
            upload["created_at"],
            at,
            stored.duration_s,
            stored.size,
            stored.frames,
            stored.sha256,
            f"upload {upload['id']}",
            at,
        ),
    )


class UploadStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, upload_id: str) -> Upload:
        row = await self._db.one("SELECT * FROM uploads WHERE id = ?", (upload_id,))
        if row is None:
            raise NotFound("上传不存在 / no such upload", code="no_upload")
        return Upload.from_row(row)

    async def of_case(self, case_id: int) -> list[Upload]:
        rows = await self._db.all(
            "SELECT * FROM uploads WHERE case_id = ? ORDER BY created_at, id", (case_id,)
        )
        return [Upload.from_row(row) for row in rows]

    async def files(self, upload: Upload) -> dict[str, Recording]:
        """The files an attempt left as evidence, by kind: upload (the file as sent), playable,
        poster, strip."""
        rows = await self._db.all(
            "SELECT * FROM recordings WHERE inspection_id = ? AND note = ? ORDER BY id",
            (upload.inspection_id, f"upload {upload.id}"),
        )
        return {row["kind"]: Recording.from_row(row) for row in rows}

    async def in_state(self, state: str) -> list[Upload]:
        rows = await self._db.all(
            "SELECT * FROM uploads WHERE state = ? ORDER BY created_at", (state,)
        )
        return [Upload.from_row(row) for row in rows]

    async def stale(self, now: str) -> list[Upload]:
        """Attempts still uploading after they expired."""
        rows = await self._db.all(
            "SELECT * FROM uploads WHERE state = 'uploading' AND expires_at < ?", (now,)
        )
        return [Upload.from_row(row) for row in rows]

    @writer
    async def create(
        self,
        upload_id: str,
        inspection_id: int,
        length: int,
        *,
        filename: str,
        filetype: str,
        address: str,
        agent: str,
        expires_at: str,
    ) -> Upload:
        """A new attempt, for an inspection that awaits the applicant's video."""
        async with self._db.transaction() as tx:
            inspection = await tx.one(
                "SELECT case_id, state, method FROM inspections WHERE id = ?", (inspection_id,)
            )
            if (
                inspection is None
                or inspection["method"] != Method.VIDEO
                or inspection["state"] != InspectionState.SCHEDULED
            ):
                raise UserError(
                    "本案目前不需要上传视频 / this case does not await a video now",
                    code="not_awaiting_video",
                )
            await tx.execute(
                """INSERT INTO uploads (id, case_id, inspection_id, length, filename, filetype,
                       state, address, agent, created_at, expires_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'uploading', ?, ?, ?, ?)""",
                (
                    upload_id,
                    inspection["case_id"],
                    inspection_id,
                    length,
                    filename,
                    filetype,
                    address,
                    agent,
                    clock.now_iso(),
                    expires_at,
                ),
            )
            await tx.event(
                "upload.started",
                actor="applicant",
                case_id=inspection["case_id"],
                inspection_id=inspection_id,
                data={"upload": upload_id, "length": length, "filename": filename},
            )
        return await self.get(upload_id)

    @writer
    async def end(self, upload_id: str, state: str, why: str, *, actor: str) -> Upload:
        """An attempt that will not be checked: cancelled, expired, or failed."""
        async with self._db.transaction() as tx:
            row = await _upload(tx, upload_id)
            if row["state"] in OVER:
                return Upload.from_row(row)
            await tx.execute("UPDATE uploads SET state = ? WHERE id = ?", (state, upload_id))
            await tx.event(
                f"upload.{state}",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=row["inspection_id"],
                data={"upload": upload_id, "why": why},
            )
        return await self.get(upload_id)

    @writer
    async def complete(self, upload_id: str) -> Upload:
        """Every byte arrived: the checks start."""
        async with self._db.transaction() as tx:
            row = await _upload(tx, upload_id)
            if row["state"] != "uploading":
                raise UserError("该上传已结束 / this upload is over", code="upload_over")
            now = clock.now_iso()
            await tx.execute(
                "UPDATE uploads SET state = 'checking', completed_at = ? WHERE id = ?",
                (now, upload_id),
            )
            await tx.event(
                "upload.completed",
                actor="applicant",
                case_id=row["case_id"],
                inspection_id=row["inspection_id"],
                data={"upload": upload_id, "length": row["length"]},
            )
        return await self.get(upload_id)

    @writer
    async def checked(
        self,
        upload_id: str,
        *,
        files: list[StoredFile],
        facts: dict[str, Any],
        failures: list[dict[str, str]],
    ) -> Upload:
        """The checks' verdict, and the files that are now evidence. Accepted: the inspection
        goes to review and the case awaits its conclusion."""
        async with self._db.transaction() as tx:
            row = await _upload(tx, upload_id)
            if row["state"] != "checking":
                raise UserError("该上传不在检查中 / this upload is not being checked")
            now = clock.now_iso()
            ids = {stored.kind: await _add_file(tx, row, stored, now) for stored in files}
            original = next((f for f in files if f.kind == "upload"), None)
            accepted = not failures and original is not None
            state = "accepted" if accepted else "rejected"
            await tx.execute(
                """UPDATE uploads SET state = ?, checked_at = ?, sha256 = ?, failures = ?,
                       facts = ?, recording_id = ?, playable_id = ? WHERE id = ?""",
                (
                    state,
                    now,
                    original.sha256 if original else None,
                    json.dumps(failures, ensure_ascii=False),
                    json.dumps(facts, ensure_ascii=False),
                    ids.get("upload"),
                    ids.get("playable", ids.get("upload")),
                    upload_id,
                ),
            )
            if accepted:
                inspection = await tx.row(
                    "SELECT state FROM inspections WHERE id = ?", (row["inspection_id"],)
                )
                check_inspection(inspection["state"], InspectionState.REVIEWING)
                await tx.execute(
                    "UPDATE inspections SET state = ?, started_at = ? WHERE id = ?",
                    (InspectionState.REVIEWING, now, row["inspection_id"]),
                )
                await move_case(tx, row["case_id"], CaseState.AWAITING_CONCLUSION)
            await tx.event(
                f"video.{state}",
                actor="system:video-checks",
                case_id=row["case_id"],
                inspection_id=row["inspection_id"],
                data={
                    "upload": upload_id,
                    "files": [
                        {"kind": f.kind, "file": f.path, "sha256": f.sha256, "size": f.size}
                        for f in files
                    ],
                    "sha256": original.sha256 if original else None,
                    "failures": failures,
                    "facts": facts,
                },
            )
        return await self.get(upload_id)

    @writer
    async def ask_again(self, inspection_id: int, reason: str, *, actor: str) -> None:
        """Reviewers ask the applicant for another video (the one under review stays kept)."""
        async with self._db.transaction() as tx:
            row = await tx.one(
                "SELECT case_id, state FROM inspections WHERE id = ?", (inspection_id,)
            )
            if row is None:
                raise NotFound(f"勘验不存在 / no inspection {inspection_id}")
            check_inspection(row["state"], InspectionState.SCHEDULED)
            await tx.execute(
                "UPDATE inspections SET state = ? WHERE id = ?",
                (InspectionState.SCHEDULED, inspection_id),
            )
            await move_case(tx, row["case_id"], CaseState.SCHEDULED)
            await tx.event(
                "video.asked_again",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=inspection_id,
                data={"reason": reason},
            )

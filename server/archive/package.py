"""Case packages: one ZIP with every file of a case, its manifest and its events, and the check
that proves years later that nothing in it was altered.

    <case number>.zip
      files/<inspection seq>/<file>   recordings (composite, raw tracks), screenshots, records
      manifest.json                   the case, its inspections and conclusions; every file with
                                      the SHA-256 and size the archive recorded; every event of
                                      the case exactly as stored (hash chain fields included)

The ZIP is written as a stream (no temporary copy of the whole case): the manifest comes last,
so each file is hashed while it is being written. The manifest lists the hashes the archive
recorded when the file was made, so a file damaged on disk before the export is caught too.

`verify` recomputes every file's SHA-256 and every event's hash and names the first mismatch.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .. import clock
from .events import event_hash
from .files import resolve_inside
from .store import ArchiveStore

FORMAT = "kanyan-case-package"
VERSION = 1
# Opens a stored path for reading (blocking).
Opener = Callable[[str], IO[bytes]]

CHUNK = 1 << 20


@dataclass(frozen=True)
class PackedFile:
    path: str  # inside the ZIP
    source: str  # relative to the recordings directory
    kind: str  # composite | raw | original | screenshot | record-html | record-pdf
    sha256: str | None  # as the archive recorded it
    size: int | None
    inspection_seq: int


@dataclass
class Plan:
    """What a package of one case holds, gathered from the archive before writing."""

    case_no: str
    manifest: dict[str, Any]
    files: list[PackedFile] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.size or 0 for f in self.files)


async def plan(archive: ArchiveStore, case_id: int, *, actor: str) -> Plan:
    """The manifest (without the file list's check results) and the files of a case."""
    case = await archive.cases.get(case_id)
    inspections = []
    files: list[PackedFile] = []
    seen: set[str] = set()

    def add(source: str | None, kind: str, sha: str | None, size: int | None, seq: int) -> None:
        if not source or source in seen:
            return
        seen.add(source)
        files.append(PackedFile(f"files/{seq}/{Path(source).name}", source, kind, sha, size, seq))

    for inspection in await archive.inspections.of_case(case.id):
        conclusion = await archive.conclusions.of_inspection(inspection.id)
        inspections.append(
            {
                **asdict(inspection),
                "conclusion": asdict(conclusion) if conclusion else None,
                "checklist": [asdict(i) for i in await archive.checklists.items(inspection.id)],
                "marks": [asdict(m) for m in await archive.checklists.marks(inspection.id)],
                "work_record": [asdict(e) for e in await archive.checklists.entries(inspection.id)],
            }
        )
        for rec in await archive.evidence.recordings(inspection.id):
            add(rec.path, rec.kind, rec.sha256, rec.size_bytes, inspection.seq)
            if rec.original_path and rec.original_path != rec.path:
                add(rec.original_path, "original", rec.original_sha256, None, inspection.seq)
        for shot in await archive.evidence.screenshots(inspection.id):
            add(shot.path, "screenshot", shot.sha256, shot.size_bytes, inspection.seq)
        for record in await archive.records.of_inspection(inspection.id):
            add(record.html_path, "record-html", record.html_sha256, None, inspection.seq)
            add(record.pdf_path, "record-pdf", record.pdf_sha256, record.pdf_bytes, inspection.seq)
    events = await archive.events.find(case_id=case.id)
    raw_events = await archive.events.raw(case_id=case.id)
    head = await archive.events.head()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": clock.now_iso(),
        "exported_by": actor,
        "case": asdict(case),
        "annotations": [asdict(a) for a in await archive.cases.annotations(case.id)],
        "inspections": inspections,
        "events": raw_events,
        "event_count": len(events),
        "chain_head": head,
    }
    return Plan(case.case_no, manifest, files)


def local_opener(root: Path) -> Opener:
    """Files read from the recordings folder (server.storage's opener reads the object
    store too)."""
    return lambda stored: open(resolve_inside(root, stored), "rb")


def write(plan: Plan, source: Path | Opener, out: IO[bytes]) -> dict[str, Any]:
    """Write the ZIP to `out` (blocking: run it in a thread); the manifest it ends with. The
    files are read through `source`: an opener of stored paths, or the recordings folder."""
    opener = local_opener(source) if isinstance(source, Path) else source
    entries = []
    problems = []
    with zipfile.ZipFile(out, "w", allowZip64=True) as package:
        for packed in plan.files:
            entry: dict[str, Any] = {
                "path": packed.path,
                "source": packed.source,
                "kind": packed.kind,
                "inspection_seq": packed.inspection_seq,
                "sha256": packed.sha256,
            }
            try:
                with opener(packed.source) as f:
                    digest, size = _copy(f, package, packed.path)
            except (OSError, ValueError) as exc:
                entry["missing"] = True
                problems.append(
                    {"path": packed.path, "problem": f"missing: {exc.__class__.__name__}"}
                )
                entries.append(entry)
                continue
            entry["size"] = size
            if packed.sha256 is None:
                entry["sha256"] = digest  # a file the archive never hashed (an unfinished one)
            elif digest != packed.sha256:
                problems.append({"path": packed.path, "problem": "differs from its archived hash"})
            entries.append(entry)
        manifest = {**plan.manifest, "files": entries, "problems": problems}
        body = json.dumps(manifest, ensure_ascii=False, indent=1, sort_keys=True).encode()
        package.writestr("manifest.json", body, compress_type=zipfile.ZIP_DEFLATED)
    return manifest


def write_file(plan: Plan, source: Path | Opener, out: Path) -> tuple[dict[str, Any], int]:
    """The package as a file (blocking); its manifest and size."""
    with open(out, "wb") as f:
        manifest = write(plan, source, f)
    return manifest, out.stat().st_size


def _copy(f: IO[bytes], package: zipfile.ZipFile, name: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    info = zipfile.ZipInfo(name, date_time=_zip_time(f))
    # Media is compressed already; deflating it would cost CPU for nothing.
    stored = name.endswith((".mp4", ".webm", ".jpg", ".pdf"))
    info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with package.open(info, "w", force_zip64=True) as member:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            member.write(chunk)
    return digest.hexdigest(), size


def _zip_time(f: IO[bytes]) -> tuple[int, int, int, int, int, int]:
    """The file's time as Beijing time (ZIP stores local times); now for an object read from
    the store (its archived time is in the manifest)."""
    try:
        mtime = os.fstat(f.fileno()).st_mtime
    except (AttributeError, OSError, ValueError):
        mtime = clock.now().timestamp()
    moment = datetime.fromtimestamp(mtime, clock.SHANGHAI)
    return (
        max(1980, moment.year),
        moment.month,
        moment.day,
        moment.hour,
        moment.minute,
        moment.second,
    )


# -- verification --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    ok: bool
    files: int
    events: int
    problem: str  # the first mismatch, named; empty when ok


def _hash_member(package: zipfile.ZipFile, name: str) -> str:
    digest = hashlib.sha256()
    with package.open(name) as member:
        while chunk := member.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path | IO[bytes]) -> Verdict:
    """Recompute every file's SHA-256 and every event's hash (blocking)."""
    try:
        package = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        return Verdict(False, 0, 0, f"not a readable ZIP file: {exc}")
    with package:
        try:
            manifest = json.loads(package.read("manifest.json"))
        except KeyError:
            return Verdict(False, 0, 0, "manifest.json is missing")
        except (ValueError, zipfile.BadZipFile) as exc:
            return Verdict(False, 0, 0, f"manifest.json is unreadable: {exc}")
        if manifest.get("format") != FORMAT:
            return Verdict(False, 0, 0, "manifest.json is not a Kanyan case package")
        recorded = _hashes_in_events(manifest.get("events", []))
        listed = set()
        checked = 0
        for entry in manifest.get("files", []):
            name = entry.get("path", "")
            listed.add(name)
            if entry.get("missing"):
                return Verdict(False, checked, 0, f"file {name}: was missing at export")
            try:
                actual = _hash_member(package, name)
            except KeyError:
                return Verdict(False, checked, 0, f"file {name}: is not in the package")
            except (zipfile.BadZipFile, OSError) as exc:
                return Verdict(False, checked, 0, f"file {name}: unreadable ({exc})")
            if actual != entry.get("sha256"):
                return Verdict(
                    False, checked, 0, f"file {name}: its content does not match its SHA-256"
                )
            logged = recorded.get(entry.get("source", ""))
            if logged is not None and logged != actual:
                return Verdict(
                    False, checked, 0, f"file {name}: differs from the hash in the event log"
                )
            checked += 1
        extra = [n for n in package.namelist() if n != "manifest.json" and n not in listed]
        if extra:
            return Verdict(False, checked, 0, f"file {extra[0]}: is not listed in the manifest")
        events = 0
        for row in manifest.get("events", []):
            digest = event_hash(
                row["prev_hash"],
                row["id"],
                row["at"],
                row["type"],
                row["case_id"],
                row["inspection_id"],
                row["actor"],
                row["data"],
            )
            if digest != row["hash"]:
                return Verdict(
                    False,
                    checked,
                    events,
                    f"event {row['id']}: its content does not match its hash",
                )
            events += 1
        if manifest.get("problems"):
            first = manifest["problems"][0]
            return Verdict(False, checked, events, f"file {first['path']}: {first['problem']}")
        return Verdict(True, checked, events, "")


def _hashes_in_events(rows: list[dict[str, Any]]) -> dict[str, str]:
    """File → SHA-256 as the hash-chained log recorded it when the file was made."""
    found: dict[str, str] = {}
    for row in rows:
        try:
            data = json.loads(row["data"])
        except (KeyError, ValueError):
            continue
        if row["type"] in ("recording.finished", "recording.interrupted", "screenshot.taken"):
            if data.get("file") and data.get("sha256"):
                found[data["file"]] = data["sha256"]
            if data.get("original_file") and data.get("original_sha256"):
                found[data["original_file"]] = data["original_sha256"]
        elif row["type"] == "record.generated":
            found[data.get("html", "")] = data.get("html_sha256", "")
            found[data.get("pdf", "")] = data.get("pdf_sha256", "")
    return found

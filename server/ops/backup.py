"""`python -m server backup DIR` and `restore DIR`: a complete copy of an installation, taken
while the server runs, and put back into an empty one.

DIR holds `data/` (the archive database as of one commit, the link and session secrets, the
TLS files, unfinished uploads), `recordings/` (every evidence file) and `manifest.json` (every
file with its size and SHA-256, and for evidence the archive's own SHA-256). Files are copied,
never hard-linked: a hard link shares the disk and the inode with the file it is meant to
protect, so it is no backup against a failing disk or a file altered in place.

Consistency: the database is copied first (server.archive.backup.snapshot), then the files. A
file archived after the copy is extra and harmless; a file the copy names but that was renamed
(a recording finishing) or deleted (retention) meanwhile is missing — then the database is
copied again and the missing files fetched, until nothing the database names is missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import clock
from ..archive import ArchiveStore
from ..archive import backup as archive_backup
from ..config import Settings

FORMAT = "kanyan-backup"
VERSION = 1
DATABASE = "kanyan.sqlite3"
MANIFEST = "manifest.json"
PASSES = 5
CHUNK = 1 << 20
# The live database's companions: the snapshot replaces all of them.
SKIPPED = {DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal"}


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why (zh-CN / English)."""


@dataclass
class CopiedFile:
    size: int
    sha256: str
    source_stat: tuple[int, int]  # (size, mtime_ns) of the source when it was copied


@dataclass
class Report:
    files: int = 0
    bytes: int = 0
    problems: list[dict[str, str]] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def _say(line: str) -> None:
    print(line, flush=True)


def copy_file(source: Path, target: Path) -> tuple[int, str]:
    """Copy `source` to `target` (mode 0600, made durable); (bytes, SHA-256 of what was copied).
    A file still growing is copied as far as it was when the copy reached its end."""
    _make_dir(target.parent)
    digest = hashlib.sha256()
    size = 0
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with open(source, "rb") as src, os.fdopen(fd, "wb") as dst:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            dst.write(chunk)
            size += len(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    return size, digest.hexdigest()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _make_dir(path: Path) -> None:
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def _walk(root: Path, skip: Path | None = None) -> list[Path]:
    """Every regular file under `root`, relative to it (`skip`, a folder inside, left out)."""
    found = []
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        if skip is not None:
            dirs[:] = [d for d in dirs if (here / d).resolve() != skip]
        for name in names:
            path = here / name
            if path.is_file() and not path.is_symlink():
                found.append(path.relative_to(root))
    return sorted(found)


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


class Backup:
    """One backup into `target` (empty or new)."""

    def __init__(self, settings: Settings, target: Path) -> None:
        self.data = settings.data_dir.resolve()
        self.recordings = settings.recordings_dir.resolve()
        self.target = target.resolve()
        self.copied: dict[str, CopiedFile] = {}  # by path inside the backup

    def run(self) -> Report:
        database = self.data / DATABASE
        if not database.is_file():
            raise BackupError(f"没有档案数据库 / no archive database at {database}")
        if not _empty(self.target):
            raise BackupError(
                f"备份目录必须为空 / the backup folder must be empty or new: {self.target}"
            )
        inside = (self.recordings, self.data)
        if any(self.target == p or self.target.is_relative_to(p) for p in inside):
            raise BackupError(
                "备份目录不能在数据目录或录像目录之内 / the backup folder cannot be inside the "
                "data or recordings folder"
            )
        _make_dir(self.target)
        os.chmod(self.target, 0o700)
        snapshot_path = self.target / "data" / DATABASE
        missing: list[archive_backup.Referenced] = []
        for _ in range(PASSES):
            _make_dir(snapshot_path.parent)
            snapshot = archive_backup.snapshot(database, snapshot_path)
            referenced = archive_backup.referenced_files(snapshot_path)
            self._copy_tree(self.recordings, "recordings")
            missing = [r for r in referenced if f"recordings/{r.path}" not in self.copied]
            if not missing:
                break
        os.chmod(snapshot_path, 0o600)
        skip = self.recordings if self.recordings.is_relative_to(self.data) else None
        for relative in _walk(self.data, skip):
            if str(relative) not in SKIPPED:
                self._copy(self.data / relative, f"data/{relative.as_posix()}")
        return self._manifest(snapshot, snapshot_path, referenced, missing)

    def _copy_tree(self, root: Path, prefix: str) -> None:
        """Copy what is new or changed since the last pass."""
        if not root.is_dir():
            return
        for relative in _walk(root):
            name = f"{prefix}/{relative.as_posix()}"
            source = root / relative
            try:
                stat = _stat(source)
                known = self.copied.get(name)
                if known is None or known.source_stat != stat:
                    self._copy(source, name)
            except FileNotFoundError:
                continue  # renamed or deleted while we walked: the next pass sees its new name

    def _copy(self, source: Path, name: str) -> None:
        stat = _stat(source)
        size, sha = copy_file(source, self.target / name)
        self.copied[name] = CopiedFile(size, sha, stat)

    def _manifest(
        self,
        snapshot: archive_backup.Snapshot,
        snapshot_path: Path,
        referenced: list[archive_backup.Referenced],
        missing: list[archive_backup.Referenced],
    ) -> Report:
        archived = {f"recordings/{r.path}": r for r in referenced}
        problems = [
            {"path": r.path, "what": r.what, "problem": "missing"}
            for r in missing
            if r.sha256 is not None  # an unfinished file that vanished was renamed, not lost
        ]
        files = []
        for name, copied in sorted(self.copied.items()):
            entry: dict[str, Any] = {"path": name, "size": copied.size, "sha256": copied.sha256}
            ref = archived.get(name)
            if ref is not None:
                entry["archived"] = ref.what
                entry["state"] = "final" if ref.sha256 else "unfinished"
                if ref.sha256 and ref.sha256 != copied.sha256:
                    problems.append({"path": ref.path, "what": ref.what, "problem": "differs"})
            files.append(entry)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": clock.now_iso(),
            "database": {
                "path": f"data/{DATABASE}",
                "size": snapshot_path.stat().st_size,
                "sha256": sha256_of(snapshot_path),
                "schema_version": snapshot.schema_version,
                "events": snapshot.events,
                "head": snapshot.head,
            },
            "files": files,
            "problems": problems,
        }
        write_private(self.target / MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        total = sum(c.size for c in self.copied.values()) + manifest["database"]["size"]
        return Report(len(files) + 1, total, problems, manifest)


def write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
        f.flush()
        os.fsync(f.fileno())


# -- restore ----------------------------------------------------------------------------------


def read_manifest(source: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((source / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError(
            f"不是 Kanyan 备份（没有 {MANIFEST}） / not a Kanyan backup: no {MANIFEST} in {source}"
        ) from None
    except ValueError as exc:
        raise BackupError(f"{MANIFEST} 无法读取 / {MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"不是 Kanyan 备份 / {source} is not a Kanyan backup")
    if manifest.get("version") != VERSION:
        raise BackupError(
            f"备份格式版本 {manifest.get('version')} 不受支持 / backup format version "
            f"{manifest.get('version')} is not supported (this Kanyan reads {VERSION})"
        )
    return manifest


def _entries(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [manifest["database"], *manifest["files"]]


def check_backup(source: Path, manifest: dict[str, Any]) -> list[str]:
    """What in the backup does not match its manifest (files re-hashed)."""
    problems = []
    for entry in _entries(manifest):
        name = str(entry["path"])
        if not (name.startswith("data/") or name.startswith("recordings/")) or ".." in name:
            problems.append(f"{name}: 路径无效 / not a path of a backup")
            continue
        path = source / name
        if not path.is_file():
            problems.append(f"{name}: 缺失 / missing")
        elif sha256_of(path) != entry["sha256"]:
            problems.append(f"{name}: SHA-256 不符 / differs from the manifest")
    return problems


def restore_files(settings: Settings, source: Path, manifest: dict[str, Any]) -> int:
    """Copy a checked backup into the (empty) data and recordings folders; bytes copied."""
    roots = {"data": settings.data_dir, "recordings": settings.recordings_dir}
    for root in roots.values():
        _make_dir(root)
        os.chmod(root, 0o700)
    total = 0
    for entry in _entries(manifest):
        top, _, rest = str(entry["path"]).partition("/")
        size, sha = copy_file(source / entry["path"], roots[top] / rest)
        if sha != entry["sha256"]:
            raise BackupError(f"{entry['path']}: 复制时内容改变 / changed while being copied")
        total += size
    return total


def refuse_unless_empty(settings: Settings) -> None:
    for name, folder in (
        ("数据目录 / data folder", settings.data_dir),
        ("录像目录 / recordings folder", settings.recordings_dir),
    ):
        if not _empty(folder):
            raise BackupError(
                f"只能恢复到空目录，{name} 不为空 / restore writes only into empty folders: "
                f"{folder} is not empty. 请指定新的目录，或先移走现有数据 / point the settings at "
                "new folders, or move the existing data away first."
            )


# -- the commands ------------------------------------------------------------------------------


def refuse_shared(settings: Settings) -> None:
    """backup and restore copy one machine's SQLite archive and recordings folder; a province's
    PostgreSQL and object store have their own, better tools."""
    if settings.archive.url or settings.storage.kind != "local":
        raise BackupError(
            "此命令只备份本机的 SQLite 档案和录像目录 / backup and restore cover one machine's "
            "SQLite archive and recordings folder. 档案在 PostgreSQL 或文件在对象存储时，请用 "
            "pg_basebackup 和存储的版本与复制 / with the archive on PostgreSQL or files in an "
            "object store, use pg_basebackup and WAL archiving, and the store's versioning and "
            "replication (docs/deploy.md)"
        )


async def run_backup(settings: Settings, target: Path) -> int:
    try:
        refuse_shared(settings)
        report = await asyncio.to_thread(Backup(settings, target).run)
    except BackupError as exc:
        print(f"kanyan: {exc}", file=sys.stderr)
        return 2
    database = report.manifest["database"]
    store = await ArchiveStore.open(settings.archive_location)
    try:
        await store.events.append(
            "archive.backed_up",
            actor="cli",
            data={
                "folder": target.name,
                "files": report.files,
                "bytes": report.bytes,
                "database_sha256": database["sha256"],
                "head": database["head"],
                "problems": report.problems[:50],
            },
        )
    finally:
        await store.close()
    for problem in report.problems:
        _say(f"warning: {problem['path']} ({problem['what']}): {problem['problem']}")
    _say(
        f"backed up {report.files} files, {report.bytes / 1e6:.1f} MB, "
        f"{database['events']} events to {target}"
    )
    return 1 if report.problems else 0


async def run_restore(settings: Settings, source: Path) -> int:
    try:
        refuse_shared(settings)
        manifest = read_manifest(source)
        refuse_unless_empty(settings)
        problems = await asyncio.to_thread(check_backup, source, manifest)
        if problems:
            for problem in problems:
                print(f"kanyan: {problem}", file=sys.stderr)
            raise BackupError("备份已损坏，未做任何恢复 / the backup is damaged; nothing restored")
        total = await asyncio.to_thread(restore_files, settings, source, manifest)
    except BackupError as exc:
        print(f"kanyan: {exc}", file=sys.stderr)
        return 2
    store = await ArchiveStore.open(settings.archive_location)
    try:
        count, broken, why = await store.verify_events()
        if broken is not None:
            _say(f"restored, but the event log is broken at event {broken}: {why}")
            return 1
        await store.events.append(
            "archive.restored",
            actor="cli",
            data={
                "backup_created_at": manifest["created_at"],
                "database_sha256": manifest["database"]["sha256"],
                "files": len(manifest["files"]) + 1,
            },
        )
    finally:
        await store.close()
    _say(
        f"restored {len(manifest['files']) + 1} files, {total / 1e6:.1f} MB, {count} events "
        f"(backup of {clock.shanghai(manifest['created_at'])}); "
        "now run verify-files / 请运行 verify-files 核对录像"
    )
    return 0

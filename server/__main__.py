"""Command line: `python -m server [run]`, `verify-log`, and the administrative commands.

Serving is the web layer's: `python -m server` (or `run`) hands this process over to
`python -m web`, so that nothing in server/ imports web/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from . import admin_cli, config
from .errors import ConfigError
from .logs import setup_logging


def _say(line: str) -> None:
    print(line, flush=True)


async def verify_log(settings: config.Settings) -> int:
    from .archive import ArchiveStore

    location = settings.archive_location
    if isinstance(location, Path) and not location.exists():
        _say(f"no archive database at {location}; nothing to verify")
        return 1
    store = await ArchiveStore.open(location)
    try:
        count, broken, why = await store.verify_events()
    finally:
        await store.close()
    if broken is None:
        _say(f"ok: {count} events, hash chain intact ({settings.archive_label})")
        return 0
    _say(f"broken: event {broken}: {why}; the {count} events before it verify")
    return 1


async def verify_files(settings: config.Settings) -> int:
    from .archive import ArchiveStore
    from .storage import EvidenceFiles

    store = await ArchiveStore.open(settings.archive_location)
    try:
        files = EvidenceFiles.from_settings(settings.recordings_dir, settings.storage)
        check = await store.integrity.check(files.check_sync, actor="cli")
    finally:
        await store.close()
    for problem in check.problems:
        _say(f"{problem['problem']}: {problem['path']} ({problem['what']})")
    if check.ok:
        _say(f"ok: {check.files} files match their SHA-256")
        return 0
    _say(f"{check.missing} missing, {check.mismatched} differ, of {check.files} files")
    return 1


async def export(settings: config.Settings, case_no: str, out: Path) -> int:
    from .archive import ArchiveStore, package
    from .storage import EvidenceFiles

    store = await ArchiveStore.open(settings.archive_location)
    try:
        found = await store.cases.search(query=case_no, limit=50)
        case = next((c for c in found[0] if c.case_no == case_no), None)
        if case is None:
            print(f"kanyan: no case {case_no}", file=sys.stderr)
            return 1
        plan = await package.plan(store, case.id, actor="cli")
        _say(f"exporting {case_no}: {len(plan.files)} files, {plan.total_bytes / 1e6:.1f} MB")
        manifest, size = await asyncio.to_thread(
            package.write_file,
            plan,
            EvidenceFiles.from_settings(settings.recordings_dir, settings.storage).open_sync,
            out,
        )
        await store.events.append(
            "case.exported",
            actor="cli",
            case_id=case.id,
            data={"files": len(manifest["files"]), "problems": manifest["problems"]},
        )
    finally:
        await store.close()
    for problem in manifest["problems"]:
        _say(f"warning: {problem['path']}: {problem['problem']}")
    _say(f"wrote {out} ({size / 1e6:.1f} MB)")
    return 0 if not manifest["problems"] else 1


def verify_package(path: Path) -> int:
    from .archive import package

    verdict = package.verify(path)
    if verdict.ok:
        _say(f"ok: {verdict.files} files and {verdict.events} events verify ({path.name})")
        return 0
    _say(f"mismatch: {verdict.problem}")
    return 1


async def check_video(settings: config.Settings, item_code: str, file: Path) -> int:
    from . import clock
    from .video.checks import Unreadable, check, inspect, requirements_of

    item = await _catalog_item(settings, item_code)
    if item is None:
        print(f"kanyan: no catalog item {item_code}", file=sys.stderr)
        return 2
    try:
        facts = await asyncio.to_thread(inspect, file)
    except Unreadable as exc:
        _say(f"unreadable {exc}（请上传手机拍摄的视频文件）")
        return 2
    failures = check(facts, requirements_of(item.shooting), uploaded_at=clock.now())
    for failure in failures:
        _say(f"{failure.code} {failure.message}")
    if not failures:
        _say(
            f"ok: {facts.duration_s:.0f} s, {facts.width}×{facts.height}, {facts.fps:.0f} fps, "
            f"{facts.video_codec}/{facts.audio_codec or 'no sound'}"
        )
    return 1 if failures else 0


async def _catalog_item(settings: config.Settings, code: str):  # type: ignore[no-untyped-def]
    """The item as the bureau has it: the archive's current version, else the catalog file."""
    from .archive import ArchiveStore
    from .cases.catalog import Catalog, load_file
    from .errors import NotFound
    from .services import catalog_path

    location = settings.archive_location
    if not isinstance(location, Path) or location.exists():
        store = await ArchiveStore.open(location)
        try:
            return (await Catalog(store).current(code)).item
        except NotFound:
            pass
        finally:
            await store.close()
    return next((i for i in load_file(catalog_path(settings)) if i.code == code), None)


def serve(argv: list[str]) -> int:
    """Become `python -m web` with the same arguments (same process, same pid)."""
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", "web", *argv])
    return 2  # pragma: no cover - execv does not return


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m server", description=__doc__)
    parser.add_argument(
        "--config",
        help="settings file (default: $KANYAN_CONFIG, else config/kanyan.toml when present)",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="serve HTTPS and print the demo links (default)")
    commands.add_parser("verify-log", help="check the event log's hash chain")
    commands.add_parser("verify-files", help="re-hash every archived file")
    exporting = commands.add_parser("export", help="write a case package (ZIP)")
    exporting.add_argument("case_no", help="the case number, e.g. KY2026-000012")
    exporting.add_argument("out", type=Path, help="the ZIP file to write")
    checking = commands.add_parser("verify-package", help="check a case package")
    checking.add_argument("file", type=Path)
    video = commands.add_parser(
        "check-video", help="check a video against an item's shooting requirements"
    )
    video.add_argument("item_code", help="the catalog item, e.g. FOOD-OPERATION")
    video.add_argument("file", type=Path)
    backing_up = commands.add_parser(
        "backup", help="copy the archive and every file into DIR while the server runs"
    )
    backing_up.add_argument("dir", type=Path, help="an empty or new folder")
    restoring = commands.add_parser(
        "restore", help="restore a backup into empty data and recordings folders"
    )
    restoring.add_argument("dir", type=Path, help="a folder written by backup")
    admin_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in (None, "run"):
        return serve(argv)
    if args.command == "verify-package":
        return verify_package(args.file)
    setup_logging()
    try:
        settings = config.load(Path(args.config) if args.config else None)
        if args.command == "verify-log":
            return asyncio.run(verify_log(settings))
        if args.command == "verify-files":
            return asyncio.run(verify_files(settings))
        if args.command == "export":
            return asyncio.run(export(settings, args.case_no, args.out))
        if args.command == "check-video":
            return asyncio.run(check_video(settings, args.item_code, args.file))
        if args.command in ("backup", "restore"):
            from .ops.backup import run_backup, run_restore

            run = run_backup if args.command == "backup" else run_restore
            return asyncio.run(run(settings, args.dir))
        return asyncio.run(admin_cli.run(settings, args))
    except ConfigError as exc:
        print(f"kanyan: configuration error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

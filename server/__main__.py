"""Command line: `python -m server [run]`, `verify-log`, and the administrative commands.

Serving is the web layer's: `python -m server` (or `run`) hands this process over to
`python -m web`, so that nothing in server/ imports web/.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from . import admin_cli, config
from .errors import ConfigError


def _say(line: str) -> None:
    print(line, flush=True)


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)


async def verify_log(settings: config.Settings) -> int:
    from .archive import ArchiveStore

    path = settings.data_dir / "kanyan.sqlite3"
    if not path.exists():
        _say(f"no archive database at {path}; nothing to verify")
        return 1
    store = await ArchiveStore.open(path)
    try:
        count, broken, why = await store.verify_events()
    finally:
        await store.close()
    if broken is None:
        _say(f"ok: {count} events, hash chain intact ({path})")
        return 0
    _say(f"broken: event {broken}: {why}; the {count} events before it verify")
    return 1


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
    admin_cli.add_commands(commands)
    args = parser.parse_args(argv)
    if args.command in (None, "run"):
        return serve(argv)
    setup_logging()
    try:
        settings = config.load(Path(args.config) if args.config else None)
        if args.command == "verify-log":
            return asyncio.run(verify_log(settings))
        return asyncio.run(admin_cli.run(settings, args))
    except ConfigError as exc:
        print(f"kanyan: configuration error: {exc.message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

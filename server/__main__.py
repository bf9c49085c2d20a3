"""Command line: `python -m server [run]`, `verify-log`, and the administrative commands."""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from . import admin_cli, config, demo, tls
from .errors import ConfigError


def _say(line: str) -> None:
    print(line, flush=True)


async def serve(settings: config.Settings) -> None:
    from .app import ACCOUNTS, ARCHIVE, CASES, LINKS, create_app

    ssl_context = tls.ssl_context(settings)
    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(
        runner,
        settings.server.host,
        settings.server.port,
        ssl_context=ssl_context,
        reuse_address=True,
    )
    await site.start()
    port = runner.addresses[0][1]
    if not settings.server.public_url:
        host = settings.server.host
        if host in ("0.0.0.0", "::", ""):
            addresses = tls.local_addresses()
            host = addresses[0] if addresses else "127.0.0.1"
        settings.server.public_url = f"https://{host}:{port}"
    base = settings.server.public_url.rstrip("/")
    _say(f"serving {base} (port {port})")
    admin_password = await app[ACCOUNTS].ensure_first_admin()
    if admin_password:
        _say(
            f"first admin account: admin, one-time password {admin_password} "
            "(首次登录后须修改 / change it at first login)"
        )
    ready = settings.demo.enabled and await demo.ensure_demo(app[ARCHIVE], app[CASES], settings)
    if ready:
        inspection, invitees = ready
        lines = demo.demo_lines(app[LINKS], inspection, invitees)
        for line in lines:
            _say(line)
        applicant = next(
            (line.split(" ", 2)[2] for line in lines if line.startswith("link applicant ")), None
        )
        if applicant:
            _say("applicant QR (scan with the phone's camera):")
            _say(qr_text(applicant))
    _say(f"staff login {base}/login")

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        _say("shutting down")
        await runner.cleanup()


def qr_text(url: str) -> str:
    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue().rstrip("\n")


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


def main(argv: list[str] | None = None) -> int:
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

    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)
    try:
        settings = config.load(Path(args.config) if args.config else None)
        if args.command == "verify-log":
            return asyncio.run(verify_log(settings))
        if args.command in admin_cli.COMMANDS:
            return asyncio.run(admin_cli.run(settings, args))
        asyncio.run(serve(settings))
        return 0
    except ConfigError as exc:
        print(f"kanyan: configuration error: {exc.message}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"kanyan: cannot start: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

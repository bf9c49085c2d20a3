"""`python -m web`: serve HTTPS and print the demo inspection's links (what `make run` runs).

`python -m server` with no command, or `python -m server run`, hands its process over to this.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import signal
import sys
from pathlib import Path

from aiohttp import web

from server import config, demo, tls
from server.errors import ConfigError
from server.logs import setup_logging
from server.services import ACCOUNTS, ARCHIVE, CASES, CLUSTER, LINKS

from .app import create_app
from .listening import inherited_socket

# aiohttp's default without the Referer: a room page's address must never be quoted twice.
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Dus "%{User-Agent}i"'


def _say(line: str) -> None:
    print(line, flush=True)


async def serve(settings: config.Settings) -> None:
    ssl_context = tls.ssl_context(settings)
    app = create_app(settings)
    # The access log goes through server.logs like every line: link tokens and keys redacted.
    runner = web.AppRunner(app, access_log_format=ACCESS_LOG_FORMAT, handle_signals=False)
    await runner.setup()
    inherited = inherited_socket()
    site: web.BaseSite
    if inherited is not None:  # systemd socket activation: server.host and port are its
        site = web.SockSite(runner, inherited, ssl_context=ssl_context)
    else:
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
        host = inherited.getsockname()[0] if inherited is not None else settings.server.host
        if host in ("0.0.0.0", "::", ""):
            addresses = tls.local_addresses()
            host = addresses[0] if addresses else "127.0.0.1"
        settings.server.public_url = f"https://{host}:{port}"
    base = settings.server.public_url.rstrip("/")
    _say(f"serving {base} (port {port})")
    await app[CLUSTER].start()  # a province's node: heartbeat, placements, takeovers
    if app[CLUSTER].enabled:
        _say(f"node {settings.node.id} at {app[CLUSTER].public_url}")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m web", description=__doc__)
    parser.add_argument(
        "--config",
        help="settings file (default: $KANYAN_CONFIG, else config/kanyan.toml when present)",
    )
    parser.add_argument("command", nargs="?", choices=["run"], help="serve (the default)")
    args = parser.parse_args(argv)
    setup_logging()
    # Whatever this process and its children (the recorder, FFmpeg) create is private by
    # default; the files Kanyan makes on purpose are created 0600 anyway.
    os.umask(0o077)
    try:
        settings = config.load(Path(args.config) if args.config else None)
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

"""Administrative commands: staff accounts, API keys, webhook receivers and the dishonesty list,
from a terminal.

They open the archive directly, so they work while the server runs (SQLite in WAL mode).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from . import clock
from .archive import ArchiveStore
from .cases.catalog import Catalog
from .cases.intake import decode_upload, parse_dishonesty_csv
from .cases.workflow import CaseService
from .cluster import forget_node
from .config import Settings
from .errors import BadRequest, KanyanError
from .notices.receivers import add_receiver
from .notices.rules import TOPICS
from .staff.accounts import Accounts, LoginThrottle
from .staff.api_keys import ApiKeys
from .staff.roles import StaffRole

COMMANDS = ("user", "apikey", "dishonesty", "webhook", "node")
ACTOR = "cli"


def add_commands(commands: Any) -> None:
    user = commands.add_parser("user", help="staff accounts").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create an account; prints its one-time password")
    add.add_argument("name", help="user name, e.g. zhangsan")
    add.add_argument("--role", required=True, choices=[str(r) for r in StaffRole])
    add.add_argument("--display-name", default="", help="the name shown in pages, e.g. 张三")
    add.add_argument(
        "--section",
        action="append",
        default=[],
        help="a section (业务股室) whose cases the person works on, as cases name it; repeat "
        "for several (clerks see only their sections' cases)",
    )
    sections = user.add_parser(
        "sections", help="set the sections (业务股室) of an account, replacing the earlier ones"
    )
    sections.add_argument("name")
    sections.add_argument("section", nargs="*", help="none: the account has no section")
    reset = user.add_parser("reset", help="issue a new one-time password")
    reset.add_argument("name")
    user.add_parser("list", help="list the accounts")

    apikey = commands.add_parser("apikey", help="keys for the intake API").add_subparsers(
        dest="action", required=True
    )
    create = apikey.add_parser("create", help="create a key; prints it once")
    create.add_argument("name", help="who uses it, e.g. provincial-platform")
    apikey.add_parser("list", help="list the keys (never the keys themselves)")
    revoke = apikey.add_parser("revoke", help="revoke a key by its number")
    revoke.add_argument("id", type=int)

    webhook = commands.add_parser("webhook", help="webhook receivers").add_subparsers(
        dest="action", required=True
    )
    adding = webhook.add_parser("add", help="add a receiver; prints its signing secret once")
    adding.add_argument("name", help="who receives, e.g. provincial-platform")
    adding.add_argument("url", help="where to POST, e.g. https://platform.example/kanyan")
    adding.add_argument(
        "--topics",
        default=",".join(TOPICS.values()),
        help=f"comma-separated, from: {', '.join(TOPICS.values())} (default: all)",
    )
    webhook.add_parser("list", help="list the receivers")
    disabling = webhook.add_parser("disable", help="stop sending to a receiver")
    disabling.add_argument("id", type=int)

    dishonesty = commands.add_parser("dishonesty", help="the dishonesty list").add_subparsers(
        dest="action", required=True
    )
    load = dishonesty.add_parser("import", help="import a CSV file (UTF-8 or GBK)")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--replace", action="store_true", help="the file is the whole list: others leave it"
    )

    node = commands.add_parser("node", help="a province's media nodes").add_subparsers(
        dest="action", required=True
    )
    node.add_parser("list", help="the nodes heard from, and the rooms placed on each")
    forget = node.add_parser(
        "forget",
        help="a node that will not come back: mark the files it was writing lost",
    )
    forget.add_argument("node_id")


def _say(line: str) -> None:
    print(line, flush=True)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    archive = await ArchiveStore.open(settings.archive_location)
    try:
        return await _dispatch(archive, args)
    except KanyanError as exc:
        print(f"kanyan: {exc.message}", file=sys.stderr)
        if isinstance(exc.details, dict):
            for key, value in exc.details.items():
                print(f"  {key}: {value}", file=sys.stderr)
        return 1
    finally:
        await archive.close()


async def _dispatch(archive: ArchiveStore, args: argparse.Namespace) -> int:
    accounts = Accounts(archive, LoginThrottle(1, 1, 1))
    if args.command == "user" and args.action == "add":
        account, password = await accounts.create(
            args.name,
            args.role,
            display_name=args.display_name,
            sections=args.section,
            actor=ACTOR,
        )
        _say(f"created {account.role} account {account.username}")
        if account.sections:
            _say(f"sections: {'、'.join(account.sections)}")
        _say(f"one-time password: {password}")
        _say("首次登录后须修改 / it must be changed at first login")
    elif args.command == "user" and args.action == "sections":
        account = await accounts.set_sections(
            await accounts.by_username(args.name), args.section, actor=ACTOR
        )
        _say(f"sections of {account.username}: {'、'.join(account.sections) or '(none)'}")
    elif args.command == "user" and args.action == "reset":
        account = await accounts.by_username(args.name)
        password = await accounts.reset_password(account, actor=ACTOR)
        _say(f"one-time password for {account.username}: {password}")
    elif args.command == "user":
        for account in await archive.staff.accounts():
            state = "disabled" if account.disabled_at else "active"
            sections = "、".join(account.sections)
            _say(f"{account.username}\t{account.role}\t{account.display_name}\t{state}\t{sections}")
    elif args.command == "apikey" and args.action == "create":
        record, key = await ApiKeys(archive).create(args.name, actor=ACTOR)
        _say(f"API key {record.id} for {record.name} (shown once, store it safely):")
        _say(key)
    elif args.command == "apikey" and args.action == "list":
        for record in await archive.staff.keys():
            state = (
                f"revoked {clock.shanghai(record.revoked_at)}" if record.revoked_at else "active"
            )
            _say(f"{record.id}\t{record.name}\t{record.prefix}…\t{state}")
    elif args.command == "apikey":
        await archive.staff.key(args.id)
        await archive.staff.revoke_key(args.id, actor=ACTOR)
        _say(f"revoked API key {args.id}")
    elif args.command == "webhook" and args.action == "add":
        try:
            hook, secret = await add_receiver(
                archive, args.name, args.url, args.topics.split(","), actor=ACTOR
            )
        except BadRequest as exc:
            print(f"kanyan: {exc.message}", file=sys.stderr)
            return 2
        _say(f"webhook {hook.id} {hook.name} → {hook.url} ({', '.join(hook.topics)})")
        _say(
            f"signing secret (shown once; the receiver checks X-Kanyan-Signature with it): {secret}"
        )
    elif args.command == "node" and args.action == "list":
        counts = await archive.nodes.counts()
        for node in await archive.nodes.alive(within_s=365 * 86400):
            _say(
                f"{node.id}\t{node.public_url}\theard {node.heartbeat_at}\t"
                f"{counts.get(node.id, 0)} rooms\tload {node.load:.2f}"
            )
    elif args.command == "node":
        lost = await forget_node(archive, args.node_id)
        for path in lost:
            _say(f"lost: {path}")
        _say(f"node {args.node_id} forgotten; {len(lost)} unfinished file(s) marked lost")
    elif args.command == "webhook" and args.action == "list":
        for hook in await archive.outbox.webhooks():
            state = "disabled" if hook.disabled_at else "active"
            _say(f"{hook.id}\t{hook.name}\t{hook.url}\t{','.join(hook.topics)}\t{state}")
    elif args.command == "webhook":
        await archive.outbox.disable_webhook(args.id, actor=ACTOR)
        _say(f"disabled webhook {args.id}")
    else:
        rows = parse_dishonesty_csv(decode_upload(args.file.read_bytes()))
        cases = CaseService(archive, Catalog(archive))
        result = await cases.import_dishonesty(
            rows, replace=args.replace, source=f"cli:{args.file.name}", actor=ACTOR
        )
        _say(f"imported: {result.added} added, {result.updated} updated, {result.removed} removed")
    return 0

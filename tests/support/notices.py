"""Parties the notices reach, for tests: a webhook receiver that checks signatures with the
code docs/api.md gives, a mailbox behind a real SMTP server, and waiting for deliveries."""

from __future__ import annotations

import asyncio
import email
import json
import re
import socket
import time
from email import policy

from aiohttp import web

from server import clock
from server.archive import GroupMember, Stamp
from server.states import Verdict
from tests.support.server import ROOT

# Retries within seconds, so a test sees them.
FAST = {"retry_first_s": 1, "retry_max_s": 2, "give_up_hours": 1, "webhook_timeout_s": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def docs_verify():
    """The receiver's check, exactly as docs/api.md shows it."""
    text = (ROOT / "docs" / "api.md").read_text()
    block = re.search(r"```python\n(.*?def verify.*?)```", text, re.S).group(1)
    namespace: dict = {}
    exec(block, namespace)
    return namespace["verify"]


class Receiver:
    """A platform's webhook endpoint: answers as told, keeps what it accepted by key."""

    def __init__(self, secret: str, answers: list[str]) -> None:
        self.secret = secret
        self.answers = answers  # "500", "hang", "ok" … then "ok" for ever
        self.attempts: list[str] = []
        self.accepted: dict[str, dict] = {}
        self.verify = docs_verify()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        key = request.headers["X-Kanyan-Delivery"]
        self.attempts.append(key)
        if not self.verify(self.secret, request.headers["X-Kanyan-Signature"], body):
            return web.Response(status=401)
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "hang":
            await asyncio.sleep(5)
        if answer != "ok":
            return web.Response(status=500, text="busy")
        if key not in self.accepted:  # a repeat of a key already processed is acknowledged
            self.accepted[key] = json.loads(body)
        return web.Response(text="received")

    async def start(self, port: int) -> web.AppRunner:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner


async def concluded_case(server, verdict: str = "pass") -> int:
    """A case whose inspection was held and concluded (through the archive's real writers)."""
    archive = server.archive
    case = await archive.cases.create(
        application_no=f"N-{time.time_ns()}",
        applicant_name="陈申请",
        item_code="X",
        item_name="食品经营许可",
    )
    inspection = await archive.inspections.schedule(
        case.id,
        clock.now_iso(),
        None,
        [GroupMember("host", "张"), GroupMember("applicant", "陈申请")],
        actor="t",
    )
    await archive.inspections.start(inspection.id, actor="t")
    stamp = Stamp("1", "张主持", "host", clock.now_iso())
    await archive.conclusions.conclude(
        inspection.id, Verdict(verdict), "现场与材料一致", None, [], stamp
    )
    return case.id


async def wait(predicate, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out: {what}")
        await asyncio.sleep(0.2)


async def true(value: bool) -> bool:
    return value


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

"""Delivering the outbox: each due message is claimed (a lease, so a crash mid-send only delays
it), sent by its channel, and marked sent — or retried with exponential backoff and jitter until
`notices.give_up_hours` after it was first due, then marked failed for staff to see and send
again. The same message keeps its key on every try: receivers recognise a repeat."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import quote

import aiohttp

from .. import clock
from ..archive import ArchiveStore
from ..archive.outbox import Message
from ..config import MailSettings, NoticeSettings, SmsSettings

log = logging.getLogger(__name__)
POLL_S = 2.0


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    answer: str = ""
    error: str = ""


class Channel(Protocol):
    async def send(self, message: Message) -> Outcome: ...


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """X-Kanyan-Signature: HMAC-SHA256 over "<timestamp>.<body>" (docs/api.md)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


class Webhooks:
    def __init__(self, archive: ArchiveStore, timeout_s: int) -> None:
        self.archive = archive
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def send(self, message: Message) -> Outcome:
        webhook = next(
            (w for w in await self.archive.outbox.webhooks() if w.name == message.receiver), None
        )
        if webhook is None or webhook.disabled_at is not None:
            return Outcome(False, error="the receiver was removed or disabled")
        body = json.dumps(
            {**message.body, "delivery": message.key}, ensure_ascii=False, sort_keys=True
        ).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Kanyan-Webhooks/1",
            "X-Kanyan-Event": message.topic,
            "X-Kanyan-Delivery": message.key,
            "X-Kanyan-Signature": sign(webhook.secret, int(time.time()), body),
        }
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(webhook.url, data=body, headers=headers) as response:
                    answer = (await response.text())[:500]
                    return Outcome(200 <= response.status < 300, response.status, answer)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Outcome(False, error=f"{exc.__class__.__name__}: {exc}"[:300])


class Mail:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    async def send(self, message: Message) -> Outcome:
        import aiosmtplib

        s = self.settings
        mail = EmailMessage()
        mail["From"] = s.sender
        mail["To"] = message.target
        mail["Subject"] = message.body.get("subject", "勘验通知")
        mail["Message-ID"] = f"<{message.key.replace(':', '.')}@kanyan>"
        mail.set_content(message.body.get("text", ""))
        try:
            answer = await aiosmtplib.send(
                mail,
                hostname=s.host,
                port=s.port,
                username=s.username or None,
                password=s.password or None,
                use_tls=s.security == "tls",
                start_tls=s.security == "starttls",
                timeout=s.timeout_s,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome(False, error=f"{exc.__class__.__name__}: {exc}"[:300])
        return Outcome(True, answer=str(answer)[:300])


class Sms:
    """The bureau's SMS gateway over HTTP: the body filled from a template."""

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def body(self, phone: str, text: str) -> str:
        def fill(value: str) -> str:
            if "json" in self.settings.content_type:
                return json.dumps(value, ensure_ascii=False)[1:-1]
            if "x-www-form-urlencoded" in self.settings.content_type:
                return quote(value, safe="")
            return value

        return self.settings.body.replace("{phone}", fill(phone)).replace("{text}", fill(text))

    async def send(self, message: Message) -> Outcome:
        s = self.settings
        headers = {"Content-Type": s.content_type}
        for header in s.headers:
            name, _, value = header.partition(":")
            headers[name.strip()] = value.strip()
        data = self.body(message.target, message.body.get("text", "")).encode()
        try:
            timeout = aiohttp.ClientTimeout(total=s.timeout_s)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(s.url, data=data, headers=headers) as response:
                    answer = (await response.text())[:500]
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Outcome(False, error=f"{exc.__class__.__name__}: {exc}"[:300])
        ok = response.status == s.success_status and s.success_contains in answer
        return Outcome(ok, response.status, answer)


def backoff(attempts: int, first_s: int, max_s: int) -> float:
    """Exponential with full jitter: between half and all of first × 2^(attempts−1), capped."""
    ceiling = min(max_s, first_s * 2 ** max(0, attempts - 1))
    return ceiling * random.uniform(0.5, 1.0)


class Delivery:
    def __init__(
        self, archive: ArchiveStore, settings: NoticeSettings, channels: dict[str, Channel]
    ) -> None:
        self.archive = archive
        self.settings = settings
        self.channels = channels
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except Exception:
                log.exception("delivering notices failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_S)
            except TimeoutError:
                pass

    async def round(self) -> int:
        """Try every message due now; how many were tried."""
        tried = 0
        for message in await self.archive.outbox.due(clock.now_iso()):
            lease = clock.iso(
                clock.now() + timedelta(seconds=self.settings.webhook_timeout_s * 2 + 30)
            )
            if not await self.archive.outbox.claim(message.id, lease):
                continue
            tried += 1
            try:
                await self._try(message)
            except asyncio.CancelledError:
                # The server is stopping mid-send, or while it records the answer: unless the
                # answer was recorded, the message is due again at once (for the next start,
                # or another node) instead of waiting out its lease. A crash still waits.
                await asyncio.shield(
                    self.archive.outbox.release(message.id, "interrupted: the server stopped")
                )
                raise
        return tried

    async def _try(self, message: Message) -> None:
        channel = self.channels.get(message.channel)
        outcome = (
            await channel.send(message)
            if channel is not None
            else Outcome(False, error=f"no {message.channel} channel configured")
        )
        if outcome.ok:
            await self.archive.outbox.sent(message.id, outcome.status, outcome.answer)
            return
        error = outcome.error or f"HTTP {outcome.status}: {outcome.answer[:200]}"
        attempts = message.attempts + 1
        give_up = clock.parse(message.first_due_at) + timedelta(hours=self.settings.give_up_hours)
        wait = backoff(attempts, self.settings.retry_first_s, self.settings.retry_max_s)
        retry_at = clock.now() + timedelta(seconds=wait)
        if retry_at > give_up:
            log.warning("giving up message %s (%s): %s", message.id, message.topic, error)
            await self.archive.outbox.failed(message.id, error, outcome.status)
        else:
            await self.archive.outbox.retry(message.id, error, outcome.status, clock.iso(retry_at))

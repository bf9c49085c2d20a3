"""The outbox: every message to a webhook receiver or a person, written in the transaction of the
change that causes it (so a change that rolls back never sends anything), then delivered by
server.notices.delivery with retries until it is sent or given up.

Each row's `key` is its idempotency key: enqueueing the same key twice keeps one row, and the
receiver sees it as `X-Kanyan-Delivery`, so a retry after an answer that was lost is recognised.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound, UserError
from .db import Database, Row, Tx, bookkeeping, writer
from .inspections import Inspection
from .invitees import Invitee

PENDING, SENDING, RETRYING, SENT, FAILED, CANCELLED = (
    "pending",
    "sending",
    "retrying",
    "sent",
    "failed",
    "cancelled",
)


@dataclass(frozen=True)
class Message:
    id: int
    key: str
    channel: str  # webhook | email | sms
    receiver: str  # the webhook's name, or the person's name
    target: str  # URL, address or phone number
    topic: str  # e.g. case.concluded, invitation, reminder
    case_id: int | None
    inspection_id: int | None
    invitee_id: int | None  # the person a message is for; None for a webhook
    body: dict[str, Any]
    state: str
    attempts: int
    due_at: str
    first_due_at: str  # when it was first due: retries are given up counting from here
    created_at: str
    sent_at: str | None
    last_error: str
    last_status: int | None
    last_answer: str

    @classmethod
    def from_row(cls, row: Row) -> Message:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["body"] = json.loads(row["body"])
        return cls(**values)


@dataclass(frozen=True)
class Webhook:
    id: int
    name: str
    url: str
    secret: str
    topics: tuple[str, ...]
    created_by: str
    created_at: str
    disabled_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> Webhook:
        values = {name: row[name] for name in cls.__dataclass_fields__}
        values["topics"] = tuple(json.loads(row["topics"]))
        return cls(**values)


async def enqueue(
    tx: Tx,
    *,
    key: str,
    channel: str,
    receiver: str,
    target: str,
    topic: str,
    body: dict[str, Any],
    case_id: int | None = None,
    inspection_id: int | None = None,
    invitee_id: int | None = None,
    due_at: str | None = None,
) -> None:
    """A message to send, inside the transaction of the change that causes it."""
    now = clock.now_iso()
    await tx.execute(
        """INSERT INTO outbox (key, channel, receiver, target, topic, case_id, inspection_id,
               invitee_id, body, state, due_at, first_due_at, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (key) DO NOTHING""",
        (
            key,
            channel,
            receiver,
            target,
            topic,
            case_id,
            inspection_id,
            invitee_id,
            json.dumps(body, ensure_ascii=False, sort_keys=True),
            PENDING,
            due_at or now,
            due_at or now,
            now,
        ),
    )


async def cancel_waiting(tx: Tx, inspection_id: int, topics: tuple[str, ...]) -> int:
    """Messages of an inspection not sent yet (reminders of a time that changed)."""
    marks = ", ".join("?" for _ in topics)
    return await tx.execute(
        f"""UPDATE outbox SET state = ?, last_error = 'superseded'
            WHERE inspection_id = ? AND topic IN ({marks}) AND state IN (?, ?)""",
        (CANCELLED, inspection_id, *topics, PENDING, RETRYING),
    )


async def cancel_for_invitee(tx: Tx, invitee_id: int, topics: tuple[str, ...]) -> int:
    """Messages to one person not sent yet (their reminder, when they opted out or left)."""
    marks = ", ".join("?" for _ in topics)
    return await tx.execute(
        f"""UPDATE outbox SET state = ?, last_error = 'superseded'
            WHERE invitee_id = ? AND topic IN ({marks}) AND state IN (?, ?)""",
        (CANCELLED, invitee_id, *topics, PENDING, RETRYING),
    )


async def webhooks_for(tx: Tx, topic: str) -> list[Webhook]:
    rows = await tx.all("SELECT * FROM webhooks WHERE disabled_at IS NULL ORDER BY id")
    return [w for w in (Webhook.from_row(r) for r in rows) if topic in w.topics]


# -- what the notice rules read, inside the transaction of the change --------------------------


async def case_row(tx: Tx, case_id: int | None) -> Row:
    return await tx.row("SELECT * FROM cases WHERE id = ?", (case_id,))


async def inspection_of(tx: Tx, inspection_id: int | None) -> tuple[Inspection, Row]:
    """The inspection and its case's row, as the change left them."""
    row = await tx.row("SELECT * FROM inspections WHERE id = ?", (inspection_id,))
    return Inspection.from_row(row), await case_row(tx, row["case_id"])


async def invitee_of(tx: Tx, invitee_id: int) -> Invitee:
    return Invitee.from_row(await tx.row("SELECT * FROM invitees WHERE id = ?", (invitee_id,)))


async def live_invitees(tx: Tx, inspection_id: int) -> list[Invitee]:
    """The inspection's group, without those whose link was revoked."""
    rows = await tx.all(
        "SELECT * FROM invitees WHERE inspection_id = ? AND revoked_at IS NULL ORDER BY id",
        (inspection_id,),
    )
    return [Invitee.from_row(row) for row in rows]


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def get(self, message_id: int) -> Message:
        row = await self._db.one("SELECT * FROM outbox WHERE id = ?", (message_id,))
        if row is None:
            raise NotFound(f"消息不存在 / no message {message_id}")
        return Message.from_row(row)

    async def of_case(self, case_id: int) -> list[Message]:
        rows = await self._db.all("SELECT * FROM outbox WHERE case_id = ? ORDER BY id", (case_id,))
        return [Message.from_row(row) for row in rows]

    async def troubled(self, limit: int = 100) -> list[Message]:
        """Messages given up or still being retried, the newest first: the administrator's list."""
        rows = await self._db.all(
            "SELECT * FROM outbox WHERE state IN (?, ?) ORDER BY id DESC LIMIT ?",
            (FAILED, RETRYING, limit),
        )
        return [Message.from_row(row) for row in rows]

    async def by_key(self, key: str) -> Message | None:
        row = await self._db.one("SELECT * FROM outbox WHERE key = ?", (key,))
        return Message.from_row(row) if row else None

    async def due(self, now: str, limit: int = 20) -> list[Message]:
        """Messages to try now (a `sending` one whose lease ran out was interrupted)."""
        rows = await self._db.all(
            "SELECT * FROM outbox WHERE state IN (?, ?, ?) AND due_at <= ? ORDER BY due_at, id "
            "LIMIT ?",
            (PENDING, RETRYING, SENDING, now, limit),
        )
        return [Message.from_row(row) for row in rows]

    async def depth(self) -> dict[str, int]:
        """How many messages wait or failed: the dashboard's and /metrics' backlog."""
        rows = await self._db.all(
            "SELECT state, COUNT(*) FROM outbox WHERE state IN (?, ?, ?, ?) GROUP BY state",
            (PENDING, SENDING, RETRYING, FAILED),
        )
        return {row[0]: row[1] for row in rows}

    async def next_due(self) -> str | None:
        return await self._db.value(
            "SELECT MIN(due_at) FROM outbox WHERE state IN (?, ?, ?)", (PENDING, RETRYING, SENDING)
        )

    @bookkeeping
    async def claim(self, message_id: int, lease_until: str) -> bool:
        """Take a message to send it; False when another worker has it."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE outbox SET state = ?, due_at = ?, attempts = attempts + 1 "
                "WHERE id = ? AND state IN (?, ?, ?) AND due_at <= ?",
                (SENDING, lease_until, message_id, PENDING, RETRYING, SENDING, clock.now_iso()),
            )
        return changed == 1

    @bookkeeping
    async def release(self, message_id: int, error: str) -> None:
        """A send cut short (the server stopping): due again now, unless it was settled."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = ?, due_at = ?, last_error = ? "
                "WHERE id = ? AND state = ?",
                (RETRYING, clock.now_iso(), error[:500], message_id, SENDING),
            )

    @bookkeeping
    async def retry(self, message_id: int, error: str, status: int | None, due_at: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE outbox SET state = ?, due_at = ?, last_error = ?, last_status = ? "
                "WHERE id = ?",
                (RETRYING, due_at, error[:500], status, message_id),
            )

    @writer
    async def sent(self, message_id: int, status: int | None, answer: str) -> None:
        async with self._db.transaction() as tx:
            row = await tx.row("SELECT * FROM outbox WHERE id = ?", (message_id,))
            await tx.execute(
                "UPDATE outbox SET state = ?, sent_at = ?, last_status = ?, last_answer = ?, "
                "last_error = '' WHERE id = ?",
                (SENT, clock.now_iso(), status, answer[:500], message_id),
            )
            await tx.event(
                "notice.sent",
                actor="system:outbox",
                case_id=row["case_id"],
                inspection_id=row["inspection_id"],
                data=_summary(row, status=status, attempts=row["attempts"]),
            )

    @writer
    async def failed(self, message_id: int, error: str, status: int | None) -> None:
        """Given up after the configured time: staff see it and may send it again."""
        async with self._db.transaction() as tx:
            row = await tx.row("SELECT * FROM outbox WHERE id = ?", (message_id,))
            await tx.execute(
                "UPDATE outbox SET state = ?, last_error = ?, last_status = ? WHERE id = ?",
                (FAILED, error[:500], status, message_id),
            )
            await tx.event(
                "notice.failed",
                actor="system:outbox",
                case_id=row["case_id"],
                inspection_id=row["inspection_id"],
                data=_summary(row, status=status, error=error[:200], attempts=row["attempts"]),
            )

    @writer
    async def resend(self, message_id: int, *, actor: str) -> None:
        """A member of staff sends a message again, by hand (same key: receivers recognise it)."""
        async with self._db.transaction() as tx:
            row = await tx.one("SELECT * FROM outbox WHERE id = ?", (message_id,))
            if row is None:
                raise NotFound(f"消息不存在 / no message {message_id}")
            if row["state"] in (PENDING, SENDING, RETRYING):
                raise UserError("该消息正在发送中 / this message is being sent already")
            now = clock.now_iso()
            await tx.execute(
                "UPDATE outbox SET state = ?, due_at = ?, first_due_at = ? WHERE id = ?",
                (PENDING, now, now, message_id),
            )
            await tx.event(
                "notice.resent",
                actor=actor,
                case_id=row["case_id"],
                inspection_id=row["inspection_id"],
                data=_summary(row),
            )

    # -- webhook receivers -----------------------------------------------------------------------

    async def webhooks(self) -> list[Webhook]:
        rows = await self._db.all("SELECT * FROM webhooks ORDER BY id")
        return [Webhook.from_row(row) for row in rows]

    @writer
    async def add_webhook(
        self, name: str, url: str, secret: str, topics: list[str], *, actor: str
    ) -> Webhook:
        async with self._db.transaction() as tx:
            if await tx.one("SELECT 1 FROM webhooks WHERE name = ?", (name,)):
                raise UserError(f"接收方 {name} 已存在 / receiver {name} exists")
            webhook_id = await tx.insert(
                """INSERT INTO webhooks (name, url, secret, topics, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (name, url, secret, json.dumps(sorted(topics)), actor, clock.now_iso()),
            )
            await tx.event(
                "webhook.added",
                actor=actor,
                data={"webhook": webhook_id, "name": name, "url": url, "topics": sorted(topics)},
            )
            row = await tx.row("SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
        return Webhook.from_row(row)

    @writer
    async def disable_webhook(self, webhook_id: int, *, actor: str) -> None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE webhooks SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL",
                (clock.now_iso(), webhook_id),
            )
            if changed != 1:
                raise NotFound(f"接收方不存在或已停用 / no active receiver {webhook_id}")
            await tx.event("webhook.disabled", actor=actor, data={"webhook": webhook_id})


def _summary(row: Row, **more: Any) -> dict[str, Any]:
    """A message as the log records it: never its body, which may hold a personal link."""
    target = row["target"]
    if row["channel"] == "sms" and len(target) > 7:
        target = target[:3] + "****" + target[-4:]
    return {
        "message": row["id"],
        "key": row["key"],
        "channel": row["channel"],
        "receiver": row["receiver"],
        "target": target if row["channel"] != "webhook" else row["receiver"],
        "topic": row["topic"],
        **more,
    }

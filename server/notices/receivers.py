"""Webhook receivers as the administrator adds them (the staff page and `python -m server
webhook add` share these checks): a name, an http(s) URL, the topics, and a signing secret
made here and shown once."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from ..archive import ArchiveStore
from ..archive.outbox import Webhook
from ..errors import BadRequest
from .rules import TOPICS

NAME = re.compile(r"[\w.\-]{2,60}")


def check_receiver(name: str, url: str, topics: list[str]) -> dict[str, str]:
    """Problems with a receiver, keyed by field."""
    errors: dict[str, str] = {}
    if not NAME.fullmatch(name):
        errors["name"] = "2–60 个字母、数字、点或连字符 / 2–60 letters, digits, dots or hyphens"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        errors["url"] = "应为 http(s):// 开头的完整地址 / a full http(s):// address"
    unknown = sorted(set(topics) - set(TOPICS.values()))
    if unknown or not topics:
        errors["topics"] = "应从以下选择 / choose from: " + ", ".join(TOPICS.values())
    return errors


async def add_receiver(
    archive: ArchiveStore, name: str, url: str, topics: list[str], *, actor: str
) -> tuple[Webhook, str]:
    """The new receiver and its signing secret (stored for signing; shown to the admin once)."""
    name, url = name.strip(), url.strip()
    topics = sorted({t.strip() for t in topics if t.strip()})
    errors = check_receiver(name, url, topics)
    if errors:
        raise BadRequest(
            "接收方信息有误 / invalid receiver: "
            + "; ".join(f"{k}: {v}" for k, v in errors.items()),
            code="invalid",
            details=errors,
        )
    secret = secrets.token_urlsafe(32)
    return await archive.outbox.add_webhook(name, url, secret, topics, actor=actor), secret

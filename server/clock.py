"""Server time. Stored as UTC ISO-8601 with milliseconds; shown in Asia/Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """The stored form: 2026-11-26T23:27:41.123Z."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(now())


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def shanghai(value: datetime | str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A stored or aware time as Beijing time text, e.g. for pages and burned-in headers."""
    if isinstance(value, str):
        value = parse(value)
    return value.astimezone(SHANGHAI).strftime(fmt)

"""The server's log: where it goes, and that no credential ever reaches it.

Room links, status links, API keys and session cookies are credentials: whoever reads them can
join an inspection, read a case's status or register cases. They travel in URL paths and
headers, so any line that quotes a request (the access log, an error on a path) would carry
them. Every line is redacted on its way to the log handlers, whoever logged it: the secret part
becomes `***`, the rest (which inspection, which case) stays for whoever reads the log.
"""

from __future__ import annotations

import logging
import re
import sys

REDACTED = "***"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # /room/<inspection>/<token> and /s/<token>: the token is the last dot-separated part's
    # signature; keep the readable head (ids, role), drop everything that could open the room.
    (re.compile(r"(/room/[^/\s\"'?#]*/)([^/\s\"'?#]+)"), "room"),
    (re.compile(r"(/s/)([^/\s\"'?#]+)"), "status"),
    # A token quoted outside a path (a WebSocket hello, a message): the signed body shapes.
    (re.compile(r"()\b(v1\.\d+\.\d+\.[a-z]+\.\d+\.\d+\.[A-Za-z0-9_-]+)"), "room"),
    (re.compile(r"()\b(c\d+\.\d+\.[A-Za-z0-9_-]{16,})"), "status"),
]
_SECRETS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\bkyk_[A-Za-z0-9_-]+"), "kyk_" + REDACTED),  # API keys (server.staff.api_keys)
    (re.compile(r"(?i)\b(bearer\s+)[^\s\"',;]+"), r"\g<1>" + REDACTED),
    (re.compile(r"\b(kanyan_(?:session|csrf)=)[^\s\"';,]+"), r"\g<1>" + REDACTED),
]


def _mask(token: str) -> str:
    head, dot, _ = token.rpartition(".")
    return f"{head}.{REDACTED}" if dot and head else REDACTED


def redact(text: str) -> str:
    """`text` with every link token, API key and session cookie replaced by `***`."""
    if not text:
        return text
    for pattern, _ in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + _mask(m.group(2)), text)
    for secret, replacement in _SECRETS:
        text = secret.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and its traceback) with `redact` before any handler
    formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def setup_logging() -> None:
    """Log to stderr, every line redacted (the handlers carry the filter, so records from every
    logger, aiohttp's access log included, pass through it)."""
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
    logging.getLogger("aioice").setLevel(logging.WARNING)
    logging.getLogger("aiortc").setLevel(logging.WARNING)

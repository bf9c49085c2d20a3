"""Personal links and TURN credentials.

A room link carries a token signed with HMAC-SHA256 over the inspection, the invitee, the role,
the expiry and the invitee's link generation:

    v1.<inspection>.<invitee>.<role>.<expiry unix s>.<generation>.<signature>

The signature makes it unforgeable; the generation lets a reschedule revoke every earlier link
at once; revocation of one person (removed from the room) is a flag on the invitee. Parsing only
checks the signature and expiry; `server.links` adds the checks that need the archive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import LinkError

TOKEN_VERSION = "v1"
ROLES = ("host", "clerk", "expert", "observer", "applicant")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load_or_create_secret(configured: str, path: Path) -> bytes:
    """The configured secret, or one generated once and kept (0600) in the data directory."""
    if configured:
        return configured.encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32).encode()
    # O_EXCL: two servers starting at once must not end up with different secrets.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as f:
        f.write(value)
    return value


@dataclass(frozen=True)
class LinkClaims:
    inspection_id: int
    invitee_id: int
    role: str
    expires: int
    generation: int


class LinkSigner:
    """Issues and checks room-link tokens."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())

    def issue(
        self, inspection_id: int, invitee_id: int, role: str, expires: int, generation: int
    ) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        body = f"{TOKEN_VERSION}.{inspection_id}.{invitee_id}.{role}.{expires}.{generation}"
        return f"{body}.{self._sign(body)}"

    def parse(self, token: str, now: float | None = None) -> LinkClaims:
        """Check form, signature and expiry. Raises LinkError saying which failed."""
        parts = token.split(".") if isinstance(token, str) else []
        if len(parts) != 7 or parts[0] != TOKEN_VERSION or len(token) > 256:
            raise malformed()
        body, signature = ".".join(parts[:6]), parts[6]
        if not hmac.compare_digest(self._sign(body), signature):
            raise LinkError(
                "链接无效：签名不符，可能被篡改。请向勘验主持人索取新链接。"
                " / This link is not genuine (bad signature). Ask the inspection host for a new"
                " one.",
                code="forged",
                status=403,
                close_code=4001,
            )
        try:
            inspection_id, invitee_id = int(parts[1]), int(parts[2])
            role, expires, generation = parts[3], int(parts[4]), int(parts[5])
        except ValueError:
            raise malformed() from None
        if role not in ROLES:
            raise malformed()
        if (now if now is not None else time.time()) >= expires:
            raise expired()
        return LinkClaims(inspection_id, invitee_id, role, expires, generation)


def malformed() -> LinkError:
    return LinkError(
        "链接格式不正确，请检查是否完整复制。 / This link is incomplete or malformed; "
        "check that it was copied whole.",
        code="malformed",
        status=400,
        close_code=4000,
    )


def expired() -> LinkError:
    return LinkError(
        "链接已过期。请向勘验主持人索取新链接。 / This link has expired. Ask the inspection host "
        "for a new one.",
        code="expired",
        status=410,
        close_code=4002,
    )


def turn_credentials(
    secret: str, user: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """coturn's REST scheme (use-auth-secret): username "<expiry>:<user>", password
    base64(HMAC-SHA1(secret, username))."""
    expiry = int(now if now is not None else time.time()) + ttl_s
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()

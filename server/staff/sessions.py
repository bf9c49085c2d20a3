"""Staff sessions in signed cookies, and the CSRF tokens of staff forms.

The session cookie carries the account, its session generation (moved by a password change or
a disabled account, which ends every session at once), the expiry and a random nonce, signed
with HMAC-SHA256:

    s1.<account id>.<generation>.<expires unix s>.<nonce>.<signature>

A form's CSRF token is an HMAC of a second random cookie (signed double submit): a page on
another site can make the browser send the cookie but can neither read it nor forge the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "kanyan_session"
CSRF_COOKIE = "kanyan_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@dataclass(frozen=True)
class SessionClaims:
    account_id: int
    generation: int
    expires: int


class SessionSigner:
    def __init__(self, secret: bytes, lifetime_s: int) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s

    def _sign(self, purpose: str, body: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}:{body}".encode(), hashlib.sha256)
        return _b64(mac.digest())

    def issue(self, account_id: int, generation: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.lifetime_s)
        body = f"s1.{account_id}.{generation}.{expires}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._sign('session', body)}"

    def parse(self, cookie: str | None, now: float | None = None) -> SessionClaims | None:
        """The claims of a genuine, unexpired cookie; None for anything else."""
        if not cookie or len(cookie) > 256:
            return None
        parts = cookie.split(".")
        if len(parts) != 6 or parts[0] != "s1":
            return None
        body = ".".join(parts[:5])
        if not hmac.compare_digest(self._sign("session", body), parts[5]):
            return None
        try:
            claims = SessionClaims(int(parts[1]), int(parts[2]), int(parts[3]))
        except ValueError:
            return None
        if (now if now is not None else time.time()) >= claims.expires:
            return None
        return claims

    @staticmethod
    def new_csrf_cookie() -> str:
        return secrets.token_urlsafe(18)

    def csrf_token(self, csrf_cookie: str) -> str:
        return self._sign("csrf", csrf_cookie)

    def csrf_ok(self, csrf_cookie: str | None, token: str | None) -> bool:
        if not csrf_cookie or not token:
            return False
        return hmac.compare_digest(self.csrf_token(csrf_cookie), token)

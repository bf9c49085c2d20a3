"""Staff sessions: signed cookies naming sessions the archive holds, and the CSRF tokens of
staff forms.

The session cookie carries the account, its session generation (moved by a password change or
a disabled account), the expiry and a random nonce, signed with HMAC-SHA256:

    s1.<account id>.<generation>.<expires unix s>.<nonce>.<signature>

A genuine cookie is not enough: the archive must hold the session it names (by the SHA-256 of
the nonce) and that session must not have ended. A logout ends it, a password change or a
disabled account ends every session of the account: a copied cookie stops working at once.

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
from datetime import UTC, datetime

from ..archive import ArchiveStore, StaffAccount
from ..clock import iso
from ..errors import NotFound

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
    nonce: str

    @property
    def session_id(self) -> str:
        """How the archive names the session (the nonce itself is never stored)."""
        return hashlib.sha256(self.nonce.encode()).hexdigest()


class SessionSigner:
    def __init__(self, secret: bytes, lifetime_s: int) -> None:
        self._secret = secret
        self.lifetime_s = lifetime_s

    def _sign(self, purpose: str, body: str) -> str:
        mac = hmac.new(self._secret, f"{purpose}:{body}".encode(), hashlib.sha256)
        return _b64(mac.digest())

    def issue(self, account_id: int, generation: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self.lifetime_s)
        body = f"s1.{account_id}.{generation}.{expires}.{secrets.token_urlsafe(18)}"
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
            claims = SessionClaims(int(parts[1]), int(parts[2]), int(parts[3]), parts[4])
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


class Sessions:
    """Staff sessions over the archive: open one at login, find the account of a cookie, end
    one at logout."""

    def __init__(self, signer: SessionSigner, archive: ArchiveStore) -> None:
        self.signer = signer
        self.archive = archive

    async def open(
        self, account: StaffAccount, *, address: str, agent: str, event: str = "staff.login"
    ) -> str:
        """A new session for `account`; the cookie that names it."""
        cookie = self.signer.issue(account.id, account.session_gen)
        claims = self.signer.parse(cookie)
        assert claims is not None  # just issued
        expires = datetime.fromtimestamp(claims.expires, UTC)
        await self.archive.staff.open_session(
            account.id, claims.session_id, iso(expires), address=address, agent=agent, event=event
        )
        return cookie

    async def account_of(self, cookie: str | None) -> StaffAccount | None:
        """The account of a genuine cookie whose session still lasts; None for anything else."""
        claims = self.signer.parse(cookie)
        if claims is None:
            return None
        session = await self.archive.staff.session(claims.session_id)
        if session is None or session.staff_id != claims.account_id:
            return None
        try:
            account = await self.archive.staff.get(claims.account_id)
        except NotFound:
            return None
        if account.session_gen != claims.generation or account.disabled_at is not None:
            return None
        return account

    async def end(self, cookie: str | None, *, actor: str) -> bool:
        """End the session a cookie names (a logout); False when there was none to end."""
        claims = self.signer.parse(cookie)
        if claims is None:
            return False
        return await self.archive.staff.end_session(claims.session_id, actor=actor)

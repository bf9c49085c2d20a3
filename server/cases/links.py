"""Personal room links: the signed token, issuing links, and checking one against the archive.

A room link carries a token signed with HMAC-SHA256 over the inspection, the invitee, the role,
the expiry and the invitee's link generation:

    v1.<inspection>.<invitee>.<role>.<expiry unix s>.<generation>.<signature>

The signature makes it unforgeable; the generation lets a reschedule revoke every earlier link
at once; revocation of one person (removed from the room) is a flag on the invitee.
`LinkSigner.parse` only checks the signature and expiry; `Links.authorise` adds the checks that
need the archive. `Links.recheck` repeats, for someone already in the room, the checks whose
answer can change meanwhile (revocation, a move, a cancellation, the end).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import timedelta

from .. import clock
from ..archive import ArchiveStore, Case, Inspection, Invitee
from ..config import Settings
from ..errors import CloseCode, LinkError, NotFound
from ..states import InspectionState

TOKEN_VERSION = "v1"
ROLES = ("host", "clerk", "expert", "observer", "applicant")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


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

    def parse(
        self, token: str, now: float | None = None, *, check_expiry: bool = True
    ) -> LinkClaims:
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
                close_code=CloseCode.FORGED,
            )
        try:
            inspection_id, invitee_id = int(parts[1]), int(parts[2])
            role, expires, generation = parts[3], int(parts[4]), int(parts[5])
        except ValueError:
            raise malformed() from None
        if role not in ROLES:
            raise malformed()
        if check_expiry and (now if now is not None else time.time()) >= expires:
            raise expired()
        return LinkClaims(inspection_id, invitee_id, role, expires, generation)


def malformed() -> LinkError:
    return LinkError(
        "链接格式不正确，请检查是否完整复制。 / This link is incomplete or malformed; "
        "check that it was copied whole.",
        code="malformed",
        status=400,
        close_code=CloseCode.MALFORMED_LINK,
    )


def expired() -> LinkError:
    return LinkError(
        "链接已过期。请向勘验主持人索取新链接。 / This link has expired. Ask the inspection host "
        "for a new one.",
        code="expired",
        status=410,
        close_code=CloseCode.EXPIRED,
    )


@dataclass(frozen=True)
class LinkGrant:
    """What a valid link lets its holder into."""

    invitee: Invitee
    inspection: Inspection
    case: Case


class Links:
    def __init__(self, settings: Settings, archive: ArchiveStore, signer: LinkSigner) -> None:
        self._settings = settings
        self._archive = archive
        self._signer = signer

    def base_url(self) -> str:
        return self._settings.server.public_url.rstrip("/")

    def expiry(self, inspection: Inspection) -> int:
        scheduled = clock.parse(inspection.scheduled_at)
        hours = self._settings.security.link_lifetime_hours
        return int((scheduled + timedelta(hours=hours)).timestamp())

    def token(self, invitee: Invitee, inspection: Inspection) -> str:
        return self._signer.issue(
            inspection.id, invitee.id, invitee.role, self.expiry(inspection), invitee.link_gen
        )

    def room_path(self, invitee: Invitee, inspection: Inspection) -> str:
        return f"/room/{inspection.id}/{self.token(invitee, inspection)}"

    def room_url(self, invitee: Invitee, inspection: Inspection) -> str:
        return self.base_url() + self.room_path(invitee, inspection)

    async def authorise(self, token: str, inspection_id: int | None = None) -> LinkGrant:
        """Check a room link fully: signature, expiry, inspection, revocation, session state."""
        claims = self._signer.parse(token)
        invitee, inspection = await self._standing(claims, inspection_id)
        opens = clock.parse(inspection.scheduled_at) - timedelta(
            minutes=self._settings.security.link_lead_minutes
        )
        if clock.now() < opens:
            opens_text = clock.shanghai(opens, "%Y-%m-%d %H:%M")
            raise LinkError(
                f"勘验尚未开始。链接将于 {opens_text}（北京时间）开放。 "
                f"/ This link opens at {opens_text} Beijing time.",
                code="not_yet",
                status=403,
                close_code=CloseCode.REVOKED,
            )
        case = await self._archive.cases.get(inspection.case_id)
        return LinkGrant(invitee, inspection, case)

    async def recheck(self, token: str, inspection_id: int) -> None:
        """Check again the link of someone already in the room: it may have been revoked, the
        inspection moved, cancelled or ended since they came in. Expiry and the opening time
        were checked when they came in (a session may run past the link's expiry)."""
        await self._standing(self._signer.parse(token, check_expiry=False), inspection_id)

    async def _standing(
        self, claims: LinkClaims, inspection_id: int | None
    ) -> tuple[Invitee, Inspection]:
        """The checks that need the archive and can change while a link is in use."""
        if inspection_id is not None and claims.inspection_id != inspection_id:
            raise LinkError(
                "此链接属于另一场勘验。请使用本场勘验发给您的链接。 / This link belongs to another "
                "inspection; use the link you were sent for this one.",
                code="wrong_inspection",
                status=403,
                close_code=CloseCode.WRONG_INSPECTION,
            )
        try:
            invitee = await self._archive.inspections.invitee(claims.invitee_id)
            inspection = await self._archive.inspections.get(claims.inspection_id)
        except NotFound:
            raise revoked("此链接对应的参与人已不存在", "its person no longer exists") from None
        if invitee.inspection_id != inspection.id or invitee.role != claims.role:
            raise revoked("此链接与参与人记录不符", "it does not match the invitation")
        if invitee.revoked_at is not None:
            raise revoked("您的链接已被主持人撤销", "your invitation was withdrawn", why="revoked")
        if invitee.link_gen != claims.generation:
            raise revoked(
                "勘验已改期，此前发出的链接已失效", "the inspection was moved", why="rescheduled"
            )
        if inspection.state == InspectionState.CANCELLED:
            raise revoked("本场勘验已取消", "the inspection was cancelled", why="cancelled")
        if inspection.state in (InspectionState.ENDED, InspectionState.CONCLUDED):
            raise LinkError(
                "本场勘验已结束，链接已失效。 / This inspection has ended; its links no longer "
                "open the room.",
                code="ended",
                status=410,
                close_code=CloseCode.ENDED,
            )
        return invitee, inspection


def revoked(why_zh: str, why_en: str, *, why: str = "invalid") -> LinkError:
    """`why` (the error's details): revoked (this person's link), rescheduled, cancelled, or
    invalid (the link does not match the archive)."""
    error = LinkError(
        f"{why_zh}。请向勘验主持人索取新链接。 / This link no longer works: {why_en}. Ask the "
        "inspection host for a new one.",
        code="revoked",
        status=403,
        close_code=CloseCode.REVOKED,
    )
    error.details = {"why": why}
    return error

"""The applicant's status-page link: one per case, valid until the case is closed.

It shows the case's state (and, once concluded, the conclusion) and never opens a room or the
archive. The token is short, for an SMS or a QR code, and signed with the link secret under its
own purpose, so a status token can never pass as a room token or the other way round:

    c<case id>.<generation>.<signature, 128 bits>
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from ..archive import ArchiveStore, Case
from ..errors import CloseCode, LinkError
from ..states import FINISHED

TOKEN = re.compile(r"c(\d{1,12})\.(\d{1,6})\.([A-Za-z0-9_-]{22})")
CLOSED_STATES = FINISHED


class StatusLinks:
    def __init__(self, secret: bytes, archive: ArchiveStore, base_url: str = "") -> None:
        self._secret = secret
        self._archive = archive
        self.base_url = base_url

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._secret, f"status:{body}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:16]).rstrip(b"=").decode()

    def token(self, case_id: int, generation: int) -> str:
        body = f"c{case_id}.{generation}"
        return f"{body}.{self._sign(body)}"

    async def path(self, case: Case) -> str:
        return f"/s/{self.token(case.id, await self._archive.cases.status_gen(case.id))}"

    async def url(self, case: Case, base_url: str) -> str:
        return base_url.rstrip("/") + await self.path(case)

    async def authorise(self, token: str) -> Case:
        match = TOKEN.fullmatch(token)
        if not match:
            raise LinkError(
                "链接格式不正确，请检查是否完整复制。 / This link is incomplete or malformed.",
                code="malformed",
                status=400,
                close_code=CloseCode.MALFORMED_LINK,
            )
        body = f"c{match.group(1)}.{match.group(2)}"
        if not hmac.compare_digest(self._sign(body), match.group(3)):
            raise LinkError(
                "链接无效：签名不符。 / This link is not genuine.",
                code="forged",
                status=403,
                close_code=CloseCode.FORGED,
            )
        case_id, generation = int(match.group(1)), int(match.group(2))
        case = await self._archive.cases.get(case_id)
        if generation != await self._archive.cases.status_gen(case_id):
            raise LinkError(
                "此查询链接已更换，请使用审批窗口最新发给您的链接。 / This status link was "
                "replaced; use the newest link the approval desk sent you.",
                code="revoked",
                status=403,
                close_code=CloseCode.REVOKED,
            )
        if case.state in CLOSED_STATES or await self._archive.cases.closed_at(case_id):
            raise LinkError(
                "本案件已办结，查询链接已失效。 / This case is closed; its status link no longer "
                "works.",
                code="closed",
                status=410,
                close_code=CloseCode.ENDED,
            )
        return case

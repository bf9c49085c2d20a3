"""Keys for the platform API. A key is random and high-entropy, shown once; the archive keeps
only its SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from ..archive import ApiKey, ArchiveStore
from ..errors import BadRequest, NotAuthenticated

API_KEY_PREFIX = "kyk_"


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeys:
    """Keys for the intake API. The key is shown once; the archive keeps its SHA-256."""

    def __init__(self, archive: ArchiveStore) -> None:
        self.archive = archive

    async def create(self, name: str, *, actor: str) -> tuple[ApiKey, str]:
        name = name.strip()
        if not name or len(name) > 64:
            raise BadRequest(
                "名称必填，最多 64 个字符 / a name of 1–64 characters is required",
                code="invalid",
                details={"name": "必填 / required"},
            )
        key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        record = await self.archive.staff.create_key(
            name, key_digest(key), key[: len(API_KEY_PREFIX) + 6], actor=actor
        )
        return record, key

    async def authenticate(self, authorization: str | None) -> ApiKey:
        """The key named by an `Authorization: Bearer <key>` header, or NotAuthenticated."""
        if not authorization:
            raise NotAuthenticated(
                "缺少 API 密钥：请在 Authorization 头中提供 Bearer 密钥 / missing API key: send "
                "'Authorization: Bearer <key>'",
                code="missing_key",
            )
        scheme, _, key = authorization.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise NotAuthenticated(
                "Authorization 头格式应为 'Bearer <密钥>' / the Authorization header must be "
                "'Bearer <key>'",
                code="missing_key",
            )
        record = await self.archive.staff.find_key(key_digest(key)) if len(key) < 200 else None
        if record is None:
            raise NotAuthenticated("API 密钥无效 / unknown API key", code="bad_key")
        if record.revoked_at is not None:
            raise NotAuthenticated(
                "API 密钥已被撤销 / this API key was revoked", code="revoked_key"
            )
        await self.archive.staff.touch_key(record.id)
        return record

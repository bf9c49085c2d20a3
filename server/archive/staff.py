"""Staff accounts and the platform's API keys."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .. import clock
from ..errors import NotFound, UserError
from .db import Database, Row, Tx, bookkeeping, writer


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    display_name: str
    role: str  # admin | inspector | clerk | archivist
    password_hash: str
    must_change_password: bool
    session_gen: int
    disabled_at: str | None
    created_at: str
    password_changed_at: str | None
    sections: tuple[str, ...] = ()  # 业务股室 whose cases this person works on

    @classmethod
    def from_row(cls, row: Row) -> StaffAccount:
        return cls(
            row["id"],
            row["username"],
            row["display_name"],
            row["role"],
            row["password_hash"],
            bool(row["must_change_password"]),
            row["session_gen"],
            row["disabled_at"],
            row["created_at"],
            row["password_changed_at"],
            tuple(json.loads(row["sections"])),
        )


@dataclass(frozen=True)
class StaffSession:
    """One login of a staff member, until its expiry or until it is ended."""

    id: str  # SHA-256 of the random part of the cookie
    staff_id: int
    created_at: str
    expires_at: str
    address: str


@dataclass(frozen=True)
class ApiKey:
    id: int
    name: str
    key_hash: str
    prefix: str
    created_by: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None
    revoked_by: str | None

    @classmethod
    def from_row(cls, row: Row) -> ApiKey:
        return cls(*(row[key] for key in row.keys()))


def _sections_json(sections: tuple[str, ...]) -> str:
    return json.dumps(list(sections), ensure_ascii=False)


async def _end_sessions(tx: Tx, staff_id: int, reason: str) -> int:
    return await tx.execute(
        "UPDATE staff_sessions SET ended_at = ?, ended_reason = ? "
        "WHERE staff_id = ? AND ended_at IS NULL",
        (clock.now_iso(), reason, staff_id),
    )


class StaffStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    # -- accounts --------------------------------------------------------------------------------

    async def count(self) -> int:
        return await self._db.value("SELECT COUNT(*) FROM staff_accounts")

    @writer
    async def create(
        self,
        username: str,
        display_name: str,
        role: str,
        password_hash: str,
        *,
        must_change: bool = True,
        sections: tuple[str, ...] = (),
        actor: str,
    ) -> StaffAccount:
        async with self._db.transaction() as tx:
            if await tx.one("SELECT 1 FROM staff_accounts WHERE username = ?", (username,)):
                raise UserError(f"用户名 {username} 已存在 / user {username} already exists")
            staff_id = await tx.insert(
                """INSERT INTO staff_accounts (username, display_name, role, password_hash,
                       must_change_password, created_at, sections)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    username,
                    display_name,
                    role,
                    password_hash,
                    int(must_change),
                    clock.now_iso(),
                    _sections_json(sections),
                ),
            )
            data: dict[str, Any] = {"username": username, "role": role}
            if sections:
                data["sections"] = list(sections)
            await tx.event("staff.created", actor=actor, data=data)
        return await self.get(staff_id)

    @writer
    async def set_sections(self, staff_id: int, sections: tuple[str, ...], *, actor: str) -> None:
        """The sections (业务股室) whose cases the person works on, replacing the earlier ones."""
        async with self._db.transaction() as tx:
            row = await tx.one("SELECT sections FROM staff_accounts WHERE id = ?", (staff_id,))
            if row is None:
                raise NotFound(f"账号不存在 / no staff account {staff_id}")
            if json.loads(row[0]) == list(sections):
                return
            await tx.execute(
                "UPDATE staff_accounts SET sections = ? WHERE id = ?",
                (_sections_json(sections), staff_id),
            )
            await tx.event(
                "staff.sections_changed",
                actor=actor,
                data={"staff_id": staff_id, "sections": list(sections)},
            )

    async def get(self, staff_id: int) -> StaffAccount:
        row = await self._db.one("SELECT * FROM staff_accounts WHERE id = ?", (staff_id,))
        if row is None:
            raise NotFound(f"账号不存在 / no staff account {staff_id}")
        return StaffAccount.from_row(row)

    async def find(self, username: str) -> StaffAccount | None:
        row = await self._db.one("SELECT * FROM staff_accounts WHERE username = ?", (username,))
        return StaffAccount.from_row(row) if row else None

    async def accounts(self, role: str | None = None) -> list[StaffAccount]:
        sql, args = "SELECT * FROM staff_accounts", []
        if role is not None:
            sql += " WHERE role = ? AND disabled_at IS NULL"
            args.append(role)
        rows = await self._db.all(sql + " ORDER BY role, username", args)
        return [StaffAccount.from_row(row) for row in rows]

    @writer
    async def set_password(
        self, staff_id: int, password_hash: str, *, must_change: bool, actor: str
    ) -> None:
        """A new password ends every session of the account (its session generation moves)."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                """UPDATE staff_accounts SET password_hash = ?, must_change_password = ?,
                       session_gen = session_gen + 1, password_changed_at = ?
                   WHERE id = ?""",
                (password_hash, int(must_change), clock.now_iso(), staff_id),
            )
            if changed != 1:
                raise NotFound(f"账号不存在 / no staff account {staff_id}")
            ended = await _end_sessions(tx, staff_id, "password")
            await tx.event(
                "staff.password_reset" if must_change else "staff.password_changed",
                actor=actor,
                data={"staff_id": staff_id, "sessions_ended": ended},
            )

    @writer
    async def set_disabled(self, staff_id: int, disabled: bool, *, actor: str) -> None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE staff_accounts SET disabled_at = ?, session_gen = session_gen + 1 "
                "WHERE id = ?",
                (clock.now_iso() if disabled else None, staff_id),
            )
            if changed != 1:
                raise NotFound(f"账号不存在 / no staff account {staff_id}")
            data: dict[str, int] = {"staff_id": staff_id}
            if disabled:
                data["sessions_ended"] = await _end_sessions(tx, staff_id, "disabled")
            await tx.event(
                "staff.disabled" if disabled else "staff.enabled", actor=actor, data=data
            )

    # -- sessions --------------------------------------------------------------------------------

    @writer
    async def open_session(
        self,
        staff_id: int,
        session_id: str,
        expires_at: str,
        *,
        address: str,
        agent: str,
        event: str = "staff.login",
    ) -> None:
        """A new session (a login, or the fresh one after a password change), recorded with
        `event`; sessions past their expiry are cleared away on the way."""
        now = clock.now_iso()
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM staff_sessions WHERE expires_at < ?", (now,))
            username = await tx.one("SELECT username FROM staff_accounts WHERE id = ?", (staff_id,))
            if username is None:
                raise NotFound(f"账号不存在 / no staff account {staff_id}")
            await tx.execute(
                """INSERT INTO staff_sessions (id, staff_id, created_at, expires_at, address,
                       agent) VALUES (?, ?, ?, ?, ?, ?)""",
                (session_id, staff_id, now, expires_at, address[:64], agent[:200]),
            )
            await tx.event(event, actor=f"staff:{username[0]}", data={"address": address[:64]})

    async def session(self, session_id: str) -> StaffSession | None:
        """The session, while it lasts: None once it expired or was ended."""
        row = await self._db.one(
            """SELECT id, staff_id, created_at, expires_at, address FROM staff_sessions
               WHERE id = ? AND ended_at IS NULL AND expires_at > ?""",
            (session_id, clock.now_iso()),
        )
        return StaffSession(*row) if row else None

    @writer
    async def end_session(self, session_id: str, *, actor: str) -> bool:
        """A logout: the session stops working at once, wherever its cookie is."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE staff_sessions SET ended_at = ?, ended_reason = 'logout' "
                "WHERE id = ? AND ended_at IS NULL",
                (clock.now_iso(), session_id),
            )
            if changed:
                await tx.event("staff.logout", actor=actor)
        return bool(changed)

    # -- API keys --------------------------------------------------------------------------------

    @writer
    async def create_key(self, name: str, key_hash: str, prefix: str, *, actor: str) -> ApiKey:
        async with self._db.transaction() as tx:
            key_id = await tx.insert(
                """INSERT INTO api_keys (name, key_hash, prefix, created_by, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (name, key_hash, prefix, actor, clock.now_iso()),
            )
            await tx.event("apikey.created", actor=actor, data={"key_id": key_id, "name": name})
        return await self.key(key_id)

    async def key(self, key_id: int) -> ApiKey:
        row = await self._db.one("SELECT * FROM api_keys WHERE id = ?", (key_id,))
        if row is None:
            raise NotFound(f"API 密钥不存在 / no API key {key_id}")
        return ApiKey.from_row(row)

    async def find_key(self, key_hash: str) -> ApiKey | None:
        row = await self._db.one("SELECT * FROM api_keys WHERE key_hash = ?", (key_hash,))
        return ApiKey.from_row(row) if row else None

    async def keys(self) -> list[ApiKey]:
        return [
            ApiKey.from_row(row) for row in await self._db.all("SELECT * FROM api_keys ORDER BY id")
        ]

    @bookkeeping
    async def touch_key(self, key_id: int) -> None:
        """When the key was last used: shown on the keys page; what it did is in the log."""
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE api_keys SET last_used_at = ? WHERE id = ?", (clock.now_iso(), key_id)
            )

    @writer
    async def revoke_key(self, key_id: int, *, actor: str) -> None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE api_keys SET revoked_at = ?, revoked_by = ? "
                "WHERE id = ? AND revoked_at IS NULL",
                (clock.now_iso(), actor, key_id),
            )
            if changed == 1:
                await tx.event("apikey.revoked", actor=actor, data={"key_id": key_id})

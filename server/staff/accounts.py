"""Staff accounts and their logins.

A new account gets a one-time password that must be changed at first login. Login attempts are
counted per account and per address before the password is checked, and past the limit a login
is refused with the time to wait.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..archive import ArchiveStore, StaffAccount
from ..errors import BadRequest, KanyanError, NotAuthenticated, UserError
from .passwords import (
    ABSENT_HASH,
    USERNAME,
    hash_password,
    one_time_password,
    password_problem,
    verify_password,
)
from .roles import StaffRole


class TooManyAttempts(KanyanError):
    """Login refused until `retry_after` seconds have passed."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, (retry_after + 59) // 60)
        super().__init__(
            f"登录失败次数过多，请 {minutes} 分钟后再试。 / Too many failed logins; try again "
            f"in {minutes} minute{'s' if minutes > 1 else ''}.",
        )
        self.retry_after = retry_after


class LoginThrottle:
    """Login attempts in a sliding window, per account name and per client address.

    An attempt is counted before its password is checked, and the check and the count happen
    without yielding to the event loop: guesses sent at the same moment each take a place in
    the window or are refused, so no more passwords are ever checked than the limit allows.
    A successful login gives its place back and clears the account's counter.
    """

    def __init__(
        self,
        per_account: int,
        per_address: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_account = per_account
        self.per_address = per_address
        self.window_s = window_s
        self._clock = clock
        self._attempts: dict[tuple[str, str], deque[float]] = {}

    def _keys(self, username: str, address: str) -> tuple[tuple[tuple[str, str], int], ...]:
        return (
            (("account", username.lower()), self.per_account),
            (("address", address), self.per_address),
        )

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        entries = self._attempts.setdefault(key, deque())
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        return entries

    def _refuse_at_limit(self, username: str, address: str, now: float) -> None:
        for key, limit in self._keys(username, address):
            entries = self._recent(key, now)
            if len(entries) >= limit:
                wait = entries[len(entries) - limit] + self.window_s - now
                raise TooManyAttempts(max(1, int(wait + 0.999)))

    def attempt(self, username: str, address: str) -> float:
        """Count one login attempt, or raise TooManyAttempts when either counter is already at
        its limit. Returns the attempt's mark, for `succeeded`."""
        now = self._clock()
        self._refuse_at_limit(username, address, now)
        for key, _ in self._keys(username, address):
            self._recent(key, now).append(now)
        if len(self._attempts) > 10_000:
            self._forget_idle(now)
        return now

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts when either counter is at its limit (after a failure: the
        failure that reaches the limit already answers with the time to wait)."""
        self._refuse_at_limit(username, address, self._clock())

    def succeeded(self, username: str, address: str, mark: float) -> None:
        """The password was right: the account starts afresh, the address gets its place back."""
        self._attempts.pop(("account", username.lower()), None)
        entries = self._attempts.get(("address", address))
        if entries is not None and mark in entries:
            entries.remove(mark)

    def _forget_idle(self, now: float) -> None:
        # Names guessed at random must not grow the table without end.
        for key in list(self._attempts):
            if not self._recent(key, now):
                del self._attempts[key]


MAX_SECTIONS = 20
# What people type between section names: commas (both widths), 顿号, semicolons, new lines.
_SECTION_SEPARATORS = re.compile(r"[,，、;；\n\r]+")


def clean_sections(values: Iterable[str]) -> tuple[str, ...]:
    """Section names as cases carry them (2–64 characters, as at intake), each once, in the order
    given; a value may hold several, separated by commas, 顿号 or new lines."""
    names: list[str] = []
    for value in values:
        for part in _SECTION_SEPARATORS.split(value):
            name = part.strip()
            if name and name not in names:
                names.append(name)
    bad = [name for name in names if not 2 <= len(name) <= 64]
    if bad or len(names) > MAX_SECTIONS:
        raise BadRequest(
            "业务股室名称有误 / invalid sections",
            code="invalid",
            details={
                "sections": f"每个 2–64 个字，最多 {MAX_SECTIONS} 个 / each 2–64 characters, "
                f"at most {MAX_SECTIONS}"
            },
        )
    return tuple(names)


@dataclass(frozen=True)
class LoginResult:
    account: StaffAccount
    must_change_password: bool


class Accounts:
    """Staff accounts over the archive."""

    def __init__(self, archive: ArchiveStore, throttle: LoginThrottle) -> None:
        self.archive = archive
        self.throttle = throttle

    async def _hash(self, password: str) -> str:
        # scrypt takes tens of milliseconds: keep it off the event loop.
        return await asyncio.get_running_loop().run_in_executor(None, hash_password, password)

    async def _verify(self, password: str, stored: str) -> bool:
        return await asyncio.get_running_loop().run_in_executor(
            None, verify_password, password, stored
        )

    async def create(
        self,
        username: str,
        role: str,
        *,
        display_name: str = "",
        sections: Iterable[str] = (),
        actor: str,
    ) -> tuple[StaffAccount, str]:
        """A new account and its one-time password (shown once, changed at first login)."""
        username = username.strip().lower()
        errors = {}
        try:
            chosen = clean_sections(sections)
        except BadRequest as exc:
            errors.update(exc.details if isinstance(exc.details, dict) else {})
            chosen = ()
        if not USERNAME.fullmatch(username):
            errors["username"] = (
                "用户名为 2–32 位小写字母、数字、点、下划线或连字符，以字母开头 / 2–32 lower-case "
                "letters, digits, dots, underscores or hyphens, starting with a letter"
            )
        if role not in StaffRole.__members__.values():
            errors["role"] = f"角色应为 {', '.join(StaffRole)} 之一 / one of {', '.join(StaffRole)}"
        display_name = display_name.strip() or username
        if len(display_name) > 50:
            errors["display_name"] = "不能超过 50 个字符 / at most 50 characters"
        if errors:
            raise BadRequest(
                "账号信息有误 / invalid account: " + ", ".join(errors),
                code="invalid",
                details=errors,
            )
        password = one_time_password()
        account = await self.archive.staff.create(
            username, display_name, role, await self._hash(password), sections=chosen, actor=actor
        )
        return account, password

    async def set_sections(
        self, account: StaffAccount, sections: Iterable[str], *, actor: str
    ) -> StaffAccount:
        """The sections (业务股室) whose cases the person works on."""
        await self.archive.staff.set_sections(account.id, clean_sections(sections), actor=actor)
        return await self.archive.staff.get(account.id)

    async def ensure_first_admin(self) -> str | None:
        """On a fresh archive, create `admin` and return its one-time password."""
        if await self.archive.staff.count():
            return None
        _, password = await self.create(
            "admin", StaffRole.ADMIN, display_name="系统管理员", actor="system"
        )
        return password

    async def login(self, username: str, password: str, address: str) -> LoginResult:
        username = username.strip().lower()
        # Counted before the password is checked: see LoginThrottle.
        mark = self.throttle.attempt(username, address)
        account = await self.archive.staff.find(username) if username else None
        ok = await self._verify(password, account.password_hash if account else ABSENT_HASH)
        if not ok or account is None or account.disabled_at is not None:
            await self.archive.events.append(
                "staff.login_failed", actor=f"address:{address}", data={"username": username[:64]}
            )
            self.throttle.check(username, address)
            message = "用户名或密码不正确 / wrong user name or password"
            if account is not None and account.disabled_at is not None and ok:
                message = "该账号已停用，请联系系统管理员 / this account is disabled"
            raise NotAuthenticated(message, code="bad_login")
        self.throttle.succeeded(username, address, mark)
        # The login is recorded with the session it opens (Sessions.open).
        return LoginResult(account, account.must_change_password)

    async def change_password(
        self, account: StaffAccount, current: str, new: str, repeat: str
    ) -> StaffAccount:
        errors: dict[str, str] = {}
        if not await self._verify(current, account.password_hash):
            errors["current"] = "当前密码不正确 / the current password is wrong"
        problem = password_problem(new, account.username)
        if problem:
            errors["new"] = problem
        elif new == current:
            errors["new"] = "新密码不能与当前密码相同 / choose a password you have not used here"
        if new != repeat:
            errors["repeat"] = "两次输入的新密码不一致 / the two new passwords differ"
        if errors:
            raise BadRequest("密码未修改 / password not changed", code="invalid", details=errors)
        await self.archive.staff.set_password(
            account.id, await self._hash(new), must_change=False, actor=f"staff:{account.username}"
        )
        return await self.archive.staff.get(account.id)

    async def reset_password(self, account: StaffAccount, *, actor: str) -> str:
        password = one_time_password()
        await self.archive.staff.set_password(
            account.id, await self._hash(password), must_change=True, actor=actor
        )
        return password

    async def by_username(self, username: str) -> StaffAccount:
        account = await self.archive.staff.find(username.strip().lower())
        if account is None:
            raise UserError(f"没有用户 {username} / no user {username}")
        return account

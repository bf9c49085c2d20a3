"""Staff accounts, their permissions, logins and the intake API's keys.

Staff — admin, inspector, clerk, archivist — log in with a password (hashlib.scrypt). Experts,
observers and applicants have no accounts: they hold personal links. A new account gets a
one-time password that must be changed at first login. Failed logins are counted per account
and per address, and past the limit a login is refused with the time to wait. API keys are
random and high-entropy, so the archive keeps only their SHA-256.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from .archive import ApiKey, ArchiveStore, StaffAccount
from .errors import BadRequest, KanyanError, NotAuthenticated, UserError


class StaffRole(StrEnum):
    ADMIN = "admin"  # accounts, catalog, API keys, settings
    INSPECTOR = "inspector"  # 现场勘查股: intake, scheduling, may host
    CLERK = "clerk"  # 业务审批股室: intake and eligibility of their cases
    ARCHIVIST = "archivist"  # 档案管理员: reads cases and the archive


STAFF_ROLE_NAMES = {
    StaffRole.ADMIN: ("系统管理员", "Administrator"),
    StaffRole.INSPECTOR: ("勘验人员", "Inspector"),
    StaffRole.CLERK: ("业务审批人员", "Approval clerk"),
    StaffRole.ARCHIVIST: ("档案管理员", "Archivist"),
}


class StaffAction(StrEnum):
    VIEW_CASES = "view_cases"
    INTAKE = "intake"
    DECLARE_EXCLUSION = "declare_exclusion"
    WITHDRAW_EXCLUSION = "withdraw_exclusion"
    SCHEDULE = "schedule"  # schedule, reschedule, cancel, change the group, see every link
    VIEW_DISHONESTY = "view_dishonesty"
    IMPORT_DISHONESTY = "import_dishonesty"
    VIEW_CATALOG = "view_catalog"
    EDIT_CATALOG = "edit_catalog"
    MANAGE_ACCOUNTS = "manage_accounts"
    MANAGE_API_KEYS = "manage_api_keys"


# SPEC §2. The server enforces this table on every staff route.
STAFF_PERMISSIONS: dict[StaffRole, frozenset[StaffAction]] = {
    StaffRole.ADMIN: frozenset(
        {
            StaffAction.VIEW_CATALOG,
            StaffAction.EDIT_CATALOG,
            StaffAction.MANAGE_ACCOUNTS,
            StaffAction.MANAGE_API_KEYS,
            StaffAction.VIEW_DISHONESTY,
            StaffAction.IMPORT_DISHONESTY,
        }
    ),
    StaffRole.INSPECTOR: frozenset(
        {
            StaffAction.VIEW_CASES,
            StaffAction.INTAKE,
            StaffAction.DECLARE_EXCLUSION,
            StaffAction.WITHDRAW_EXCLUSION,
            StaffAction.SCHEDULE,
            StaffAction.VIEW_DISHONESTY,
            StaffAction.IMPORT_DISHONESTY,
            StaffAction.VIEW_CATALOG,
        }
    ),
    StaffRole.CLERK: frozenset(
        {
            StaffAction.VIEW_CASES,
            StaffAction.INTAKE,
            StaffAction.DECLARE_EXCLUSION,
            StaffAction.VIEW_CATALOG,
        }
    ),
    StaffRole.ARCHIVIST: frozenset({StaffAction.VIEW_CASES, StaffAction.VIEW_CATALOG}),
}


def may(account: StaffAccount, action: StaffAction) -> bool:
    return action in STAFF_PERMISSIONS[StaffRole(account.role)]


# -- passwords ---------------------------------------------------------------------------------

# scrypt with N=2^14, r=8, p=1: ~16 MiB and tens of milliseconds per guess (RFC 7914's
# interactive-login parameters).
SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_LEN = 2**14, 8, 1, 32
# No 0/O, 1/l/I: a one-time password is read off a screen and typed.
ONE_TIME_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MIN_PASSWORD_LENGTH = 10


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=SCRYPT_LEN
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def one_time_password() -> str:
    return "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(14))


def password_problem(password: str, username: str) -> str | None:
    """Why a chosen password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return (
            f"密码至少 {MIN_PASSWORD_LENGTH} 位 / the password needs at least "
            f"{MIN_PASSWORD_LENGTH} characters"
        )
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        return "密码须同时包含字母和数字 / the password needs both letters and digits"
    if username.lower() in password.lower():
        return "密码不能包含用户名 / the password must not contain the user name"
    return None


USERNAME = re.compile(r"[a-z][a-z0-9._-]{1,31}")

# A fixed hash to verify against when the user name does not exist, so the time a login takes
# does not tell whether an account exists.
_ABSENT = hash_password("absent-account", salt=b"kanyan-absent-ac")


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
    """Failed logins in a sliding window, per account name and per client address."""

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
        self._failures: dict[tuple[str, str], deque[float]] = {}

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        now = self._clock()
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        return entries

    def check(self, username: str, address: str) -> None:
        """Raise TooManyAttempts when either counter is at its limit."""
        for key, limit in (
            (("account", username.lower()), self.per_account),
            (("address", address), self.per_address),
        ):
            entries = self._recent(key)
            if len(entries) >= limit:
                wait = entries[len(entries) - limit] + self.window_s - self._clock()
                raise TooManyAttempts(max(1, int(wait + 0.999)))

    def failed(self, username: str, address: str) -> None:
        now = self._clock()
        self._recent(("account", username.lower())).append(now)
        self._recent(("address", address)).append(now)

    def succeeded(self, username: str) -> None:
        self._failures.pop(("account", username.lower()), None)


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
        self, username: str, role: str, *, display_name: str = "", actor: str
    ) -> tuple[StaffAccount, str]:
        """A new account and its one-time password (shown once, changed at first login)."""
        username = username.strip().lower()
        errors = {}
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
        account = await self.archive.create_staff(
            username, display_name, role, await self._hash(password), actor=actor
        )
        return account, password

    async def ensure_first_admin(self) -> str | None:
        """On a fresh archive, create `admin` and return its one-time password."""
        if await self.archive.count_staff():
            return None
        _, password = await self.create(
            "admin", StaffRole.ADMIN, display_name="系统管理员", actor="system"
        )
        return password

    async def login(self, username: str, password: str, address: str) -> LoginResult:
        username = username.strip().lower()
        self.throttle.check(username, address)
        account = await self.archive.find_staff(username) if username else None
        ok = await self._verify(password, account.password_hash if account else _ABSENT)
        if not ok or account is None or account.disabled_at is not None:
            self.throttle.failed(username, address)
            await self.archive.append_event(
                "staff.login_failed", actor=f"address:{address}", data={"username": username[:64]}
            )
            # The failure that reaches the limit already answers with the time to wait.
            self.throttle.check(username, address)
            message = "用户名或密码不正确 / wrong user name or password"
            if account is not None and account.disabled_at is not None and ok:
                message = "该账号已停用，请联系系统管理员 / this account is disabled"
            raise NotAuthenticated(message, code="bad_login")
        self.throttle.succeeded(username)
        await self.archive.append_event(
            "staff.login", actor=f"staff:{account.username}", data={"address": address}
        )
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
        await self.archive.set_staff_password(
            account.id, await self._hash(new), must_change=False, actor=f"staff:{account.username}"
        )
        return await self.archive.get_staff(account.id)

    async def reset_password(self, account: StaffAccount, *, actor: str) -> str:
        password = one_time_password()
        await self.archive.set_staff_password(
            account.id, await self._hash(password), must_change=True, actor=actor
        )
        return password

    async def by_username(self, username: str) -> StaffAccount:
        account = await self.archive.find_staff(username.strip().lower())
        if account is None:
            raise UserError(f"没有用户 {username} / no user {username}")
        return account


# -- API keys ----------------------------------------------------------------------------------

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
        record = await self.archive.create_api_key(
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
        record = await self.archive.find_api_key(key_digest(key)) if len(key) < 200 else None
        if record is None:
            raise NotAuthenticated("API 密钥无效 / unknown API key", code="bad_key")
        if record.revoked_at is not None:
            raise NotAuthenticated(
                "API 密钥已被撤销 / this API key was revoked", code="revoked_key"
            )
        await self.archive.touch_api_key(record.id)
        return record

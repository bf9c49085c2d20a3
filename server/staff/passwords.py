"""Passwords: scrypt hashes, one-time passwords, and the rules for a chosen password."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

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
ABSENT_HASH = hash_password("absent-account", salt=b"kanyan-absent-ac")

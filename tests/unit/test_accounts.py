"""Passwords, the login throttle, session cookies and form tokens."""

from __future__ import annotations

import pytest

from server.staff.accounts import LoginThrottle, TooManyAttempts
from server.staff.passwords import (
    hash_password,
    one_time_password,
    password_problem,
    verify_password,
)
from server.staff.roles import STAFF_PERMISSIONS, StaffAction, StaffRole
from server.staff.sessions import SessionSigner


def test_scrypt_hash_verifies_only_the_right_password():
    stored = hash_password("Correct-horse-7")
    assert stored.startswith("scrypt$16384$8$1$")
    assert verify_password("Correct-horse-7", stored)
    assert not verify_password("correct-horse-7", stored)
    # Salted: the same password hashes differently each time.
    assert hash_password("Correct-horse-7") != stored
    for broken in ("", "plain", "scrypt$1$2$3$x$y", "md5$a$b$c$d$e"):
        assert not verify_password("Correct-horse-7", broken)


def test_one_time_passwords_are_long_and_unambiguous():
    values = {one_time_password() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) == 14 and not set(value) & set("0O1lI")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1", "至少 10 位"),
        ("onlyletters", "字母和数字"),
        ("1234567890", "字母和数字"),
        ("zhangsan2026!", "用户名"),
        ("Inspect10n-pass", None),
    ],
)
def test_password_rules(password, problem):
    found = password_problem(password, "zhangsan")
    assert (found is None) if problem is None else (problem in found)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_throttle_refuses_after_the_limit_and_says_how_long():
    clock = Clock()
    throttle = LoginThrottle(per_account=3, per_address=100, window_s=600, clock=clock)
    for _ in range(3):
        throttle.attempt("zhangsan", "10.0.0.1")
        clock.now += 10
    with pytest.raises(TooManyAttempts) as err:
        throttle.attempt("zhangsan", "10.0.0.1")
    # The oldest attempt leaves the window 600 s after it: 570 s from now.
    assert err.value.retry_after == 570 and err.value.status == 429
    assert "10 分钟" in err.value.message
    # Another account from the same address is not held back by this one.
    throttle.attempt("lisi", "10.0.0.1")
    clock.now += 571
    throttle.attempt("zhangsan", "10.0.0.1")


def test_attempts_are_counted_before_any_answer():
    """Guesses in flight at the same time each take a place: the one past the limit is
    refused before its password is looked at, whatever the others' outcome will be."""
    throttle = LoginThrottle(per_account=3, per_address=100, window_s=60, clock=Clock())
    for _ in range(3):
        throttle.attempt("zhangsan", "10.0.0.1")  # none has failed yet
    with pytest.raises(TooManyAttempts):
        throttle.attempt("zhangsan", "10.0.0.1")
    # Across accounts, the address counter is counted first in the same way.
    by_address = LoginThrottle(per_account=100, per_address=4, window_s=60, clock=Clock())
    for name in ("a1", "a2", "a3", "a4"):
        by_address.attempt(name, "10.0.0.9")
    with pytest.raises(TooManyAttempts):
        by_address.attempt("a5", "10.0.0.9")
    by_address.attempt("a5", "10.0.0.10")


def test_a_refused_attempt_is_not_counted():
    throttle = LoginThrottle(per_account=2, per_address=100, window_s=60, clock=Clock())
    throttle.attempt("zhangsan", "x")
    throttle.attempt("zhangsan", "x")
    for _ in range(5):
        with pytest.raises(TooManyAttempts):
            throttle.attempt("zhangsan", "x")
    assert len(throttle._attempts[("address", "x")]) == 2


def test_success_clears_the_account_counter_and_gives_the_address_its_place_back():
    clock = Clock()
    throttle = LoginThrottle(per_account=2, per_address=2, window_s=60, clock=clock)
    throttle.attempt("zhangsan", "x")
    clock.now += 1
    mark = throttle.attempt("zhangsan", "x")
    throttle.succeeded("zhangsan", "x", mark)
    clock.now += 1
    throttle.attempt("zhangsan", "x")
    with pytest.raises(TooManyAttempts):
        throttle.attempt("zhangsan", "x")


def test_session_cookies_are_signed_and_expire():
    signer = SessionSigner(b"secret", lifetime_s=3600)
    cookie = signer.issue(7, 3, now=1000)
    claims = signer.parse(cookie, now=2000)
    assert claims is not None and (claims.account_id, claims.generation) == (7, 3)
    assert signer.parse(cookie, now=4600) is None  # expired
    assert signer.parse(cookie.replace("s1.7.", "s1.8."), now=2000) is None  # someone else
    assert SessionSigner(b"other", 3600).parse(cookie, now=2000) is None
    for junk in (None, "", "s1.7", "x" * 300):
        assert signer.parse(junk) is None


def test_csrf_tokens_bind_to_their_cookie():
    signer = SessionSigner(b"secret", lifetime_s=3600)
    cookie = signer.new_csrf_cookie()
    token = signer.csrf_token(cookie)
    assert signer.csrf_ok(cookie, token)
    assert not signer.csrf_ok(signer.new_csrf_cookie(), token)
    assert not signer.csrf_ok(cookie, None)
    assert not signer.csrf_ok(None, token)
    # A session signature never passes as a form token.
    assert signer.csrf_token(cookie) != signer._sign("session", cookie)


def test_only_inspectors_schedule_and_only_admins_manage():
    holders = {
        action: {role for role, allowed in STAFF_PERMISSIONS.items() if action in allowed}
        for action in StaffAction
    }
    assert holders[StaffAction.SCHEDULE] == {StaffRole.INSPECTOR}
    assert holders[StaffAction.MANAGE_ACCOUNTS] == {StaffRole.ADMIN}
    assert holders[StaffAction.EDIT_CATALOG] == {StaffRole.ADMIN}
    assert StaffRole.ADMIN not in holders[StaffAction.VIEW_CASES]
    # 办结: the inspectors and the owning section's clerks, never the archivist.
    assert holders[StaffAction.CLOSE_CASE] == {StaffRole.INSPECTOR, StaffRole.CLERK}

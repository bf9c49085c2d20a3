"""Room-link tokens and TURN credentials."""

from __future__ import annotations

import time

import pytest

from server.cases.links import LinkSigner
from server.config import load_or_create_secret
from server.errors import LinkError
from server.live.ice import turn_credentials

SIGNER = LinkSigner(b"test-secret")


def test_a_token_round_trips():
    token = SIGNER.issue(7, 42, "clerk", int(time.time()) + 60, 3)
    claims = SIGNER.parse(token)
    assert (claims.inspection_id, claims.invitee_id, claims.role, claims.generation) == (
        7,
        42,
        "clerk",
        3,
    )


def test_expired_token_is_refused_as_expired():
    token = SIGNER.issue(7, 42, "clerk", 1000, 1)
    with pytest.raises(LinkError) as err:
        SIGNER.parse(token, now=1000)
    assert (err.value.code, err.value.status, err.value.close_code) == ("expired", 410, 4002)
    assert "已过期" in err.value.message


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t.replace(".clerk.", ".host."),  # promote yourself
        lambda t: t.replace("v1.7.", "v1.8.", 1),  # another inspection
        lambda t: t.replace(".42.", ".43.", 1),  # someone else
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # scribbled signature
    ],
)
def test_forged_tokens_are_refused(mutate):
    token = SIGNER.issue(7, 42, "clerk", int(time.time()) + 60, 1)
    with pytest.raises(LinkError) as err:
        SIGNER.parse(mutate(token))
    assert err.value.code == "forged" and err.value.status == 403


def test_token_from_another_secret_is_forged():
    token = LinkSigner(b"other").issue(7, 42, "clerk", int(time.time()) + 60, 1)
    with pytest.raises(LinkError, match="签名不符"):
        SIGNER.parse(token)


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "v1.1.2.host.3", "v2.1.2.host.3.1.sig", "v1.a.2.host.3.1.sig", "x" * 300],
)
def test_malformed_tokens_are_refused(token):
    with pytest.raises(LinkError) as err:
        SIGNER.parse(token)
    assert err.value.code in ("malformed", "forged")
    assert err.value.status in (400, 403)


def test_secret_is_generated_once_with_private_mode(tmp_path):
    path = tmp_path / "link-secret"
    first = load_or_create_secret("", path)
    assert load_or_create_secret("", path) == first
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret("configured", path) == b"configured"


def test_turn_credentials_follow_coturn_rest_scheme():
    # Known vector, computed independently with:
    #   printf '%s' '1735412345:kanyan-7' \
    #     | openssl dgst -binary -sha1 -hmac north-gate-secret | base64
    username, password = turn_credentials(
        "north-gate-secret", "kanyan-7", ttl_s=345, now=1735412000
    )
    assert username == "1735412345:kanyan-7"
    assert password == "Vr4PxK1tNIVzDHaSDAZfttHKOSw="

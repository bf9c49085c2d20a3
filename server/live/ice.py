"""ICE servers offered to browsers, and coturn's time-limited TURN credentials."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from ..config import Settings


def turn_credentials(
    secret: str, user: str, ttl_s: int, now: float | None = None
) -> tuple[str, str]:
    """coturn's REST scheme (use-auth-secret): username "<expiry>:<user>", password
    base64(HMAC-SHA1(secret, username))."""
    expiry = int(now if now is not None else time.time()) + ttl_s
    username = f"{expiry}:{user}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(settings: Settings, user: str) -> list[dict[str, Any]]:
    """What the `welcome` message tells a browser to use: STUN, and TURN with a credential."""
    servers: list[dict[str, Any]] = []
    if settings.ice.stun_urls:
        servers.append({"urls": settings.ice.stun_urls})
    if settings.ice.turn_urls:
        username, credential = turn_credentials(
            settings.ice.turn_secret, user, settings.ice.turn_ttl_s
        )
        servers.append(
            {"urls": settings.ice.turn_urls, "username": username, "credential": credential}
        )
    return servers

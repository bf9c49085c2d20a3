"""ICE servers offered to browsers, coturn's time-limited TURN credentials, and the networks
the server may send connectivity checks to."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import time
from typing import Any

import aioice.ice
import ifaddr

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


# -- which remote candidates the server may send connectivity checks to --------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_networks(entries: list[str]) -> tuple[bool, bool, list[Network]]:
    """`ice.peer_networks` → (public, own, networks). ValueError names a bad entry."""
    public = own = False
    networks: list[Network] = []
    for entry in entries:
        if entry == "public":
            public = True
        elif entry == "own":
            own = True
        else:
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(
                    f"{entry!r} is not public, own or a network such as 10.0.0.0/8"
                ) from None
    return public, own, networks


def is_public(ip: Address) -> bool:
    """Globally routable: not loopback, link-local, private (RFC 1918, ULA, shared CGNAT
    space, documentation), multicast, reserved or unspecified."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None and not is_public(embedded):
            return False
    return ip.is_global and not (
        ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def own_networks(addresses: list[str], adapters: list[ifaddr.Adapter]) -> list[Network]:
    """The networks of the server's own ICE host addresses, from its interfaces (an address
    on no interface, e.g. a NAT's, counts alone)."""
    prefixes: dict[Address, int] = {}
    for adapter in adapters:
        for entry in adapter.ips:
            text = entry.ip if isinstance(entry.ip, str) else entry.ip[0]
            prefixes[ipaddress.ip_address(text)] = entry.network_prefix
    networks = []
    for address in addresses:
        ip = ipaddress.ip_address(address)
        prefix = prefixes.get(ip, ip.max_prefixlen)
        networks.append(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    return networks


class CandidatePolicy:
    """Whether the server may send STUN checks to an address a participant's SDP names.

    A participant's answer or trickled candidates can name any address, and the server would
    send connectivity checks there: internal services included. Only public addresses, the
    server's own networks and what `ice.peer_networks` lists are allowed."""

    def __init__(self, public: bool, networks: list[Network]) -> None:
        self.public = public
        self.networks = networks

    @classmethod
    def from_settings(cls, settings: Settings) -> CandidatePolicy:
        public, own, networks = parse_networks(settings.ice.peer_networks)
        if own:
            # The addresses the server gathers on: ice.host_addresses, or aioice's default.
            addresses = aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)
            networks += own_networks(addresses, list(ifaddr.get_adapters()))
        return cls(public, networks)

    def allows(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False  # a hostname: never resolved on a participant's say-so
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if any(ip.version == net.version and ip in net for net in self.networks):
            return True
        return self.public and is_public(ip)

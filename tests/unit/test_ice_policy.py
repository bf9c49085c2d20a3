"""Which remote ICE candidates the server may send connectivity checks to (ice.peer_networks)."""

from __future__ import annotations

import aioice.ice
import ifaddr
import pytest

from server import config
from server.errors import ConfigError
from server.live import hooks
from server.live.ice import CandidatePolicy, own_networks, parse_networks

LAN = [
    ifaddr.Adapter("lo", "lo", [ifaddr.IP("127.0.0.1", 8, "lo")]),
    ifaddr.Adapter(
        "eth0",
        "eth0",
        [ifaddr.IP("192.168.1.10", 24, "eth0"), ifaddr.IP(("fd00:1::10", 0, 0), 64, "eth0")],
    ),
]


def policy(entries: list[str]) -> CandidatePolicy:
    """The policy of a server on a LAN whose host addresses are eth0's."""
    public, own, networks = parse_networks(entries)
    if own:
        networks += own_networks(["192.168.1.10", "fd00:1::10"], LAN)
    return CandidatePolicy(public, networks)


REFUSED_BY_DEFAULT = [
    "127.0.0.1",  # loopback
    "127.8.9.10",
    "::1",
    "169.254.169.254",  # link-local (a cloud's metadata service)
    "fe80::1",
    "fe80::1%eth0",
    "10.1.2.3",  # private, and not the server's own network
    "172.16.0.5",
    "192.168.2.1",
    "fd00:2::1",
    "100.64.1.1",  # carrier-grade NAT
    "224.0.0.251",  # multicast
    "ff02::1",
    "0.0.0.0",  # unspecified
    "::",
    "240.0.0.1",  # reserved
    "255.255.255.255",
    "::ffff:10.0.0.1",  # a private address in IPv6 clothing
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "evil.example",  # a hostname is never resolved on a participant's say-so
    "",
]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_internal_addresses_are_refused_by_default(address):
    assert not policy(["public", "own"]).allows(address)


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "2400:3200::1", "::ffff:8.8.8.8", "192.168.1.77", "fd00:1::99"],
)
def test_public_addresses_and_the_servers_own_networks_are_allowed(address):
    assert policy(["public", "own"]).allows(address)


def test_listed_networks_are_allowed_and_nothing_else_without_public():
    lan_only = policy(["10.20.0.0/16", "127.0.0.0/8"])
    assert lan_only.allows("10.20.3.4") and lan_only.allows("127.0.0.1")
    assert not lan_only.allows("10.21.0.1")
    assert not lan_only.allows("8.8.8.8")  # "public" not listed
    assert not lan_only.allows("192.168.1.77")  # "own" not listed


def test_own_networks_follow_the_servers_host_addresses():
    assert [str(n) for n in own_networks(["192.168.1.10", "fd00:1::10"], LAN)] == [
        "192.168.1.0/24",
        "fd00:1::/64",
    ]
    # Loopback is the server's own only when it is a host address (a loopback-only test box).
    assert [str(n) for n in own_networks(["127.0.0.1"], LAN)] == ["127.0.0.0/8"]
    # An address on no interface (a NAT's public address) counts alone.
    assert [str(n) for n in own_networks(["203.0.113.9"], LAN)] == ["203.0.113.9/32"]


def test_the_shipped_default_is_public_and_own():
    assert config.Settings().ice.peer_networks == ["public", "own"]
    before = aioice.ice.get_host_addresses  # a server in this process may have set its own
    hooks.use_host_addresses([])  # aioice's default: every interface but loopback
    try:
        live = CandidatePolicy.from_settings(config.Settings())
    finally:
        aioice.ice.get_host_addresses = before
    assert live.public and not live.allows("127.0.0.1") and not live.allows("169.254.1.1")


@pytest.mark.parametrize("entry", ["lan", "10.0.0.0/33", "300.1.1.1", ""])
def test_a_bad_network_setting_stops_the_start_naming_it(entry):
    with pytest.raises(ConfigError) as err:
        config.from_mapping({"ice": {"peer_networks": ["public", entry]}}, "kanyan.toml")
    assert "ice.peer_networks" in err.value.message and repr(entry) in err.value.message

"""A weak network between a test peer and the server, made by the test on this machine.

    root namespace                 wan namespace                      peer namespace
    server, other peers  ── veth ── [ bridge: delay, loss, rate ] ── veth ── the peer
    10.250.N.1/30                                                             10.250.N.2/30

`tc qdisc … netem` is the usual tool, but not every kernel has it (this project's test
machines run a kernel built without CONFIG_NET_SCH_NETEM: "Specified qdisc kind is
unknown"). So the impairment is a small bridge in its own namespace that forwards Ethernet
frames between the two veth pairs through raw AF_PACKET sockets, as netem would treat them:
random loss on entry, a queue of at most `limit` packets drained at `rate_kbit`, then a fixed
`delay`, separately in each direction. Everything stays on this machine; the namespaces and
links are removed on close. Run as root (`ip netns`); tests skip otherwise.

`python -m tests.support.wan UPLINK_IFACE DOWNLINK_IFACE` is the bridge itself: JSON lines
on stdin set the impairment ({"up": {...}, "down": {...}}) or ask for counters ({"stats":
true}); every line is answered with one JSON line on stdout.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_VNET_HDR = 15  # frames carry virtio_net_hdr: checksum offload survives the bridge
VNET_HDR = 10
SO_RCVBUFFORCE = 33


@dataclass
class Impairment:
    """What one direction of the link does to packets (netem's loss, rate, limit, delay)."""

    delay_ms: float = 0.0
    loss: float = 0.0  # 0..1; 1 is an outage
    rate_kbit: float = 0.0  # 0: unlimited
    limit: int = 1000  # packets queued at most (netem's default)


@dataclass
class Direction:
    out: socket.socket
    impairment: Impairment = field(default_factory=Impairment)
    busy_until: float = 0.0
    queued: int = 0
    forwarded: int = 0
    lost: int = 0
    overflowed: int = 0

    def offer(self, frame: bytes, loop: asyncio.AbstractEventLoop) -> None:
        rule = self.impairment
        if rule.loss and random.random() < rule.loss:
            self.lost += 1
            return
        if self.queued >= rule.limit:
            self.overflowed += 1
            return
        now = loop.time()
        depart = now
        if rule.rate_kbit:
            serialise = (len(frame) - VNET_HDR) * 8 / (rule.rate_kbit * 1000)
            depart = self.busy_until = max(now, self.busy_until) + serialise
        self.queued += 1
        loop.call_at(depart + rule.delay_ms / 1000, self._send, frame)

    def _send(self, frame: bytes) -> None:
        self.queued -= 1
        try:
            self.out.send(frame)
            self.forwarded += 1
        except OSError:
            self.lost += 1

    def counters(self) -> dict[str, int]:
        return {
            "forwarded": self.forwarded,
            "lost": self.lost,
            "overflowed": self.overflowed,
            "queued": self.queued,
        }


def _packet_socket(interface: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    # A burst must wait in our queue (where the rate applies), not be lost in the kernel's.
    sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
    sock.bind((interface, 0))
    sock.setblocking(False)
    return sock


async def bridge(server_side: str, peer_side: str) -> None:
    loop = asyncio.get_running_loop()
    to_server, to_peer = _packet_socket(server_side), _packet_socket(peer_side)
    directions = {"up": Direction(to_server), "down": Direction(to_peer)}

    def pump(source: socket.socket, direction: Direction) -> None:
        while True:
            try:
                frame, address = source.recvfrom(70000)
            except BlockingIOError:
                return
            if address[2] != socket.PACKET_OUTGOING:  # not the frames we send ourselves
                direction.offer(frame, loop)

    loop.add_reader(to_peer.fileno(), pump, to_peer, directions["up"])
    loop.add_reader(to_server.fileno(), pump, to_server, directions["down"])
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    print(json.dumps({"ready": True}), flush=True)
    while line := await reader.readline():
        command = json.loads(line)
        for name in ("up", "down"):
            if name in command:
                directions[name].impairment = Impairment(**command[name])
        print(json.dumps({k: d.counters() for k, d in directions.items()}), flush=True)


class NetworkUnavailable(Exception):
    """This machine cannot make the namespaces (not root, no `ip`, no netns support)."""


def _ip(*args: str, namespace: str | None = None) -> None:
    command = ["ip", *(["-n", namespace] if namespace else []), *args]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise NetworkUnavailable(f"{' '.join(command)}: {done.stderr.strip()}")


def _free_subnet() -> int:
    """A /30 of 10.250.0.0/16 that no interface or route of this machine uses."""
    used = subprocess.run(
        ["ip", "-4", "route", "show", "table", "all"], capture_output=True, text=True
    )
    for n in random.sample(range(1, 250), 248):
        if f"10.250.{n}." not in used.stdout:
            return n
    raise NetworkUnavailable("no free 10.250.N.0/30")


class WeakLink:
    """The peer namespace, its link to this one through the impairing bridge, and the
    bridge process. `peer_address` is the peer's address, `server_address` this side's, both
    in the private `network`."""

    def __init__(self) -> None:
        if os.geteuid() != 0:
            raise NetworkUnavailable("network namespaces need root")
        if shutil.which("ip") is None:
            raise NetworkUnavailable("iproute2 (`ip`) is not installed")
        tag = f"{os.getpid() % 100000}{random.randrange(100)}"
        self.peer_ns, self.wan_ns = f"kypeer{tag}", f"kywan{tag}"
        self.host_if = f"kyh{tag}"
        n = _free_subnet()
        self.server_address, self.peer_address = f"10.250.{n}.1", f"10.250.{n}.2"
        self.network = f"10.250.{n}.0/30"
        self.bridge: subprocess.Popen[str] | None = None
        self._made: list[tuple[str, ...]] = []
        try:
            self._build(n)
        except BaseException:
            self.close()
            raise

    def _build(self, n: int) -> None:
        for ns in (self.peer_ns, self.wan_ns):
            _ip("netns", "add", ns)
            self._made.append(("netns", "del", ns))
        veth = ("type", "veth", "peer", "name")
        _ip("link", "add", self.host_if, *veth, "wan0", "netns", self.wan_ns)
        self._made.append(("link", "del", self.host_if))
        _ip("link", "add", "peer0", "netns", self.peer_ns, *veth, "wan1", "netns", self.wan_ns)
        _ip("addr", "add", f"{self.server_address}/30", "dev", self.host_if)
        _ip("link", "set", self.host_if, "up")
        _ip("addr", "add", f"{self.peer_address}/30", "dev", "peer0", namespace=self.peer_ns)
        for ns, interface in ((self.peer_ns, "peer0"), (self.peer_ns, "lo")):
            _ip("link", "set", interface, "up", namespace=ns)
        for interface in ("wan0", "wan1"):
            _ip("link", "set", interface, "up", "promisc", "on", namespace=self.wan_ns)
        # The bridge's namespace has no addresses: keep its kernel from chatting on the link.
        quiet = "net.ipv6.conf.all.disable_ipv6=1"
        subprocess.run(["ip", "netns", "exec", self.wan_ns, "sysctl", "-qw", quiet], check=False)
        bridge = [sys.executable, "-m", "tests.support.wan", "wan0", "wan1"]
        self.bridge = subprocess.Popen(
            ["ip", "netns", "exec", self.wan_ns, *bridge],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.bridge.stdout is not None
        if "ready" not in self.bridge.stdout.readline():
            raise NetworkUnavailable("the bridge did not start")

    def impair(
        self, up: Impairment | None = None, down: Impairment | None = None
    ) -> dict[str, Any]:
        """Set one or both directions ("up": from the peer to the server); the counters."""
        command: dict[str, Any] = {}
        if up is not None:
            command["up"] = asdict(up)
        if down is not None:
            command["down"] = asdict(down)
        return self._ask(command)

    def counters(self) -> dict[str, Any]:
        return self._ask({})

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self.bridge is not None and self.bridge.stdin and self.bridge.stdout
        self.bridge.stdin.write(json.dumps(command) + "\n")
        self.bridge.stdin.flush()
        return json.loads(self.bridge.stdout.readline())

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside the peer's namespace."""
        return ["ip", "netns", "exec", self.peer_ns, *argv]

    def close(self) -> None:
        if self.bridge is not None:
            self.bridge.kill()
            self.bridge.wait()
            self.bridge = None
        for args in reversed(self._made):
            with contextlib.suppress(NetworkUnavailable):
                _ip(*args)
        self._made.clear()


if __name__ == "__main__":
    asyncio.run(bridge(sys.argv[1], sys.argv[2]))

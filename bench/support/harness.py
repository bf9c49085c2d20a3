"""The server and the peers as processes, the rooms they meet in, and what the OS can tell
about their CPU and sockets."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from bench.support import ROOT

ROLES = ("clerk", "expert", "observer", "applicant")


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


@dataclass(frozen=True)
class UdpState:
    drops: int  # datagrams dropped so far because a receive buffer was full
    queued: int  # bytes waiting in receive buffers now: the owner is behind
    by_socket: dict[str, int] = field(default_factory=dict)  # drops, by socket inode

    def drops_since(self, before: UdpState) -> int:
        """Datagrams dropped since `before`, by sockets open now (closed ones take their
        counts with them, so a plain difference can go negative)."""
        return sum(
            max(0, drops - before.by_socket.get(inode, 0))
            for inode, drops in self.by_socket.items()
        )


def udp_state(pids: list[int]) -> UdpState:
    """What the kernel says about these processes' UDP sockets (Linux /proc)."""
    inodes = set()
    for pid in pids:
        try:
            for fd in os.scandir(f"/proc/{pid}/fd"):
                target = os.readlink(fd.path)
                if target.startswith("socket:["):
                    inodes.add(target[8:-1])
        except OSError:
            continue
    drops = queued = 0
    by_socket: dict[str, int] = {}
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if len(fields) > 12 and fields[9] in inodes:
                drops += int(fields[12])
                queued += int(fields[4].split(":")[1], 16)
                by_socket[fields[9]] = int(fields[12])
    return UdpState(drops, queued, by_socket)


def busy_seconds() -> float:
    """CPU seconds every process on the machine used so far (all cores)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class PeerProcess:
    def __init__(self, proc: asyncio.subprocess.Process, name: str) -> None:
        self.proc = proc
        self.name = name
        self.ps = psutil.Process(proc.pid)

    @classmethod
    async def start(cls, spec: dict[str, Any], log: Any) -> PeerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.support.peer",
            json.dumps(spec),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        return cls(proc, spec["name"])

    async def event(self, kind: str, within_s: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + within_s
        while True:
            remaining = deadline - time.monotonic()
            line = await asyncio.wait_for(self.proc.stdout.readline(), max(remaining, 0.01))
            if not line:
                raise RuntimeError(f"peer {self.name} exited (code {await self.proc.wait()})")
            event = json.loads(line)
            if event.get("event") == kind:
                return event

    async def command(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        await self.proc.stdin.drain()

    async def stats(self) -> dict[str, Any]:
        await self.command("stats")
        return await self.event("stats", 10)

    def cpu(self) -> float:
        try:
            return cpu_seconds(self.ps)
        except psutil.NoSuchProcess:
            return 0.0

    async def quit(self) -> None:
        try:
            await self.command("quit")
            await asyncio.wait_for(self.proc.wait(), 10)
        except (TimeoutError, ConnectionError):
            self.proc.kill()
            await self.proc.wait()


class MeasuredProcess:
    """A server under test in its own process group (Kanyan or Janus): its CPU is measured."""

    proc: subprocess.Popen[Any] | None = None
    ps: psutil.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def cpu_times(self) -> Any:
        assert self.ps is not None
        return self.ps.cpu_times()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


class ServerProcess(MeasuredProcess):
    """`python -m server` with a generated config; the port is read from its `serving` line."""

    def __init__(self, workdir: Path, mode: str) -> None:
        self.workdir = workdir
        self.mode = mode
        self.config = workdir / f"kanyan-{mode}.toml"
        self.config.write_text(server_config(workdir, mode))
        self.base_url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.ps: psutil.Process | None = None

    def start(self, timeout: float = 60) -> None:
        log = open(self.workdir / f"server-{self.mode}.log", "a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server", "--config", str(self.config)],
            cwd=self.workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited; see {log.name}")
            match = re.match(r"serving (https://\S+)", line)
            if match:
                self.base_url = match.group(1)
            if line.startswith("staff login "):
                return
        raise RuntimeError("server did not start in time")


def server_config(workdir: Path, mode: str) -> str:
    return "\n".join(
        [
            "[server]",
            'host = "127.0.0.1"',
            "port = 0",
            f"data_dir = {json.dumps(str(workdir / 'data'))}",
            f"recordings_dir = {json.dumps(str(workdir / 'recordings'))}",
            "[ice]",
            'host_addresses = ["127.0.0.1"]',
            "[media]",
            f"forwarding = {json.dumps(mode)}",
            "[demo]",
            "enabled = false",
            "",
        ]
    )


@dataclass
class Room:
    name: str
    inspection: int
    tokens: list[str]  # the host's first


async def prepare_rooms(config_path: Path, sizes: dict[str, int]) -> dict[str, Room]:
    """Cases, inspections and invitees straight in the archive, signed with the server's secret."""
    from server import clock, config
    from server.archive import ArchiveStore, GroupMember
    from server.cases.links import Links, LinkSigner
    from server.config import load_or_create_secret

    settings = config.load(config_path)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    archive = await ArchiveStore.open(settings.archive_location)
    secret = load_or_create_secret(settings.security.link_secret, settings.data_dir / "link-secret")
    links = Links(settings, archive, LinkSigner(secret))
    rooms = {}
    try:
        for name, size in sizes.items():
            case = await archive.cases.create(
                application_no=f"BENCH-{name}",
                applicant_name="基准测试申请人",
                item_code="FOOD-OPERATION",
                item_name="食品经营许可",
            )
            group = []
            for i in range(size):
                role = "host" if i == 0 else ROLES[(i - 1) % len(ROLES)]
                group.append(GroupMember(role, f"{role}-{i}"))
            inspection = await archive.inspections.schedule(
                case.id, clock.now_iso(), None, group, actor="bench"
            )
            invitees = await archive.inspections.invitees(inspection.id)
            tokens = [links.token(invitee, inspection) for invitee in invitees]
            rooms[name] = Room(name, inspection.id, tokens)
    finally:
        await archive.close()
    return rooms

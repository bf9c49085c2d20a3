"""Scale-out: two Kanyan nodes on one PostgreSQL, rooms spread across them, a node killed.

    .venv/bin/python bench/scale.py               # 8 rooms, 5 joins each way (~1 minute)
    .venv/bin/python bench/scale.py --rooms 40    # more rooms

Starts a PostgreSQL cluster (Debian's, installed with apt when missing) in a temporary folder
and two nodes (`python -m server`, `[node]` with heartbeat 0.5 s and lease `--lease` s, one
archive, the same secrets), creates `--rooms` inspections, and measures:

- placement: the first GET of each room's link, entering at alternate nodes, until the answer
  (200 where it is placed, 307 to the other node);
- joins: a host's WebSocket opened until it is seated (`admitted`), directly at the room's node
  and through the other node (`moved`, then a new WebSocket to the room's node);
- failover: every room's host seated, one node killed with SIGKILL; until every host of that
  node's rooms is seated again on the other node (the lease runs out, the other node takes the
  rooms, the hosts' reconnects find it).

The last lines, in this order:
    rooms_per_node: <node>=<n> <node>=<n>
    placement_ms_median: X
    direct_join_ms_median: X
    redirect_overhead_ms: X   (join through a redirect minus direct, medians)
    join_ms_median: X         (through a redirect)
    failover_s: X             (kill to the last host seated again)
"""

# ruff: noqa: E402 — third-party imports follow the dependency check that installs them.

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ensure_dependencies

ensure_dependencies()

import aiohttp

LINK_SECRET = "bench-link-secret-" + "x" * 24
SESSION_SECRET = "bench-session-secret-" + "y" * 24


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_postgres() -> None:
    from tests.support.postgres import binaries

    if binaries() is not None:
        return
    say("installing PostgreSQL (apt-get)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.check_call(["apt-get", "update", "-q"], env=env)
    subprocess.check_call(["apt-get", "install", "-y", "-q", "postgresql"], env=env)


async def timed_get(session: aiohttp.ClientSession, url: str) -> tuple[float, int, str]:
    started = time.perf_counter()
    async with session.get(url, ssl=False, allow_redirects=False) as answer:
        await answer.read()
        return (
            (time.perf_counter() - started) * 1000,
            answer.status,
            answer.headers.get("Location", ""),
        )


async def join(base_url: str, inspection: int, token: str) -> tuple[float, object]:
    """A host joining at `base_url`: ms until seated, and the client (left connected)."""
    from tests.support.reconnecting import ReconnectingClient

    client = ReconnectingClient(base_url, inspection, token, observe=False)
    started = time.perf_counter()
    await client.connect()
    await client.wait_for(lambda: client.status == "admitted", 30, "seated")
    return (time.perf_counter() - started) * 1000, client


async def run(args: argparse.Namespace) -> None:
    from server.archive import ArchiveStore
    from server.cases.links import Links, LinkSigner
    from server.config import from_mapping
    from server.live import hooks
    from tests.support.postgres import Postgres
    from tests.support.server import ServerProcess, invite, write_config

    hooks.use_host_addresses(["127.0.0.1"])  # the bench's peers, like the nodes: loopback
    work = Path(tempfile.mkdtemp(prefix="kanyan-scale-"))
    postgres = Postgres()
    postgres.start()
    nodes: dict[str, ServerProcess] = {}
    clients: list = []
    archive = None
    try:
        url = await postgres.create_database()
        for name in ("east", "west"):
            folder = work / name
            folder.mkdir()
            config = write_config(
                folder,
                archive={"url": url},
                node={"id": name, "heartbeat_s": 0.5, "lease_s": args.lease},
                security={"link_secret": LINK_SECRET},
                staff={"session_secret": SESSION_SECRET},
            )
            nodes[name] = ServerProcess(config, folder).start(timeout=90)
            say(f"node {name}: {nodes[name].base_url}")
        await asyncio.sleep(1.5)  # each node has heard the other's heartbeat
        archive = await ArchiveStore.open(url)
        settings = from_mapping({"security": {"link_secret": LINK_SECRET}}, "bench")
        links = Links(settings, archive, LinkSigner(LINK_SECRET.encode()))
        invited = [await invite(archive, links, ["host"]) for _ in range(args.rooms)]
        by_url = {node.base_url: name for name, node in nodes.items()}
        names = sorted(nodes)

        # Placement: the first GET of each link, entering at alternate nodes.
        placement_ms, home = [], {}
        async with aiohttp.ClientSession() as session:
            for n, room in enumerate(invited):
                entry = nodes[names[n % 2]]
                path = f"/room/{room.inspection.id}/{room.token('host')}"
                ms, status, location = await timed_get(session, entry.base_url + path)
                placement_ms.append(ms)
                home[room.inspection.id] = (
                    by_url[entry.base_url] if status == 200 else by_url[location[: -len(path)]]
                )
        counts = {name: sum(1 for h in home.values() if h == name) for name in names}
        say(f"placed: {counts}")

        # Joins, direct and through the other node: every host ends seated on its room's node.
        direct, redirected = [], []
        for n, room in enumerate(invited):
            own = home[room.inspection.id]
            other = next(name for name in names if name != own)
            through = nodes[own if n % 2 == 0 else other]
            ms, client = await join(through.base_url, room.inspection.id, room.token("host"))
            clients.append((room, client))
            (direct if through is nodes[own] else redirected).append(ms)
        say(f"joins: {len(direct)} direct, {len(redirected)} through a redirect")

        # Failover: the node with the most rooms dies.
        victim = max(names, key=lambda name: counts[name])
        moved = [c for room, c in clients if home[room.inspection.id] == victim]
        survivor = nodes[next(name for name in names if name != victim)].base_url
        survivor_ws = survivor.replace("https://", "wss://") + "/ws"
        say(f"killing {victim} ({len(moved)} rooms)")
        nodes[victim].kill()
        killed = time.perf_counter()
        for client in moved:
            await client.wait_for(
                lambda c=client: c.status == "admitted" and c.url == survivor_ws,
                args.lease + 60,
                "seated again on the surviving node",
            )
        failover_s = time.perf_counter() - killed

        print(f"rooms_per_node: {' '.join(f'{name}={counts[name]}' for name in names)}")
        print(f"placement_ms_median: {statistics.median(placement_ms):.1f}")
        print(f"direct_join_ms_median: {statistics.median(direct):.1f}")
        overhead = statistics.median(redirected) - statistics.median(direct)
        print(f"redirect_overhead_ms: {overhead:.1f}")
        print(f"join_ms_median: {statistics.median(redirected):.1f}")
        print(f"failover_s: {failover_s:.2f}", flush=True)
    finally:
        for _, client in clients:
            await client.close()
        if archive is not None:
            await archive.close()
        for node in nodes.values():
            node.stop()
        postgres.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=8, help="inspections (default 8)")
    parser.add_argument("--lease", type=float, default=4.0, help="node.lease_s (default 4)")
    args = parser.parse_args()
    ensure_postgres()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

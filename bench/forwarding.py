"""Forwarding benchmark: Kanyan's encoded-frame forwarding against the naive design.

    .venv/bin/python bench/forwarding.py

Starts `python -m server` twice (media.forwarding = "encoded", Kanyan's design, then
"reencode", the naive design: aiortc MediaRelay and one VP8/Opus encode per subscriber) on
127.0.0.1 with a temporary data directory, and fills rooms of N = 2, 4, 6 with aiortc peers,
one process each. Every peer publishes a synthetic 640×480 camera at 15 fps (textured scene,
panning camera, a moving object, sensor noise; VP8 at ~500 kbps), the load issue 2 names,
pre-encoded once so that the peers spend no CPU on encoding: their senders pack the frames, as
the server's do. One more row, "encoded+audio", repeats Kanyan's N = 6 room with every peer also
publishing a microphone (Opus): the realistic load, shown beside the specified one. Every peer
decodes all it receives (libvpx, libopus), on its event loop rather than in aiortc's decoder
threads, whose two thread hand-offs per frame would cost
more than the decoding. Peers send no REMB, so the naive server's encoders stay at aiortc's
default 500 kbps, the rate the peers publish at: both designs deliver the same media.

After everyone has decoded video from everyone else and a warm-up, it measures over a steady
window: the server's CPU time (psutil, all threads, user + system), the peers' CPU time, and
the video frames each subscriber decoded. The main figure is server CPU per delivered frame
(server CPU seconds / video frames decoded by all subscribers): per delivered frame, because
the naive design cannot keep 15 fps at N = 6 on a small machine.

The last three lines:
    join_ms_median: median over 10 joins of the time from WebSocket open to the first decoded
        remote video frame, for a participant joining a room where the host is publishing
        (the host's peer admits from the lobby at once), with Kanyan's forwarding.
    legs_per_core: how many forwarded subscriber legs (one subscriber receiving one publisher's
        video) one core could carry at 15 fps, extrapolated from the N = 6 run with Kanyan's
        forwarding: N(N−1) legs × (delivered fps per leg / 15) / server cores busy. The
        encoded+audio row gives the same figure for legs that also carry Opus audio.
    forwarding: kanyan / naive server CPU per delivered frame (N=6) = <ratio>

Peers and server share the machine's cores, so the table also shows the peers' CPU and what
other processes used during each window.
"""

# ruff: noqa: E402 — third-party imports follow the dependency check that installs them.

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ensure_dependencies

ensure_dependencies()

import psutil

from bench.support.clip import FPS, describe, make_clip
from bench.support.harness import (
    PeerProcess,
    Room,
    ServerProcess,
    UdpState,
    busy_seconds,
    cpu_seconds,
    prepare_rooms,
    udp_state,
)

ROOM_SIZES = (2, 4, 6)
MODES = ("encoded", "reencode")
JOINS = 10


COUNTERS = ("video", "audio", "bytes", "published", "errors", "lost")


@dataclass
class Snapshot:
    at: float
    server: Any  # psutil cpu times
    peers: float
    busy: float
    counts: dict[str, int]
    server_udp: UdpState
    peer_udp: UdpState


@dataclass
class RoomResult:
    mode: str
    n: int
    window: float
    server_user: float
    server_system: float
    peers_cpu: float
    others_cpu: float
    counts: dict[str, int]  # during the window
    late: int  # peers that never decoded everyone before the window
    server_drops: int
    peer_drops: int
    peer_backlog: int  # bytes the peers had not read yet when the window opened or closed

    @property
    def legs(self) -> int:
        return self.n * (self.n - 1)

    @property
    def server_cpu(self) -> float:
        return self.server_user + self.server_system

    def core_percent(self, seconds: float) -> float:
        return 100 * seconds / self.window

    @property
    def published_fps(self) -> float:
        return self.counts["published"] / self.n / self.window

    @property
    def fps_per_leg(self) -> float:
        return self.counts["video"] / self.legs / self.window

    @property
    def kbps_per_leg(self) -> float:
        return self.counts["bytes"] * 8 / self.legs / self.window / 1000

    @property
    def ms_per_frame(self) -> float:
        return 1000 * self.server_cpu / max(self.counts["video"], 1)

    @property
    def legs_per_core(self) -> float:
        return self.counts["video"] / (FPS * self.server_cpu) if self.server_cpu else 0.0


class Bench:
    def __init__(self, workdir: Path, warmup: float, window: float) -> None:
        self.workdir = workdir
        self.clip_path = workdir / "clip.pickle"
        self.warmup = warmup
        self.window = window
        self.log = open(workdir / "peers.log", "a")

    def close(self) -> None:
        self.log.close()

    async def peer(
        self, server: ServerProcess, room: Room, index: int, expect: int, audio: bool = False
    ) -> PeerProcess:
        spec = {
            "name": f"{room.name}/{index}",
            "base_url": server.base_url,
            "inspection": room.inspection,
            "token": room.tokens[index],
            "admit": index == 0,
            "expect": expect,
            "clip": str(self.clip_path),
            "audio": audio,
        }
        return await PeerProcess.start(spec, self.log)

    async def snapshot(self, server: ServerProcess, peers: list[PeerProcess]) -> Snapshot:
        stats = await asyncio.gather(*(p.stats() for p in peers))
        return Snapshot(
            time.monotonic(),
            server.cpu_times(),
            sum(p.cpu() for p in peers),
            busy_seconds(),
            {name: sum(s[name] for s in stats) for name in COUNTERS},
            udp_state([server.pid]),
            udp_state([p.proc.pid for p in peers]),
        )

    async def room(
        self, server: ServerProcess, room: Room, n: int, audio: bool = False
    ) -> RoomResult:
        peers = await asyncio.gather(*(self.peer(server, room, i, n - 1, audio) for i in range(n)))
        try:
            ready = await asyncio.gather(
                *(p.event("ready", 120) for p in peers), return_exceptions=True
            )
            late = sum(isinstance(r, BaseException) for r in ready)
            await asyncio.sleep(self.warmup)
            me = psutil.Process()
            mine = cpu_seconds(me)
            a = await self.snapshot(server, peers)
            await asyncio.sleep(self.window)
            b = await self.snapshot(server, peers)
            mine = cpu_seconds(me) - mine
        finally:
            await asyncio.gather(*(p.quit() for p in peers))
        user, system = b.server.user - a.server.user, b.server.system - a.server.system
        peers_cpu = b.peers - a.peers
        return RoomResult(
            server.mode + ("+audio" if audio else ""),
            n,
            b.at - a.at,
            user,
            system,
            peers_cpu,
            max(0.0, b.busy - a.busy - user - system - peers_cpu - mine),
            {name: b.counts[name] - a.counts[name] for name in COUNTERS},
            late,
            b.server_udp.drops - a.server_udp.drops,
            b.peer_udp.drops - a.peer_udp.drops,
            max(a.peer_udp.queued, b.peer_udp.queued),
        )

    async def joins(self, server: ServerProcess, room: Room, count: int) -> list[float]:
        host = await self.peer(server, room, 0, 0)
        times = []
        try:
            await host.event("ready", 60)
            await asyncio.sleep(1)
            for i in range(1, count + 1):
                joiner = await self.peer(server, room, i, 1)
                try:
                    times.append((await joiner.event("ready", 60))["join_ms"])
                finally:
                    await joiner.quit()
                await asyncio.sleep(0.5)
        finally:
            await host.quit()
        return times


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def run(workdir: Path, options: argparse.Namespace) -> None:
    modes, room_sizes, join_count = options.modes, options.sizes, options.joins
    load_before = os.getloadavg()
    started = time.monotonic()
    bench = Bench(workdir, options.warmup, options.window)
    with_audio = "encoded" in modes and 6 in room_sizes and not options.no_audio_row
    say(f"bench: working in {workdir}")
    clip = make_clip(bench.clip_path)
    sizes = {f"{mode}-{n}": n for mode in modes for n in room_sizes}
    sizes["join"] = join_count + 1
    if with_audio:
        sizes["encoded+audio-6"] = 6
    first = ServerProcess(workdir, modes[0])
    rooms = await prepare_rooms(first.config, sizes)
    results: list[RoomResult] = []
    joins: list[float] = []
    try:
        for mode in modes:
            server = first if mode == modes[0] else ServerProcess(workdir, mode)
            server.start()
            say(f"bench: server ({mode}) at {server.base_url} (pid {server.proc.pid})")
            try:
                for n in room_sizes:
                    result = await bench.room(server, rooms[f"{mode}-{n}"], n)
                    results.append(result)
                    load = 100 * result.server_cpu / result.window
                    say(
                        f"bench: {mode} N={n}: server {load:.1f}% of a core, "
                        f"{result.fps_per_leg:.1f} fps per leg"
                    )
                    await asyncio.sleep(1)
                if mode == "encoded" and with_audio:
                    result = await bench.room(server, rooms["encoded+audio-6"], 6, audio=True)
                    results.append(result)
                    say(f"bench: encoded+audio N=6: {result.legs_per_core:.1f} legs per core")
                if mode == "encoded" and join_count:
                    joins = await bench.joins(server, rooms["join"], join_count)
                    say(f"bench: joins (ms): {', '.join(f'{j:.0f}' for j in joins)}")
            finally:
                server.stop()
    finally:
        bench.close()
    report(results, joins, clip, load_before, time.monotonic() - started, options)


def report(
    results: list[RoomResult],
    joins: list[float],
    clip: dict[str, Any],
    load_before: tuple[float, float, float],
    elapsed: float,
    options: argparse.Namespace,
) -> None:
    load_after = os.getloadavg()
    cores = psutil.cpu_count()
    media = describe(clip, audio=False) + " (+ Opus in the encoded+audio row)"
    print(
        f"Forwarding benchmark: {media} per publisher; everyone publishes and receives everyone "
        "else."
    )
    print(
        f"Server CPU = psutil user+system, all threads, over {options.window:.0f} s after everyone"
        f" decoded everyone and {options.warmup:.0f} s of warm-up. % = of one core. {cores} "
        f"cores; load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; "
        f"{elapsed:.0f} s in all."
    )
    print(
        "legs = N(N-1) subscriber legs, one subscriber receiving one publisher's video "
        "(and audio in the +audio row). "
        "legs/core = forwarded subscriber legs one core could carry at 15 fps, extrapolated from "
        "this row's server CPU per leg = video frames delivered / (15 x server CPU seconds)."
    )
    print()
    header = (
        f"{'mode':<14}{'N':>3}{'legs':>5}{'server %':>10}{'sys':>5}{'ms/frame':>10}{'pub fps':>8}"
        f"{'fps/leg':>8}{'kbps/leg':>9}{'legs/core':>10}{'peers %':>9}{'/peer':>7}"
        f"{'others %':>9}{'drops':>12}{'behind':>8}{'lost':>6}{'late':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.mode:<14}{r.n:>3}{r.legs:>5}{r.core_percent(r.server_cpu):>10.1f}"
            f"{r.core_percent(r.server_system):>5.1f}{r.ms_per_frame:>10.3f}"
            f"{r.published_fps:>8.2f}{r.fps_per_leg:>8.2f}{r.kbps_per_leg:>9.0f}"
            f"{r.legs_per_core:>10.1f}{r.core_percent(r.peers_cpu):>9.1f}"
            f"{r.core_percent(r.peers_cpu) / r.n:>7.1f}{r.core_percent(r.others_cpu):>9.1f}"
            f"{f'{r.server_drops}/{r.peer_drops}':>12}{r.peer_backlog // 1000:>8}"
            f"{r.counts['lost']:>6}{r.late:>5}"
        )
    print()
    print(
        "encoded = Kanyan (publishers' frames forwarded untouched); reencode = naive (aiortc "
        "MediaRelay: decoded once, VP8/Opus encoded again for each subscriber)."
    )
    print(
        "server % = its CPU, % of one core (sys = the kernel's part); ms/frame = server CPU per "
        "video frame decoded by a subscriber; pub fps = frames each peer sent per second; "
        "fps/leg, kbps/leg = video frames decoded and bytes (audio+video) received per leg; "
        "peers % = all peers' CPU (/peer = each); others % = processes outside the bench; "
        "drops = datagrams dropped by full socket buffers at the server / at the peers; "
        "behind = KB the peers had received but not read when the window opened or closed "
        "(starved peers: their counts are off); "
        "lost = RTP packets the peers' receivers counted lost; "
        "late = peers that had not decoded everyone within 120 s."
    )
    errors = sum(r.counts["errors"] for r in results)
    if errors:
        print(f"decode errors at the peers: {errors}")
    # A peer is behind by more than a second of what it receives, or other processes took
    # more than a quarter of a core: the peers' counts, and so the per-frame figures, suffer.
    busy = [
        f"{r.mode} N={r.n}"
        for r in results
        if r.peer_backlog > r.counts["bytes"] / r.window or r.others_cpu > 0.25 * r.window
    ]
    if busy:
        print(
            f"WARNING: the machine was busy ({', '.join(busy)}): peers fell behind or other "
            "processes took CPU; per-frame figures are pessimistic. Rerun on a quiet machine."
        )
    if joins:
        print(
            f"joins: {len(joins)} x (WebSocket open -> first decoded remote frame, lobby and "
            f"admission included), ms: {', '.join(f'{j:.0f}' for j in joins)}"
        )
    by = {(r.mode, r.n): r for r in results}
    kanyan, naive = by.get(("encoded", 6)), by.get(("reencode", 6))
    print(f"join_ms_median: {statistics.median(joins):.1f}" if joins else "join_ms_median: nan")
    print(f"legs_per_core: {kanyan.legs_per_core:.1f}" if kanyan else "legs_per_core: nan")
    ratio = kanyan.ms_per_frame / naive.ms_per_frame if kanyan and naive else float("nan")
    print(f"forwarding: kanyan / naive server CPU per delivered frame (N=6) = {ratio:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=15.0, help="measuring window, s")
    parser.add_argument("--warmup", type=float, default=3.0, help="steady time before it, s")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    # For profiling one case at a time, e.g. --modes encoded --sizes 6 --joins 0 --window 60.
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(ROOM_SIZES))
    parser.add_argument("--joins", type=int, default=JOINS)
    parser.add_argument(
        "--no-audio-row", action="store_true", help="skip the encoded+audio N=6 row"
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kanyan-bench-"))
    try:
        asyncio.run(run(workdir, args))
    finally:
        if args.keep:
            say(f"bench: kept {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

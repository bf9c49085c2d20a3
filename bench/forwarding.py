"""Forwarding benchmark: Kanyan against Janus (the reference) and the naive design, one run.

    .venv/bin/python bench/forwarding.py            # ~8 minutes
    .venv/bin/python bench/forwarding.py --long     # longer windows, repeated pairs

Runs inside a network namespace of its own (bench.support.netns: Janus gathers no candidates
on loopback; nothing leaves the machine). Starts `python -m server` (media.forwarding =
"encoded": Kanyan's packet forwarding) and Debian's Janus 1.1.2 VideoRoom (installed when
missing, bench.support.janus), and later the naive design ("reencode": aiortc MediaRelay, one
VP8/Opus encode per subscriber). Rooms are filled with aiortc peers, one process each, every
peer publishing the same synthetic 640×480 camera at 15 fps (textured scene, panning camera, a
moving object, sensor noise; VP8 at ~500 kbps), pre-encoded so that peers spend no CPU
encoding, and in the "+audio" rows an Opus microphone too. Every peer receives everyone else;
it decodes all it receives (libvpx, libopus) on its event loop, except in the room of 10,
where it only counts whole frames (ten peers decoding nine streams each would starve the
machine and measure themselves). Peers send no REMB: the naive server's encoders keep the
peers' own 500 kbps, so every design delivers the same media.

Rows: kanyan N = 2, 4, 6 (video); kanyan+audio and janus+audio N = 6, one right after the
other (repeated --pairs times, alternating); kanyan+audio+rec N = 10 (90 legs, the host starts
the session, so the recorder composites and writes the room); naive N = 2, 4, 6 (video).

After everyone has received video from everyone else and a warm-up, it measures over a steady
window: the server's CPU time (psutil, all threads, user + system; the recorder, a child
process, apart), the peers' CPU time, the video frames each subscriber decoded per publisher,
and the datagrams dropped by full receive buffers on the server's sockets (/proc/net/udp).
The main figure is server CPU per delivered frame (server CPU seconds / video frames decoded
by all subscribers).

The last lines:
    join_ms_median: median over 10 joins of the time from WebSocket open to the first decoded
        remote video frame, for a participant joining a room where the host is publishing
        (the host's peer admits from the lobby at once), with Kanyan.
    legs_per_core: how many subscriber legs (one subscriber receiving one publisher's audio and
        video) one core could carry at 15 fps, from Kanyan's audio+video room of 6:
        video frames delivered / (15 × server CPU seconds).
    forwarding: kanyan / janus server CPU per delivered frame (N=6, audio+video) = <ratio>
    forwarding: kanyan / naive server CPU per delivered frame (N=6) = <ratio>

Peers and servers share the machine's cores, so the table also shows the peers' CPU and what
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.support import ensure_dependencies

ensure_dependencies()

import psutil

from bench.support import netns
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
from bench.support.janus import JanusProcess, create_rooms, ensure_janus

JOINS = 10
COUNTERS = ("video", "audio", "bytes", "published", "errors", "lost")
JANUS_ROOM_BASE = 5000


@dataclass(frozen=True)
class Case:
    server: str  # kanyan | janus | naive
    n: int
    audio: bool = False
    recording: bool = False
    decode: bool = True
    repeat: int = 0  # the how-manieth pair: each gets a room of its own

    @property
    def key(self) -> str:
        return f"{self.label}-{self.n}-{self.repeat}"

    @property
    def label(self) -> str:
        return self.server + ("+audio" if self.audio else "") + ("+rec" if self.recording else "")

    @property
    def legs(self) -> int:
        return self.n * (self.n - 1)


@dataclass
class Snapshot:
    at: float
    server: float
    server_system: float
    recorder: float
    peers: float
    busy: float
    stats: list[dict[str, Any] | None]  # each peer's counters (None: it did not answer)
    server_udp: UdpState
    peer_udp: UdpState


@dataclass
class RoomResult:
    case: Case
    window: float
    server_cpu: float
    server_system: float
    recorder_cpu: float
    peers_cpu: float
    others_cpu: float
    counts: dict[str, int]  # during the window
    leg_fps: list[float] = field(default_factory=list)  # each leg's delivered video fps
    late: int = 0  # peers that never received everyone before the window
    server_drops: int = 0
    peer_drops: int = 0
    peer_backlog: int = 0  # bytes the peers had not read yet when the window opened or closed

    @property
    def legs(self) -> int:
        return self.case.legs

    def core_percent(self, seconds: float) -> float:
        return 100 * seconds / self.window

    @property
    def published_fps(self) -> float:
        return self.counts["published"] / self.case.n / self.window

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
    def ms_per_forwarded(self) -> float:
        """Server CPU per video frame it had to forward (published x N-1): unlike delivered
        frames, this does not depend on whether starved peers read what they were sent."""
        forwarded = self.counts["published"] * (self.case.n - 1)
        return 1000 * self.server_cpu / max(forwarded, 1)

    @property
    def legs_per_core(self) -> float:
        return self.counts["video"] / (FPS * self.server_cpu) if self.server_cpu else 0.0


def cpu_tree(process: psutil.Process | None) -> tuple[float, float, float]:
    """(the process's user+system, its system part, its children's user+system)."""
    if process is None:
        return 0.0, 0.0, 0.0
    try:
        times = process.cpu_times()
        children = 0.0
        for child in process.children(recursive=True):
            try:
                children += cpu_seconds(child)
            except psutil.NoSuchProcess:
                pass
        return times.user + times.system, times.system, children
    except psutil.NoSuchProcess:
        return 0.0, 0.0, 0.0


class Bench:
    def __init__(self, workdir: Path, options: argparse.Namespace) -> None:
        self.workdir = workdir
        self.clip_path = workdir / "clip.pickle"
        self.warmup = options.warmup
        self.window = options.window
        self.log = open(workdir / "peers.log", "a")
        self.rooms: dict[str, Room] = {}
        self._janus_rooms = iter(range(JANUS_ROOM_BASE, JANUS_ROOM_BASE + 1000))

    def close(self) -> None:
        self.log.close()

    def spec(self, server: Any, case: Case, index: int, expect: int) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": f"{case.label}-{case.n}/{index}",
            "expect": expect,
            "clip": str(self.clip_path),
            "audio": case.audio,
            "decode": case.decode,
        }
        if case.server == "janus":
            spec.update(server="janus", janus_url=server.base_url, address=netns.ADDRESS)
        return spec

    async def peers(self, server: Any, case: Case, room: Room | int) -> list[PeerProcess]:
        specs = []
        for i in range(case.n):
            spec = self.spec(server, case, i, case.n - 1)
            if isinstance(room, int):
                spec["room"] = room
            else:
                spec.update(
                    base_url=server.base_url,
                    inspection=room.inspection,
                    token=room.tokens[i],
                    admit=i == 0,
                    start_session=i == 0 and case.recording,
                )
            specs.append(spec)
        return list(await asyncio.gather(*(PeerProcess.start(s, self.log) for s in specs)))

    async def snapshot(self, server: Any, peers: list[PeerProcess]) -> Snapshot:
        answers = await asyncio.gather(*(p.stats() for p in peers), return_exceptions=True)
        own, system, children = cpu_tree(server.ps)
        return Snapshot(
            time.monotonic(),
            own,
            system,
            children,
            sum(p.cpu() for p in peers),
            busy_seconds(),
            [None if isinstance(a, BaseException) else a for a in answers],
            udp_state([server.pid]),
            udp_state([p.proc.pid for p in peers]),
        )

    async def room(self, server: Any, case: Case) -> RoomResult:
        if case.server == "janus":
            room: Room | int = next(self._janus_rooms)
            await create_rooms(server.base_url, [room], case.n + 2)
        else:
            room = self.rooms[case.key]
        peers = await self.peers(server, case, room)
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
        window = b.at - a.at
        server_cpu = b.server - a.server
        recorder = max(0.0, b.recorder - a.recorder)
        peers_cpu = b.peers - a.peers
        both = [(x, y) for x, y in zip(a.stats, b.stats, strict=True) if x and y]
        late += len(peers) - len(both)  # a peer that left (or failed) during the window
        counts = {name: sum(y[name] - x[name] for x, y in both) for name in COUNTERS}
        leg_fps = [
            (y["by_publisher"].get(publisher, 0) - x["by_publisher"].get(publisher, 0)) / window
            for x, y in both
            for publisher in y["by_publisher"]
        ]
        leg_fps += [0.0] * (case.legs - len(leg_fps))  # legs that delivered nothing at all
        return RoomResult(
            case,
            window,
            server_cpu,
            b.server_system - a.server_system,
            recorder,
            peers_cpu,
            max(0.0, b.busy - a.busy - server_cpu - recorder - peers_cpu - mine),
            counts,
            leg_fps,
            late,
            b.server_udp.drops_since(a.server_udp),
            b.peer_udp.drops_since(a.peer_udp),
            max(a.peer_udp.queued, b.peer_udp.queued),
        )

    async def joins(self, server: ServerProcess, count: int) -> list[float]:
        room = self.rooms["join"]
        case = Case("kanyan", 2)

        def spec(index: int, expect: int) -> dict[str, Any]:
            return {
                **self.spec(server, case, index, expect),
                "base_url": server.base_url,
                "inspection": room.inspection,
                "token": room.tokens[index],
                "admit": index == 0,
                "name": f"join/{index}",
            }

        host = await PeerProcess.start(spec(0, 0), self.log)
        times = []
        self.join_timelines: list[dict[str, float]] = []
        try:
            await host.event("ready", 60)
            await asyncio.sleep(1)
            for i in range(1, count + 1):
                joiner = await PeerProcess.start(spec(i, 1), self.log)
                try:
                    ready = await joiner.event("ready", 60)
                    times.append(ready["join_ms"])
                    self.join_timelines.append(ready.get("timeline", {}))
                finally:
                    await joiner.quit()
                await asyncio.sleep(0.5)
        finally:
            await host.quit()
        return times


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def plan(options: argparse.Namespace) -> tuple[list[Case], list[Case], list[Case]]:
    """(Kanyan and Janus cases, in order; Kanyan cases that need no Janus; naive cases)."""
    sizes = options.sizes
    kanyan = [Case("kanyan", n) for n in sizes]
    paired: list[Case] = []
    if options.janus:
        for i in range(options.pairs):
            pair = [Case("kanyan", 6, audio=True, repeat=i), Case("janus", 6, audio=True, repeat=i)]
            paired += pair if i % 2 == 0 else pair[::-1]
    else:
        paired.append(Case("kanyan", 6, audio=True))
    big = [Case("kanyan", 10, audio=True, recording=True, decode=False)] if options.big else []
    naive = [Case("naive", n) for n in sizes] if options.naive else []
    return kanyan + paired, big, naive


async def run(workdir: Path, options: argparse.Namespace) -> None:
    load_before = os.getloadavg()
    started = time.monotonic()
    bench = Bench(workdir, options)
    say(f"bench: working in {workdir}")
    clip = make_clip(bench.clip_path)
    first, big, naive = plan(options)
    kanyan_cases = [c for c in first + big + naive if c.server != "janus"]
    sizes = {c.key: c.n for c in kanyan_cases}
    sizes["join"] = options.joins + 1
    kanyan = ServerProcess(workdir, "encoded")
    bench.rooms = await prepare_rooms(kanyan.config, sizes)
    results: list[RoomResult] = []
    joins: list[float] = []

    async def measure(server: Any, case: Case) -> None:
        result = await bench.room(server, case)
        results.append(result)
        say(
            f"bench: {case.label} N={case.n}: server "
            f"{result.core_percent(result.server_cpu):.1f}% of a core, "
            f"{result.fps_per_leg:.1f} fps per leg, {result.legs_per_core:.0f} legs per core"
        )
        await asyncio.sleep(1)

    janus = JanusProcess(workdir, netns.ADDRESS, netns.INTERFACE) if options.janus else None
    try:
        kanyan.start()
        say(f"bench: kanyan at {kanyan.base_url} (pid {kanyan.pid})")
        if janus is not None:
            janus.start()
            say(f"bench: janus at {janus.base_url} (pid {janus.pid})")
        for case in first:
            await measure(janus if case.server == "janus" else kanyan, case)
        if options.joins:
            joins = await bench.joins(kanyan, options.joins)
            say(f"bench: joins (ms): {', '.join(f'{j:.0f}' for j in joins)}")
        if janus is not None:
            janus.stop()
            janus = None
        for case in big:
            await measure(kanyan, case)
    finally:
        kanyan.stop()
        if janus is not None:
            janus.stop()
    if naive:
        server = ServerProcess(workdir, "reencode")
        try:
            server.start()
            say(f"bench: naive at {server.base_url} (pid {server.pid})")
            for case in naive:
                await measure(server, case)
        finally:
            server.stop()
    bench.close()
    timelines = getattr(bench, "join_timelines", [])
    report(results, joins, timelines, clip, load_before, time.monotonic() - started, options)


def mean_ms(results: list[RoomResult], label: str, n: int) -> float | None:
    """Server CPU per delivered frame over every window of one case (repeated pairs)."""
    chosen = [r for r in results if r.case.label == label and r.case.n == n]
    if not chosen:
        return None
    return 1000 * sum(r.server_cpu for r in chosen) / max(sum(r.counts["video"] for r in chosen), 1)


def report(
    results: list[RoomResult],
    joins: list[float],
    timelines: list[dict[str, float]],
    clip: dict[str, Any],
    load_before: tuple[float, float, float],
    elapsed: float,
    options: argparse.Namespace,
) -> None:
    load_after = os.getloadavg()
    cores = psutil.cpu_count()
    media = describe(clip, audio=False) + " (+ Opus 32 kbps in the +audio rows)"
    print(f"Forwarding benchmark: {media} per publisher; everyone receives everyone else.")
    print(
        f"Server CPU = psutil user+system of the server process, all threads, over "
        f"{options.window:.0f} s after everyone received everyone and {options.warmup:.0f} s of "
        f"warm-up. % = of one core. {cores} cores; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; {elapsed:.0f} s in all."
    )
    print(
        "legs = N(N-1): one subscriber receiving one publisher's video (and audio in +audio "
        "rows). legs/core = legs one core could carry at 15 fps = video frames delivered / "
        "(15 x server CPU seconds)."
    )
    print()
    header = (
        f"{'server':<18}{'N':>3}{'legs':>5}{'server %':>10}{'sys':>5}{'ms/frame':>10}{'ms/fwd':>8}"
        f"{'pub fps':>8}{'fps/leg':>8}{'min':>6}{'kbps/leg':>9}{'legs/core':>10}{'rec %':>7}"
        f"{'peers %':>9}{'others %':>9}{'drops':>12}{'behind':>8}{'lost':>6}{'late':>5}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.case.label:<18}{r.case.n:>3}{r.legs:>5}{r.core_percent(r.server_cpu):>10.1f}"
            f"{r.core_percent(r.server_system):>5.1f}{r.ms_per_frame:>10.3f}"
            f"{r.ms_per_forwarded:>8.3f}"
            f"{r.published_fps:>8.2f}{r.fps_per_leg:>8.2f}{min(r.leg_fps, default=0):>6.1f}"
            f"{r.kbps_per_leg:>9.0f}{r.legs_per_core:>10.1f}"
            f"{r.core_percent(r.recorder_cpu):>7.1f}{r.core_percent(r.peers_cpu):>9.1f}"
            f"{r.core_percent(r.others_cpu):>9.1f}"
            f"{f'{r.server_drops}/{r.peer_drops}':>12}{r.peer_backlog // 1000:>8}"
            f"{r.counts['lost']:>6}{r.late:>5}"
        )
    print()
    print(
        "kanyan = Kanyan's packet forwarding (media.forwarding = encoded); janus = Janus 1.1.2 "
        "VideoRoom (Debian), same peers and media; naive = aiortc MediaRelay, decoded once and "
        "VP8/Opus encoded again per subscriber; +rec = the host started the session: the "
        "recorder composites and writes the room (its process: rec %); peers count whole "
        "frames there instead of decoding."
    )
    print(
        "server % = the server process's CPU, % of one core (sys = the kernel's part); "
        "ms/frame = server CPU per video frame delivered to a subscriber; ms/fwd = per video "
        "frame it had to forward (published x (N-1)); pub fps = frames each "
        "peer sent per second; fps/leg = video frames delivered per leg per second (min = the "
        "worst leg); kbps/leg = bytes received per leg (audio+video); peers % = all peers' CPU; "
        "others % = processes outside the bench; drops = datagrams dropped by full socket "
        "buffers at the server / at the peers; behind = KB the peers had received but not "
        "read (starved peers: their counts are off); lost = RTP packets the peers' receivers "
        "counted lost; late = peers that had not received everyone within 120 s, or left "
        "before the window closed."
    )
    errors = sum(r.counts["errors"] for r in results)
    if errors:
        print(f"decode errors at the peers: {errors}")
    busy = [
        f"{r.case.label} N={r.case.n}"
        for r in results
        if r.peer_backlog > r.counts["bytes"] / r.window or r.others_cpu > 0.25 * r.window
    ]
    if busy:
        print(
            f"WARNING: the machine was busy ({', '.join(busy)}): peers fell behind or other "
            "processes took CPU; per-frame figures are pessimistic. Rerun on a quiet machine."
        )
    big = [r for r in results if r.case.recording]
    for r in big:
        held = all(fps >= FPS - 0.5 for fps in r.leg_fps)
        print(
            f"room of {r.case.n} with recording: {r.legs} legs, every leg >= 14.5 fps: "
            f"{'yes' if held else 'no'} (worst {min(r.leg_fps, default=0):.2f}, mean "
            f"{r.fps_per_leg:.2f}), datagrams dropped at the server's sockets: "
            f"{r.server_drops}, server {r.core_percent(r.server_cpu):.1f}% + recorder "
            f"{r.core_percent(r.recorder_cpu):.1f}% of a core"
        )
    if joins:
        print(
            f"joins: {len(joins)} x (WebSocket open -> first decoded remote frame, lobby and "
            f"admission included), ms: {', '.join(f'{j:.0f}' for j in joins)}"
        )
    if timelines:
        steps = sorted(
            {step for timeline in timelines for step in timeline},
            key=lambda step: statistics.median(t[step] for t in timelines if step in t),
        )
        medians = (
            f"{step} {statistics.median(t[step] for t in timelines if step in t):.0f}"
            for step in steps
        )
        print(f"a join, median ms after the WebSocket opened: {', '.join(medians)}")
        typical = statistics.median(joins)
        for took, timeline in zip(joins, timelines, strict=False):
            if took > 3 * typical:
                steps = ", ".join(f"{step} {at:.0f}" for step, at in timeline.items())
                print(f"a slow join ({took:.0f} ms): {steps}")
    forwarded = {
        label: [r for r in results if r.case.label == label and r.case.n == 6]
        for label in ("kanyan+audio", "janus+audio")
    }
    if all(forwarded.values()):
        k, j = (
            sum(r.server_cpu for r in rows) / sum(r.counts["published"] for r in rows)
            for rows in forwarded.values()
        )
        print(
            "per frame to forward instead (what starved peers miss does not count): "
            f"kanyan / janus = {k / j:.4f}"
        )
    kanyan_av = mean_ms(results, "kanyan+audio", 6)
    janus_av = mean_ms(results, "janus+audio", 6)
    kanyan_v, naive_v = mean_ms(results, "kanyan", 6), mean_ms(results, "naive", 6)
    rows = [r for r in results if r.case.label == "kanyan+audio" and r.case.n == 6]
    frames = sum(r.counts["video"] for r in rows)
    cpu = sum(r.server_cpu for r in rows)
    nan = float("nan")
    print(f"join_ms_median: {statistics.median(joins):.1f}" if joins else "join_ms_median: nan")
    print(f"legs_per_core: {frames / (FPS * cpu):.1f}" if cpu else "legs_per_core: nan")
    ratio = kanyan_av / janus_av if kanyan_av and janus_av else nan
    print(
        f"forwarding: kanyan / janus server CPU per delivered frame (N=6, audio+video) = "
        f"{ratio:.4f}"
    )
    ratio = kanyan_v / naive_v if kanyan_v and naive_v else nan
    print(f"forwarding: kanyan / naive server CPU per delivered frame (N=6) = {ratio:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=float, default=15.0, help="measuring window, s")
    parser.add_argument("--warmup", type=float, default=3.0, help="steady time before it, s")
    parser.add_argument("--pairs", type=int, default=1, help="kanyan+audio/janus+audio pairs")
    parser.add_argument(
        "--long", action="store_true", help="60 s windows, 3 pairs (about 25 minutes)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--sizes", nargs="*", type=int, default=[2, 4, 6], help="video rows")
    parser.add_argument("--joins", type=int, default=JOINS)
    parser.add_argument("--no-janus", dest="janus", action="store_false")
    parser.add_argument("--no-naive", dest="naive", action="store_false")
    parser.add_argument("--no-big", dest="big", action="store_false", help="skip the room of 10")
    args = parser.parse_args()
    if args.long:
        args.window, args.pairs = max(args.window, 60.0), max(args.pairs, 3)
    if not netns.inside():
        if args.janus:
            ensure_janus()  # apt-get needs the machine's network: before leaving it
        if netns.can_enter():
            netns.reenter()
        say("bench: cannot make a network namespace (needs root and unshare): no Janus rows")
        args.janus = False
    else:
        netns.set_up()
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

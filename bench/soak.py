"""Soak: K rooms of N aiortc peers, every session recording, for T minutes.

    .venv/bin/python bench/soak.py                 # 4 rooms x 4 peers, 8 minutes (~9 in all)
    .venv/bin/python bench/soak.py --minutes 30    # the real soak

Starts `python -m server` (loopback, temporary data directory), fills K rooms with N peers each
(bench/support/peer.py: every peer publishes the pre-encoded 640x480 VP8 camera at 15 fps and
an Opus microphone, and receives everyone else; peers count what arrives without decoding so
that they leave the CPU to the server), has each host start its session (the recorder writes
the composite and the raw tracks), and holds it for T minutes. Every `--sample` seconds it
reads the server's RSS and CPU (psutil; the recorder processes are its children, shown
apart) and its /metrics (forwarding counters, event-loop lag histogram, recorder drops). At
the end each host pronounces a conclusion and ends the session, and the archive is read for
the composites the recorders wrote.

RSS growth is measured from the end of a warm-up (the first minute, or an eighth of a short
run: caches, pools and jitter buffers fill) to the end; the slope is a least-squares line over
the samples after the warm-up. The last two lines:
    rss_growth_pct: server RSS at the end against after the warm-up, in percent (goal ≤ 10)
    dropped_composite_frames: frames the recorders left out because they fell behind
        (kanyan_recorder_dropped_frames_total) plus composite frames missing from the files
        against the sessions' length (a recorder that died leaves a gap) (goal 0)
"""

# ruff: noqa: E402 — third-party imports follow the dependency check that installs them.

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
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

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

from bench.support.clip import describe, make_clip
from bench.support.harness import PeerProcess, Room, ServerProcess, prepare_rooms

FPS = 15


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Sample:
    at: float
    rss: int  # server process, bytes
    recorders_rss: int
    server_cpu: float  # seconds, server process (all threads)
    recorders_cpu: float  # seconds, its children (recorder processes), living ones
    metrics: dict[tuple[str, tuple[tuple[str, str], ...]], float]
    peer_video: int = 0  # frames the peers received so far, all together
    reconnects: int = 0  # times the server asked a peer to reconnect (e.g. its media failed)
    peers_alive: int = 0


@dataclass
class Soak:
    workdir: Path
    options: argparse.Namespace
    server: ServerProcess | None = None
    peers: list[PeerProcess] = field(default_factory=list)
    hosts: list[PeerProcess] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    child_cpu_done: float = 0.0
    seen_children: dict[int, float] = field(default_factory=dict)

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        assert self.server is not None
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"{self.server.base_url}/metrics", ssl=False) as response,
        ):
            text = await response.text()
            if response.status != 200:
                raise RuntimeError(f"/metrics answered {response.status}: {text[:200]}")
        found = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return found

    def _children(self) -> tuple[int, float]:
        """RSS and CPU seconds of the recorder processes (ended ones' CPU kept)."""
        assert self.server is not None and self.server.ps is not None
        rss = 0
        for child in self.server.ps.children(recursive=True):
            try:
                times = child.cpu_times()
                self.seen_children[child.pid] = times.user + times.system
                rss += child.memory_info().rss
            except psutil.NoSuchProcess:
                continue
        return rss, sum(self.seen_children.values())

    async def sample(self, with_peers: bool = False) -> Sample:
        assert self.server is not None and self.server.ps is not None
        times = self.server.ps.cpu_times()
        recorders_rss, recorders_cpu = self._children()
        taken = Sample(
            time.monotonic(),
            self.server.ps.memory_info().rss,
            recorders_rss,
            times.user + times.system,
            recorders_cpu,
            await self.scrape(),
        )
        if with_peers:
            answers = await asyncio.gather(*(p.stats() for p in self.peers), return_exceptions=True)
            stats = [a for a in answers if isinstance(a, dict)]
            taken.peers_alive = len(stats)
            taken.peer_video = sum(s["video"] for s in stats)
            taken.reconnects = sum(s.get("reconnects", 0) for s in stats)
        self.samples.append(taken)
        return taken

    def peer_log(self) -> Any:
        """The peers' stderr, for as long as they live."""
        return open(self.workdir / "peers.log", "a")

    async def start_rooms(self, rooms: list[Room]) -> None:
        assert self.server is not None
        n = self.options.peers
        log = self.peer_log()
        clip = str(self.workdir / "clip.pickle")
        for room in rooms:
            for index in range(n):
                spec = {
                    "name": f"{room.name}/{index}",
                    "base_url": self.server.base_url,
                    "inspection": room.inspection,
                    "token": room.tokens[index],
                    "admit": index == 0,
                    "expect": n - 1,
                    "clip": clip,
                    "audio": True,
                    "decode": False,
                }
                peer = await PeerProcess.start(spec, log)
                self.peers.append(peer)
                if index == 0:
                    self.hosts.append(peer)
        ready = await asyncio.gather(
            *(p.event("ready", 180) for p in self.peers), return_exceptions=True
        )
        late = [p.name for p, r in zip(self.peers, ready, strict=True) if isinstance(r, Exception)]
        if late:
            raise RuntimeError(f"peers never received everyone: {', '.join(late)}")
        for host in self.hosts:
            await host.command("send " + json.dumps({"type": "start"}))

    async def end_rooms(self) -> None:
        conclude = {"type": "conclude", "verdict": "pass", "reasons": "长时运行测试 / soak test"}
        for message in (conclude, {"type": "end"}):
            for host in self.hosts:
                try:
                    await host.command("send " + json.dumps(message))
                except ConnectionError:
                    say(f"soak: host {host.name} is gone; its session stays open")
            await asyncio.sleep(2)
        await asyncio.gather(*(p.quit() for p in self.peers), return_exceptions=True)


async def composites(config: Path, rooms: list[Room]) -> tuple[int, int, int]:
    """(frames written, frames the sessions' length calls for, segments) of every room's
    composite, once the recorders have finished."""
    from server import clock
    from server import config as settings_module
    from server.archive import ArchiveStore

    settings = settings_module.load(config)
    archive = await ArchiveStore.open(settings.data_dir / "kanyan.sqlite3")
    written = expected = segments = 0
    try:
        for room in rooms:
            deadline = time.monotonic() + 180
            while True:
                rows = [
                    r
                    for r in await archive.evidence.recordings(room.inspection)
                    if r.kind == "composite"
                ]
                if rows and all(r.state != "recording" for r in rows):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{room.name}: recordings not finished: {rows}")
                await asyncio.sleep(1)
            inspection = await archive.inspections.get(room.inspection)
            if not (inspection.started_at and inspection.ended_at):
                raise RuntimeError(f"{room.name}: the session did not end ({inspection.state})")
            length = (
                clock.parse(inspection.ended_at) - clock.parse(inspection.started_at)
            ).total_seconds()
            expected += round(length * FPS)
            written += sum(r.frames or 0 for r in rows)
            segments += len(rows)
    finally:
        await archive.close()
    return written, expected, segments


def value(sample: Sample, name: str, **labels: str) -> float:
    return sample.metrics.get((name, tuple(sorted(labels.items()))), 0.0)


def loop_lag_p99(first: Sample, last: Sample) -> float:
    """The 99th percentile of the event-loop lag between two samples, interpolated in its
    histogram bucket like Prometheus's histogram_quantile."""
    buckets = []
    for (name, labels), count in last.metrics.items():
        if name == "kanyan_event_loop_lag_seconds_bucket":
            bound = float(dict(labels)["le"])
            buckets.append((bound, count - first.metrics.get((name, labels), 0.0)))
    buckets.sort()
    total = buckets[-1][1] if buckets else 0
    if not total:
        return 0.0
    rank = 0.99 * total
    lower, below = 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= rank:
            if bound == float("inf"):
                return lower
            inside = cumulative - below
            return lower + (bound - lower) * ((rank - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return lower


def worst_lag_bound(first: Sample, last: Sample) -> float:
    """The smallest histogram bound that holds every lag measured between two samples."""
    deltas = sorted(
        (float(dict(labels)["le"]), count - first.metrics.get((name, labels), 0.0))
        for (name, labels), count in last.metrics.items()
        if name == "kanyan_event_loop_lag_seconds_bucket"
    )
    total = deltas[-1][1] if deltas else 0.0
    return next((bound for bound, count in deltas if count >= total), 0.0)


def slope_mb_per_hour(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    xs = [s.at for s in samples]
    ys = [s.rss / 1e6 for s in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    return (
        3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    )


async def run(workdir: Path, options: argparse.Namespace) -> None:
    soak = Soak(workdir, options)
    say(f"soak: working in {workdir}")
    clip = make_clip(workdir / "clip.pickle")
    server = soak.server = ServerProcess(workdir, "encoded")
    rooms = list(
        (
            await prepare_rooms(
                server.config, {f"room{i}": options.peers for i in range(options.rooms)}
            )
        ).values()
    )
    load_before = os.getloadavg()
    server.start()
    say(f"soak: server at {server.base_url} (pid {server.pid})")
    duration = options.minutes * 60
    warmup = min(60.0, duration / 8)
    try:
        first = await soak.sample()
        await soak.start_rooms(rooms)
        live_at = time.monotonic()
        say(f"soak: {options.rooms} rooms x {options.peers} peers live and recording")
        await asyncio.sleep(warmup)
        after_warmup = await soak.sample(with_peers=True)
        say(f"soak: warm-up done, RSS {after_warmup.rss / 1e6:.1f} MB")
        previous = after_warmup
        while time.monotonic() - live_at < duration:
            await asyncio.sleep(min(options.sample, duration - (time.monotonic() - live_at)))
            taken = await soak.sample(with_peers=True)
            rates = {
                name: (value(taken, name, kind="video") - value(previous, name, kind="video"))
                / max(taken.at - previous.at, 1e-3)
                for name in ("kanyan_received_frames_total", "kanyan_forwarded_frames_total")
            }
            say(
                f"soak: {(taken.at - live_at) / 60:5.1f} min  RSS {taken.rss / 1e6:6.1f} MB  "
                f"video in {rates['kanyan_received_frames_total']:5.0f}/s "
                f"out {rates['kanyan_forwarded_frames_total']:5.0f}/s  "
                f"legs {value(taken, 'kanyan_legs', kind='video'):.0f}  "
                f"recordings {value(taken, 'kanyan_recordings_active'):.0f}  "
                f"recorder drops {value(taken, 'kanyan_recorder_dropped_frames_total'):.0f}  "
                f"failed segments {value(taken, 'kanyan_recording_failed_segments_total'):.0f}  "
                f"reconnects {taken.reconnects}  peers {taken.peers_alive}"
            )
            previous = taken
        last = await soak.sample(with_peers=True)
        await soak.end_rooms()
    finally:
        await asyncio.gather(*(p.quit() for p in soak.peers), return_exceptions=True)
    try:
        written, expected, segments = await composites(server.config, rooms)
        final = await soak.sample()
    finally:
        server.stop()
    report(soak, first, after_warmup, last, final, (written, expected, segments), clip, load_before)


def report(
    soak: Soak,
    first: Sample,
    warm: Sample,
    last: Sample,
    final: Sample,
    composite: tuple[int, int, int],
    clip: dict[str, Any],
    load_before: tuple[float, float, float],
) -> None:
    options = soak.options
    window = last.at - warm.at
    legs = options.rooms * options.peers * (options.peers - 1)
    server_cpu = 100 * (last.server_cpu - warm.server_cpu) / window
    recorders_cpu = 100 * (last.recorders_cpu - warm.recorders_cpu) / window
    written, expected, segments = composite
    missing = max(0, expected - written - segments)  # a frame of rounding per segment
    recorder_drops = value(final, "kanyan_recorder_dropped_frames_total")
    send_errors = value(last, "kanyan_forwarding_send_errors_total") - value(
        warm, "kanyan_forwarding_send_errors_total"
    )
    keyframe_wait = value(
        last, "kanyan_forwarding_dropped_packets_total", kind="video", reason="keyframe_wait"
    ) - value(warm, "kanyan_forwarding_dropped_packets_total", kind="video", reason="keyframe_wait")
    forwarded = value(last, "kanyan_forwarded_frames_total", kind="video") - value(
        warm, "kanyan_forwarded_frames_total", kind="video"
    )
    peer_fps = (last.peer_video - warm.peer_video) / legs / window
    slope = slope_mb_per_hour([s for s in soak.samples if warm.at <= s.at <= last.at])
    growth = 100 * (last.rss - warm.rss) / warm.rss
    lag_max = worst_lag_bound(warm, last)
    print(
        f"Soak: {options.rooms} rooms x {options.peers} peers ({legs} legs), every session "
        f"recording, {options.minutes:g} min; each peer publishes {describe(clip)}. "
        f"{psutil.cpu_count()} cores; load average {load_before[0]:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after."
    )
    print(
        f"window: {window / 60:.1f} min, after {(warm.at - first.at) / 60:.1f} min of start-up "
        "and warm-up"
    )
    print(f"server CPU: {server_cpu:.1f}% of a core (recorder processes: {recorders_cpu:.1f}%)")
    print(
        f"server RSS: {first.rss / 1e6:.1f} MB at start, {warm.rss / 1e6:.1f} MB after warm-up, "
        f"{last.rss / 1e6:.1f} MB at the end; slope {slope:+.1f} MB/h "
        f"(recorders: {warm.recorders_rss / 1e6:.1f} → {last.recorders_rss / 1e6:.1f} MB)"
    )
    print(
        f"event-loop lag p99: {1000 * loop_lag_p99(warm, last):.1f} ms "
        f"(worst sample within the {1000 * lag_max:g} ms bucket)"
    )
    print(
        f"forwarding: {forwarded / window:.0f} video frames/s to subscribers, "
        f"{peer_fps:.1f} fps per leg at the peers; packets lost at the server's sockets "
        f"{send_errors:.0f}, skipped waiting for a keyframe {keyframe_wait:.0f}; peers reconnected "
        f"{last.reconnects - warm.reconnects} times (media failed: ICE consent expired)"
    )
    print(
        f"composite: {written} frames written of {expected} for the sessions' length, "
        f"{segments} segments; recorder dropped {recorder_drops:.0f} frames, "
        f"{value(final, 'kanyan_recording_failed_segments_total'):.0f} failed segments"
    )
    print(f"peers alive at the end: {last.peers_alive} of {len(soak.peers)}")
    print(f"rss_growth_pct: {growth:.2f}")
    print(f"dropped_composite_frames: {int(recorder_drops) + missing}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rooms", type=int, default=4)
    parser.add_argument("--peers", type=int, default=4, help="per room, the host included")
    parser.add_argument("--minutes", type=float, default=8.0, help="how long sessions record")
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="kanyan-soak-"))
    try:
        asyncio.run(run(workdir, args))
    except BaseException:
        args.keep = True  # the logs say what went wrong
        raise
    finally:
        if args.keep:
            say(f"soak: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

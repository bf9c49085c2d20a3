"""The server's metrics in Prometheus text format, one registry per application.

Counters that happen on the media path are plain integers kept by the live rooms
(`server.live.media.MediaStats`) and by the recorders (`RecorderStats`); they are read when
`/metrics` is scraped, so a frame costs no more than an integer addition. A registry per
application (never prometheus-client's global one) keeps several servers in one process apart.
Who may read `/metrics` is decided by `may_read` (settings `[metrics]`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..config import MetricsSettings

if TYPE_CHECKING:
    from ..live.rooms import RoomService

LOOP_PROBE_S = 0.1
# Event-loop lag: how late a timer set for LOOP_PROBE_S fires. Fine buckets at the bottom, where
# a healthy loop lives, up to the seconds of a stuck one.
LOOP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class RecorderHealth:
    """One room's recorder while it writes a segment."""

    lag_s: float | None  # how far the composite's written end is behind the room (None: unknown)
    backlog_bytes: int  # frames queued for the recorder process, not yet taken
    dropped_frames: int  # frames of this segment not recorded: the recorder fell too far behind


class Recording(Protocol):
    def health(self) -> RecorderHealth | None:
        """None when no segment is being written."""


class RecorderStats:
    """The recorders of one server: running totals of segments that ended, and the recorders
    writing now (they register themselves while a segment runs)."""

    def __init__(self) -> None:
        self.dropped_frames = 0  # of the segments that ended
        self.segments = 0
        self.failed_segments = 0  # ended otherwise than by `finish`
        self.active: set[Recording] = set()

    def started(self, recording: Recording) -> None:
        self.active.add(recording)
        self.segments += 1

    def ended(self, recording: Recording, *, dropped: int, failed: bool) -> None:
        self.active.discard(recording)
        self.dropped_frames += dropped
        self.failed_segments += int(failed)


class LiveCollector(Collector):
    """Rooms, people, legs and the forwarding and recording counters, read at scrape time."""

    def __init__(self, rooms: Callable[[], RoomService | None], recorders: RecorderStats) -> None:
        self._rooms = rooms
        self._recorders = recorders

    def collect(self) -> Iterator[Metric]:
        service = self._rooms()
        yield from self._rooms_and_people(service)
        if service is not None:
            yield from self._forwarding(service)
        yield from self._recording()

    def _rooms_and_people(self, service: RoomService | None) -> Iterator[Metric]:
        rooms = GaugeMetricFamily("kanyan_rooms", "Open rooms, by state.", labels=["state"])
        people = GaugeMetricFamily(
            "kanyan_participants",
            "People in rooms (the recorder not counted), by role and presence.",
            labels=["role", "presence"],
        )
        legs = GaugeMetricFamily(
            "kanyan_legs",
            "Subscriber legs: one subscriber receiving one publisher's audio or video.",
            labels=["kind"],
        )
        states: dict[str, int] = {"open": 0, "live": 0}
        present: dict[tuple[str, str], int] = {}
        by_kind = {"audio": 0, "video": 0}
        for room in service.rooms() if service is not None else []:
            state = str(room.room.state)
            states[state] = states.get(state, 0) + 1
            for member in room.room.members.values():
                if member.in_room or str(member.presence) == "lobby":
                    key = (str(member.role), str(member.presence))
                    present[key] = present.get(key, 0) + 1
            for publication in room.hub.publications():
                by_kind[publication.kind] += len(publication.packets.legs)
        for state, count in states.items():
            rooms.add_metric([state], count)
        for (role, presence), count in sorted(present.items()):
            people.add_metric([role, presence], count)
        for kind, count in by_kind.items():
            legs.add_metric([kind], count)
        yield from (rooms, people, legs)

    def _forwarding(self, service: RoomService) -> Iterator[Metric]:
        stats = service.media_stats
        for name, help_text, values in (
            (
                "received_frames",
                "Frames received from publishers (assembled once per publisher).",
                stats.received_frames,
            ),
            ("received_bytes", "Payload bytes received from publishers.", stats.received_bytes),
        ):
            family = CounterMetricFamily(f"kanyan_{name}", help_text, labels=["kind"])
            for kind, value in values.items():
                family.add_metric([kind], value)
            yield family
        legs = stats.legs.totals()
        for name, count, help_text in (
            (
                "forwarded_packets",
                "packets",
                "RTP packets sent to subscribers, one per leg (retransmissions not counted).",
            ),
            (
                "forwarded_frames",
                "frames",
                "Frames sent to subscribers, one per leg: a video frame when the packet that "
                "ends it (marker bit) is sent, an audio packet as one frame.",
            ),
            ("forwarded_bytes", "bytes", "RTP payload bytes sent to subscribers, one per leg."),
            (
                "retransmitted_packets",
                "retransmitted",
                "Packets sent again to subscribers on their NACKs.",
            ),
        ):
            family = CounterMetricFamily(f"kanyan_{name}", help_text, labels=["kind"])
            for kind in ("audio", "video"):
                family.add_metric([kind], legs[(count, kind)])
            yield family
        dropped = CounterMetricFamily(
            "kanyan_forwarding_dropped_packets",
            "Packets not sent to a subscriber leg: keyframe_wait (a new video leg, or one whose "
            "publisher reconnected, waits for a keyframe).",
            labels=["kind", "reason"],
        )
        for kind in ("audio", "video"):
            dropped.add_metric([kind, "keyframe_wait"], legs[("keyframe_wait", kind)])
        yield dropped
        yield CounterMetricFamily(
            "kanyan_forwarding_send_errors",
            "Packets to subscribers that could not be written (a full socket buffer, a closing "
            "connection): lost, as if on the network.",
            value=stats.send_errors,
        )
        yield CounterMetricFamily(
            "kanyan_keyframe_requests",
            "Keyframe requests (PLI) sent to publishers.",
            value=stats.keyframe_requests,
        )
        yield CounterMetricFamily(
            "kanyan_subscriber_keyframe_requests",
            "Keyframe requests (PLI or FIR) received from subscribers.",
            value=sum(legs[("keyframe_requests", kind)] for kind in ("audio", "video")),
        )

    def _recording(self) -> Iterator[Metric]:
        recorders = self._recorders
        healths = [h for h in (r.health() for r in list(recorders.active)) if h is not None]
        lags = [h.lag_s for h in healths if h.lag_s is not None]
        yield GaugeMetricFamily(
            "kanyan_recordings_active", "Recording segments being written.", value=len(healths)
        )
        yield GaugeMetricFamily(
            "kanyan_recorder_lag_seconds",
            "How far the furthest-behind composite's written end is behind the room (includes "
            "recording.latency_ms).",
            value=max(lags, default=0.0),
        )
        yield GaugeMetricFamily(
            "kanyan_recorder_backlog_bytes",
            "Frames queued for the recorder processes and not yet taken, all rooms.",
            value=sum(h.backlog_bytes for h in healths),
        )
        yield CounterMetricFamily(
            "kanyan_recorder_dropped_frames",
            "Frames left out of the recordings because a recorder fell too far behind "
            "(recording.max_backlog_mb).",
            value=recorders.dropped_frames + sum(h.dropped_frames for h in healths),
        )
        yield CounterMetricFamily(
            "kanyan_recording_segments", "Recording segments started.", value=recorders.segments
        )
        yield CounterMetricFamily(
            "kanyan_recording_failed_segments",
            "Recording segments that ended because the recorder died or storage failed.",
            value=recorders.failed_segments,
        )


class Metrics:
    """Everything /metrics reports, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.recorders = RecorderStats()
        self.rooms: RoomService | None = None  # set once the archive and rooms are open
        self.registry.register(LiveCollector(lambda: self.rooms, self.recorders))
        ProcessCollector(registry=self.registry)
        self.loop_lag = Histogram(
            "kanyan_event_loop_lag_seconds",
            f"How late a timer set every {LOOP_PROBE_S} s fires on the server's event loop.",
            buckets=LOOP_BUCKETS,
            registry=self.registry,
        )
        self.loop_lag_last = Gauge(
            "kanyan_event_loop_lag_last_seconds",
            "The event-loop lag measured last.",
            registry=self.registry,
        )
        self.outbox = Gauge(
            "kanyan_outbox_messages",
            "Notices and pushes not delivered yet, by state (archive.outbox.depth()).",
            ["state"],
            registry=self.registry,
        )
        self.logins_refused = Counter(
            "kanyan_logins_refused",
            "Staff logins refused: wrong_password (or unknown or disabled account) or throttled.",
            ["reason"],
            registry=self.registry,
        )
        for reason in ("wrong_password", "throttled"):
            self.logins_refused.labels(reason)

    def set_outbox(self, depth: Mapping[str, int]) -> None:
        for state in ("pending", "sending", "retrying", "failed"):
            self.outbox.labels(state).set(depth.get(state, 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)

    async def watch_loop(self, interval: float = LOOP_PROBE_S) -> None:
        """Measure the event loop's lag until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(interval)
            lag = max(0.0, loop.time() - before - interval)
            self.loop_lag.observe(lag)
            self.loop_lag_last.set(lag)


@contextlib.asynccontextmanager
async def watching(metrics: Metrics) -> AsyncIterator[None]:
    """The event-loop watch, for as long as the context lasts."""
    task = asyncio.create_task(metrics.watch_loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _networks(addresses: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(a, strict=False) for a in addresses]


def _address(remote: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        address = ipaddress.ip_address(remote or "")
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def may_read(settings: MetricsSettings, remote: str | None, headers: Mapping[str, str]) -> int:
    """200 when this request may read /metrics; 403 for a wrong token; 404 otherwise (the
    endpoint is not advertised to those who may not read it)."""
    if not settings.enabled:
        return 404
    authorization = headers.get("Authorization")
    if authorization is not None:
        scheme, _, presented = authorization.partition(" ")
        good = (
            settings.token
            and scheme.lower() == "bearer"
            and hmac.compare_digest(presented.strip().encode(), settings.token.encode())
        )
        return 200 if good else 403
    if "Forwarded" in headers or "X-Forwarded-For" in headers:
        return 404  # a proxy's own address says nothing about the client
    address = _address(remote)
    if address is None:
        return 404
    if any(address in network for network in _networks(settings.allowed_addresses)):
        return 200
    return 404

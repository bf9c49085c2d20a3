"""The recorder process: `python -m recorder.worker --parent PID`.

It reads the room's encoded frames from stdin (recorder.wire), decodes them, composites the
room at 15 fps, mixes the voices, and writes one segment: the composite MP4 and the raw tracks.
It keeps time by the server clock stamped on every record (frames carry their arrival, and
the server ticks ten times a second), never by when it got round to them, and writes `latency`
seconds behind the latest stamp it has read so that late frames still find their place.

It dies with the server (PR_SET_PDEATHSIG) and never finalises unless told to: a server killed
with SIGKILL leaves unfinished files for the recovery at the next start, exactly as a crash
would. It exits 0 after `finish`, 3 when its input ends without one, 75 when the disk refuses
its files, and 1 on any other error.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import logging
import os
import queue
import signal
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from . import files
from .audio import BLOCK, RATE, Mixer, to_mono
from .compositor import Compositor, TileView
from .layout import Placement, Seat, arrange
from .sync import AUDIO_DELAY_S, VIDEO_DELAY_S, SourceClock
from .wire import WireFrame, event_line, read_record
from .writer import FPS, CompositeWriter, RawTrackWriter, vp8_size

log = logging.getLogger("recorder.worker")

EXIT_FINISHED, EXIT_ERROR, EXIT_ORPHANED, EXIT_STORAGE = 0, 1, 3, 75
PR_SET_PDEATHSIG = 1
KEEP_VIDEO_FRAMES = 64
KEYFRAME_REQUEST_EVERY_S = 1.0
PROGRESS_EVERY_S = 1.0  # also the server's sign of life (watchdog.recorder_silent_s)
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.EACCES, errno.EFBIG}


class StorageFailure(Exception):
    def __init__(self, path: Path, cause: BaseException) -> None:
        super().__init__(f"{path.name}: {cause}")
        self.path = path
        self.cause = cause


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn the disk refusing a write into StorageFailure; other errors stay what they are."""
    try:
        yield
    except (OSError, av.FFmpegError) as exc:
        if getattr(exc, "errno", None) in STORAGE_ERRNOS:
            raise StorageFailure(path, exc) from exc
        raise


def die_with_parent(parent: int) -> None:
    """SIGKILL this process when the server dies, however it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the server died before the prctl took effect
        os._exit(EXIT_ORPHANED)


class Events:
    """Events to the server, one JSON line each on stdout."""

    def __init__(self, out: Any) -> None:
        self._out = out

    def __call__(self, event: str, **fields: Any) -> None:
        self._out.write(event_line(event, **fields))
        self._out.flush()


@dataclass
class VideoSource:
    publisher: int
    epoch: int
    clock: SourceClock
    decoder: Any = field(default_factory=lambda: av.CodecContext.create("vp8", "r"))
    frames: deque[tuple[float, av.VideoFrame]] = field(
        default_factory=lambda: deque(maxlen=KEEP_VIDEO_FRAMES)
    )
    waiting_key: bool = True
    last_request: float = -1e9
    # aiortc completes a video frame only when the next one starts arriving: its arrival is
    # one frame interval late. The interval is the sender's, estimated from the timestamps.
    interval: float = 1 / 15
    last_timestamp: int | None = None

    def wall(self, timestamp: int, arrival: float) -> float:
        if self.last_timestamp is not None:
            delta = (timestamp - self.last_timestamp) / 90000
            if 0 < delta < 0.5:
                self.interval += (delta - self.interval) / 10
        self.last_timestamp = timestamp
        return self.clock.wall(timestamp, arrival) - self.interval


@dataclass
class AudioSource:
    publisher: int
    epoch: int
    clock: SourceClock
    decoder: Any = None

    def __post_init__(self) -> None:
        self.decoder = av.CodecContext.create("opus", "r")
        self.decoder.layout = "mono"  # the decoder downmixes: cheaper than doing it after
        self.decoder.sample_rate = RATE


@dataclass
class RawTrack:
    writer: RawTrackWriter
    waiting_key: bool = False
    epoch: int = 0


class Segment:
    """One recording segment: from `start` to `finish`, in one composite file."""

    def __init__(self, start: dict[str, Any], emit: Events) -> None:
        self.emit = emit
        self.t0 = float(start["t0"])
        self.segment = int(start["segment"])
        self.root = Path(start["root"])
        self.dir = Path(start["dir"])
        self.latency = float(start.get("latency", 0.5))
        self.stale_after = float(start.get("stale_after", 2.0))
        self.raw_enabled = bool(start.get("raw_tracks", True))
        self.fps = FPS
        self.compositor = Compositor(start["font"], start["case_no"], start["item_name"], FPS)
        self.mixer = Mixer(RATE)
        self.video: dict[int, VideoSource] = {}
        self.audio: dict[int, AudioSource] = {}
        self.raw: dict[tuple[int, str], RawTrack] = {}
        self.rosters: deque[tuple[float, list[dict[str, Any]]]] = deque()
        self.members: list[dict[str, Any]] = []
        self.roles: dict[int, str] = {}
        self.next_frame = 0
        self.latest_input = 0.0
        self.decoded = 0
        self.decode_errors = 0
        self._last_progress = time.monotonic()
        # The server made the file (and its archive row) before starting this process.
        temp = Path(start["composite"])
        self.composite_path = temp
        with writing(temp):
            self.composite = CompositeWriter(
                temp,
                preset=start["preset"],
                crf=int(start["crf"]),
                audio_kbps=int(start.get("audio_kbps", 64)),
            )

    # -- input --------------------------------------------------------------------------------

    def roster(self, at: float, members: list[dict[str, Any]]) -> None:
        self.rosters.append((at, members))
        for member in members:
            self.roles[int(member["id"])] = str(member.get("role", "member"))
        self.latest_input = max(self.latest_input, at)

    def frame(self, frame: WireFrame) -> None:
        self.latest_input = max(self.latest_input, frame.arrival)
        if frame.kind == "video":
            self._video_frame(frame)
        else:
            self._audio_frame(frame)

    def _video_frame(self, frame: WireFrame) -> None:
        source = self.video.get(frame.publisher)
        if source is None or source.epoch != frame.epoch:
            # First frames of a publisher, or they reconnected: a new decoder and clock.
            source = VideoSource(frame.publisher, frame.epoch, SourceClock(90000, VIDEO_DELAY_S))
            self.video[frame.publisher] = source
        wall = source.wall(frame.timestamp, frame.arrival)
        if source.waiting_key and not frame.keyframe:
            self._want_keyframe(source)
            return
        self._raw(frame, wall)
        source.waiting_key = False
        packet = av.Packet(frame.data)
        try:
            decoded = source.decoder.decode(packet)
        except av.FFmpegError:
            self.decode_errors += 1
            source.waiting_key = True
            source.decoder = av.CodecContext.create("vp8", "r")
            self._want_keyframe(source)
            return
        for picture in decoded:
            source.frames.append((wall, picture))
            self.decoded += 1

    def _want_keyframe(self, source: VideoSource) -> None:
        now = time.monotonic()
        if now - source.last_request >= KEYFRAME_REQUEST_EVERY_S:
            source.last_request = now
            self.emit("keyframe", publisher=source.publisher)

    def _audio_frame(self, frame: WireFrame) -> None:
        source = self.audio.get(frame.publisher)
        if source is None or source.epoch != frame.epoch:
            source = AudioSource(frame.publisher, frame.epoch, SourceClock(48000, AUDIO_DELAY_S))
            self.audio[frame.publisher] = source
            self.mixer.forget(frame.publisher)
        wall = source.clock.wall(frame.timestamp, frame.arrival)
        self._raw(frame, wall)
        try:
            decoded = source.decoder.decode(av.Packet(frame.data))
        except av.FFmpegError:
            self.decode_errors += 1
            return
        start = round((wall - self.t0) * RATE)
        for chunk in decoded:
            samples = to_mono(chunk.to_ndarray())
            self.mixer.add(frame.publisher, start, samples)
            start += len(samples)

    def _raw(self, frame: WireFrame, wall: float) -> None:
        if not self.raw_enabled:
            return
        if frame.kind == "audio" and wall < self.t0:
            return  # sound from before the segment (video keeps its keyframe: it is needed)
        key = (frame.publisher, frame.kind)
        track = self.raw.get(key)
        if track is None:
            if frame.kind == "video" and not frame.keyframe:
                return
            name = files.raw_name(
                self.t0,
                self.segment,
                frame.publisher,
                self.roles.get(frame.publisher, "member"),
                frame.kind,
            )
            path = files.temp_path(self.dir / name)
            with writing(path):
                path = files.create_exclusive(path)
                self.emit(
                    "opened",
                    kind="raw",
                    track=frame.kind,
                    participant=frame.publisher,
                    path=files.relative(self.root, path),
                    at=self.t0,
                )
                writer = RawTrackWriter(path, frame.kind, vp8_size(frame.data))
            track = self.raw[key] = RawTrack(writer, epoch=frame.epoch)
        if frame.kind == "video":
            if track.epoch != frame.epoch:
                track.epoch, track.waiting_key = frame.epoch, True
            if track.waiting_key:
                if not frame.keyframe:
                    return
                track.waiting_key = False
        with writing(track.writer.path):
            track.writer.write(frame.data, max(0, round((wall - self.t0) * 1000)), frame.keyframe)

    # -- output -------------------------------------------------------------------------------

    def frontier(self) -> float:
        """Server time up to which the recording can be written now.

        Every record in the pipe is stamped with server time (frames with their arrival, and
        the server ticks when nothing arrives), so having read a stamp means having read
        everything the room received before it. Running `latency` behind that leaves room for
        frames that arrive late from the network, but never for the recorder's own lag: a
        recorder short of CPU falls behind and catches up without losing anything.
        """
        return self.latest_input - self.latency

    def advance(self, until: float) -> None:
        """Write every video frame and audio block whose time is before `until`."""
        with writing(self.composite_path):
            while self.t0 + self.next_frame / self.fps < until:
                at = self.t0 + self.next_frame / self.fps
                self._audio_until(at)
                self.composite.video(self.compositor.render(self.next_frame, at, self._tiles(at)))
                self.next_frame += 1
            self._audio_until(until)
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_EVERY_S:
            self._last_progress = now
            self.emit(
                "progress",
                duration_s=round(self.composite.duration_s, 3),
                frames=self.composite.frames,
                decoded=self.decoded,
                late_audio_s=round(self.mixer.delayed / RATE, 3),
                lost_audio_s=round(self.mixer.dropped / RATE, 3),
            )

    def _audio_until(self, at: float) -> None:
        target = int((at - self.t0) * RATE)
        while self.mixer.position + BLOCK <= target:
            self.composite.audio(self.mixer.take(BLOCK))

    def _tiles(self, at: float) -> list[TileView]:
        while self.rosters and self.rosters[0][0] <= at:
            self.members = self.rosters.popleft()[1]
        seats = [Seat(int(m["id"]), str(m["role"]), str(m["name"])) for m in self.members]
        by_id = {int(m["id"]): m for m in self.members}
        tiles = []
        for placement in arrange(seats):
            member = by_id[placement.seat.id]
            tiles.append(
                TileView(
                    placement,
                    self._picture(placement, at),
                    str(member.get("status", "admitted")),
                    bool(member.get("video", True)),
                )
            )
        return tiles

    def _picture(self, placement: Placement, at: float) -> av.VideoFrame | None:
        source = self.video.get(placement.seat.id)
        if source is None:
            return None
        frames = source.frames
        chosen = None
        # The picture nearest to the frame's time: at most half a frame ahead, so the
        # 15 fps grid adds ±33 ms to audio/video alignment rather than 0–67 ms.
        until = at + 0.5 / self.fps
        while frames and frames[0][0] <= until:
            chosen = frames[0]
            if len(frames) > 1 and frames[1][0] <= until:
                frames.popleft()
            else:
                break
        if chosen is None or chosen[0] < at - self.stale_after:
            return None
        return chosen[1]

    # -- the end ------------------------------------------------------------------------------

    def finish(self, at: float) -> None:
        """Write up to `at`, close every file, give them their final names, report them."""
        self.advance(at)
        with writing(self.composite_path):
            stats = self.composite.close()
        self._report("composite", None, None, self.composite_path, stats.duration_s, stats.frames)
        for (publisher, kind), track in self.raw.items():
            with writing(track.writer.path):
                raw_stats = track.writer.close()
            self._report(
                "raw", publisher, kind, track.writer.path, raw_stats.duration_s, raw_stats.frames
            )

    def _report(
        self,
        kind: str,
        participant: int | None,
        track: str | None,
        temp: Path,
        duration: float,
        frames: int,
    ) -> None:
        final = files.finalise(temp)
        self.emit(
            "closed",
            kind=kind,
            participant=participant,
            track=track,
            temp=files.relative(self.root, temp),
            path=files.relative(self.root, final),
            sha256=files.sha256_file(final),
            size=final.stat().st_size,
            duration_s=round(duration, 3),
            frames=frames,
        )

    def abandon(self) -> None:
        self.composite.abandon()
        for track in self.raw.values():
            track.writer.abandon()


def _reader(stream: Any, inbox: queue.Queue[Any]) -> None:
    try:
        while True:
            record = read_record(stream)
            inbox.put(record)
            if record is None:
                return
    except Exception as exc:  # a broken pipe is reported as the end of input
        inbox.put(exc)


def run(stdin: Any, emit: Events) -> int:
    inbox: queue.Queue[Any] = queue.Queue()
    threading.Thread(target=_reader, args=(stdin, inbox), daemon=True).start()
    first = inbox.get()
    if not isinstance(first, dict) or first.get("op") != "start":
        emit("error", message="the first record must be start")
        return EXIT_ERROR
    segment: Segment | None = None
    try:
        segment = Segment(first, emit)
        emit("ready", segment=segment.segment, cpu_s=time.process_time())
        while True:
            item = inbox.get()
            while True:
                if item is None or isinstance(item, Exception):
                    # The server went away without saying finish: leave the files unfinished.
                    return EXIT_ORPHANED
                if isinstance(item, dict):
                    op = item.get("op")
                    if op == "tick":
                        segment.latest_input = max(segment.latest_input, float(item["at"]))
                    elif op == "roster":
                        segment.roster(float(item["at"]), item["members"])
                    elif op == "finish":
                        segment.finish(float(item["at"]))
                        emit("finished", segment=segment.segment, cpu_s=time.process_time())
                        return EXIT_FINISHED
                else:
                    segment.frame(item)
                try:
                    item = inbox.get_nowait()
                except queue.Empty:
                    break
            segment.advance(segment.frontier())
    except StorageFailure as exc:
        code = getattr(exc.cause, "errno", None)
        emit(
            "storage",
            path=str(exc.path.name),
            # The reason, not the absolute path: events name files relative to the archive.
            error=files.describe_error(exc.cause),
            errno=code,
            written_s=round(segment.composite.duration_s, 3) if segment else 0.0,
        )
        if segment is not None:
            segment.abandon()
        return EXIT_STORAGE
    except Exception as exc:  # reported to the server, which starts a new segment
        emit("error", message=f"{type(exc).__name__}: {exc}", trace=traceback.format_exc())
        return EXIT_ERROR


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recorder.worker")
    parser.add_argument("--parent", type=int, required=True, help="the server's process id")
    parser.add_argument("--nice", type=int, default=5, help="yield the CPU to the live room")
    args = parser.parse_args(argv)
    die_with_parent(args.parent)
    # Ctrl-C in a terminal and `systemctl stop` signal the whole process group: the server
    # handles them by asking every recorder to finish; a recorder that died of them first
    # would leave its files unfinished. (SIGKILL, and the server's death, still end it.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if args.nice:
        os.nice(args.nice)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    np.seterr(all="ignore")
    emit = Events(sys.stdout.buffer)
    code = run(sys.stdin.buffer, emit)
    sys.stdout.flush()
    # Skip interpreter teardown: PyAV objects left for recovery must not be closed cleanly.
    os._exit(code)


if __name__ == "__main__":
    main()

"""Files written with PyAV: the composite MP4, the raw tracks, and the remux that recovers.

The composite is fragmented MP4 (H.264 + AAC): a keyframe and a fragment every second, each
flushed to the kernel as it is written, so a SIGKILL loses at most the fragment in progress.
Raw tracks are the publishers' own VP8 and Opus frames muxed into WebM without decoding.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

log = logging.getLogger(__name__)

FPS = 15
MS = Fraction(1, 1000)
# delay_moov: the header waits for the first fragment, so it can carry the AAC priming as an
# edit list; without it every video frame after the first is shifted by 1024 samples.
FRAGMENTED = {
    "movflags": "frag_keyframe+empty_moov+default_base_moof+delay_moov",
    "flush_packets": "1",
}


@dataclass(frozen=True)
class FileStats:
    duration_s: float
    frames: int  # video frames (0 for an audio-only file)


class CompositeWriter:
    """Writes the composite to an existing (exclusively created) file."""

    def __init__(
        self,
        path: Path,
        *,
        preset: str,
        crf: int,
        audio_kbps: int,
        width: int = 1280,
        height: int = 720,
        fps: int = FPS,
        audio_rate: int = 48000,
    ) -> None:
        self.path = path
        self.fps = fps
        self.frames = 0
        self.audio_samples = 0
        self.audio_rate = audio_rate
        self._container = av.open(str(path), mode="w", format="mp4", options=dict(FRAGMENTED))
        video = self._container.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.time_base = Fraction(1, fps)
        context = video.codec_context
        context.time_base = Fraction(1, fps)
        context.gop_size = fps
        # B-frames would delay video against audio (an edit list) for no gain at this bitrate.
        context.max_b_frames = 0
        # One encoder thread: every room has its own recorder process, so rooms already run in
        # parallel, and a single x264 thread spends ~7% less CPU than frame threads (measured
        # by bench/recorder.py); 720p at 15 fps needs ~4–11 ms a frame, far from real time.
        context.thread_type = "AUTO"
        context.thread_count = 1
        context.options = {
            "preset": preset,
            "crf": str(crf),
            "x264-params": f"keyint={fps}:min-keyint={fps}:scenecut=0",
        }
        audio = self._container.add_stream("aac", rate=audio_rate, layout="mono")
        audio.bit_rate = audio_kbps * 1000
        # FFmpeg's default "twoloop" coder overshoots by up to 75% around discontinuities in a
        # loud mix (measured); the "fast" coder stays within 10% and costs less.
        audio.codec_context.options = {"aac_coder": "fast"}
        self._video = video
        self._audio = audio
        self._audio_base = Fraction(1, audio_rate)
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._fragments = 0

    def video(self, frame: av.VideoFrame) -> None:
        for packet in self._video.encode(frame):
            self._container.mux(packet)
        self.frames += 1
        if self.frames % self.fps == 0:
            self._fragments += 1
            if self._fragments % 10 == 0:
                # Page cache survives a crash of the process; fsync makes it survive power loss.
                os.fsync(self._fd)

    def audio(self, samples: np.ndarray) -> None:
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="fltp", layout="mono")
        frame.sample_rate = self.audio_rate
        frame.pts = self.audio_samples
        frame.time_base = self._audio_base
        self.audio_samples += samples.shape[-1]
        for packet in self._audio.encode(frame):
            self._container.mux(packet)

    @property
    def duration_s(self) -> float:
        return self.frames / self.fps

    def close(self) -> FileStats:
        """Drain the encoders, write the last fragment and the index, make it durable."""
        for packet in self._video.encode(None):
            self._container.mux(packet)
        for packet in self._audio.encode(None):
            self._container.mux(packet)
        self._container.close()
        os.fsync(self._fd)
        os.close(self._fd)
        return FileStats(self.duration_s, self.frames)

    def abandon(self) -> None:
        """Stop without finishing (the disk is full): what is on disk stays for recovery."""
        try:
            self._container.close()
        except Exception:  # the file is already broken; recovery reads it
            pass
        try:
            os.close(self._fd)
        except OSError:
            pass


def vp8_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a VP8 keyframe header (RFC 6386 §9.1)."""
    if len(data) < 10 or data[0] & 1 or data[3:6] != b"\x9d\x01\x2a":
        return None
    return (data[6] | data[7] << 8) & 0x3FFF, (data[8] | data[9] << 8) & 0x3FFF


class RawTrackWriter:
    """One publisher's audio or video, as received, in WebM on the segment's timeline."""

    def __init__(self, path: Path, kind: str, size: tuple[int, int] | None = None) -> None:
        self.path = path
        self.kind = kind
        self.frames = 0
        self.first_ms: int | None = None
        self.last_ms = -1
        self._container = av.open(
            str(path),
            mode="w",
            format="webm",
            options={"cluster_time_limit": "1000", "flush_packets": "1"},
        )
        stream: Any
        if kind == "video":
            # Opened but never fed: the muxer wants a stream description, not an encoder.
            stream = self._container.add_stream("libvpx", rate=FPS)
            stream.width, stream.height = size or (640, 480)
        else:
            stream = self._container.add_stream("libopus", rate=48000, layout="stereo")
        stream.time_base = MS
        self._stream = stream

    def write(self, data: bytes, at_ms: int, keyframe: bool) -> None:
        # WebM time is in milliseconds and must rise within a track.
        at_ms = max(at_ms, self.last_ms + 1)
        packet = av.Packet(data)
        packet.stream = self._stream
        packet.pts = packet.dts = at_ms
        packet.time_base = MS
        packet.is_keyframe = keyframe or self.kind == "audio"
        self._container.mux(packet)
        if self.first_ms is None:
            self.first_ms = at_ms
        self.last_ms = at_ms
        self.frames += 1

    def close(self) -> FileStats:
        self._container.close()
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        span = 0.0 if self.first_ms is None else (self.last_ms - self.first_ms) / 1000
        return FileStats(span, self.frames if self.kind == "video" else 0)

    def abandon(self) -> None:
        try:
            self._container.close()
        except Exception:  # the file is already broken; recovery reads it
            pass


def remux_playable(source: Path, target: Path) -> FileStats:
    """Copy every packet that can still be read from `source` into a clean file `target`.

    For an interrupted recording: the fragmented MP4 (or WebM) written up to the crash becomes
    an ordinary file with a full index. Reading stops at the first damaged or truncated packet;
    a failure to write `target` is raised. `target` must exist (created exclusively).
    """
    fmt = "mp4" if source.suffix == ".mp4" else "webm"
    options = {"movflags": "+faststart"} if fmt == "mp4" else {}
    with av.open(str(source), mode="r") as inp:
        streams = [s for s in inp.streams if s.type in ("video", "audio")]
        if not streams:
            raise ValueError(f"{source.name}: no audio or video stream to recover")
        with av.open(str(target), mode="w", format=fmt, options=options) as out:
            mapping = {s.index: out.add_stream_from_template(s) for s in streams}
            stats = _readable(
                source, inp.demux(streams), lambda packet: _copy(out, mapping, packet)
            )
    return stats


def _copy(out: Any, mapping: dict[int, Any], packet: av.Packet) -> None:
    packet.stream = mapping[packet.stream.index]
    out.mux(packet)


def _readable(
    source: Path, packets: Iterator[av.Packet], each: Callable[[av.Packet], None]
) -> FileStats:
    """Walk the packets that can be read, up to the first damaged one."""
    video_frames = 0
    end = 0.0
    while True:
        try:
            packet = next(packets)
        except StopIteration:
            break
        except (av.error.InvalidDataError, av.error.EOFError, OSError) as exc:
            log.info("%s: readable up to %.2f s (%s)", source.name, end, exc)
            break
        if packet.dts is None or packet.size == 0:
            continue
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        if packet.stream.type == "video":
            video_frames += 1
        each(packet)
    return FileStats(end, video_frames)


def probe(path: Path) -> FileStats:
    """Duration and video frame count of what can be read of a file."""
    with av.open(str(path), mode="r") as inp:
        return _readable(path, inp.demux(), lambda packet: None)

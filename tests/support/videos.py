"""Site videos made by the tests with PyAV: good ones, and each way a phone video can fail."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def make_video(
    path: Path,
    *,
    seconds: float = 3.0,
    size: tuple[int, int] = (640, 480),
    fps: int = 15,
    audio: bool = True,
    rotation: int = 0,
    codec: str = "libx264",
    gap: tuple[float, float] | None = None,
    faststart: bool = False,
    creation_time: str | None = None,
    noise_rows: int = 0,
) -> Path:
    """A video of a coloured scene with a frame counter stripe. `gap`: (at seconds, seconds
    missing) leaves the timestamps jumping, as a paused recording would. `noise_rows`: a band of
    that many rows of noise at the foot, which does not compress (a bigger file)."""
    width, height = size
    options = {"movflags": "+faststart"} if faststart else {}
    container = av.open(str(path), "w", options=options)
    if creation_time:
        container.metadata["creation_time"] = creation_time
    video = container.add_stream(codec, rate=fps)
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    if rotation:
        video.set_display_rotation(rotation)
    sound = container.add_stream("aac", rate=48000, layout="mono") if audio else None
    frames = int(seconds * fps)
    noise = np.random.default_rng(7)
    shift = 0
    for n in range(frames):
        if gap is not None and n == int(gap[0] * fps):
            shift = int(gap[1] * fps)
        image = np.zeros((height, width, 3), np.uint8)
        image[:, :] = (60, 120 + (n * 3) % 100, 200)
        image[: height // 10, : (n * 7) % width] = 255
        if noise_rows:
            image[height - noise_rows :] = noise.integers(0, 256, (noise_rows, width, 3), np.uint8)
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = n + shift
        frame.time_base = Fraction(1, fps)
        for packet in video.encode(frame):
            container.mux(packet)
    for packet in video.encode():
        container.mux(packet)
    if sound is not None:
        total = int((seconds + (gap[1] if gap else 0)) * 48000)
        step = 1024
        for start in range(0, total, step):
            t = (np.arange(step) + start) / 48000
            samples = (0.2 * np.sin(2 * np.pi * 440 * t) * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = 48000
            frame.pts = start
            frame.time_base = Fraction(1, 48000)
            for packet in sound.encode(frame):
                container.mux(packet)
        for packet in sound.encode():
            container.mux(packet)
    container.close()
    return path


def two_takes(path: Path, *, seconds: float = 4.0, size: tuple[int, int] = (640, 480)) -> Path:
    """Two takes spliced the way an editing app does: one track, an edit list of two entries
    (the first part of the recording, then a later part)."""
    make_video(path, seconds=seconds, size=size)
    data = bytearray(path.read_bytes())
    parents, elst = _find(data, 0, len(data), ("moov", "trak", "edts", "elst"), [])
    start, size_ = elst
    version = data[start + 8]
    old = bytes(data[start : start + size_])
    header = old[:16]  # size, type, version/flags, entry count
    entry = old[16 : 16 + (20 if version == 1 else 12)]
    if version == 1:
        duration, media_time, rate = struct.unpack(">QqI", entry)
        half = duration // 2
        entries = struct.pack(">QqI", half, media_time, rate) + struct.pack(
            ">QqI", half, media_time + half * 3, rate
        )
    else:
        duration, media_time, rate = struct.unpack(">IiI", entry)
        half = duration // 2
        entries = struct.pack(">IiI", half, media_time, rate) + struct.pack(
            ">IiI", half, media_time + half * 3, rate
        )
    new = bytearray(header) + entries
    struct.pack_into(">I", new, 0, len(new))
    struct.pack_into(">I", new, 12, 2)
    delta = len(new) - size_
    for parent in parents:  # moov, trak, edts: each grows by the same amount
        struct.pack_into(">I", data, parent, struct.unpack_from(">I", data, parent)[0] + delta)
    data[start : start + size_] = new
    path.write_bytes(bytes(data))
    return path


def _find(
    data: bytearray, start: int, end: int, path: tuple[str, ...], parents: list[int]
) -> tuple[list[int], tuple[int, int]]:
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, position)
        if kind.decode("latin-1") == path[0]:
            if len(path) == 1:
                return parents, (position, size)
            try:
                return _find(data, position + 8, position + size, path[1:], [*parents, position])
            except LookupError:
                pass  # another track (the sound's) comes later
        position += size
    raise LookupError(path)

"""Reading what the recorder wrote, the way an archivist's player would: with PyAV."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from recorder.layout import HEADER_HEIGHT, Rect
from server.archive import ArchiveStore, Recording
from server.clock import parse

SCALE = 4  # pictures are kept at a quarter of their size; the header band at full size


@dataclass
class Decoded:
    width: int = 0
    height: int = 0
    fps: float = 0.0
    duration: float = 0.0
    times: list[float] = field(default_factory=list)
    small: list[np.ndarray] = field(default_factory=list)  # RGB, 1/SCALE of the size
    headers: list[np.ndarray] = field(default_factory=list)  # luma of the header band
    audio: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    audio_start: float = 0.0
    rate: int = 48000

    def at(self, seconds: float) -> int:
        """Index of the frame shown at `seconds`."""
        index = int(np.searchsorted(self.times, seconds, side="right")) - 1
        return max(0, min(index, len(self.times) - 1))

    def colour(self, seconds: float, rect: Rect) -> tuple[float, float, float]:
        """Mean RGB of the middle of `rect` (full-size coordinates) at `seconds`."""
        image = self.small[self.at(seconds)]
        x0, y0 = (rect.x + rect.w // 4) // SCALE, (rect.y + rect.h // 3) // SCALE
        x1, y1 = (rect.right - rect.w // 4) // SCALE, (rect.bottom - rect.h // 4) // SCALE
        patch = image[y0:y1, x0:x1].reshape(-1, 3)
        return tuple(float(c) for c in patch.mean(axis=0))  # type: ignore[return-value]

    def samples(self, start: float, end: float) -> np.ndarray:
        a = int((start - self.audio_start) * self.rate)
        b = int((end - self.audio_start) * self.rate)
        return self.audio[max(0, a) : max(0, b)]


def decode(path: Path) -> Decoded:
    """Every video frame (small) and all the sound of a recording."""
    out = Decoded()
    chunks = []
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        out.width, out.height = video.codec_context.width, video.codec_context.height
        out.fps = float(video.average_rate or 0)
        for frame in container.decode(*container.streams):
            if isinstance(frame, av.VideoFrame):
                out.times.append(float(frame.time))
                out.small.append(
                    frame.reformat(
                        frame.width // SCALE, frame.height // SCALE, "rgb24"
                    ).to_ndarray()
                )
                luma = frame.to_ndarray(format="gray")
                out.headers.append(luma[:HEADER_HEIGHT].copy())
            elif isinstance(frame, av.AudioFrame):
                if not chunks:
                    out.audio_start = float(frame.time)
                    out.rate = frame.sample_rate
                data = frame.to_ndarray()
                chunks.append(data.mean(axis=0) if data.ndim == 2 else data)
    if chunks:
        out.audio = np.concatenate(chunks).astype(np.float32)
    if out.times:
        out.duration = out.times[-1] + 1 / (out.fps or 15)
    return out


def tone_level(samples: np.ndarray, frequency: float, rate: int = 48000) -> float:
    """How strongly `frequency` sounds in `samples` (amplitude of that sine)."""
    if len(samples) < rate // 20:
        return 0.0
    t = np.arange(len(samples)) / rate
    window = np.hanning(len(samples))
    i = np.sum(samples * window * np.cos(2 * np.pi * frequency * t))
    q = np.sum(samples * window * np.sin(2 * np.pi * frequency * t))
    return float(2 * np.hypot(i, q) / np.sum(window))


def close_to(colour: tuple[float, ...], rgb: tuple[int, int, int], tol: float = 45) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, rgb, strict=True))


async def wait_recordings(
    archive: ArchiveStore, inspection_id: int, timeout: float = 60.0
) -> list[Recording]:
    """The inspection's recordings once none is still being written."""
    deadline = time.monotonic() + timeout
    while True:
        rows = await archive.evidence.recordings(inspection_id)
        if rows and all(r.state != "recording" for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError(f"recordings not finalised: {rows}")
        await asyncio.sleep(0.2)


def seconds_into(recording: Recording, iso: str) -> float:
    return parse(iso).timestamp() - parse(recording.started_at).timestamp()

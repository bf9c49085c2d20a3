"""What an accepted self-recorded video gets: a browser-playable H.264/AAC copy when the original
is not (HEVC from iPhones, for example), a poster frame and a thumbnail strip; and the exact frame
at an instant, for a reviewer's screenshot.

Blocking and CPU-heavy: run in the video process (server.video.service), never on the loop.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

STRIP_FRAMES = 10
STRIP_HEIGHT = 120
PLAYABLE_LONG_SIDE = 1920


@dataclass(frozen=True)
class Made:
    path: str  # absolute
    sha256: str
    size: int
    duration_s: float | None = None
    frames: int | None = None


def _written(path: Path, data: bytes) -> Made:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return Made(str(path), hashlib.sha256(data).hexdigest(), len(data))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def upright(frame: av.VideoFrame) -> Image.Image:
    """The picture as it is shown: the phone's rotation applied."""
    image = frame.to_image()
    rotation = round(frame.rotation or 0) % 360
    # A display rotation of 90 means "turn the picture 90° counter-clockwise to show it".
    return image.rotate(rotation, expand=True) if rotation else image


def poster_and_strip(source: Path, directory: Path, stem: str, duration_s: float) -> list[Made]:
    """A poster frame (about a second in) and a strip of STRIP_FRAMES thumbnails, as JPEG."""
    wanted = [min(1.0, duration_s / 2)] + [
        duration_s * (i + 0.5) / STRIP_FRAMES for i in range(STRIP_FRAMES)
    ]
    pictures = [frame_image(source, t) for t in wanted]
    out = io.BytesIO()
    pictures[0].save(out, "JPEG", quality=85)
    poster = _written(directory / f"{stem}-poster.jpg", out.getvalue())
    thumbs = [
        p.resize((max(1, p.width * STRIP_HEIGHT // p.height), STRIP_HEIGHT)) for p in pictures[1:]
    ]
    strip = Image.new("RGB", (sum(t.width for t in thumbs), STRIP_HEIGHT))
    x = 0
    for thumb in thumbs:
        strip.paste(thumb, (x, 0))
        x += thumb.width
    out = io.BytesIO()
    strip.save(out, "JPEG", quality=80)
    return [poster, _written(directory / f"{stem}-strip.jpg", out.getvalue())]


def frame_at(source: Path, at: float) -> av.VideoFrame:
    """The frame shown at `at` seconds from the start: the last one whose time is not after it."""
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        base = stream.time_base or Fraction(1, 90000)
        start = float(stream.start_time * base) if stream.start_time else 0.0
        target = start + max(0.0, at)
        container.seek(int(target / base), stream=stream, backward=True)
        shown = None
        for frame in container.decode(stream):
            if frame.time is None:
                continue
            if frame.time > target + 1e-6 and shown is not None:
                break
            shown = frame
        if shown is None:
            raise ValueError(f"no frame at {at:.3f} s")
        return shown


def frame_image(source: Path, at: float) -> Image.Image:
    return upright(frame_at(source, at))


def playable(source: Path, target: Path) -> Made:
    """An H.264/AAC MP4 that every browser plays and can seek (moov first), the rotation kept."""
    with av.open(str(source)) as inp:
        video_in = inp.streams.video[0]
        video_in.thread_type = "AUTO"
        audio_in = inp.streams.audio[0] if inp.streams.audio else None
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        with av.open(str(target), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            rate = video_in.average_rate or Fraction(30)
            video = out.add_stream("libx264", rate=rate)
            width, height = video_in.codec_context.width, video_in.codec_context.height
            scale = min(1.0, PLAYABLE_LONG_SIDE / max(width, height))
            video.width, video.height = int(width * scale) & ~1, int(height * scale) & ~1
            video.pix_fmt = "yuv420p"
            video.options = {"preset": "veryfast", "crf": "23"}
            video.thread_type = "AUTO"
            audio = out.add_stream("aac", rate=48000, layout="stereo") if audio_in else None
            rotation_set = False
            frames = 0
            streams = [video_in] + ([audio_in] if audio_in else [])
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    if isinstance(frame, av.VideoFrame):
                        if not rotation_set:
                            if frame.rotation:
                                video.set_display_rotation(round(frame.rotation))
                            rotation_set = True
                        frame = frame.reformat(video.width, video.height, "yuv420p")
                        frame.pict_type = av.video.frame.PictureType.NONE
                        out.mux(video.encode(frame))
                        frames += 1
                    elif audio is not None and isinstance(frame, av.AudioFrame):
                        frame.pts = None
                        out.mux(audio.encode(frame))
            out.mux(video.encode())
            if audio is not None:
                out.mux(audio.encode())
    with av.open(str(target)) as check:
        duration = float(check.duration / av.time_base) if check.duration else None
    return Made(str(target), _sha256(target), target.stat().st_size, duration, frames)


def prepare(
    source: str, directory: str, stem: str, needs_playable: bool, duration_s: float
) -> list[tuple[str, Made]]:
    """Everything an accepted video gets, as (kind, file); runs in the video process."""
    folder = Path(directory)
    made: list[tuple[str, Made]] = []
    original = Path(source)
    if needs_playable:
        made.append(("playable", playable(original, folder / f"{stem}-playable.mp4")))
    poster, strip = poster_and_strip(original, folder, stem, duration_s)
    made += [("poster", poster), ("strip", strip)]
    return made

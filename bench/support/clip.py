"""A synthetic camera and microphone, encoded once: what every benchmark peer publishes.

640×480 at 15 fps over a textured scene with a panning camera, a moving object and sensor
noise, VP8 at ~500 kbps with the rate control aiortc's encoder uses; a voice-like hum in Opus.
Peers send these bytes as they are, so publishing costs them no encoding.
"""

from __future__ import annotations

import pickle
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

WIDTH, HEIGHT, FPS = 640, 480, 15
VIDEO_KBPS = 500
CLIP_SECONDS = 8
AUDIO_FRAME = 960  # 20 ms at 48 kHz


def camera_frames(seconds: int = CLIP_SECONDS) -> list[np.ndarray]:
    """A hand-held camera over a textured site: pan, a moving object, sensor noise.

    The motion is periodic over the clip, so the clip loops without a jump."""
    import cv2

    rng = np.random.default_rng(20261126)
    big_w, big_h = WIDTH * 2, HEIGHT * 2
    texture = np.zeros((big_h, big_w, 3), np.float32)
    for scale, weight in ((96, 110), (24, 60), (6, 30), (2, 14)):
        small = rng.random((big_h // scale + 2, big_w // scale + 2, 3), dtype=np.float32)
        texture += weight * cv2.resize(small, (big_w, big_h), interpolation=cv2.INTER_CUBIC)
    texture = cv2.normalize(texture, None, 20, 235, cv2.NORM_MINMAX)
    for _ in range(60):  # edges: shelves, door frames, labels
        x, y = int(rng.integers(0, big_w)), int(rng.integers(0, big_h))
        w, h = int(rng.integers(20, 300)), int(rng.integers(10, 200))
        colour = tuple(float(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(texture, (x, y), (x + w, y + h), colour, int(rng.integers(1, 5)))
    frames = []
    for i in range(seconds * FPS):
        phase = 2 * np.pi * i / (seconds * FPS)
        x = int((big_w - WIDTH) * (0.5 + 0.45 * np.sin(phase)))
        y = int((big_h - HEIGHT) * (0.5 + 0.4 * np.sin(2 * phase)))
        image = texture[y : y + HEIGHT, x : x + WIDTH].copy()
        cx = int(WIDTH * (0.5 + 0.4 * np.cos(3 * phase)))
        cv2.ellipse(image, (cx, HEIGHT // 2), (60, 110), 0, 0, 360, (40, 70, 150), -1)
        image += rng.normal(0, 2.5, image.shape).astype(np.float32)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return frames


def encode_video(images: list[np.ndarray]) -> list[bytes]:
    """VP8 at ~VIDEO_KBPS, with the rate control aiortc's encoder uses; one keyframe, first."""
    codec = av.CodecContext.create("libvpx", "w")
    codec.width, codec.height, codec.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    codec.time_base = Fraction(1, FPS)
    codec.bit_rate = VIDEO_KBPS * 1000
    codec.gop_size = 100000
    codec.qmin, codec.qmax = 2, 56
    rate = str(VIDEO_KBPS * 1000)
    codec.options = {
        "bufsize": rate,
        "minrate": rate,
        "maxrate": rate,
        "deadline": "realtime",
        "cpu-used": "-6",
        "lag-in-frames": "0",
        "undershoot-pct": "100",
        "overshoot-pct": "15",
        "static-thresh": "1",
    }
    # Two laps: the first settles the rate control, the second, opened by a forced keyframe,
    # is the clip (a keyframe at the quality of a running camera, not of a cold start).
    packets = []
    for i, image in enumerate(images + images):
        frame = av.VideoFrame.from_ndarray(image, format="bgr24").reformat(format="yuv420p")
        frame.pts = i
        if i == len(images):
            frame.pict_type = av.video.frame.PictureType.I
        packets += codec.encode(frame)
    packets += codec.encode(None)
    return [bytes(p) for p in packets[len(images) :]]


def encode_audio(seconds: int = 2) -> list[bytes]:
    """A voice-like hum (two partials and noise), Opus mono 32 kbps in 20 ms packets."""
    codec = av.CodecContext.create("libopus", "w")
    codec.sample_rate, codec.layout, codec.format = 48000, "mono", "s16"
    codec.bit_rate = 32000
    codec.time_base = Fraction(1, 48000)
    t = np.arange(48000 * seconds) / 48000
    rng = np.random.default_rng(7)
    hum = 0.2 * np.sin(2 * np.pi * 220 * t) + 0.1 * np.sin(2 * np.pi * 660 * t)
    hum = (hum + 0.02 * rng.standard_normal(t.size)) * 32767
    samples = hum.astype(np.int16)
    packets = []
    for start in range(0, samples.size, AUDIO_FRAME):
        frame = av.AudioFrame.from_ndarray(
            samples[start : start + AUDIO_FRAME].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate, frame.pts = 48000, start
        packets += codec.encode(frame)
    return [bytes(p) for p in packets]


def make_clip(path: Path) -> dict[str, Any]:
    clip = {"video": encode_video(camera_frames()), "audio": encode_audio()}
    # The loop restarts at its first frame, and so does a keyframe request: it must be a key.
    assert vp8_keyframe(clip["video"][0]) and not any(map(vp8_keyframe, clip["video"][1:]))
    path.write_bytes(pickle.dumps(clip))
    return clip


def vp8_keyframe(data: bytes) -> bool:
    return bool(data) and not data[0] & 1


def load_clip(path: Path) -> dict[str, Any]:
    return pickle.loads(path.read_bytes())


def describe(clip: dict[str, Any], audio: bool = True) -> str:
    video_kbps = sum(map(len, clip["video"])) * 8 / CLIP_SECONDS / 1000
    audio_kbps = sum(map(len, clip["audio"])) * 8 / (len(clip["audio"]) / 50) / 1000
    text = (
        f"{WIDTH}x{HEIGHT} VP8 at {FPS} fps ({video_kbps:.0f} kbps, keyframe "
        f"{len(clip['video'][0]) / 1000:.0f} KB, looped every {CLIP_SECONDS} s)"
    )
    return text + (f" + Opus {audio_kbps:.0f} kbps" if audio else ", no audio")

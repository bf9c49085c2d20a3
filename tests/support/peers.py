"""A real aiortc participant for tests: speaks Kanyan's protocol like the browser does.

It publishes a synthetic camera (a solid colour with a moving block, so the encoder works like
on a real camera) and a pure tone, decodes everything it receives, and keeps per-participant
observations: frames, mean colour, dominant audio frequency.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import math
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy, RTCIceServer, RTCIceTransportPolicy
from av import AudioFrame, VideoFrame

VIDEO_CLOCK = 90000


class ColourTrack(MediaStreamTrack):
    """A camera that films one colour (RGB), with a small moving block for realism."""

    kind = "video"

    def __init__(
        self, rgb: tuple[int, int, int], width: int = 640, height: int = 480, fps: int = 15
    ) -> None:
        super().__init__()
        self.rgb = rgb
        self.width, self.height, self.fps = width, height, fps
        self._start: float | None = None
        self._count = 0
        self._base = np.zeros((height, width, 3), np.uint8)
        self._base[:, :] = rgb

    def set_colour(self, rgb: tuple[int, int, int]) -> None:
        self.rgb = rgb
        self._base[:, :] = rgb

    async def recv(self) -> VideoFrame:
        if self._start is None:
            self._start = time.time()
        target = self._start + self._count / self.fps
        delay = target - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        image = self._base.copy()
        size = max(8, self.height // 10)
        x = (self._count * 7) % (self.width - size)
        image[:size, x : x + size] = (255 - self.rgb[0], 255 - self.rgb[1], 255 - self.rgb[2])
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class ToneTrack(MediaStreamTrack):
    """A microphone that hears one pure tone."""

    kind = "audio"

    def __init__(self, frequency: float, rate: int = 48000, amplitude: float = 0.3) -> None:
        super().__init__()
        self.frequency = frequency
        self.rate = rate
        self.amplitude = amplitude
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        count = self.rate // 50  # 20 ms
        if self._start is None:
            self._start = time.time()
        delay = self._start + self._samples / self.rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        t = (np.arange(count) + self._samples) / self.rate
        tone = (self.amplitude * 32767 * np.sin(2 * np.pi * self.frequency * t)).astype(np.int16)
        frame = AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, self.rate)
        self._samples += count
        return frame


@dataclass
class Observed:
    """What one client saw of one other participant."""

    frames: int = 0
    size: tuple[int, int] = (0, 0)
    colour: tuple[float, float, float] = (0.0, 0.0, 0.0)
    audio_frames: int = 0
    samples: deque[np.ndarray] = field(default_factory=lambda: deque(maxlen=40))
    first_frame_at: float | None = None

    def tone(self) -> float:
        """Dominant frequency of the last ~0.8 s of audio heard."""
        if not self.samples:
            return 0.0
        signal = np.concatenate(list(self.samples)).astype(np.float64)
        spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
        spectrum[:5] = 0
        return float(np.argmax(spectrum) * 48000 / len(signal))


def close_to(
    colour: tuple[float, float, float], rgb: tuple[int, int, int], tol: float = 40
) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour, rgb, strict=True))


class RoomClient:
    """One participant over the real WebSocket and a real RTCPeerConnection."""

    def __init__(
        self,
        base_url: str,
        inspection: int,
        token: str,
        *,
        video: MediaStreamTrack | None = None,
        audio: MediaStreamTrack | None = None,
        relay_only: bool = False,
        observe: bool = True,
    ) -> None:
        self.url = base_url.replace("https://", "wss://") + "/ws"
        self.inspection = inspection
        self.token = token
        self.video = video
        self.audio = audio
        # Like a phone behind carrier NAT: only TURN relay candidates, from the welcome.
        self.relay_only = relay_only
        # Without observing, received media is only counted: less CPU for tests with many peers.
        self.observe = observe
        self.session: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.pc: RTCPeerConnection | None = None
        self.messages: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self.offers: list[dict[str, Any]] = []
        self.status = "new"
        self.welcome: dict[str, Any] | None = None
        self.roster: list[dict[str, Any]] = []
        self.state = None
        self.checklist: dict[str, Any] | None = None
        self.record: list[dict[str, Any]] = []
        self.conclusion: dict[str, Any] | None = None
        self.media_map: dict[str, Any] = {"own": {}, "remote": {}}
        self.seen: dict[int, Observed] = defaultdict(Observed)
        self.close_code: int | None = None
        self.connected_at: float | None = None
        self._reader: asyncio.Task[None] | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._changed = asyncio.Event()

    @classmethod
    def of(cls, server: Any, invited: Any, role: str, index: int = 0, **kwargs: Any) -> RoomClient:
        """The client for `invited`'s `role` (tests.support.server.Invited) on `server`."""
        token = invited.token(role, index)
        return cls(server.base_url, invited.inspection.id, token, **kwargs)

    @property
    def id(self) -> int:
        assert self.welcome is not None
        return self.welcome["you"]["id"]

    async def connect(self, *, hello: dict[str, Any] | None = None) -> None:
        self.session = aiohttp.ClientSession()
        self.ws = await self.session.ws_connect(self.url, ssl=False, max_msg_size=0)
        self.connected_at = time.time()
        await self.send(
            hello
            or {"type": "hello", "version": 1, "inspection": self.inspection, "token": self.token}
        )
        self._reader = asyncio.ensure_future(self._read())

    async def send(self, message: dict[str, Any] | str) -> None:
        assert self.ws is not None
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for msg in self.ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                message = json.loads(msg.data)
                self.messages.append(message)
                await self._handle(message)
                self._changed.set()
        finally:
            self.close_code = self.ws.close_code
            self.status = "closed"
            self._changed.set()

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "welcome":
            self.welcome = message
        elif kind == "lobby":
            self.status = "lobby"
        elif kind == "admitted":
            self.status = "admitted"
        elif kind == "roster":
            self.roster = message["members"]
        elif kind == "state":
            self.state = message["state"]
        elif kind == "checklist":
            self.checklist = message["checklist"]
        elif kind == "record":
            self.record = message["entries"]
        elif kind == "conclusion":
            self.conclusion = message["conclusion"]
        elif kind == "error":
            self.errors.append(message)
        elif kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "offer":
            self.offers.append(message)
            await self._answer(message)

    async def _answer(self, message: dict[str, Any]) -> None:
        if self.pc is None:
            servers = []
            if self.relay_only:
                assert self.welcome is not None
                servers = [RTCIceServer(**server) for server in self.welcome["ice_servers"]]
            policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
            self.pc = RTCPeerConnection(
                RTCConfiguration(
                    iceServers=servers,
                    bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
                    iceTransportPolicy=policy,
                )
            )
            self.pc.on("track", self._on_track)
        self.media_map = message["media"]
        await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        for kind, track in (("audio", self.audio), ("video", self.video)):
            mid = self.media_map["own"].get(kind)
            transceiver = next((t for t in self.pc.getTransceivers() if t.mid == mid), None)
            if transceiver is None:
                continue
            if track is not None:
                if transceiver.sender.track is not track:
                    transceiver.sender.replaceTrack(track)
                transceiver.direction = "sendonly"
            else:
                transceiver.direction = "inactive"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.send({"type": "answer", "sdp": self.pc.localDescription.sdp})

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._consumers.append(asyncio.ensure_future(self._consume(track)))

    def _owner(self, track: MediaStreamTrack) -> int | None:
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            if transceiver.receiver.track is track:
                info = self.media_map["remote"].get(transceiver.mid)
                return info["participant"] if info else None
        return None

    async def _consume(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            owner = self._owner(track)
            if owner is None:
                continue
            seen = self.seen[owner]
            if track.kind == "video":
                if seen.first_frame_at is None:
                    seen.first_frame_at = time.time()
                seen.frames += 1
                seen.size = (frame.width, frame.height)
                if self.observe and seen.frames % 5 == 1:
                    rgb = frame.to_ndarray(format="rgb24")
                    seen.colour = tuple(float(c) for c in rgb.reshape(-1, 3).mean(axis=0))
            else:
                seen.audio_frames += 1
                if not self.observe:
                    continue
                samples = frame.to_ndarray()
                if samples.ndim == 2 and samples.shape[0] == 1 and frame.layout.nb_channels == 2:
                    samples = samples[0, ::2]  # packed stereo: take the left channel
                seen.samples.append(samples.reshape(-1))
            self._changed.set()

    async def wait_for(self, predicate, timeout: float = 15.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {what or predicate}; "
                    f"status={self.status} errors={self.errors[-3:]}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    async def end_session(self, verdict: str = "pass") -> None:
        """As the host: pronounce a conclusion, then end the session (it cannot end without
        one)."""
        await self.send(
            {"type": "conclude", "verdict": verdict, "reasons": "现场情况与申请材料一致"}
        )
        await self.wait_for(lambda: self.conclusion is not None, what="the conclusion")
        await self.send({"type": "end"})

    async def frames_from(self, participant: int, more: int = 10, timeout: float = 15.0) -> None:
        start = self.seen[participant].frames
        await self.wait_for(
            lambda: self.seen[participant].frames >= start + more,
            timeout,
            f"{more} frames from {participant}",
        )

    async def close(self, *, leave: bool = True) -> None:
        if leave and self.ws is not None and not self.ws.closed:
            await self.send({"type": "leave"})
        if self.ws is not None:
            await self.ws.close()
        await self._shutdown()

    async def die(self) -> None:
        """Vanish without a word, as a phone does when it loses its network."""
        if self.ws is not None and self.ws._conn is not None and self.ws._conn.transport:
            self.ws._conn.transport.abort()
        await self._shutdown()

    async def _shutdown(self) -> None:
        for task in self._consumers:
            task.cancel()
        if self._reader is not None:
            self._reader.cancel()
        if self.pc is not None:
            await self.pc.close()
        if self.session is not None:
            await self.session.close()


class FlashTrack(MediaStreamTrack):
    """A camera that films darkness, and a white flash for `length` s every `period` s of the
    server clock (both peers of a FlashTrack/BeepTrack pair flash and beep together)."""

    kind = "video"

    def __init__(self, period: float = 2.0, length: float = 0.4, fps: int = 15) -> None:
        super().__init__()
        self.period, self.length, self.fps = period, length, fps
        self._start: float | None = None
        self._count = 0

    async def recv(self) -> VideoFrame:
        if self._start is None:
            # Frames on the wall clock's 1/fps grid, so a flash starts exactly on a frame.
            self._start = math.ceil(time.time() * self.fps) / self.fps
        moment = self._start + self._count / self.fps
        delay = moment - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        lit = round(moment, 6) % self.period < self.length
        image = np.full((480, 640, 3), 235 if lit else 20, np.uint8)
        frame = VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts = int(self._count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self._count += 1
        return frame


class BeepTrack(MediaStreamTrack):
    """A microphone that hears a 1 kHz beep for `length` s every `period` s of the server clock.
    Like a real microphone, each 20 ms frame holds the sound of the 20 ms before it is handed
    over."""

    kind = "audio"

    def __init__(self, period: float = 2.0, length: float = 0.4, rate: int = 48000) -> None:
        super().__init__()
        self.period, self.length, self.rate = period, length, rate
        self._samples = 0
        self._start: float | None = None

    async def recv(self) -> AudioFrame:
        count = self.rate // 50
        if self._start is None:
            self._start = time.time()
        delay = self._start + (self._samples + count) / self.rate - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.time()
        moments = now - (count - np.arange(count)) / self.rate
        on = (moments % self.period) < self.length
        beep = 0.5 * 32767 * np.sin(2 * np.pi * 1000 * moments) * on
        frame = AudioFrame.from_ndarray(
            beep.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.rate
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, self.rate)
        self._samples += count
        return frame

"""One benchmark participant in its own process: `python -m bench.support.peer SPEC_JSON`.

It speaks Kanyan's protocol like the browser page, publishes the pre-encoded clip (aiortc's
sender packs the frames without encoding), decodes everything it receives, reports JSON lines
on stdout (`ready`, `stats`) and obeys `stats` and `quit` on stdin. SPEC: base_url,
inspection, token, name, admit (admit whoever waits in the lobby), expect (how many
publishers to decode before `ready`; 0: ready once connected), clip (path), audio (publish
the microphone too; default true).
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

import aiohttp
import av
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcconfiguration import RTCBundlePolicy

from bench.support.clip import FPS, load_clip
from server.live import hooks
from server.live.hooks import OutgoingFrame


class LoopedTrack(MediaStreamTrack):
    """A camera or microphone playing pre-encoded frames in a loop, paced in real time.

    It returns what aiortc's sender packs without encoding (server.live.hooks.OutgoingFrame), so
    the peer spends no CPU on encoding. A keyframe request restarts the video loop at its
    keyframe."""

    def __init__(self, kind: str, frames: list[bytes], rate: int, clock_rate: int) -> None:
        super().__init__()
        self.kind = kind
        self.keyframe_wanted = False
        self.sent = 0
        self._frames = frames
        self._interval = 1 / rate
        self._step = clock_rate // rate
        self._time_base = Fraction(1, clock_rate)
        self._index = 0
        self._count = 0
        self._start: float | None = None

    async def recv(self) -> OutgoingFrame:  # type: ignore[override]
        if self.readyState != "live":
            raise MediaStreamError
        now = time.monotonic()
        if self._start is None:
            self._start = now
        delay = self._start + self._count * self._interval - now
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -2 * self._interval:
            self._start = now - self._count * self._interval  # starved: drop, like a camera
        if self.keyframe_wanted:
            self.keyframe_wanted = False
            self._index = 0
        data = self._frames[self._index]
        self._index = (self._index + 1) % len(self._frames)
        self.sent += 1
        pts = self._count * self._step
        self._count += 1
        return OutgoingFrame(data, pts, self._time_base)


class BenchPeer:
    """Speaks Kanyan's protocol like the browser page; reports on stdout, obeys stdin."""

    def __init__(self, spec: dict[str, Any], clip: dict[str, Any]) -> None:
        self.spec = spec
        self.video = LoopedTrack("video", clip["video"], FPS, 90000)
        self.audio = LoopedTrack("audio", clip["audio"], 50, 48000)
        self.pc: RTCPeerConnection | None = None
        self.media_map: dict[str, Any] = {"own": {}, "remote": {}}
        self.frames: dict[str, dict[int, int]] = {
            "video": defaultdict(int),
            "audio": defaultdict(int),
        }
        self.opened_at = 0.0
        self.connect_ms = 0.0
        self.ready = False
        self._admitted: set[int] = set()
        self.errors = 0
        self.received_bytes = 0
        self._decoders: dict[Any, Any] = {}

    @staticmethod
    def report(**event: Any) -> None:
        print(json.dumps(event), flush=True)

    async def run(self) -> None:
        url = self.spec["base_url"].replace("https://", "wss://") + "/ws"
        async with aiohttp.ClientSession() as session:
            started = time.monotonic()
            ws = await session.ws_connect(url, ssl=False, max_msg_size=0)
            self.opened_at = time.monotonic()
            self.connect_ms = (self.opened_at - started) * 1000
            hello = {
                "type": "hello",
                "version": 1,
                "inspection": self.spec["inspection"],
                "token": self.spec["token"],
            }
            await ws.send_str(json.dumps(hello))
            reading = asyncio.ensure_future(self._read(ws))
            commands = asyncio.ensure_future(self._commands())
            await asyncio.wait({reading, commands}, return_when=asyncio.FIRST_COMPLETED)
            if not ws.closed:
                await ws.send_str(json.dumps({"type": "leave"}))
                await ws.close()
            for task in (reading, commands):
                task.cancel()
            if self.pc is not None:
                await self.pc.close()

    async def _commands(self) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := await reader.readline():
            command = line.decode().strip()
            if command == "stats":
                self.report(
                    event="stats",
                    video=sum(self.frames["video"].values()),
                    audio=sum(self.frames["audio"].values()),
                    published=self.video.sent,
                    bytes=self.received_bytes,
                    errors=self.errors,
                    lost=await self._packets_lost(),
                )
            elif command == "quit":
                return

    async def _packets_lost(self) -> int:
        lost = 0
        if self.pc is not None:
            for transceiver in self.pc.getTransceivers():
                stats = await transceiver.receiver.getStats()
                lost += sum(
                    getattr(s, "packetsLost", 0) for s in stats.values() if s.type == "inbound-rtp"
                )
        return lost

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(msg.data)
            kind = message["type"]
            if kind == "offer":
                await self._answer(ws, message)
            elif kind == "roster" and self.spec["admit"]:
                for member in message["members"]:
                    if member["status"] == "lobby" and member["id"] not in self._admitted:
                        self._admitted.add(member["id"])
                        await ws.send_str(
                            json.dumps({"type": "admit", "participant": member["id"]})
                        )
            elif kind == "ping":
                await ws.send_str(json.dumps({"type": "pong"}))
            elif kind == "error":
                print(f"peer {self.spec['name']}: server error {message}", file=sys.stderr)

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> None:
        if self.pc is None:
            self.pc = RTCPeerConnection(
                RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
            )
            self.pc.on("connectionstatechange", self._check_ready)
        self.media_map = message["media"]
        await self.pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        self._tap()  # before the answer: receivers start once it is set
        audio = self.audio if self.spec.get("audio", True) else None
        for kind, track in (("audio", audio), ("video", self.video)):
            mid = self.media_map["own"].get(kind)
            transceiver = next((t for t in self.pc.getTransceivers() if t.mid == mid), None)
            if transceiver is None:
                continue
            if track is None:
                transceiver.direction = "inactive"
                continue
            if transceiver.sender.track is not track:
                transceiver.sender.replaceTrack(track)
                if kind == "video":
                    hooks.on_keyframe_request(transceiver.sender, self._keyframe_requested)
            transceiver.direction = "sendonly"
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        self._widen_receive_buffers()
        await ws.send_str(json.dumps({"type": "answer", "sdp": self.pc.localDescription.sdp}))

    def _widen_receive_buffers(self) -> None:
        """A peer that other processes keep off the CPU for a moment must not lose packets
        (the default buffer holds a few hundred ms of five publishers): the peers measure the
        server, their own starvation must not count against it."""
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            gatherer = transceiver.receiver.transport.transport.iceGatherer
            for protocol in gatherer._connection._protocols:
                sock = protocol.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    def _keyframe_requested(self) -> None:
        self.video.keyframe_wanted = True

    def _tap(self) -> None:
        """Decode what arrives on the event loop, in the receiver's place (see the docstring)."""
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            if transceiver in self._decoders:
                continue
            name = {"video": "libvpx", "audio": "libopus"}[transceiver.kind]
            decoder = av.CodecContext.create(name, "r")
            if transceiver.kind == "audio":
                decoder.format, decoder.layout, decoder.sample_rate = "s16", "stereo", 48000
            self._decoders[transceiver] = decoder
            receiver = transceiver.receiver
            # REMB steers only a sender's encoder: without it the naive server's encoders keep
            # the peers' own rate, and the peers skip a per-packet estimator.
            receiver._RTCRtpReceiver__remote_bitrate_estimator = None  # type: ignore[attr-defined]
            hooks.tap_receiver(
                receiver, lambda codec, frame, t=transceiver: self._received(t, frame.data)
            )

    def _received(self, transceiver: Any, data: bytes) -> None:
        info = self.media_map["remote"].get(transceiver.mid)
        if info is None:
            return
        try:
            decoded = len(self._decoders[transceiver].decode(av.Packet(data)))
        except av.FFmpegError:
            self.errors += 1
            return
        self.frames[transceiver.kind][info["participant"]] += decoded
        self.received_bytes += len(data)
        if transceiver.kind == "video" and not self.ready:
            self._check_ready()

    def _check_ready(self) -> None:
        """Ready once video decoded from everyone expected (or, expecting nobody, connected)."""
        if self.ready or self.pc is None:
            return
        expect = self.spec["expect"]
        if expect == 0:
            done = self.pc.connectionState == "connected"
        else:
            done = len(self.frames["video"]) >= expect  # a first frame decoded from each
        if done:
            self.ready = True
            first = (time.monotonic() - self.opened_at) * 1000
            self.report(event="ready", join_ms=first, connect_ms=self.connect_ms)


def main(spec_json: str) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(spec_json)
    hooks.use_host_addresses(["127.0.0.1"])  # loopback only, like the server
    clip = load_clip(Path(spec["clip"]))
    asyncio.run(BenchPeer(spec, clip).run())


if __name__ == "__main__":
    main(sys.argv[1])

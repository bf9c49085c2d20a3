"""One benchmark participant in its own process: `python -m bench.support.peer SPEC_JSON`.

It speaks Kanyan's protocol like the browser page (or Janus's VideoRoom API, with
server = "janus": bench.support.janus_peer), publishes the pre-encoded clip (aiortc's sender
packs the frames without encoding), decodes everything it receives, reports JSON lines on
stdout (`ready`, `stats`) and obeys `stats`, `send JSON` and `quit` on stdin. SPEC: name, clip
(path), expect (how many publishers to decode before `ready`; 0: ready once connected), audio
(publish the microphone too; default true), decode (default true; false: only count whole
frames, for long runs where the peers' CPU must stay small), address (the ICE host address;
default 127.0.0.1). Kanyan: base_url, inspection, token, admit (admit whoever waits in the
lobby), start_session (start the session, and so the recording, once the room is open);
`send JSON` sends a protocol message (e.g. the host's `start`). When the server closes the
connection with a code after which the page reconnects (4050: media failed, …), the peer
reconnects too, with a new RTCPeerConnection, and counts it (`reconnects` in `stats`). Janus:
server = "janus", janus_url, room.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from server.live import hooks, rtp_hooks
from server.live.hooks import OutgoingFrame

# Close codes after which the page does not reconnect (docs/protocol.md); after any other the
# peer reconnects, as the page does.
FINAL_CODES = (*range(4000, 4010), 4012)


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


class MediaPeer:
    """The media side of a benchmark participant, whatever server it talks to: publishes the
    clip, decodes (or only counts) what it receives by publisher, reports on stdout and obeys
    `stats` and `quit` on stdin. Subclasses speak a server's protocol in `session()`."""

    def __init__(self, spec: dict[str, Any], clip: dict[str, Any]) -> None:
        self.spec = spec
        self.video = LoopedTrack("video", clip["video"], FPS, 90000)
        self.audio = LoopedTrack("audio", clip["audio"], 50, 48000)
        self.pcs: list[RTCPeerConnection] = []
        self.frames: dict[str, dict[int, int]] = {
            "video": defaultdict(int),
            "audio": defaultdict(int),
        }
        self.opened_at = 0.0
        self.timeline: dict[str, float] = {}  # ms after the WebSocket opened, first time each
        self.connect_ms = 0.0
        self.ready = False
        self.errors = 0
        self.received_bytes = 0
        self._decoders: dict[Any, Any] = {}
        self._decode = spec.get("decode", True)
        self.clip = clip
        self.published = 0  # video frames sent over connections that ended
        self.reconnects = 0
        self.ws: aiohttp.ClientWebSocketResponse | None = None  # Kanyan's WebSocket

    @staticmethod
    def report(**event: Any) -> None:
        print(json.dumps(event), flush=True)

    async def run(self) -> None:
        session = asyncio.ensure_future(self.session())
        commands = asyncio.ensure_future(self._commands())
        await asyncio.wait({session, commands}, return_when=asyncio.FIRST_COMPLETED)
        if session.done() and session.exception() is not None:
            print(f"peer {self.spec['name']}: {session.exception()!r}", file=sys.stderr)
        for task in (session, commands):
            task.cancel()
        await asyncio.gather(session, commands, return_exceptions=True)
        await self.leave()
        for pc in self.pcs:
            await pc.close()

    async def session(self) -> None:
        """Join, publish, subscribe; return (or raise) only when the session is over."""
        raise NotImplementedError

    async def leave(self) -> None:
        """Say goodbye to the server (the connections are closed afterwards)."""

    def owner(self, transceiver: Any) -> int | None:
        """Whose media a receiving transceiver carries (None: not someone else's)."""
        raise NotImplementedError

    def new_pc(self) -> RTCPeerConnection:
        pc = RTCPeerConnection(
            RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        pc.on("connectionstatechange", self._check_ready)
        pc.on("iceconnectionstatechange", lambda: self.mark(f"ice {pc.iceConnectionState}"))
        pc.on("connectionstatechange", lambda: self.mark(f"pc {pc.connectionState}"))
        self.pcs.append(pc)
        return pc

    async def drop_media(self) -> None:
        """Close the connections; the next one gets fresh tracks (a stopped track stays so)."""
        pcs, self.pcs = self.pcs, []
        for pc in pcs:
            await pc.close()
        self.published += self.video.sent
        self.video = LoopedTrack("video", self.clip["video"], FPS, 90000)
        self.audio = LoopedTrack("audio", self.clip["audio"], 50, 48000)
        self._decoders.clear()

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
                    published=self.published + self.video.sent,
                    reconnects=self.reconnects,
                    bytes=self.received_bytes,
                    errors=self.errors,
                    lost=await self._packets_lost(),
                    by_publisher=dict(self.frames["video"]),
                )
            elif command.startswith("send ") and self.ws is not None and not self.ws.closed:
                await self.ws.send_str(command[5:])
            elif command == "quit":
                return

    async def _packets_lost(self) -> int:
        lost = 0
        for pc in self.pcs:
            for transceiver in pc.getTransceivers():
                stats = await transceiver.receiver.getStats()
                lost += sum(
                    getattr(s, "packetsLost", 0) for s in stats.values() if s.type == "inbound-rtp"
                )
        return lost

    def widen_receive_buffers(self, pc: RTCPeerConnection) -> None:
        """A peer that other processes keep off the CPU for a moment must not lose packets
        (the default buffer holds a few hundred ms of five publishers): the peers measure the
        server, their own starvation must not count against it."""
        for transceiver in pc.getTransceivers():
            # The server's receive path (no queue per packet, 64 KB reads): cheaper peers
            # starve less on a busy machine, whichever server they measure.
            rtp_hooks.receive_without_queue(transceiver.receiver.transport)
            gatherer = transceiver.receiver.transport.transport.iceGatherer
            for protocol in gatherer._connection._protocols:
                rtp_hooks.read_whole_datagrams_only(protocol.transport)
                sock = protocol.transport.get_extra_info("socket")
                if sock is not None:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)

    def publish_on(self, transceiver: Any, kind: str) -> bool:
        """Send our camera or microphone on `transceiver`; False: nothing to send there."""
        track = self.video if kind == "video" else self.audio
        if kind == "audio" and not self.spec.get("audio", True):
            return False
        if transceiver.sender.track is not track:
            transceiver.sender.replaceTrack(track)
            if kind == "video":
                hooks.on_keyframe_request(transceiver.sender, self._keyframe_requested)
        return True

    def _keyframe_requested(self) -> None:
        self.video.keyframe_wanted = True

    def tap(self, pc: RTCPeerConnection) -> None:
        """Decode what arrives on the event loop, in the receivers' place (see the docstring).
        Call after setRemoteDescription, before the answer."""
        for transceiver in pc.getTransceivers():
            if transceiver in self._decoders:
                continue
            decoder = None
            if self._decode:
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
        participant = self.owner(transceiver)
        if participant is None:
            return
        self.mark(f"first {transceiver.kind} frame")
        decoder = self._decoders[transceiver]
        if decoder is None:
            decoded = 1  # counting only: a whole frame arrived
        else:
            try:
                decoded = len(decoder.decode(av.Packet(data)))
            except av.FFmpegError:
                self.errors += 1
                return
        self.frames[transceiver.kind][participant] += decoded
        self.received_bytes += len(data)
        if transceiver.kind == "video" and not self.ready:
            self._check_ready()

    def _check_ready(self) -> None:
        """Ready once video decoded from everyone expected (or, expecting nobody, connected)."""
        if self.ready or not self.pcs:
            return
        expect = self.spec["expect"]
        if expect == 0:
            done = self.pcs[0].connectionState == "connected"
        else:
            done = len(self.frames["video"]) >= expect  # a first frame decoded from each
        if done:
            self.ready = True
            first = (time.monotonic() - self.opened_at) * 1000
            self.report(
                event="ready", join_ms=first, connect_ms=self.connect_ms, timeline=self.timeline
            )

    def mark(self, step: str) -> None:
        """Note when `step` first happened, for the join's timeline."""
        if step not in self.timeline and self.opened_at:
            self.timeline[step] = round((time.monotonic() - self.opened_at) * 1000, 1)


class KanyanPeer(MediaPeer):
    """Speaks Kanyan's protocol like the browser page: one connection, offered by the server."""

    def __init__(self, spec: dict[str, Any], clip: dict[str, Any]) -> None:
        super().__init__(spec, clip)
        self.media_map: dict[str, Any] = {"own": {}, "remote": {}}
        self._admitted: set[int] = set()
        self._started = False

    def owner(self, transceiver: Any) -> int | None:
        info = self.media_map["remote"].get(transceiver.mid)
        return None if info is None else int(info["participant"])

    async def session(self) -> None:
        url = self.spec["base_url"].replace("https://", "wss://") + "/ws"
        async with aiohttp.ClientSession() as http:
            try:
                while True:
                    started = time.monotonic()
                    try:
                        ws = self.ws = await http.ws_connect(url, ssl=False, max_msg_size=0)
                    except (aiohttp.ClientError, OSError):
                        await asyncio.sleep(1)
                        continue
                    if not self.opened_at:
                        self.opened_at = time.monotonic()
                        self.connect_ms = (self.opened_at - started) * 1000
                    hello = {
                        "type": "hello",
                        "version": 1,
                        "inspection": self.spec["inspection"],
                        "token": self.spec["token"],
                    }
                    try:
                        await ws.send_str(json.dumps(hello))
                        await self._read(ws)
                    except (aiohttp.ClientError, OSError) as exc:
                        # The connection broke under us (writing to it while it closed): the
                        # page reconnects then too.
                        print(f"peer {self.spec['name']}: {exc!r}", file=sys.stderr)
                    if ws.close_code in FINAL_CODES:
                        return
                    # Like the page: the server asked for a new connection (media failed, idle).
                    await self.drop_media()
                    self.media_map = {"own": {}, "remote": {}}
                    self.reconnects += 1
                    await asyncio.sleep(1)
            finally:
                await self.leave()

    async def leave(self) -> None:
        ws, self.ws = self.ws, None
        if ws is not None and not ws.closed:
            with contextlib.suppress(aiohttp.ClientError, OSError):  # closing already
                await ws.send_str(json.dumps({"type": "leave"}))
            await ws.close()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            message = json.loads(msg.data)
            kind = message["type"]
            self.mark(kind)
            if kind == "offer":
                await self._answer(ws, message)
            elif kind == "roster" and self.spec["admit"]:
                for member in message["members"]:
                    if member["status"] == "lobby" and member["id"] not in self._admitted:
                        self._admitted.add(member["id"])
                        await ws.send_str(
                            json.dumps({"type": "admit", "participant": member["id"]})
                        )
                if self.spec.get("start_session") and not self._started:
                    self._started = message.get("state") == "open"
                    if self._started:
                        await ws.send_str(json.dumps({"type": "start"}))
            elif kind == "ping":
                await ws.send_str(json.dumps({"type": "pong"}))
            elif kind == "error":
                print(f"peer {self.spec['name']}: server error {message}", file=sys.stderr)

    async def _answer(self, ws: aiohttp.ClientWebSocketResponse, message: dict[str, Any]) -> None:
        pc = self.pcs[0] if self.pcs else self.new_pc()
        self.media_map = message["media"]
        await pc.setRemoteDescription(RTCSessionDescription(message["sdp"], "offer"))
        self.tap(pc)  # before the answer: receivers start once it is set
        for kind in ("audio", "video"):
            mid = self.media_map["own"].get(kind)
            transceiver = next((t for t in pc.getTransceivers() if t.mid == mid), None)
            if transceiver is None:
                continue
            transceiver.direction = "sendonly" if self.publish_on(transceiver, kind) else "inactive"
        await pc.setLocalDescription(await pc.createAnswer())
        self.widen_receive_buffers(pc)
        await ws.send_str(json.dumps({"type": "answer", "sdp": pc.localDescription.sdp}))
        self.mark("answer sent")


def main(spec_json: str) -> None:
    import logging

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    spec = json.loads(spec_json)
    # Loopback only, like the server (or the bench namespace's address, for Janus).
    hooks.use_host_addresses([spec.get("address", "127.0.0.1")])
    clip = load_clip(Path(spec["clip"]))
    if spec.get("server") == "janus":
        from bench.support.janus_peer import JanusPeer

        asyncio.run(JanusPeer(spec, clip).run())
    else:
        asyncio.run(KanyanPeer(spec, clip).run())


if __name__ == "__main__":
    main(sys.argv[1])

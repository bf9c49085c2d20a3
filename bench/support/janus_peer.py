"""A benchmark participant that talks to Janus's VideoRoom instead of Kanyan.

Same process, clip, decoding and reports as the Kanyan peer (bench.support.peer.MediaPeer); the
session is Janus's: a publisher handle (`join`, then `configure` with our offer) and, once the
expected publishers are in, one multistream subscriber handle for all of them (`join` with
their feeds, answer Janus's offer, `start`). Two peer connections where Kanyan uses one: that
is how the VideoRoom works.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiortc import RTCRtpSender, RTCSessionDescription

from bench.support.janus import JanusApi, plugin_data
from bench.support.peer import MediaPeer


def preferences(kind: str) -> list[Any]:
    wanted = {"video": ("video/vp8", "video/rtx"), "audio": ("audio/opus",)}[kind]
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in wanted]


class JanusPeer(MediaPeer):
    def __init__(self, spec: dict[str, Any], clip: dict[str, Any]) -> None:
        super().__init__(spec, clip)
        self.feeds: dict[str, int] = {}  # the subscriber connection's mids -> publisher ids
        self.api: JanusApi | None = None

    def owner(self, transceiver: Any) -> int | None:
        return self.feeds.get(transceiver.mid)

    async def session(self) -> None:
        room = self.spec["room"]
        async with aiohttp.ClientSession() as http:
            started = time.monotonic()
            self.api = api = JanusApi(http, self.spec["janus_url"])
            await api.create()
            self.opened_at = time.monotonic()
            self.connect_ms = (self.opened_at - started) * 1000
            polling = asyncio.ensure_future(api.poll())
            try:
                publishers = await self._publish(api, room)
                await self._subscribe(api, room, publishers)
                await polling
            finally:
                polling.cancel()
                await self.leave()

    async def _publish(self, api: JanusApi, room: int) -> set[int]:
        handle = await api.attach()
        joined = plugin_data(
            await api.request(
                handle,
                {
                    "request": "join",
                    "ptype": "publisher",
                    "room": room,
                    "display": self.spec["name"],
                },
            )
        )
        publishers = {p["id"] for p in joined.get("publishers", [])}
        pc = self.new_pc()
        for kind in ("audio", "video"):
            transceiver = pc.addTransceiver(kind, direction="sendonly")
            if self.publish_on(transceiver, kind):
                transceiver.setCodecPreferences(preferences(kind))
            else:
                transceiver.direction = "inactive"
        await pc.setLocalDescription(await pc.createOffer())
        offer = {"type": "offer", "sdp": pc.localDescription.sdp}
        configured = await api.request(
            handle, {"request": "configure", "audio": True, "video": True}, jsep=offer
        )
        plugin_data(configured)
        await pc.setRemoteDescription(RTCSessionDescription(configured["jsep"]["sdp"], "answer"))
        await api.trickle_done(handle)
        # Wait for everyone the bench put in this room to publish.
        while len(publishers) < self.spec["expect"]:
            event = await api.events[handle].get()
            data = event.get("plugindata", {}).get("data", {})
            publishers |= {p["id"] for p in data.get("publishers", [])}
        return publishers

    async def _subscribe(self, api: JanusApi, room: int, publishers: set[int]) -> None:
        if not publishers:
            return
        handle = await api.attach()
        body = {
            "request": "join",
            "ptype": "subscriber",
            "room": room,
            "streams": [{"feed": feed} for feed in sorted(publishers)],
        }
        attached = await api.request(handle, body)
        data = plugin_data(attached)
        self.feeds = {s["mid"]: s["feed_id"] for s in data.get("streams", []) if "feed_id" in s}
        pc = self.new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(attached["jsep"]["sdp"], "offer"))
        self.tap(pc)  # before the answer: receivers start once it is set
        await pc.setLocalDescription(await pc.createAnswer())
        self.widen_receive_buffers(pc)
        answer = {"type": "answer", "sdp": pc.localDescription.sdp}
        plugin_data(await api.request(handle, {"request": "start"}, jsep=answer))
        await api.trickle_done(handle)

    async def leave(self) -> None:
        api, self.api = self.api, None
        if api is not None and api.session is not None:
            try:
                await api.destroy()
            except (aiohttp.ClientError, RuntimeError, TimeoutError):
                pass  # Janus ends the session by itself when it times out

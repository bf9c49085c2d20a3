"""What the applicant's phone and the host learn of each other, through the real server with
real aiortc peers: the lobby hears when the host is online, the host asks for the torch or the
other camera (and nobody else may), a phone's report on itself reaches the host, and a camera
whose video stops reaching the server is named to the host (server.live.watchdog)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.server import make_settings

RED, BLUE = (220, 30, 30), (40, 60, 230)


@pytest.fixture
def settings(tmp_path):
    # A short stall time keeps the watchdog test short; the rule is the same at 20 s.
    return make_settings(tmp_path, media={"stall_after_s": 2})


class PausableCamera(ColourTrack):
    """A camera that can stop delivering frames, as one does when its uplink dies."""

    def __init__(self, rgb: tuple[int, int, int]) -> None:
        super().__init__(rgb)
        self.running = asyncio.Event()
        self.running.set()

    async def recv(self):  # type: ignore[no-untyped-def]
        if not self.running.is_set():
            await self.running.wait()
            self._start = time.time() - self._count / self.fps  # no burst to catch up
        return await super().recv()


async def join(server, invited, role, video=None):
    client = RoomClient.of(
        server, invited, role, video=video or ColourTrack(RED), audio=ToneTrack(440)
    )
    await client.connect()
    await client.wait_for(lambda: client.welcome is not None, what="welcome")
    return client


async def seat(host, client):
    await client.wait_for(lambda: client.status == "lobby", what="lobby")
    await host.send({"type": "admit", "participant": client.id})
    await client.wait_for(lambda: client.status == "admitted", what="admission")


def lobby_messages(client):
    return [m for m in client.messages if m["type"] == "lobby"]


def member(client, member_id):
    return next((m for m in client.roster if m["id"] == member_id), None)


async def test_the_lobby_hears_when_the_host_is_online(server):
    invited = await server.invite("host", "applicant")
    applicant = await join(server, invited, "applicant")
    try:
        await applicant.wait_for(lambda: applicant.status == "lobby", what="lobby")
        assert lobby_messages(applicant) == [{"type": "lobby", "host_online": False}]
        host = await join(server, invited, "host")
        await applicant.wait_for(lambda: len(lobby_messages(applicant)) == 2, what="host online")
        assert lobby_messages(applicant)[-1]["host_online"] is True
        assert applicant.roster == []  # waiting people still see nobody
        await host.close()
        await applicant.wait_for(lambda: len(lobby_messages(applicant)) == 3, what="host gone")
        assert lobby_messages(applicant)[-1]["host_online"] is False
    finally:
        await applicant.close()


async def test_only_the_host_may_ask_for_the_torch_or_the_other_camera(server):
    invited = await server.invite("host", "clerk", "applicant")
    host = await join(server, invited, "host")
    clerk = await join(server, invited, "clerk")
    applicant = await join(server, invited, "applicant", ColourTrack(BLUE))
    try:
        await seat(host, clerk)
        await seat(host, applicant)
        await host.send({"type": "camera_request", "participant": applicant.id, "what": "torch"})

        def requests():
            return [m for m in applicant.messages if m["type"] == "camera_request"]

        await applicant.wait_for(lambda: len(requests()) == 1, what="the torch request")
        assert requests()[0] == {
            "type": "camera_request",
            "what": "torch",
            "by": invited.invitee("host").name,
        }
        ask = {"type": "camera_request", "participant": applicant.id, "what": "switch_camera"}
        for other in (clerk, applicant):
            await other.send(ask)
            await other.wait_for(lambda o=other: o.errors, what="a refusal")
            assert other.errors[-1]["code"] == "forbidden"
            assert other.errors[-1]["ref"] == "camera_request"
        await host.send({**ask, "what": "flash"})
        await host.wait_for(lambda: host.errors, what="a bad request")
        assert host.errors[-1]["code"] == "bad_field"
        await host.send(ask)
        await applicant.wait_for(lambda: len(requests()) == 2, what="the switch request")
        assert requests()[-1]["what"] == "switch_camera"
        assert not [m for m in clerk.messages if m["type"] == "camera_request"]
    finally:
        for client in (applicant, clerk, host):
            await client.close()


async def test_a_phone_in_the_background_with_a_poor_uplink_is_shown_to_the_host(server):
    invited = await server.invite("host", "applicant")
    host = await join(server, invited, "host")
    applicant = await join(server, invited, "applicant", ColourTrack(BLUE))
    try:
        await applicant.wait_for(lambda: applicant.status == "lobby", what="lobby")
        await applicant.send({"type": "device", "background": True})
        await applicant.wait_for(lambda: applicant.errors, what="a refusal from the lobby")
        assert applicant.errors[-1]["code"] == "not_admitted"
        await seat(host, applicant)
        await applicant.send({"type": "device", "background": True, "uplink": "poor"})
        await host.wait_for(
            lambda: (member(host, applicant.id) or {}).get("device", {}).get("background"),
            what="the applicant in the background",
        )
        assert member(host, applicant.id)["device"] == {"background": True, "uplink": "poor"}
        await applicant.send({"type": "device", "background": False})
        await host.wait_for(
            lambda: member(host, applicant.id)["device"]["background"] is False, what="back"
        )
    finally:
        await applicant.close()
        await host.close()


async def test_the_host_is_told_when_the_applicant_s_video_stops_reaching_the_server(server):
    invited = await server.invite("host", "applicant")
    host = await join(server, invited, "host")
    camera = PausableCamera(BLUE)
    applicant = await join(server, invited, "applicant", camera)
    try:
        await seat(host, applicant)
        await host.frames_from(applicant.id, 10, timeout=30)
        assert member(host, applicant.id)["stalled"] is False
        camera.running.clear()  # the phone's uplink dies; its WebSocket still answers
        await host.wait_for(
            lambda: member(host, applicant.id)["stalled"], timeout=30, what="stalled"
        )
        notices = [m for m in host.messages if m["type"] == "notice"]
        assert notices[-1]["code"] == "media_stalled"
        assert invited.invitee("applicant").name in notices[-1]["message"]
        assert member(applicant, applicant.id)["stalled"] is True  # the phone is told too
        camera.running.set()
        await host.wait_for(
            lambda: not member(host, applicant.id)["stalled"], timeout=30, what="resumed"
        )
        assert [m for m in host.messages if m["type"] == "notice"][-1]["code"] == "media_resumed"
        await host.frames_from(applicant.id, 10, timeout=30)
    finally:
        await applicant.close()
        await host.close()

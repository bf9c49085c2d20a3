"""media.forwarding = "reencode", the naive reference bench/forwarding.py measures against:
it must really decode and re-encode per subscriber, and still carry everyone's video."""

from __future__ import annotations

import pytest
from aiortc.codecs.vpx import Vp8Encoder

from server.services import ROOMS
from tests.integration.test_forwarding import GREEN, RED, admit, join
from tests.support.peers import close_to
from tests.support.server import make_settings


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, media={"forwarding": "reencode"})


def video_encoders(server, invited) -> list[Vp8Encoder]:
    room = server.app[ROOMS].get(invited.inspection.id)
    encoders = []
    for participant in room.connections.values():
        for transceiver in participant.peer.pc.getTransceivers():
            encoder = transceiver.sender._RTCRtpSender__encoder
            if transceiver.kind == "video" and isinstance(encoder, Vp8Encoder):
                encoders.append(encoder)
    return encoders


async def host_and_clerk(server):
    invited = await server.invite("host", "clerk")
    host = await join(server, invited, "host", RED, 440)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    clerk = await join(server, invited, "clerk", GREEN, 660)
    await admit(host, clerk)
    return invited, host, clerk


async def test_two_peers_see_each_other_through_decode_and_reencode(server):
    invited, host, clerk = await host_and_clerk(server)
    try:
        await host.frames_from(clerk.id, 15)
        await clerk.frames_from(host.id, 15)
        assert close_to(host.seen[clerk.id].colour, GREEN), host.seen[clerk.id].colour
        assert close_to(clerk.seen[host.id].colour, RED), clerk.seen[host.id].colour
        assert host.seen[clerk.id].size == (640, 480)
        await host.wait_for(lambda: host.seen[clerk.id].audio_frames > 30, what="audio")
        assert abs(host.seen[clerk.id].tone() - 660) < 15
        # Each subscriber's sender opened its own libvpx encoder: this is the naive design.
        encoders = video_encoders(server, invited)
        assert len(encoders) == 2
        assert all(encoder.codec is not None for encoder in encoders)
    finally:
        for client in (host, clerk):
            await client.close()


async def test_a_publisher_who_rejoins_is_seen_again(server):
    invited, host, clerk = await host_and_clerk(server)
    try:
        await host.frames_from(clerk.id, 10)
        await clerk.close()
        back = await join(server, invited, "clerk", GREEN, 660)
        await back.wait_for(lambda: back.status == "admitted", what="re-admitted")
        # The host's slot was reused for the clerk's new publication.
        await host.frames_from(back.id, 15)
        await back.frames_from(host.id, 10)
        assert close_to(host.seen[back.id].colour, GREEN)
        await back.close()
    finally:
        await host.close()

"""A participant cannot aim the server's STUN checks at internal addresses: candidates in the
answer or trickled are kept only when ice.peer_networks allows them (the tests allow loopback
explicitly, as everything here runs on 127.0.0.1)."""

from __future__ import annotations

from server.live import hooks
from server.services import ROOMS
from tests.integration.test_forwarding import GREEN, RED, admit, join
from tests.support.peers import ColourTrack, RoomClient, ToneTrack

AIMED = [
    "10.1.2.3",
    "192.168.77.1",
    "169.254.169.254",
    "224.0.0.251",
    "0.0.0.0",
    "100.64.1.1",
    "fe80::1",
    "fd00:9::9",
    "::ffff:10.0.0.1",
]


class Aiming(RoomClient):
    """A participant whose answers name internal addresses besides its own, and trickle."""

    async def send(self, message):  # type: ignore[no-untyped-def]
        if isinstance(message, dict) and message.get("type") == "answer":
            extra = "".join(
                f"a=candidate:{90 + n} 1 udp 2130706431 {address} 9 typ host\r\n"
                for n, address in enumerate(AIMED)
            )
            message = {**message, "sdp": message["sdp"].replace("a=end-of-candidates\r\n", extra)}
        await super().send(message)


def remote_hosts(server, invited, member_id: int) -> set[str]:  # type: ignore[no-untyped-def]
    peer = server.app[ROOMS].get(invited.inspection.id).connections[member_id].peer
    return {c.host for conn in hooks.ice_connections(peer.pc) for c in conn.remote_candidates}


async def test_only_allowed_candidates_are_checked_from_the_answer_and_trickled(server):
    invited = await server.invite("host", "clerk")
    host = await join(server, invited, "host", RED, 440, size=(320, 240))
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    clerk = Aiming.of(
        server, invited, "clerk", video=ColourTrack(GREEN, 320, 240), audio=ToneTrack(660)
    )
    try:
        await clerk.connect()
        await clerk.wait_for(lambda: clerk.welcome is not None, what="welcome")
        await admit(host, clerk)
        await host.frames_from(clerk.id, 5)  # its real (loopback) candidates work
        mid = clerk.media_map["own"]["audio"]
        for address in ("10.9.9.9", "127.0.0.5"):
            await clerk.send(
                {
                    "type": "candidate",
                    "candidate": f"candidate:77 1 udp 1 {address} 9 typ host",
                    "sdpMid": mid,
                    "sdpMLineIndex": 0,
                }
            )
        await clerk.wait_for(
            lambda: "127.0.0.5" in remote_hosts(server, invited, clerk.id),
            what="the allowed trickled candidate",
        )
        hosts = remote_hosts(server, invited, clerk.id)
        assert hosts & {*AIMED, "10.9.9.9"} == set()
        assert "127.0.0.1" in hosts
        peer = server.app[ROOMS].get(invited.inspection.id).connections[clerk.id].peer
        assert {*AIMED, "10.9.9.9"} <= peer.refused
        assert not [e for e in clerk.errors if e["code"] == "bad_candidate"]  # quietly dropped
        await host.frames_from(clerk.id, 5)
    finally:
        await clerk.close()
        await host.close()

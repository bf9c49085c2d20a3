"""A participant whose media connection closed by itself (ICE consent expired, or the other end
closed it) is asked to reconnect (4050), instead of staying in the room with no media: the
soak (bench/soak.py) found every aiortc peer's connection closed this way on a starved machine
while its WebSocket stayed open."""

from __future__ import annotations

from tests.support.peers import ColourTrack, RoomClient


async def test_a_media_connection_closed_by_the_other_end_makes_it_reconnect(server):
    invited = await server.invite("host", "applicant")
    host = RoomClient.of(server, invited, "host", video=ColourTrack((200, 40, 40)))
    applicant = RoomClient.of(server, invited, "applicant", video=ColourTrack((40, 40, 200)))
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted")
        await applicant.connect()
        await host.wait_for(lambda: any(m["status"] == "lobby" for m in host.roster))
        await host.send({"type": "admit", "participant": applicant.id})
        await host.frames_from(applicant.id, 5, timeout=30)
        assert applicant.pc is not None
        await applicant.pc.close()  # its DTLS says goodbye; the WebSocket stays open
        await applicant.wait_for(lambda: applicant.status == "closed", timeout=20)
        assert applicant.close_code == 4050
    finally:
        await host.close()
        await applicant.close()

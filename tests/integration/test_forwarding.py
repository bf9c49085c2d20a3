"""Three real aiortc participants through the real server: media is forwarded, not re-encoded."""

from __future__ import annotations

from server.live.hooks import ReceiverTap
from server.live.rtp_hooks import IdleTrack
from server.services import ROOMS
from tests.support.peers import ColourTrack, RoomClient, ToneTrack, close_to

RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (40, 60, 230)


async def join(server, invited, role, colour, tone, index=0, size=(640, 480), observe=True):
    client = RoomClient.of(
        server,
        invited,
        role,
        index,
        video=ColourTrack(colour, *size),
        audio=ToneTrack(tone),
        observe=observe,
    )
    await client.connect()
    await client.wait_for(lambda: client.welcome is not None, what="welcome")
    return client


async def admit(host, client):
    await host.wait_for(
        lambda: any(m["id"] == client.id and m["status"] == "lobby" for m in host.roster),
        what="lobby entry",
    )
    await host.send({"type": "admit", "participant": client.id})
    await client.wait_for(lambda: client.status == "admitted", what="admission")


async def three_in_room(server, small=False):
    """Host, clerk and applicant in one room. `small`: light peers for long recordings (only
    the applicant films 640×480, and only the host looks at what it receives)."""
    invited = await server.invite("host", "clerk", "applicant")
    little = (320, 240) if small else (640, 480)
    host = await join(server, invited, "host", RED, 440, size=little)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    clerk = await join(server, invited, "clerk", GREEN, 660, size=little, observe=not small)
    applicant = await join(server, invited, "applicant", BLUE, 880, observe=not small)
    await clerk.wait_for(lambda: clerk.status == "lobby", what="clerk in lobby")
    await applicant.wait_for(lambda: applicant.status == "lobby", what="applicant in lobby")
    await admit(host, clerk)
    await admit(host, applicant)
    return invited, host, clerk, applicant


async def test_three_peers_see_and_hear_each_other(server):
    _, host, clerk, applicant = await three_in_room(server)
    clients = {
        "host": (host, RED, 440),
        "clerk": (clerk, GREEN, 660),
        "applicant": (applicant, BLUE, 880),
    }
    try:
        for viewer, _, _ in clients.values():
            for other, colour, tone in clients.values():
                if other is viewer:
                    continue
                await viewer.frames_from(other.id, 15)
                await viewer.wait_for(
                    lambda v=viewer, o=other: v.seen[o.id].audio_frames > 30, what="audio"
                )
                seen = viewer.seen[other.id]
                assert close_to(seen.colour, colour), (seen.colour, colour)
                assert abs(seen.tone() - tone) < 15, (seen.tone(), tone)
                assert seen.size == (640, 480)
        # Nobody receives their own media back.
        for viewer, _, _ in clients.values():
            assert viewer.id not in viewer.seen
    finally:
        for client, _, _ in clients.values():
            await client.close()


async def test_forwarding_runs_no_encoder_and_no_decoder_on_the_server(server):
    invited, host, clerk, applicant = await three_in_room(server)
    try:
        await host.frames_from(applicant.id, 20)
        await applicant.frames_from(clerk.id, 20)
        room = server.app[ROOMS].get(invited.inspection.id)
        legs = receivers = forwarded = 0
        for participant in room.connections.values():
            peer = participant.peer
            for transceiver in peer.pc.getTransceivers():
                sender, receiver = transceiver.sender, transceiver.receiver
                if transceiver.direction == "sendonly":
                    legs += 1
                    # Packets bypass aiortc's sender: it never even created an encoder.
                    assert isinstance(sender.track, IdleTrack)
                    assert sender._RTCRtpSender__encoder is None
                if transceiver.direction == "recvonly":
                    receivers += 1
                    assert isinstance(receiver._RTCRtpReceiver__decoder_queue, ReceiverTap)
                    thread = receiver._RTCRtpReceiver__decoder_thread
                    assert thread is None or not thread.is_alive()
            forwarded += sum(slot.output.forwarded for slot in peer._slots)
        assert legs == 12  # each of 3 participants receives 2 others' audio and video
        assert receivers == 6
        assert forwarded > 100
        counters = room.hub.counters()
        assert counters["packets"] >= forwarded and counters["frames"] > 0
    finally:
        for client in (host, clerk, applicant):
            await client.close()


async def test_leave_and_rejoin_renegotiates_and_reuses_mlines(server):
    invited, host, clerk, applicant = await three_in_room(server)
    try:
        await host.frames_from(clerk.id, 10)
        mlines = host.offers[-1]["sdp"].count("\nm=")
        offers = len(host.offers)
        await clerk.close()
        # The host is told: a new offer that no longer carries the clerk.
        await host.wait_for(lambda: len(host.offers) > offers, what="offer after leave")
        carried = {v["participant"] for v in host.offers[-1]["media"]["remote"].values()}
        assert clerk.id not in carried
        assert host.offers[-1]["sdp"].count("\nm=") == mlines
        assert "a=inactive" in host.offers[-1]["sdp"]

        back = await join(server, invited, "clerk", GREEN, 660)
        # Admitted before in this session: straight back in, no lobby.
        await back.wait_for(lambda: back.status == "admitted", what="re-admitted")
        await host.frames_from(back.id, 15)
        assert close_to(host.seen[back.id].colour, GREEN)
        # The freed slots were reused: the SDP did not grow.
        assert host.offers[-1]["sdp"].count("\nm=") == mlines
        await back.frames_from(host.id, 10)
        await back.close()
    finally:
        for client in (host, applicant):
            await client.close()


async def test_abruptly_dropped_peer_rejoins_without_admission(server):
    invited, host, clerk, applicant = await three_in_room(server)
    try:
        await host.frames_from(applicant.id, 10)
        offers = len(host.offers)
        await applicant.die()
        await host.wait_for(
            lambda: any(m["id"] == applicant.id and m["status"] == "dropped" for m in host.roster),
            what="dropped mark",
        )
        # Back with the same link at once, well within 5 s and the seat's grace period.
        back = await join(server, invited, "applicant", BLUE, 880)
        await back.wait_for(lambda: back.status == "admitted", what="back without lobby")
        assert not any(m["type"] == "lobby" for m in back.messages)
        await host.frames_from(back.id, 10)
        await clerk.frames_from(back.id, 10)
        assert close_to(host.seen[back.id].colour, BLUE)
        # The host sees "reconnected"; the others' connections were not renegotiated.
        assert any(m["id"] == back.id and m["reconnected"] for m in host.roster)
        assert len(host.offers) == offers
        events = [
            e.type for e in await server.archive.events.find(inspection_id=invited.inspection.id)
        ]
        assert "participant.dropped" in events and "participant.reconnected" in events
        await back.close()
    finally:
        for client in (host, clerk):
            await client.close()


async def test_an_observer_without_camera_or_microphone_watches_and_listens(server):
    invited = await server.invite("host", "observer", "applicant")
    host = await join(server, invited, "host", RED, 440)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    observer = RoomClient.of(server, invited, "observer")
    applicant = await join(server, invited, "applicant", BLUE, 880)
    try:
        await observer.connect()
        await observer.wait_for(lambda: observer.welcome is not None, what="welcome")
        await admit(host, observer)
        await admit(host, applicant)
        await observer.frames_from(applicant.id, 15)
        await observer.wait_for(lambda: observer.seen[host.id].audio_frames > 30, what="audio")
        assert close_to(observer.seen[applicant.id].colour, BLUE)
        assert abs(observer.seen[host.id].tone() - 440) < 15
        # The observer's own m-lines were answered inactive: nothing to forward, nothing stuck.
        await host.frames_from(applicant.id, 15)
        assert host.seen[observer.id].frames == 0
        assert any(m["id"] == observer.id and m["status"] == "admitted" for m in host.roster)
    finally:
        for client in (host, observer, applicant):
            await client.close()

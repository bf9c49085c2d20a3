"""What packet-level forwarding must keep, through the real server with real aiortc peers: one
continuous RTP stream per subscriber m-line across the publisher's reconnect and camera switch,
lost packets recovered by NACK on either side of the server, a keyframe for a newcomer."""

from __future__ import annotations

import itertools
from typing import Any

from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtp import RtpPacket

from server.live import rtp_hooks
from server.live.rtp_forward import vp8_keyframe_start
from server.services import ROOMS
from tests.integration.test_forwarding import BLUE, GREEN, RED, admit, join
from tests.support.peers import ColourTrack, RoomClient, ToneTrack, close_to


class WatchingClient(RoomClient):
    """A participant that also records the RTP packets its receivers accept (decrypted, RTX
    unwrapped), by mid, from before its first answer. `lose` lists per mid sequence numbers
    its network loses once on the way in."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rtp: dict[str, list[RtpPacket]] = {}
        self.lose: dict[str, set[int]] = {}
        self._tapped: set[int] = set()

    async def _answer(self, message: dict[str, Any]) -> None:
        if self.pc is None:
            self.pc = RTCPeerConnection(
                RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
            )
            self.pc.on("track", self._on_track)
            original = self.pc.setRemoteDescription

            async def set_remote(description: Any) -> None:
                await original(description)
                self._tap()  # before the answer goes out: nothing can have arrived yet

            self.pc.setRemoteDescription = set_remote  # type: ignore[method-assign]
        await super()._answer(message)

    def _tap(self) -> None:
        assert self.pc is not None
        for transceiver in self.pc.getTransceivers():
            if id(transceiver) in self._tapped:
                continue
            self._tapped.add(id(transceiver))
            received: list[RtpPacket] = []
            lose: set[int] = set()
            self.rtp[transceiver.mid] = received
            self.lose[transceiver.mid] = lose
            rtp_hooks.tap_packets(transceiver.receiver, received.append)
            self._lossy(transceiver.receiver, lose)

    def _lossy(self, receiver: Any, lose: set[int]) -> None:
        original = receiver._handle_rtp_packet

        async def handle(packet: RtpPacket, arrival_time_ms: int) -> None:
            retransmission = packet.ssrc in receiver._RTCRtpReceiver__rtx_ssrc
            if packet.sequence_number in lose and not retransmission:
                lose.discard(packet.sequence_number)
                return
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = handle

    def mid_of(self, participant: int, kind: str) -> str | None:
        for mid, info in self.media_map["remote"].items():
            if info["participant"] == participant and info["kind"] == kind:
                return mid
        return None


async def watching(server, invited, role, colour, tone, **kwargs) -> WatchingClient:  # type: ignore[no-untyped-def]
    client = WatchingClient.of(
        server, invited, role, video=ColourTrack(colour), audio=ToneTrack(tone), **kwargs
    )
    await client.connect()
    await client.wait_for(lambda: client.welcome is not None, what="welcome")
    return client


def gaps(packets: list[RtpPacket]) -> list[int]:
    """Sequence numbers missing between the first and the last packet received."""
    seen = {p.sequence_number for p in packets}
    first = packets[0].sequence_number
    span = (packets[-1].sequence_number - first) & 0xFFFF
    return [(first + i) & 0xFFFF for i in range(span + 1) if (first + i) & 0xFFFF not in seen]


def jumps(packets: list[RtpPacket]) -> list[int]:
    """Steps between consecutive sequence numbers, in arrival order, that no short loss
    explains (audio has no NACK: a packet the machine dropped stays lost)."""
    numbers = [p.sequence_number for p in packets]
    steps = [(b - a) & 0xFFFF for a, b in itertools.pairwise(numbers)]
    return [step for step in steps if not 1 <= step <= 50]


def backwards(packets: list[RtpPacket]) -> list[tuple[int, int]]:
    """Timestamps that ran backwards, in sequence-number order."""
    ordered = sorted(
        packets, key=lambda p: (p.sequence_number - packets[0].sequence_number) & 0xFFFF
    )
    return [
        (a.timestamp, b.timestamp)
        for a, b in itertools.pairwise(ordered)
        if (b.timestamp - a.timestamp) & 0xFFFFFFFF >= 0x80000000
    ]


async def test_a_subscriber_sees_one_continuous_stream_across_camera_switch_and_reconnect(server):
    invited = await server.invite("host", "applicant")
    host = await watching(server, invited, "host", RED, 440)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    applicant = await join(server, invited, "applicant", BLUE, 880)
    await admit(host, applicant)
    try:
        await host.frames_from(applicant.id, 15)
        mid = host.mid_of(applicant.id, "video")
        audio_mid = host.mid_of(applicant.id, "audio")
        # The applicant turns to the other camera: aiortc restarts the RTP timestamps at 0.
        sender = next(
            t.sender for t in applicant.pc.getTransceivers() if t.sender.track is applicant.video
        )
        sender.replaceTrack(ColourTrack(GREEN))
        await host.wait_for(lambda: close_to(host.seen[applicant.id].colour, GREEN), what="green")
        await host.frames_from(applicant.id, 10)
        # The phone loses its network and comes back on a new connection: new SSRC, new
        # sequence numbers, new timestamps; the host's m-line is not renegotiated.
        room = server.app[ROOMS].get(invited.inspection.id)
        publication = room.hub.find(applicant.id, "video")
        old_ssrc = publication.packets.media_ssrc
        offers = len(host.offers)
        await applicant.die()
        applicant = await join(server, invited, "applicant", BLUE, 880)
        await applicant.wait_for(lambda: applicant.status == "admitted", what="back")
        await host.wait_for(lambda: close_to(host.seen[applicant.id].colour, BLUE), what="blue")
        await host.frames_from(applicant.id, 15)
        assert publication.packets.media_ssrc != old_ssrc  # it really was another stream
        assert len(host.offers) == offers
        video, audio = host.rtp[mid], host.rtp[audio_mid]
        assert gaps(video) == []  # losses, if any, were recovered by NACK
        assert jumps(audio) == []
        for packets in (video, audio):
            assert len({p.ssrc for p in packets}) == 1
            assert backwards(packets) == []
    finally:
        await host.close()
        await applicant.close()


async def test_a_packet_lost_between_server_and_subscriber_is_resent_from_the_legs_history(server):
    invited = await server.invite("host", "applicant")
    host = await watching(server, invited, "host", RED, 440)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    applicant = await join(server, invited, "applicant", BLUE, 880)
    await admit(host, applicant)
    try:
        await host.frames_from(applicant.id, 10)
        mid = host.mid_of(applicant.id, "video")
        received = host.rtp[mid]
        lost = (received[-1].sequence_number + 20) & 0xFFFF
        host.lose[mid].add(lost)
        await host.wait_for(lambda: lost in {p.sequence_number for p in received}, what="resent")
        assert lost not in host.lose[mid]  # the first copy really was lost
        room = server.app[ROOMS].get(invited.inspection.id)
        slot = next(s for s in room.connections[host.id].peer._slots if s.transceiver.mid == mid)
        assert slot.output.leg.retransmitted >= 1
        await host.frames_from(applicant.id, 10)
        assert gaps(received) == []
    finally:
        await host.close()
        await applicant.close()


async def test_a_packet_lost_between_publisher_and_server_reaches_subscribers_once_resent(server):
    invited = await server.invite("host", "applicant")
    host = await watching(server, invited, "host", RED, 440)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    applicant = await join(server, invited, "applicant", BLUE, 880)
    await admit(host, applicant)
    try:
        await host.frames_from(applicant.id, 10)
        room = server.app[ROOMS].get(invited.inspection.id)
        receiver = room.connections[applicant.id].peer._own["video"].receiver
        media_ssrc = room.hub.find(applicant.id, "video").packets.media_ssrc
        dropped: list[int] = []
        original = receiver._handle_rtp_packet

        async def lossy(packet: RtpPacket, arrival_time_ms: int) -> None:
            if not dropped and packet.ssrc == media_ssrc and packet.marker:
                dropped.append(packet.sequence_number)  # the server's network loses it
                return
            await original(packet, arrival_time_ms)

        receiver._handle_rtp_packet = lossy
        mid = host.mid_of(applicant.id, "video")
        before = len(host.rtp[mid])
        await host.wait_for(lambda: dropped, what="a packet to lose")
        await host.frames_from(applicant.id, 20)
        after = host.rtp[mid][before:]
        assert gaps(after) == []  # the hole was filled by the publisher's retransmission
    finally:
        await host.close()
        await applicant.close()


async def test_a_new_subscriber_starts_with_a_keyframe(server):
    invited = await server.invite("host", "clerk")
    host = await join(server, invited, "host", RED, 440)
    await host.wait_for(lambda: host.status == "admitted", what="host seated")
    clerk = await watching(server, invited, "clerk", GREEN, 660)
    try:
        await host.wait_for(
            lambda: any(m["id"] == clerk.id and m["status"] == "lobby" for m in host.roster),
            what="clerk in lobby",
        )
        # The host has been publishing for a while: its first keyframe is long gone, and
        # aiortc's encoder makes another only when asked.
        room = server.app[ROOMS].get(invited.inspection.id)
        publication = room.hub.find(host.id, "video")
        await host.wait_for(lambda: publication.frames > 30, what="two seconds of video")
        asked = publication.keyframe_requests
        await admit(host, clerk)
        await clerk.frames_from(host.id, 5)
        mid = clerk.mid_of(host.id, "video")
        first = clerk.rtp[mid][0]
        assert vp8_keyframe_start(first.payload)
        peer = room.connections[clerk.id].peer
        leg = next(s.output.leg for s in peer._slots if s.transceiver.mid == mid)
        # The new leg asked the publisher, or started on a keyframe that had just come.
        assert publication.keyframe_requests > asked or leg.caught_up
        assert close_to(clerk.seen[host.id].colour, RED)
    finally:
        await host.close()
        await clerk.close()

"""The private aiortc details Kanyan relies on (server/hooks.py). When aiortc changes one of
them, this file fails before any room does."""

from __future__ import annotations

import inspect
from fractions import Fraction

import aiortc
from aiortc import RTCPeerConnection, rtcrtpreceiver, rtcrtpsender
from aiortc.codecs import vpx

from server.live import hooks
from server.live.media import ForwardedTrack, OutgoingFrame, Publication


def test_aiortc_is_the_pinned_version():
    assert aiortc.__version__.startswith("1.16."), aiortc.__version__


def test_receiver_hands_whole_frames_to_its_decoder_queue():
    handle = inspect.getsource(rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet)
    assert "self.__decoder_queue.put((codec, encoded_frame))" in handle
    worker = inspect.getsource(rtcrtpreceiver.decoder_worker)
    assert "task = input_q.get()" in worker and "if task is None:" in worker
    receive = inspect.getsource(rtcrtpreceiver.RTCRtpReceiver.receive)
    assert "self.__decoder_queue" in receive


def test_sender_packs_anything_that_is_not_a_frame():
    source = inspect.getsource(rtcrtpsender.RTCRtpSender._next_encoded_frame)
    assert "isinstance(data, Frame)" in source and "self.__encoder.pack(data)" in source
    source = inspect.getsource(rtcrtpsender.RTCRtpSender._handle_rtcp_packet)
    assert "self._send_keyframe()" in source
    assert inspect.signature(rtcrtpreceiver.RTCRtpReceiver._send_rtcp_pli).parameters.keys() == {
        "self",
        "media_ssrc",
    }


async def test_a_tapped_receiver_delivers_frames_and_decodes_nothing():
    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    got = []
    hooks.tap_receiver(receiver, lambda codec, frame: got.append((codec, frame)))
    queue = receiver._RTCRtpReceiver__decoder_queue
    queue.put(("vp8", "frame"))
    queue.put(None)  # the receiver stopping its decoder: ignored
    assert got == [("vp8", "frame")]
    assert queue.get() is None  # the decoder thread ends at once
    await pc.close()


async def test_sender_packs_a_forwarded_frame_without_encoding():
    pc = RTCPeerConnection()
    track = ForwardedTrack("video")
    transceiver = pc.addTransceiver(track, direction="sendonly")
    sender = transceiver.sender
    publication = Publication(9, "video")
    track.attach(publication)
    keyframe = b"\x10\x02\x00\x9d\x01\x2a" + bytes(3000)  # VP8 keyframe header + payload
    publication.deliver(keyframe, 4500)
    codec = next(c for c in aiortc.codecs.CODECS["video"] if c.name == "VP8")
    encoded = await sender._next_encoded_frame(codec)
    assert encoded is not None and len(encoded.payloads) == 3  # 3000 bytes in ≤1300-byte packets
    assert b"".join(vpx.vp8_depayload(p) for p in encoded.payloads) == keyframe
    assert encoded.timestamp == 0  # the first forwarded frame starts the output clock
    assert sender._RTCRtpSender__encoder.codec is None  # libvpx never opened
    await pc.close()


def test_outgoing_frame_is_what_pack_reads():
    frame = OutgoingFrame(b"abc", 90, Fraction(1, 90000))
    payloads, timestamp = vpx.Vp8Encoder().pack(frame)  # type: ignore[arg-type]
    assert timestamp == 90 and vpx.vp8_depayload(payloads[0]) == b"abc"


async def test_keyframe_requests_reach_the_callback():
    pc = RTCPeerConnection()
    sender = pc.addTransceiver("video", direction="sendonly").sender
    calls = []
    hooks.on_keyframe_request(sender, lambda: calls.append(1))
    sender._send_keyframe()
    assert calls == [1]
    await pc.close()


def test_host_address_hook_replaces_and_restores_aioice_default():
    import aioice.ice

    before = aioice.ice.get_host_addresses
    hooks.use_host_addresses(["127.0.0.1", "::1"])
    try:
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
        hooks.use_host_addresses([])
        assert aioice.ice.get_host_addresses is hooks._original_host_addresses
    finally:
        aioice.ice.get_host_addresses = before


async def test_remote_candidates_pass_the_guard_from_sdp_trickle_and_incoming_checks():
    """Hook 5: every way a remote address reaches aioice goes through the policy."""
    import aioice.ice
    import aioice.stun
    from aiortc import RTCSessionDescription
    from aiortc.sdp import candidate_from_sdp

    refused: list[str] = []
    before = aioice.ice.get_host_addresses
    hooks.use_host_addresses(["127.0.0.1"])
    server, browser = RTCPeerConnection(), RTCPeerConnection()
    try:
        server.addTransceiver("video", direction="recvonly")
        await server.setLocalDescription(await server.createOffer())
        await browser.setRemoteDescription(server.localDescription)
        await browser.setLocalDescription(await browser.createAnswer())
        hooks.guard_remote_candidates(server, lambda a: a == "127.0.0.1", refused.append)
        [connection] = hooks.ice_connections(server)
        # In the answer's SDP: the browser's real candidate, and one aimed elsewhere; more
        # may trickle (no end-of-candidates, as from a browser).
        answer = browser.localDescription.sdp.replace(
            "a=end-of-candidates", "a=candidate:9 1 udp 2130706431 10.1.2.3 80 typ host", 1
        )
        await server.setRemoteDescription(RTCSessionDescription(answer, "answer"))
        # Trickled.
        trickled = candidate_from_sdp("7 1 udp 1 169.254.169.254 80 typ host")
        trickled.sdpMid, trickled.sdpMLineIndex = "0", 0
        await server.addIceCandidate(trickled)
        assert {c.host for c in connection.remote_candidates} == {"127.0.0.1"}
        # An authenticated check from an address the policy refuses: no answer, nothing learnt.
        request = aioice.stun.Message(
            message_method=aioice.stun.Method.BINDING,
            message_class=aioice.stun.Class.REQUEST,
        )
        request.attributes["USERNAME"] = f"{connection.local_username}:x"
        request.attributes["PRIORITY"] = 1
        request.attributes["ICE-CONTROLLED"] = 1
        request.add_message_integrity(connection.local_password.encode())
        connection.request_received(request, ("10.9.9.9", 5000), connection._protocols[0])
        assert {c.host for c in connection.remote_candidates} == {"127.0.0.1"}
        assert refused == ["10.1.2.3", "169.254.169.254", "10.9.9.9"]
    finally:
        await server.close()
        await browser.close()
        aioice.ice.get_host_addresses = before

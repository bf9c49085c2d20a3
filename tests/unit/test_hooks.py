"""The private aiortc details Kanyan relies on (server/live/hooks.py). When aiortc, aioice or
pylibsrtp changes one of them, this file fails before any room does."""

from __future__ import annotations

import asyncio
import inspect
from fractions import Fraction

import aioice.ice
import aiortc
import aiortc.clock
import aiortc.rate
import pylibsrtp
from aiortc import RTCPeerConnection, rtcdtlstransport, rtcrtpreceiver, rtcrtpsender
from aiortc.codecs import vpx
from aiortc.rtp import RtpPacket

from server.live import hooks, rtp_hooks
from server.live.jitter import GapSkipper


def source(function) -> str:  # type: ignore[no-untyped-def]
    return inspect.getsource(function)


def test_aiortc_is_the_pinned_version():
    assert aiortc.__version__.startswith("1.16."), aiortc.__version__


def test_receiver_hands_packets_to_its_jitter_buffer_and_frames_to_its_decoder_queue():
    handle = source(rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet)
    # Hooks 1 and 2: every accepted packet, RTX unwrapped, reaches the jitter buffer, whose
    # whole frames reach the decoder queue.
    assert "packet = unwrap_rtx(packet, payload_type=apt, ssrc=original_ssrc)" in handle
    assert "self.__jitter_buffer.add(packet)" in handle
    assert "self.__decoder_queue.put((codec, encoded_frame))" in handle
    assert handle.index("unwrap_rtx(") < handle.index("self.__jitter_buffer.add(packet)")
    worker = source(rtcrtpreceiver.decoder_worker)
    assert "task = input_q.get()" in worker and "if task is None:" in worker
    assert "self.__decoder_queue" in source(rtcrtpreceiver.RTCRtpReceiver.receive)


def test_receiver_rtcp_goes_through_the_methods_we_wrap():
    receiver = rtcrtpreceiver.RTCRtpReceiver
    assert "await self._send_rtcp(rtcp_packet)" in source(receiver._handle_rtp_packet)  # REMB
    assert "await self._send_rtcp(packet)" in source(receiver._send_rtcp_pli)
    assert inspect.signature(receiver._send_rtcp_pli).parameters.keys() == {"self", "media_ssrc"}
    assert "self.__rtcp_ssrc = ssrc" in source(receiver._set_rtcp_ssrc)
    routing = source(rtcdtlstransport.RTCDtlsTransport._handle_rtcp_data)
    assert "await recipient._handle_rtcp_packet(packet)" in routing


def test_sender_start_rtcp_and_rtp_task_are_what_the_leg_expects():
    sender = rtcrtpsender.RTCRtpSender
    send = source(sender.send)
    assert "if not self.__started:" in send and "self.__started = True" in send
    assert "self.__transport._register_rtp_sender(self, parameters)" in send
    assert "self._run_rtp(parameters.codecs[0])" in send
    rtcp = source(sender._run_rtcp)
    assert "RtcpSrPacket(" in rtcp and "await self._send_rtcp(packets)" in rtcp
    assert "await self._send_rtcp([packet])" in rtcp  # BYE
    # An idle track keeps the RTP task waiting in recv(), with no encoder created.
    assert "data = await self.__track.recv()" in source(sender._next_encoded_frame)
    assert source(sender._next_encoded_frame).index("recv()") < source(
        sender._next_encoded_frame
    ).index("get_encoder(codec)")
    routing = source(rtcdtlstransport.RtpRouter.route_rtcp)
    assert "self.senders.get(packet.media_ssrc)" in routing
    assert "rtp.unpack_remb_fci(packet.fci)[1]" in routing


def test_srtp_context_and_ice_pair_are_where_the_link_reads_them():
    setup = source(rtcdtlstransport.RTCDtlsTransport._setup_srtp)
    assert "self._tx_srtp = Session(tx_policy)" in setup
    assert "tx_policy.allow_repeat_tx = True" in setup  # a plain retransmission re-protects
    send = source(rtcdtlstransport.RTCDtlsTransport._send_rtp)
    assert "self._tx_srtp.protect(data)" in send and "await self.transport._send(data)" in send
    sendto = source(aioice.ice.Connection.sendto)
    assert "active_pair = self._nominated.get(component)" in sendto
    assert "active_pair.protocol.send_data(data, active_pair.remote_addr)" in sendto
    assert "self.transport.sendto(data, addr)" in source(aioice.ice.StunProtocol.send_data)
    assert callable(pylibsrtp.Session.protect)


def test_packets_come_off_the_socket_the_way_receive_without_queue_repeats():
    assert "self._queue.put_nowait((data, component))" in source(
        aioice.ice.Connection.data_received
    )
    assert "self.receiver.data_received(data, self.local_candidate.component)" in source(
        aioice.ice.StunProtocol.datagram_received
    )
    recv = source(rtcdtlstransport.RTCDtlsTransport._recv_next)
    for step in (
        "elif first_byte > 127 and first_byte < 192 and self._rx_srtp:",
        "if is_rtcp(data):",
        "data = self._rx_srtp.unprotect_rtcp(data)",
        "await self._handle_rtcp_data(data)",
        "data = self._rx_srtp.unprotect(data)",
        "await self._handle_rtp_data(data, arrival_time_ms=arrival_time_ms)",
        "self.__rx_bytes += len(data)",
        "except pylibsrtp.Error as exc:",
    ):
        assert step in recv, step
    import asyncio.selector_events as selector_events

    reading = source(selector_events._SelectorDatagramTransport._read_ready)
    assert "self._sock.recvfrom(self.max_size)" in reading
    # aiortc's arrival clock, which the fast path computes from time.time() the same way.
    assert "delta = current_datetime() - NTP_EPOCH" in source(aiortc.clock.current_ms)


def test_the_bitrate_estimator_is_fed_as_the_grouped_estimator_expects():
    handle = source(rtcrtpreceiver.RTCRtpReceiver._handle_rtp_packet)
    assert "remb = self.__remote_bitrate_estimator.add(" in handle
    for keyword in ("abs_send_time=", "arrival_time_ms=", "payload_size=", "ssrc="):
        assert keyword in handle
    assert "abs_send_time << 8" in source(aiortc.rate.RemoteBitrateEstimator.add)
    assert "TIMESTAMP_GROUP_LENGTH_MS = 5" in source(aiortc.rate)


def test_our_srtp_protection_is_libsrtps_through_pylibsrtp():
    assert "func(self._srtp[0], self._cdata, len_p)" in source(pylibsrtp.Session._Session__process)
    key = bytes(range(30))

    def session(direction: int) -> pylibsrtp.Session:
        policy = pylibsrtp.Policy(
            key=key,
            ssrc_type=direction,
            srtp_profile=pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
        )
        return pylibsrtp.Session(policy)

    packet = bytes(
        RtpPacket(payload_type=96, sequence_number=7, ssrc=9, payload=b"x" * 900).serialize()
    )
    ours = rtp_hooks.SrtpContext(session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND)).protect(packet)
    theirs = session(pylibsrtp.Policy.SSRC_ANY_OUTBOUND).protect(packet)
    assert ours == theirs != packet
    assert session(pylibsrtp.Policy.SSRC_ANY_INBOUND).unprotect(ours) == packet
    assert (
        rtp_hooks.SrtpContext(session(pylibsrtp.Policy.SSRC_ANY_INBOUND)).unprotect(ours) == packet
    )


async def test_a_negotiated_sender_reports_its_identity():
    before = aioice.ice.get_host_addresses
    hooks.use_host_addresses(["127.0.0.1"])
    server, client = RTCPeerConnection(), RTCPeerConnection()
    try:
        transceiver = server.addTransceiver(rtp_hooks.IdleTrack("video"), direction="sendonly")
        started: list[rtp_hooks.SenderIdentity] = []
        rtp_hooks.on_sender_start(transceiver.sender, started.append)
        await server.setLocalDescription(await server.createOffer())
        await client.setRemoteDescription(server.localDescription)
        await client.setLocalDescription(await client.createAnswer())
        await server.setRemoteDescription(client.localDescription)
        for _ in range(500):
            if started:
                break
            await asyncio.sleep(0.02)
        (identity,) = started
        assert identity.ssrc == transceiver.sender._ssrc
        assert identity.mid == transceiver.mid
        assert identity.mime_type == "video/vp8" and identity.rtx_payload_type is not None
        assert identity.extensions.keys() >= {
            "urn:ietf:params:rtp-hdrext:sdes:mid",
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        }
        assert rtp_hooks.srtp_sender(transceiver.sender.transport) is not None
        pair = rtp_hooks.nominated_pairs(transceiver.sender.transport).get(1)
        assert pair is not None and type(pair.protocol) is aioice.ice.StunProtocol
        writer = rtp_hooks.PacketWriter(rtp_hooks.srtp_sender(transceiver.sender.transport), pair)
        writer.write(RtpPacket(payload_type=96, ssrc=1).serialize())  # an unknown SSRC there
        writer.close()
        incoming = rtp_hooks.receive_without_queue(transceiver.sender.transport)
        assert incoming is rtp_hooks.receive_without_queue(transceiver.sender.transport)  # once
        assert pair.protocol.transport.max_size == 65536
        heard: list[bool] = []
        incoming.when_heard(lambda: heard.append(True))
        receiver = client.getTransceivers()[0].receiver
        for _ in range(250):
            # SRTCP from the far end (dropped there until its own handshake is done)
            await receiver._send_rtcp_pli(transceiver.sender._ssrc)
            await asyncio.sleep(0.02)
            if heard:
                break
        assert heard == [True] and incoming.heard
    finally:
        await server.close()
        await client.close()
        aioice.ice.get_host_addresses = before


async def test_a_tapped_receiver_sees_packets_first_and_decodes_nothing():
    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    frames, packets = [], []
    hooks.tap_receiver(receiver, lambda codec, frame: frames.append((codec, frame)))
    rtp_hooks.tap_packets(receiver, packets.append)
    queue = receiver._RTCRtpReceiver__decoder_queue
    queue.put(("vp8", "frame"))
    queue.put(None)  # the receiver stopping its decoder: ignored
    assert frames == [("vp8", "frame")]
    assert queue.get() is None  # the decoder thread ends at once
    buffer = receiver._RTCRtpReceiver__jitter_buffer
    packet = RtpPacket(sequence_number=7, payload=b"\x10\x00")
    packet._data = b"\x00"
    buffer.add(packet)
    assert packets == [packet] and buffer.capacity == 512
    await pc.close()


async def test_a_video_receivers_ring_buffer_can_be_wrapped_to_give_up_lost_packets():
    pc = RTCPeerConnection()
    receiver = pc.addTransceiver("video", direction="recvonly").receiver
    rtp_hooks.wrap_jitter_buffer(receiver, GapSkipper)
    buffer = receiver._RTCRtpReceiver__jitter_buffer
    assert isinstance(buffer, GapSkipper) and buffer.capacity == 512
    assert buffer._origin is None and len(buffer._packets) == 512  # what GapSkipper reads
    await pc.close()


async def test_an_idle_track_ends_when_stopped():
    track = rtp_hooks.IdleTrack("audio")
    waiting = asyncio.ensure_future(track.recv())
    await asyncio.sleep(0)
    assert not waiting.done()
    track.stop()
    try:
        await asyncio.wait_for(waiting, 1)
    except aiortc.mediastreams.MediaStreamError:
        pass
    else:
        raise AssertionError("recv() returned after stop")


def test_sender_packs_anything_that_is_not_a_frame():
    source_text = source(rtcrtpsender.RTCRtpSender._next_encoded_frame)
    assert "isinstance(data, Frame)" in source_text and "self.__encoder.pack(data)" in source_text
    frame = hooks.OutgoingFrame(b"abc", 90, Fraction(1, 90000))
    payloads, timestamp = vpx.Vp8Encoder().pack(frame)  # type: ignore[arg-type]
    assert timestamp == 90 and vpx.vp8_depayload(payloads[0]) == b"abc"


async def test_keyframe_requests_reach_the_callback():
    pc = RTCPeerConnection()
    sender = pc.addTransceiver("video", direction="sendonly").sender
    calls = []
    hooks.on_keyframe_request(sender, lambda: calls.append(1))
    sender._send_keyframe()
    assert calls == [1]
    assert "self._send_keyframe()" in source(rtcrtpsender.RTCRtpSender._handle_rtcp_packet)
    await pc.close()


def test_host_address_hook_replaces_and_restores_aioice_default():
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
    """Hook 9: every way a remote address reaches aioice goes through the policy."""
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

"""Every private aiortc/aioice/pylibsrtp detail Kanyan relies on, in two modules: this one
(hooks 1 and 8-12: frames, connections, the bench's peers) and rtp_hooks.py (hooks 2-7: the
packet path). Nothing else in Kanyan touches aiortc's private parts.

aiortc is pinned to 1.16.*; tests/unit/test_hooks.py fails when any of these change.

Receiving (a publisher's m-line):
1. Frames for the recorder, without decoding. `RTCRtpReceiver._handle_rtp_packet` (on the
   event loop) hands each complete encoded frame to `self.__decoder_queue.put((codec,
   JitterFrame))`; a decoder thread started by `receive()` reads that queue. We swap the queue
   for a tap before `receive()`: the frame goes to the media hub (the recorder, screenshots,
   the stall watchdog), and the tap's `get()` returns None so the decoder thread ends at once.
2. Packets for the subscribers (rtp_hooks). The same method hands every packet it accepted
   (known payload type, SRTP already removed, RTX unwrapped, NACKs to the publisher sent) to
   `self.__jitter_buffer.add(packet)`; a wrapper sees each packet there first. For video,
   another wrapper (jitter.py) gives up a gap in aiortc's ring buffer (a JitterBuffer with
   `_origin`, `_packets`, `capacity`, `remove(count)`) and asks for a keyframe through the
   `pli` flag `add` returns.
3. The publisher's RTCP (rtp_hooks): `_handle_rtcp_packet` receives its sender reports
   (observed, for the subscribers' lip sync) and `_send_rtcp` carries the receiver's REMB
   (capped by what the subscribers can take) and PLI (`_send_rtcp_pli(media_ssrc)`). The REMB
   comes from `self.__remote_bitrate_estimator.add(...)`, which we feed per packet group.
4. Receiving without a task switch per packet (rtp_hooks): aioice hands every datagram that is
   not STUN to `Connection.data_received(data, component)`, which queues it for the DTLS
   transport's reading task (`_recv_next`: SRTP `_rx_srtp.unprotect`, then
   `_handle_rtp_data(data, arrival_time_ms)` or `unprotect_rtcp` and `_handle_rtcp_data(data)`).
   Once the transport is connected we do the same as the datagram comes in. asyncio reads
   every datagram into a `max_size` buffer (256 KB): its sockets get 64 KB.

Sending (a subscriber's m-line, one "leg"; rtp_hooks):
5. `RTCRtpSender.send(parameters)` starts the sender once negotiated: we learn its payload
   types and header extension ids there; `_ssrc` and `_rtx_ssrc` are in its SDP. Its RTP task
   reads a track that never yields (`IdleTrack`): packets bypass it.
6. RTCP from the subscriber is routed (by SSRC) to `_handle_rtcp_packet`, replaced per sender:
   NACK, PLI/FIR, REMB and receiver reports come to the leg instead. The sender's own RTCP
   task keeps sending SR + SDES through `_send_rtcp(packets)`, where the SR's sender info is
   replaced by the leg's (rewritten timestamps, its own packet counts).
7. Writing a packet: the DTLS transport's `_tx_srtp` (a pylibsrtp Session, set once the
   handshake is done) holds the libsrtp context (`_srtp[0]`) we protect with, through
   pylibsrtp's cffi binding (`srtp_protect(ctx, buffer, int *length)`); the ICE connection's
   nominated pair (`aioice.Connection._nominated[1]`) gives the socket
   (`protocol.transport`, duplicated) and the address.

Connections:
8. Host candidates. aioice gathers on every interface but 127.0.0.1
   (`aioice.ice.get_host_addresses`); `use_host_addresses` narrows or widens that.
9. Remote candidates. Every remote candidate, from the SDP (`add_remote_candidates` at
   setRemoteDescription), trickled (`RTCIceTransport.addRemoteCandidate`) or an mDNS name once
   resolved, reaches `aioice.ice.Connection._add_remote_candidate(candidate, network_host)`;
   a check from an unknown address reaches `Connection.request_received`, which answers it and
   learns a peer-reflexive candidate. Per connection, we put a policy in front of both.
10. A connection closed while it starts. `RTCPeerConnection.__connect` runs as a task nobody
   awaits (`asyncio.ensure_future` in `setRemoteDescription`); closed while it is still starting
   transports, it fails with InvalidStateError and asyncio logs "Task exception was never
   retrieved" with a traceback. `settle_connect_tasks(pc)`, before `pc.close()`, retrieves that
   expected error (any other is still logged).

The bench's peers (aiortc feeds their senders itself):
11. Send without encoding. `RTCRtpSender._next_encoded_frame` passes anything that is not an
   `av.Frame` to `encoder.pack()`, which only packetises `bytes(obj)` at `obj.pts` in
   `obj.time_base` (vpx.py, opus.py).
12. Keyframe requests. A PLI/FIR from the far end ends in `RTCRtpSender._send_keyframe()`,
   which only flags the encoder; we replace it per sender to hear of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.exceptions import InvalidStateError

log = logging.getLogger(__name__)
CONNECT_TASK = "RTCPeerConnection.__connect"

# -- receiving ---------------------------------------------------------------------------------


class ReceiverTap:
    """Stands in for an RTCRtpReceiver's decoder queue (hook 1)."""

    def __init__(self, on_frame: Callable[[Any, Any], None]) -> None:
        self._on_frame = on_frame

    def put(self, item: Any) -> None:
        if item is not None:  # None is the receiver telling its decoder thread to stop
            codec, encoded_frame = item
            self._on_frame(codec, encoded_frame)

    def get(self, *args: Any, **kwargs: Any) -> None:
        return None  # the decoder thread ends immediately: there is nothing to decode


def tap_receiver(receiver: RTCRtpReceiver, on_frame: Callable[[Any, Any], None]) -> None:
    """Deliver `receiver`'s encoded frames to `on_frame(codec, frame)` instead of decoding
    them. `frame.data` is one whole frame; `frame.timestamp` counts from 0 in the codec clock."""
    if getattr(receiver, "_RTCRtpReceiver__decoder_thread", None) is not None:
        raise RuntimeError("tap_receiver must run before the receiver starts")
    if not hasattr(receiver, "_RTCRtpReceiver__decoder_queue"):
        raise RuntimeError("aiortc changed: RTCRtpReceiver has no decoder queue to tap")
    receiver._RTCRtpReceiver__decoder_queue = ReceiverTap(on_frame)  # type: ignore[attr-defined]


# -- connections -------------------------------------------------------------------------------

_original_host_addresses = aioice.ice.get_host_addresses


def use_host_addresses(addresses: list[str]) -> None:
    """Offer exactly `addresses` as ICE host candidates; [] restores aioice's default."""
    if not addresses:
        aioice.ice.get_host_addresses = _original_host_addresses
        return
    chosen = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in chosen if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def ice_connections(pc: RTCPeerConnection) -> list[aioice.ice.Connection]:
    """The aioice connections behind `pc`'s transceivers (one per transport)."""
    found: list[aioice.ice.Connection] = []
    for transceiver in pc.getTransceivers():
        for end in (transceiver.sender, transceiver.receiver):
            dtls = getattr(end, "transport", None)
            ice = getattr(dtls, "transport", None)
            connection = getattr(ice, "_connection", None)
            if not isinstance(connection, aioice.ice.Connection):
                raise RuntimeError("aiortc changed: no aioice Connection behind a transceiver")
            if connection not in found:
                found.append(connection)
    return found


def guard_remote_candidates(
    pc: RTCPeerConnection, allows: Callable[[str], bool], on_refused: Callable[[str], None]
) -> None:
    """Let `pc` check connectivity only with remote addresses that `allows` (hook 9): other
    candidates are dropped, and checks from other addresses are neither answered nor learnt.
    Call it before every remote description or candidate; transports added since are guarded
    too."""
    for connection in ice_connections(pc):
        if getattr(connection, "_kanyan_guarded", False):
            continue
        add = connection._add_remote_candidate
        received = connection.request_received

        def guarded_add(candidate: Any, network_host: str, add: Any = add) -> None:
            if allows(network_host):
                add(candidate, network_host)
            else:
                on_refused(network_host)

        def guarded_request(message: Any, addr: Any, protocol: Any, received: Any = received):
            if allows(addr[0]):
                received(message, addr, protocol)
            else:
                on_refused(addr[0])

        connection._add_remote_candidate = guarded_add  # type: ignore[method-assign,assignment]
        connection.request_received = guarded_request  # type: ignore[method-assign]
        connection._kanyan_guarded = True  # type: ignore[attr-defined]


# -- closing -----------------------------------------------------------------------------------


def settle_connect_tasks(pc: Any) -> None:
    """Before closing `pc`: its unawaited connect task may fail because of the close; that
    failure is expected and retrieved here, instead of being logged as lost (hook 10)."""
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if getattr(coro, "__qualname__", "") == CONNECT_TASK and frame is not None:
            if frame.f_locals.get("self") is pc:
                task.add_done_callback(_settled)


def _settled(task: asyncio.Task[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()  # retrieved: asyncio no longer reports it
    if error is not None and not isinstance(error, InvalidStateError):
        log.error("a connection failed while it started", exc_info=error)


# -- bench peers -------------------------------------------------------------------------------


@dataclass(slots=True)
class OutgoingFrame:
    """What aiortc's sender packs without encoding: bytes(), pts and time_base (hook 11)."""

    data: bytes
    pts: int
    time_base: Fraction

    def __bytes__(self) -> bytes:
        return self.data


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote end of `sender` sends PLI or FIR (a sender that aiortc
    feeds itself, like the bench's peers; hook 12)."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise RuntimeError("aiortc changed: RTCRtpSender has no _send_keyframe")
    sender._send_keyframe = callback  # type: ignore[method-assign]

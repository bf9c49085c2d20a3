"""Every private aiortc/aioice detail Kanyan relies on, in one place.

aiortc is pinned to 1.16.*; tests/unit/test_hooks.py fails when any of these change.

1. Receive without decoding. `RTCRtpReceiver._handle_rtp_packet` (on the event loop) hands each
   complete encoded frame to `self.__decoder_queue.put((codec, JitterFrame))`; a decoder thread
   started by `receive()` reads that queue. We swap the queue for a tap before `receive()`: the
   frame goes straight to the media hub, and the tap's `get()` returns None so the decoder
   thread ends at once. Nothing is ever decoded on the forwarding path.
2. Send without encoding. `RTCRtpSender._next_encoded_frame` passes anything that is not an
   `av.Frame` to `encoder.pack()`, which only packetises `bytes(obj)` at `obj.pts` in
   `obj.time_base` (vpx.py, opus.py).
3. Keyframe requests. A subscriber's PLI/FIR ends in `RTCRtpSender._send_keyframe()`, which
   only flags the (unused) encoder; we replace it per sender to ask the publisher instead,
   with `RTCRtpReceiver._send_rtcp_pli(media_ssrc)`.
4. Host candidates. aioice gathers on every interface but 127.0.0.1
   (`aioice.ice.get_host_addresses`); `ice.host_addresses` narrows or widens that.
5. Remote candidates. Every remote candidate, from the SDP (`add_remote_candidates` at
   setRemoteDescription), trickled (`RTCIceTransport.addRemoteCandidate`) or an mDNS name once
   resolved, reaches `aioice.ice.Connection._add_remote_candidate(candidate, network_host)`;
   a check from an unknown address reaches `Connection.request_received`, which answers it and
   learns a peer-reflexive candidate. Per connection, we put a policy in front of both.
6. A connection closed while it starts. `RTCPeerConnection.__connect` runs as a task nobody
   awaits (`asyncio.ensure_future` in `setRemoteDescription`); closed while it is still starting
   transports, it fails with InvalidStateError and asyncio logs "Task exception was never
   retrieved" with a traceback. `settle_connect_tasks(pc)`, before `pc.close()`, retrieves that
   expected error (any other is still logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.exceptions import InvalidStateError

log = logging.getLogger(__name__)
CONNECT_TASK = "RTCPeerConnection.__connect"


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


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call `callback` when the remote end of `sender` sends PLI or FIR (hook 3)."""
    if not callable(getattr(sender, "_send_keyframe", None)):
        raise RuntimeError("aiortc changed: RTCRtpSender has no _send_keyframe")
    sender._send_keyframe = callback  # type: ignore[method-assign]


async def send_pli(receiver: RTCRtpReceiver) -> None:
    """Ask the remote publisher of `receiver` for a keyframe (RTCP PLI)."""
    for source in receiver.getSynchronizationSources():
        # The RTX stream's SSRC is listed too; a PLI naming it is ignored by browsers.
        await receiver._send_rtcp_pli(source.source)


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
    """Let `pc` check connectivity only with remote addresses that `allows` (hook 5): other
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


def settle_connect_tasks(pc: Any) -> None:
    """Before closing `pc`: its unawaited connect task may fail because of the close; that
    failure is expected and retrieved here, instead of being logged as lost (hook 6)."""
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

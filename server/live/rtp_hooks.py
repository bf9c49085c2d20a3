"""The packet path's private aiortc/aioice/pylibsrtp details: hooks 2-7 of the list in
server/live/hooks.py, which says what each one relies on and why.

aiortc is pinned to 1.16.*; tests/unit/test_hooks.py fails when any of these change.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import MediaStreamTrack, RTCRtpReceiver, RTCRtpSender, rtcdtlstransport
from aiortc.mediastreams import MediaStreamError
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import AnyRtcpPacket, RtcpSrPacket, RtpPacket, is_rtcp
from pylibsrtp._binding import ffi as _srtp_ffi
from pylibsrtp._binding import lib as _srtp_lib

log = logging.getLogger(__name__)
_NTP_UNIX_OFFSET = 2208988800
_SRTP_BUFFER = 1500 + 148  # like pylibsrtp's: an MTU and libsrtp's largest trailer
_SRTP_TRAILER = 148

# -- receiving ---------------------------------------------------------------------------------


class PacketTap:
    """Wraps an RTCRtpReceiver's jitter buffer: every accepted packet is seen first (hook 2)."""

    def __init__(self, buffer: Any, on_packet: Callable[[RtpPacket], None]) -> None:
        self._buffer = buffer
        self._on_packet = on_packet

    def add(self, packet: RtpPacket) -> Any:
        self._on_packet(packet)
        return self._buffer.add(packet)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._buffer, name)


def wrap_jitter_buffer(receiver: RTCRtpReceiver, wrap: Callable[[Any], Any]) -> None:
    """Put `wrap(buffer)` in place of the receiver's jitter buffer, which `_handle_rtp_packet`
    calls as `pli, frame = buffer.add(packet)` (hook 2); the wrapper may read the buffer's
    `_origin`, `_packets` and `capacity` and call its `remove(count)`."""
    buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer", None)
    if buffer is None or not all(hasattr(buffer, n) for n in ("_origin", "_packets", "remove")):
        raise RuntimeError("aiortc changed: RTCRtpReceiver's jitter buffer is not a ring buffer")
    receiver._RTCRtpReceiver__jitter_buffer = wrap(buffer)  # type: ignore[attr-defined]


def tap_packets(receiver: RTCRtpReceiver, on_packet: Callable[[RtpPacket], None]) -> None:
    """Call `on_packet(packet)` with every RTP packet `receiver` accepts, on the event loop,
    before its frames are assembled. The packet is decrypted, RTX-unwrapped and parsed; it
    must not be changed."""
    buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer", None)
    if buffer is None or not callable(getattr(buffer, "add", None)):
        raise RuntimeError("aiortc changed: RTCRtpReceiver has no jitter buffer to tap")
    receiver._RTCRtpReceiver__jitter_buffer = PacketTap(buffer, on_packet)  # type: ignore[attr-defined]


def replace_bitrate_estimator(receiver: RTCRtpReceiver, wrap: Callable[[Any], Any]) -> None:
    """Put `wrap(estimator)` in place of the receiver's remote bitrate estimator, which
    `_handle_rtp_packet` feeds (`add(abs_send_time=, arrival_time_ms=, payload_size=, ssrc=)`)
    with every video packet carrying abs-send-time, sending REMB when it returns one (hook 3)."""
    estimator = receiver._RTCRtpReceiver__remote_bitrate_estimator  # type: ignore[attr-defined]
    if estimator is not None:
        receiver._RTCRtpReceiver__remote_bitrate_estimator = wrap(estimator)  # type: ignore[attr-defined]


def observe_receiver_rtcp(
    receiver: RTCRtpReceiver, on_report: Callable[[RtcpSrPacket], None]
) -> None:
    """Call `on_report(packet)` with each sender report the publisher sends (hook 3)."""
    original = receiver._handle_rtcp_packet

    async def handle(packet: AnyRtcpPacket) -> None:
        if isinstance(packet, RtcpSrPacket):
            on_report(packet)
        await original(packet)

    receiver._handle_rtcp_packet = handle  # type: ignore[method-assign]


def filter_receiver_rtcp(
    receiver: RTCRtpReceiver, change: Callable[[AnyRtcpPacket], AnyRtcpPacket | None]
) -> Callable[[AnyRtcpPacket], Coroutine[Any, Any, None]]:
    """Pass every RTCP packet `receiver` sends to its publisher through `change` (hook 3):
    it returns the packet to send (the same or another), or None to send nothing. Returns the
    way to send RTCP to the publisher past `change`."""
    original: Callable[[AnyRtcpPacket], Coroutine[Any, Any, None]] = receiver._send_rtcp

    async def send(packet: AnyRtcpPacket) -> None:
        changed = change(packet)
        if changed is not None:
            await original(changed)

    receiver._send_rtcp = send  # type: ignore[method-assign]
    return original


def receiver_rtcp_ssrc(receiver: RTCRtpReceiver) -> int | None:
    """The SSRC the receiver signs its RTCP with (None until it started)."""
    return receiver._RTCRtpReceiver__rtcp_ssrc  # type: ignore[attr-defined, no-any-return]


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int | None = None) -> None:
    """Ask the remote publisher of `receiver` for a keyframe (RTCP PLI)."""
    if media_ssrc is not None:
        await receiver._send_rtcp_pli(media_ssrc)
        return
    for source in receiver.getSynchronizationSources():
        # The RTX stream's SSRC is listed too; a PLI naming it is ignored by browsers.
        await receiver._send_rtcp_pli(source.source)


class Incoming:
    """One connection's packets taken off the socket without aioice's queue (hook 4), and
    whether the far end has been heard since the handshake: its first SRTP or SRTCP proves it
    holds the keys (and, in aiortc, started its receivers)."""

    def __init__(self) -> None:
        self.heard = False
        self._waiting: list[Callable[[], None]] = []

    def when_heard(self, callback: Callable[[], None]) -> None:
        if self.heard:
            callback()
        else:
            self._waiting.append(callback)

    def hear(self) -> None:
        self.heard = True
        waiting, self._waiting = self._waiting, []
        for callback in waiting:
            callback()


def receive_without_queue(transport: RTCDtlsTransport) -> Incoming:
    """Handle SRTP and SRTCP arriving on `transport`'s ICE connection as they come off the
    socket (hook 4), instead of through aioice's queue and the DTLS transport's reading task:
    one task switch less per packet. The same aiortc methods run, in the same order for each
    kind; DTLS, STUN and anything before the handshake keep aiortc's path. Done once per
    connection; later calls return the same `Incoming`."""
    connection = transport.transport._connection
    incoming: Incoming | None = getattr(connection, "_kanyan_incoming", None)
    if incoming is not None:
        return incoming
    incoming = Incoming()
    queued = connection.data_received
    handle_rtp = transport._handle_rtp_data
    handle_rtcp = transport._handle_rtcp_data
    connected = rtcdtlstransport.State.CONNECTED
    contexts: dict[int, SrtpContext] = {}

    def data_received(data: bytes, component: int) -> None:
        session = transport._rx_srtp
        if session is None or transport._state is not connected or not 127 < data[0] < 192:
            queued(data, component)
            return
        srtp = contexts.get(id(session))
        if srtp is None:
            contexts.clear()
            srtp = contexts[id(session)] = SrtpContext(session)
        transport._RTCDtlsTransport__rx_bytes += len(data)  # type: ignore[attr-defined]
        transport._RTCDtlsTransport__rx_packets += 1  # type: ignore[attr-defined]
        try:
            if is_rtcp(data):
                plain = session.unprotect_rtcp(data)
                if not incoming.heard:
                    incoming.hear()
                run_now(handle_rtcp(plain))
            else:
                plain = srtp.unprotect(data)
                if not incoming.heard:
                    incoming.hear()
                arrival_ms = int((time.time() + _NTP_UNIX_OFFSET) * 1000)  # aiortc's clock
                run_now(handle_rtp(plain, arrival_time_ms=arrival_ms))
        except (pylibsrtp.Error, SrtpError, ValueError):
            pass  # what aiortc does with a packet that does not authenticate

    connection.data_received = data_received  # type: ignore[method-assign]
    connection._kanyan_incoming = incoming  # type: ignore[attr-defined]
    for protocol in connection._protocols:
        read_whole_datagrams_only(protocol.transport)
    return incoming


def read_whole_datagrams_only(transport: Any) -> None:
    """asyncio reads each datagram with `recvfrom(transport.max_size)`, 256 KB by default:
    an allocation that cost ~12 us per packet here, against ~1 us for 64 KB, which still
    holds the largest UDP datagram there is."""
    if isinstance(getattr(transport, "max_size", None), int):
        transport.max_size = 65536


def run_now(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run `coroutine` now, on the caller's stack, as far as it goes without waiting (aiortc's
    packet handlers await only sends that complete at once); if it must wait, asyncio
    resumes it like a task would. Errors are logged, as a task's would be."""
    try:
        waiting = coroutine.send(None)
    except StopIteration:
        return
    except Exception:
        log.exception("handling a packet failed")
        return
    _Resumed(coroutine).wait(waiting)


class _Resumed:
    """The rest of a coroutine that `run_now` started and that had to wait."""

    def __init__(self, coroutine: Coroutine[Any, Any, None]) -> None:
        self._coroutine = coroutine

    def wait(self, waiting: Any) -> None:
        if waiting is None:  # a bare yield (asyncio.sleep(0)): go on at the next turn
            asyncio.get_running_loop().call_soon(self._step)
        else:
            waiting._asyncio_future_blocking = False
            waiting.add_done_callback(self._step)

    def _step(self, *_: Any) -> None:
        try:
            waiting = self._coroutine.send(None)
        except StopIteration:
            return
        except Exception:
            log.exception("handling a packet failed")
            return
        self.wait(waiting)


# -- sending -----------------------------------------------------------------------------------


class IdleTrack(MediaStreamTrack):
    """The track of a forwarding sender: never yields a frame, so aiortc's RTP task stays idle
    (packets reach the transport without it) until the sender stops (hook 5)."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self._stopped: asyncio.Future[None] | None = None

    async def recv(self) -> Any:
        if self.readyState == "live":
            if self._stopped is None:
                self._stopped = asyncio.get_running_loop().create_future()
            await self._stopped
        raise MediaStreamError

    def stop(self) -> None:
        super().stop()
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)


@dataclass(frozen=True)
class SenderIdentity:
    """What a started sender put in the SDP and negotiated: the leg's own numbering."""

    ssrc: int
    rtx_ssrc: int
    mid: str | None
    cname: str | None
    payload_type: int
    clock_rate: int
    mime_type: str
    rtx_payload_type: int | None
    extensions: dict[str, int]  # header extension URI -> id


def identity(sender: RTCRtpSender, parameters: RTCRtpSendParameters) -> SenderIdentity:
    codec = parameters.codecs[0]
    assert codec.payloadType is not None, "a started sender has a negotiated payload type"
    rtx = next(
        (
            c.payloadType
            for c in parameters.codecs
            if c.mimeType.lower().endswith("/rtx") and c.parameters.get("apt") == codec.payloadType
        ),
        None,
    )
    return SenderIdentity(
        ssrc=sender._ssrc,
        rtx_ssrc=sender._rtx_ssrc,
        mid=parameters.muxId or None,
        cname=parameters.rtcp.cname,
        payload_type=codec.payloadType,
        clock_rate=codec.clockRate,
        mime_type=codec.mimeType.lower(),
        rtx_payload_type=rtx,
        extensions={e.uri: e.id for e in parameters.headerExtensions},
    )


def on_sender_start(sender: RTCRtpSender, started: Callable[[SenderIdentity], None]) -> None:
    """Call `started(identity)` once aiortc starts `sender` (after each negotiation that makes
    it send; aiortc starts a sender only once)."""
    original = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        first = not sender._RTCRtpSender__started  # type: ignore[attr-defined]
        await original(parameters)
        if first:
            started(identity(sender, parameters))

    sender.send = send  # type: ignore[method-assign]


def route_sender_rtcp(sender: RTCRtpSender, handle: Callable[[AnyRtcpPacket], None]) -> None:
    """RTCP from the subscriber about `sender`'s stream goes to `handle` (hook 6)."""

    async def handle_rtcp_packet(packet: AnyRtcpPacket) -> None:
        handle(packet)

    sender._handle_rtcp_packet = handle_rtcp_packet  # type: ignore[method-assign]


def rewrite_sender_reports(
    sender: RTCRtpSender, report: Callable[[RtcpSrPacket], RtcpSrPacket | None]
) -> None:
    """The sender's periodic SR goes through `report`, which returns the SR to send or None
    to send no RTCP this time; BYE is sent as it is (hook 6)."""

    async def send_rtcp(packets: list[AnyRtcpPacket]) -> None:
        chosen: list[AnyRtcpPacket] = []
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                replaced = report(packet)
                if replaced is None:
                    return
                packet = replaced
            chosen.append(packet)
        try:
            await sender.transport._send_rtp(b"".join(bytes(p) for p in chosen))
        except ConnectionError:
            pass

    sender._send_rtcp = send_rtcp  # type: ignore[method-assign]


# -- writing -----------------------------------------------------------------------------------


def srtp_sender(transport: RTCDtlsTransport) -> Any:
    """The pylibsrtp Session protecting what `transport` sends (None before the handshake)."""
    return transport._tx_srtp


def nominated_pairs(transport: RTCDtlsTransport) -> dict[int, Any]:
    """The live dict of the ICE connection's nominated candidate pairs, by component (hook 7):
    `pair.protocol`, `pair.remote_addr`."""
    nominated: dict[int, Any] = transport.transport._connection._nominated
    return nominated


class SrtpError(RuntimeError):
    """libsrtp refused to protect a packet."""


class SrtpContext:
    """SRTP with a pylibsrtp Session's libsrtp context, in a buffer of its own (hook 7):
    `Session.protect`/`unprotect` allocate an int and copy twice on every call."""

    def __init__(self, session: Any) -> None:
        self.session = session  # keeps the context alive
        self.context = session._srtp[0]
        self.buffer = _srtp_ffi.new("char[]", _SRTP_BUFFER)
        self.view = _srtp_ffi.buffer(self.buffer)
        self.length = _srtp_ffi.new("int *")

    def protect(self, plain: bytes) -> bytes:
        return self._run(_srtp_lib.srtp_protect, plain, _SRTP_TRAILER)

    def unprotect(self, data: bytes) -> bytes:
        return self._run(_srtp_lib.srtp_unprotect, data, 0)

    def _run(self, function: Any, data: bytes, room: int) -> bytes:
        size = len(data)
        if size > _SRTP_BUFFER - room:
            raise ValueError("packet too long for SRTP")
        self.view[0:size] = data
        self.length[0] = size
        status = function(self.context, self.buffer, self.length)
        if status:
            raise SrtpError(status)
        return self.view[0 : self.length[0]]  # type: ignore[no-any-return]


class PacketWriter:
    """`write(plain)` protects an RTP packet with `session` and sends it on an ICE candidate
    pair without awaiting (hook 7): straight to a duplicate of the pair's socket for a host or
    server-reflexive pair (a full socket buffer raises BlockingIOError: a lost packet, as in
    any SFU), through aioice's TURN client for a relayed one. One function call per packet:
    this runs for every packet of every subscriber leg."""

    write: Callable[[bytes], None]

    def __init__(self, session: Any, pair: Any) -> None:
        srtp = SrtpContext(session)
        protocol, address = pair.protocol, pair.remote_addr
        self._srtp = srtp
        self._socket: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        if type(protocol) is aioice.ice.StunProtocol:
            self._socket = protocol.transport.get_extra_info("socket").dup()
            sendto = self._socket.sendto
            view, buffer, length, context = srtp.view, srtp.buffer, srtp.length, srtp.context
            protect, largest = _srtp_lib.srtp_protect, _SRTP_BUFFER - _SRTP_TRAILER

            def write(plain: bytes) -> None:
                size = len(plain)
                if size > largest:
                    raise ValueError("RTP packet too long for SRTP")
                view[0:size] = plain
                length[0] = size
                status = protect(context, buffer, length)
                if status:
                    raise SrtpError(status)
                sendto(view[0 : length[0]], address)

            self.write = write
        else:

            def write_relayed(plain: bytes) -> None:
                # Created in order, each runs to its first await in order: TURN keeps order.
                task = asyncio.ensure_future(protocol.send_data(srtp.protect(plain), address))
                self._tasks.add(task)
                task.add_done_callback(self._done)

            self.write = write_relayed

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a failed relayed send is a lost packet, nothing more

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __del__(self) -> None:
        self.close()

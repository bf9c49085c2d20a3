"""The way out of one subscriber connection for forwarded packets.

aiortc's own path (`RTCDtlsTransport._send_rtp`) awaits once per packet on the way down to
`sendto`, and pylibsrtp's `Session.protect` allocates and copies on every call. A forwarded
packet needs none of that: protect it into a buffer of our own with the connection's SRTP
context (libsrtp, through pylibsrtp's binding) and write it to the nominated ICE pair's socket,
synchronously, on the event loop that owns both. aiortc's RTCP keeps using its own path
through the same context.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport

from . import rtp_hooks

READY_AFTER_S = 0.25


class SrtpLink:
    """Protect and write RTP packets on one DTLS transport (one subscriber connection).

    It is `ready` once the far end can take them: the handshake can end on our side a flight
    before it ends on theirs, and aiortc starts its receivers only after that, so packets sent
    at once may be thrown away there (a newcomer's first keyframe, the worst to lose). Ready
    means we heard SRTP or SRTCP from them since, or READY_AFTER_S passed (someone who
    publishes nothing may have nothing to send us yet)."""

    def __init__(
        self, transport: RTCDtlsTransport, on_error: Callable[[], None] = lambda: None
    ) -> None:
        self._transport = transport
        self._on_error = on_error
        self._nominated = rtp_hooks.nominated_pairs(transport)
        self._incoming = rtp_hooks.receive_without_queue(transport)
        self._pair: Any = None
        self._writer: rtp_hooks.PacketWriter | None = None
        self._send: Callable[[bytes], None] = _drop
        self._waiting: list[Callable[[], None]] = []
        self._fallback: asyncio.TimerHandle | None = None
        self.open = False
        self.ready = False
        self.errors = 0
        transport.on("statechange", self._state_changed)
        self._state_changed()

    def when_ready(self, callback: Callable[[], None]) -> None:
        """Call `callback` once the far end can take packets (now, if it can)."""
        if self.ready:
            callback()
        else:
            self._waiting.append(callback)

    def _state_changed(self) -> None:
        self.open = self._transport.state == "connected" and bool(
            rtp_hooks.srtp_sender(self._transport)
        )
        if self.open:
            self._incoming.when_heard(self._heard)
            if not self.ready and self._fallback is None:
                self._fallback = asyncio.get_running_loop().call_later(READY_AFTER_S, self._heard)
        else:
            self.ready = False
            self._use(None)

    def _heard(self) -> None:
        if self._fallback is not None:
            self._fallback.cancel()
            self._fallback = None
        if self.open and not self.ready:
            self.ready = True
            waiting, self._waiting = self._waiting, []
            for callback in waiting:
                callback()

    def _use(self, pair: Any) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._pair, self._send = pair, _drop
        if pair is not None and self.open:
            self._writer = rtp_hooks.PacketWriter(rtp_hooks.srtp_sender(self._transport), pair)
            self._send = self._writer.write

    def write(self, plain: bytes) -> None:
        """Send one RTP packet (header and payload, unencrypted); dropped when not connected."""
        if self._nominated.get(1) is not self._pair:
            self._use(self._nominated.get(1))  # ICE chose another pair, or lost its pair
        try:
            self._send(plain)
        except (OSError, ValueError, rtp_hooks.SrtpError):
            self.errors += 1  # a full socket buffer or a closing connection: a lost packet
            self._on_error()


def _drop(plain: bytes) -> None:
    pass

"""The way out of one subscriber connection for forwarded packets.

aiortc's own path (`RTCDtlsTransport._send_rtp`) awaits once per packet on the way down to
`sendto`, and pylibsrtp's `Session.protect` allocates and copies on every call. A forwarded
packet needs none of that: protect it into a buffer of our own with the connection's SRTP
context (libsrtp, through pylibsrtp's binding) and write it to the nominated ICE pair's socket,
synchronously, on the event loop that owns both. aiortc's RTCP keeps using its own path
through the same context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiortc.rtcdtlstransport import RTCDtlsTransport

from . import hooks


class SrtpLink:
    """Protect and write RTP packets on one DTLS transport (one subscriber connection)."""

    def __init__(self, transport: RTCDtlsTransport) -> None:
        self._transport = transport
        self._protect: Callable[[bytes], bytes] | None = None
        self._nominated = hooks.nominated_pairs(transport)
        self._pair: Any = None
        self._writer: hooks.DatagramWriter | None = None
        self.open = False
        self.packets = 0
        self.bytes = 0
        self.errors = 0
        transport.on("statechange", self._state_changed)
        self._state_changed()

    def _state_changed(self) -> None:
        session = hooks.srtp_sender(self._transport)
        if self._transport.state == "connected" and session is not None:
            self._protect = hooks.SrtpProtector(session).protect
        else:
            self._protect = None
            self._use(None)
        self.open = self._protect is not None

    def _use(self, pair: Any) -> None:
        if self._writer is not None:
            self._writer.close()
        self._pair = pair
        self._writer = None if pair is None else hooks.DatagramWriter(pair)

    def write(self, plain: bytes) -> None:
        """Send one RTP packet (header and payload, unencrypted); dropped when not connected."""
        protect = self._protect
        if protect is None:
            return
        pair = self._nominated.get(1)
        if pair is not self._pair:
            if pair is None:
                return  # ICE lost its pair: the connection is going away
            self._use(pair)
        try:
            data = protect(plain)
            self._writer.write(data)  # type: ignore[union-attr]
        except (OSError, ValueError, hooks.SrtpError):
            self.errors += 1  # a full socket buffer or a closing connection: a lost packet
            return
        self.packets += 1
        self.bytes += len(data)

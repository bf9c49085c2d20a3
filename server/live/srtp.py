"""The way out of one subscriber connection for forwarded packets.

aiortc's own path (`RTCDtlsTransport._send_rtp`) awaits once per packet on the way down to
`sendto`. A forwarded packet needs none of that: protect it with the connection's SRTP context
and write it to the nominated ICE pair's socket, synchronously, on the event loop that owns
both. aiortc's RTCP keeps using its own path through the same SRTP context.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pylibsrtp
from aiortc.rtcdtlstransport import RTCDtlsTransport

from . import hooks


class SrtpLink:
    """Protect and write RTP packets on one DTLS transport (one subscriber connection)."""

    def __init__(self, transport: RTCDtlsTransport) -> None:
        self._transport = transport
        self._session: Any = None
        self._nominated = hooks.nominated_pairs(transport)
        self._pair: Any = None
        self._writer: Callable[[bytes], None] | None = None
        self.open = False
        self.packets = 0
        self.bytes = 0
        self.errors = 0
        transport.on("statechange", self._state_changed)
        self._state_changed()

    def _state_changed(self) -> None:
        connected = self._transport.state == "connected"
        self._session = hooks.srtp_sender(self._transport) if connected else None
        self.open = self._session is not None

    def write(self, plain: bytes) -> None:
        """Send one RTP packet (header and payload, unencrypted); dropped when not connected."""
        session = self._session
        if session is None:
            return
        pair = self._nominated.get(1)
        if pair is not self._pair:
            if pair is None:
                return  # ICE lost its pair: the connection is going away
            self._pair, self._writer = pair, hooks.datagram_writer(pair)
        try:
            data = session.protect(plain)
        except (pylibsrtp.Error, ValueError):
            self.errors += 1
            return
        self._writer(data)  # type: ignore[misc]
        self.packets += 1
        self.bytes += len(data)

"""The applicant's phone on a weak network: `python -m tests.support.netpeer BASE_URL
INSPECTION TOKEN`, run inside the peer namespace of tests/support/wan.py.

It is a ReconnectingClient (the page's reconnect rules) filming the applicant's blue with a
block that moves every frame, so a frozen picture is easy to tell from a moving one. Once a
second it prints its state as one JSON line, with what the server asked of its sender:
packets it retransmitted on NACK and keyframe requests (PLI/FIR). It leaves when its stdin
closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from aiortc import RTCRtpSender
from aiortc.codecs import opus, vpx

from tests.support.peers import ColourTrack, ToneTrack
from tests.support.reconnecting import ReconnectingClient

ASKED = {"retransmitted": 0, "keyframes": 0}
_retransmit = RTCRtpSender._retransmit
_send_keyframe = RTCRtpSender._send_keyframe


async def _counted_retransmit(self: RTCRtpSender, sequence_number: int) -> None:
    ASKED["retransmitted"] += 1
    await _retransmit(self, sequence_number)


def _counted_send_keyframe(self: RTCRtpSender) -> None:
    ASKED["keyframes"] += 1
    _send_keyframe(self)


# Counting what the server's RTCP asks of this sender (aiortc's own handlers do the work).
RTCRtpSender._retransmit = _counted_retransmit  # type: ignore[method-assign]
RTCRtpSender._send_keyframe = _counted_send_keyframe  # type: ignore[method-assign]

# A phone, not a desktop: aiortc sends Opus at 96 kbit/s and will not take VP8 below 250 kbit/s
# whatever the server's REMB says, together more than a 400 kbit/s link. Chrome on a phone
# sends speech at ~32 kbit/s and lets its video go far lower; so does this peer.
vpx.MIN_BITRATE = 50_000
_opus_init = opus.OpusEncoder.__init__


def _phone_opus_init(self: opus.OpusEncoder) -> None:
    _opus_init(self)
    self.codec.bit_rate = 32_000


opus.OpusEncoder.__init__ = _phone_opus_init  # type: ignore[method-assign]


def video_target(client: ReconnectingClient) -> int:
    """The bitrate the server's REMB left our VP8 encoder at."""
    for transceiver in client.pc.getTransceivers() if client.pc else []:
        encoder = getattr(transceiver.sender, "_RTCRtpSender__encoder", None)
        if encoder is not None and hasattr(encoder, "target_bitrate"):
            return int(encoder.target_bitrate)
    return 0


def state(client: ReconnectingClient, camera: ColourTrack) -> dict[str, Any]:
    return {
        "id": client.welcome["you"]["id"] if client.welcome else None,
        "status": client.status,
        "connections": client.connections,
        "reconnects": client.reconnects,
        "admitted_at": client.admitted_at,
        "filmed": camera._count,
        "received": {str(k): v.frames for k, v in client.seen.items()},
        "video_kbps": round(video_target(client) / 1000),
        **ASKED,
    }


async def main(base_url: str, inspection: int, token: str) -> None:
    camera = ColourTrack((40, 60, 230))
    client = ReconnectingClient(
        base_url, inspection, token, video=camera, audio=ToneTrack(660), observe=False
    )
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    gone = asyncio.ensure_future(stdin.read())  # EOF: the test is done with us
    await client.connect()
    while not gone.done():
        print(json.dumps(state(client, camera)), flush=True)
        await asyncio.wait([gone], timeout=1.0)
    await client.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), sys.argv[3]))

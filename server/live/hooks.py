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
5. A connection closed while it starts. `RTCPeerConnection.__connect` runs as a task nobody
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
from aiortc import RTCRtpReceiver, RTCRtpSender
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
    failure is expected and retrieved here, instead of being logged as lost (hook 5)."""
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

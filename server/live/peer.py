"""The server's RTCPeerConnection to one browser participant.

The server is the only offerer (aiortc cannot roll back, so glare must never happen). The first
two m-lines receive the participant's own microphone and camera; every other m-line is a slot
that sends one other member's audio or video. Slots are never removed: a freed slot goes
inactive and is reused for the next publisher of its kind, so the SDP does not grow as people
leave and come back. Each offer tells the browser which mids are its own and whose the others are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiortc import (
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.sdp import candidate_from_sdp

from ..config import Settings
from ..errors import ProtocolError
from . import hooks, protocol
from .ice import CandidatePolicy
from .media import KINDS, MediaHub, Publication, SlotOutput, Upstream

log = logging.getLogger(__name__)


def codec_preferences(kind: str) -> list[Any]:
    """VP8 (with RTX) and Opus only: the codecs we forward without touching."""
    wanted = {"video": ("video/vp8", "video/rtx"), "audio": ("audio/opus",)}[kind]
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType.lower() in wanted]


@dataclass
class Slot:
    output: SlotOutput
    kind: str
    publication: Publication | None = None  # what this slot carries (or will, once answered)
    attached: bool = False

    @property
    def transceiver(self) -> RTCRtpTransceiver:
        return self.output.transceiver


class Peer:
    def __init__(
        self,
        member_id: int,
        hub: MediaHub,
        settings: Settings,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        on_failed: Callable[[], None],
    ) -> None:
        self.member_id = member_id
        self._hub = hub
        self._settings = settings
        self._send = send
        self._on_failed = on_failed
        servers = [RTCIceServer(urls=url) for url in settings.ice.stun_urls]
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
        )
        self._own: dict[str, RTCRtpTransceiver] = {}
        self._upstreams: list[tuple[Publication, Upstream, RTCRtpReceiver]] = []
        self._slots: list[Slot] = []
        self._negotiating = False
        self._pending = False
        self._answer_timer: asyncio.TimerHandle | None = None
        self.offers = 0
        self.closed = False
        self.publishing: dict[str, bool] = {"audio": False, "video": False}
        self.pc.on("connectionstatechange", self._connection_state_changed)
        # A participant's SDP must not aim the server's STUN checks at internal addresses.
        self._policy = CandidatePolicy.from_settings(settings)
        self.refused: set[str] = set()  # remote addresses refused by the policy

    def start(self) -> None:
        """Open the two m-lines that receive this participant's microphone and camera."""
        for kind in KINDS:
            transceiver = self.pc.addTransceiver(kind, direction="recvonly")
            transceiver.setCodecPreferences(codec_preferences(kind))
            publication = self._hub.publication(self.member_id, kind)
            upstream = self._hub.forwarding.receive(transceiver.receiver, publication)
            publication.attach(upstream)
            self._own[kind] = transceiver
            self._upstreams.append((publication, upstream, transceiver.receiver))

    async def subscribe(self, publications: list[Publication]) -> None:
        """Send exactly these publications; renegotiate when that changes anything."""
        wanted = {(p.publisher_id, p.kind): p for p in publications}
        changed = False
        for slot in self._slots:
            current = slot.publication
            if (
                current is not None
                and wanted.get((current.publisher_id, current.kind)) is not current
            ):
                slot.output.detach()
                slot.publication, slot.attached = None, False
                slot.transceiver.direction = "inactive"
                changed = True
        carried = {id(s.publication) for s in self._slots if s.publication is not None}
        for publication in wanted.values():
            if id(publication) in carried:
                continue
            free = (s for s in self._slots if s.publication is None and s.kind == publication.kind)
            slot = next(free, None) or self._new_slot(publication.kind)
            slot.transceiver.direction = "sendonly"
            slot.publication = publication
            changed = True
        if changed or self.offers == 0:
            await self.negotiate()

    def _new_slot(self, kind: str) -> Slot:
        # A new sendonly transceiver (never addTrack: it may reuse the participant's own m-line).
        output = self._hub.forwarding.open_slot(self.pc, kind)
        output.transceiver.setCodecPreferences(codec_preferences(kind))
        slot = Slot(output, kind)
        self._slots.append(slot)
        return slot

    async def negotiate(self) -> None:
        if self.closed:
            return
        if self._negotiating:
            self._pending = True
            return
        self._negotiating = True
        await self.pc.setLocalDescription(await self.pc.createOffer())
        self.offers += 1
        self._answer_timer = asyncio.get_running_loop().call_later(
            self._settings.signalling.answer_timeout_s, self._on_failed
        )
        await self._send(protocol.offer(self.pc.localDescription.sdp, self.media_map()))

    def media_map(self) -> dict[str, Any]:
        """Which mids carry the participant's own camera and microphone, and whose the rest are."""
        remote = {
            slot.transceiver.mid: {"participant": slot.publication.publisher_id, "kind": slot.kind}
            for slot in self._slots
            if slot.publication is not None
        }
        return {"own": {kind: t.mid for kind, t in self._own.items()}, "remote": remote}

    async def accept_answer(self, sdp: str) -> None:
        if not self._negotiating:
            raise ProtocolError(
                "没有待应答的 offer / there is no offer to answer", code="unexpected_answer"
            )
        self._guard()
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:  # aiortc raises ValueError, AssertionError, … on bad SDP
            raise ProtocolError(
                f"无法接受该 SDP 应答 / answer rejected: {exc}"[:200], code="bad_sdp"
            ) from None
        if self._answer_timer is not None:
            self._answer_timer.cancel()
            self._answer_timer = None
        self._negotiating = False
        for kind, transceiver in self._own.items():
            self.publishing[kind] = transceiver.currentDirection in ("recvonly", "sendrecv")
        for publication, _, receiver in self._upstreams:
            publication.sending = self.publishing[publication.kind]
            self._hub.forwarding.answered(receiver, publication)
        for slot in self._slots:
            # Attach only now, once the subscriber knows whose the m-line is; a leg sends from
            # the first keyframe after its sender started.
            if slot.publication is not None and not slot.attached:
                slot.output.attach(slot.publication)
                slot.attached = True
        if self._pending:
            self._pending = False
            await self.negotiate()

    async def add_candidate(
        self, candidate: str | None, sdp_mid: str | None, sdp_mline_index: int | None
    ) -> None:
        if not candidate:
            return  # end of candidates: aioice keeps checking what it has
        try:
            parsed = candidate_from_sdp(candidate.removeprefix("candidate:"))
        except Exception:
            raise ProtocolError(
                "无法解析 ICE 候选 / unreadable ICE candidate", code="bad_candidate"
            ) from None
        parsed.sdpMid = sdp_mid
        parsed.sdpMLineIndex = sdp_mline_index
        if sdp_mid is None and sdp_mline_index is None:
            parsed.sdpMLineIndex = 0
        self._guard()
        await self.pc.addIceCandidate(parsed)

    def _guard(self) -> None:
        hooks.guard_remote_candidates(self.pc, self._policy.allows, self._refuse)

    def _refuse(self, address: str) -> None:
        if address not in self.refused:
            self.refused.add(address)
            # Browsers name their private addresses too: worth a debug line, not an error.
            log.debug("participant %s: ICE candidate %s refused by policy", self.member_id, address)

    def _connection_state_changed(self) -> None:
        # "closed" without our close(): aiortc shuts a connection down by itself once its
        # transports closed (ICE consent expired, the other end said goodbye). Its media is
        # gone for good either way, so the participant must reconnect.
        if self.pc.connectionState in ("failed", "closed") and not self.closed:
            self._on_failed()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self._answer_timer is not None:
            self._answer_timer.cancel()
        for slot in self._slots:
            slot.output.close()
        for publication, upstream, _ in self._upstreams:
            publication.detach(upstream)
        hooks.settle_connect_tasks(self.pc)
        await self.pc.close()

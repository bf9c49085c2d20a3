"""The interface between a room and whoever takes part in it.

Browsers (server.signalling), the recorder (recorder.participant) and test participants all
implement it; the room never needs to know which one it is talking to.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from .room import Member, Role

if TYPE_CHECKING:
    from ..archive import ArchiveStore, Case, Inspection
    from .media import MediaHub, Publication


class Participant(Protocol):
    id: int
    role: Role
    name: str

    async def send(self, message: dict[str, Any]) -> None:
        """Deliver a protocol message (docs/protocol.md). Never raises on a closed peer."""

    async def close(self, code: int, reason: str) -> None:
        """End the participant's connection with a protocol close code."""

    async def enter(self, hub: MediaHub) -> None:
        """Admitted: start publishing into the room's media hub."""

    async def follow(self, publications: list[Publication]) -> None:
        """Receive exactly these publications from now on."""


class RoomRecorder(Protocol):
    """What a room asks of its recorder: screenshots, and where an instant is in the
    recording."""

    async def screenshot(
        self, taker: Member, subject: Member, note: str | None, item_id: int | None
    ) -> dict[str, Any]:
        """Capture `subject`'s current picture for `taker`, attached to checklist point
        `item_id`; the archived screenshot, described as the `screenshot` message carries it
        (docs/protocol.md)."""

    def recording_at(self, at: float) -> tuple[int | None, float | None]:
        """The recording being written at server time `at`, and the offset into it."""

    def check(self) -> None:
        """Once a second: whether the recording process still works (a stuck one is
        replaced by a new segment, and the host told)."""


class RoomHandle(Protocol):
    """What a system participant (the recorder) may use of the room it joined, and nothing
    more: it never reaches into membership or connections."""

    archive: ArchiveStore
    case: Case
    inspection: Inspection

    def member_names(self) -> dict[int, str]:
        """Everyone who has been in the room, by id (for labels and watermarks)."""

    async def broadcast(self, message: dict[str, Any]) -> None:
        """To everyone seated, and to the system participants."""

    async def tell(self, role: Role, message: dict[str, Any]) -> None:
        """To everyone connected in `role`."""

    def add_system(
        self,
        participant: Participant,
        *,
        recorder: RoomRecorder | None = None,
        on_seated: Callable[[Participant], Awaitable[None]] | None = None,
    ) -> None:
        """Join as a system participant: it receives every publication and every roster, may
        record the room (screenshots, offsets), and hears of everyone who is (re)seated."""

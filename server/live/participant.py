"""The interface between a room and whoever takes part in it.

Browsers (server.signalling), the recorder (recorder.participant) and test participants all
implement it; the room never needs to know which one it is talking to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from .room import Member, Role

if TYPE_CHECKING:
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


class ScreenshotTaker(Protocol):
    """What a room asks for a screenshot (the recorder provides it)."""

    async def screenshot(self, taker: Member, subject: Member, note: str | None) -> dict[str, Any]:
        """Capture `subject`'s current picture for `taker`; the archived screenshot, described
        as the `screenshot` message carries it (docs/protocol.md)."""

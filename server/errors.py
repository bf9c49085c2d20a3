"""Errors that carry their meaning.

Each class knows its HTTP status, its stable `code`, and the WebSocket close code that ends a
connection it stops; `web.middleware` renders them as an HTML page or JSON, and
`server.live.signalling` as an `error` message (and a close, when the connection cannot go
on). Messages are zh-CN first with the English after a slash, and say what to do next.
"""

from __future__ import annotations

from enum import IntEnum


class CloseCode(IntEnum):
    """WebSocket close codes (4000–4999 are the application's; docs/protocol.md)."""

    MALFORMED_LINK = 4000
    FORGED = 4001
    EXPIRED = 4002
    REVOKED = 4003
    WRONG_INSPECTION = 4004
    ENDED = 4005
    REMOVED = 4006
    DENIED = 4007
    REPLACED = 4008
    BAD_VERSION = 4009
    IDLE = 4010
    NO_HELLO = 4011
    INTERRUPTED = 4012
    TOO_MANY = 4029
    MOVED = 4030  # the room is on another node: the `moved` message said where
    SHUTDOWN = 4050


class KanyanError(Exception):
    """Base class. `code` is the stable machine name used in JSON and the protocol."""

    status = 500
    code = "internal"
    # When this error ends a WebSocket (at the handshake), the close code the client gets.
    close_code: int = CloseCode.NO_HELLO
    # Headers the HTTP answer carries (a protocol's own, e.g. tus's Tus-Version).
    headers: dict[str, str] | None = None

    def __init__(self, message: str, *, code: str | None = None, details: object = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details


class ConfigError(KanyanError):
    """The configuration or the catalog is invalid; Kanyan refuses to start."""

    code = "config"


class UserError(KanyanError):
    """The request cannot be done in the current state; the user can correct it."""

    status = 409
    code = "conflict"


class BadRequest(KanyanError):
    """Malformed or invalid input."""

    status = 400
    code = "bad_request"


class UnsupportedMediaType(BadRequest):
    status = 415
    code = "unsupported_media_type"


class ProtocolError(BadRequest):
    """A WebSocket message that does not follow docs/protocol.md."""

    code = "protocol"


class NotAuthenticated(KanyanError):
    status = 401
    code = "not_authenticated"


class NotAuthorised(KanyanError):
    """The caller's role does not allow this."""

    status = 403
    code = "forbidden"


class NotFound(KanyanError):
    status = 404
    code = "not_found"


class LinkError(KanyanError):
    """A personal link that cannot be used. `code` says why; `close_code` ends a WebSocket."""

    status = 403
    close_code: int = CloseCode.REVOKED

    def __init__(self, message: str, *, code: str, status: int, close_code: int) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.close_code = close_code


class StorageError(KanyanError):
    """The archive or the recordings directory could not be written."""

    status = 507
    code = "storage"


class SessionEnded(UserError):
    """The inspection's session is over: nobody joins it any more."""

    code = "ended"
    close_code = CloseCode.ENDED


class Archived(UserError):
    """The case is archived: nothing of it changes any more."""

    code = "archived"


class SessionInterrupted(UserError):
    """The host interrupted the session (中止); the same link opens the next one."""

    code = "interrupted"
    close_code = CloseCode.INTERRUPTED


class Removed(NotAuthorised):
    """The host removed this person; their link no longer opens the room."""

    code = "removed"
    close_code = CloseCode.REMOVED


class Denied(NotAuthorised):
    """The host did not let this person in; the denial holds until the host admits them."""

    code = "denied"
    close_code = CloseCode.DENIED

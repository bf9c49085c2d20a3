"""The WebSocket at /ws: handshake, message loop, and the browser participant.

Hygiene first: the origin is checked before the upgrade, messages are size-capped, a silent
connection is pinged after `ping_after_s` and dropped after `drop_after_s`, and a link that
reconnects too often is refused for a while. Every fault in a message becomes an `error` reply
(docs/protocol.md) and the room carries on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict, deque
from typing import Any, Protocol
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from ..cases.links import LinkGrant, Links
from ..config import Settings
from ..errors import CloseCode, KanyanError, LinkError, ProtocolError
from . import protocol
from .ice import ice_servers
from .media import MediaHub, Publication
from .peer import Peer
from .registry import RoomService
from .room import PERMISSIONS, Action, Role
from .rooms import LiveRoom

log = logging.getLogger(__name__)

RECONNECT_WINDOW_S = 10.0
RECONNECTS_PER_WINDOW = 20


class ReconnectLimiter:
    """At most RECONNECTS_PER_WINDOW connections per link per window."""

    def __init__(self) -> None:
        self._seen: dict[int, deque[float]] = defaultdict(deque)

    def allow(self, invitee_id: int) -> bool:
        now = time.monotonic()
        seen = self._seen[invitee_id]
        while seen and now - seen[0] > RECONNECT_WINDOW_S:
            seen.popleft()
        if len(seen) >= RECONNECTS_PER_WINDOW:
            return False
        seen.append(now)
        return True


class Nodes(Protocol):
    """The province's other media nodes (server/cluster), as the signalling needs them."""

    async def home(self, inspection_id: int) -> str | None:
        """The address of the node holding this room; None: this one."""
        ...

    def origins(self) -> set[str]: ...

    def addresses(self) -> list[str]: ...


def origin_allowed(
    request: web.Request, settings: Settings, also: set[str] | frozenset[str] = frozenset()
) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True  # not a browser: no ambient credentials to abuse, the token decides
    own = f"{request.scheme}://{request.host}"
    allowed = {own, *settings.server.allowed_origins, *also}
    if settings.server.public_url:
        parts = urlsplit(settings.server.public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    return origin in allowed


class BrowserParticipant:
    """A person in a browser: a WebSocket for signalling and a Peer for media."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        grant: LinkGrant,
        settings: Settings,
        *,
        address: str = "",
        agent: str = "",
        nodes: list[str] | None = None,
    ) -> None:
        self.ws = ws
        self.nodes = nodes or []  # where the page may reconnect to (a province's nodes)
        self.address = address  # the page's address and browser, for the applicant's
        self.agent = agent  # confirmation of the conclusion
        self.grant = grant
        self.settings = settings
        self.id = grant.invitee.id
        self.role = Role(grant.invitee.role)
        self.name = grant.invitee.name
        self.peer: Peer | None = None
        self.room: LiveRoom | None = None
        self.deliberate = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, message: dict[str, Any]) -> None:
        if self.ws.closed:
            return
        try:
            await self.ws.send_str(protocol.encode(message))
        except (ConnectionError, RuntimeError):
            pass  # the connection is going away; its own loop will notice

    async def close(self, code: int, reason: str) -> None:
        if not self.ws.closed:
            await self.ws.close(code=code, message=reason.encode()[:120])
        await self._close_peer()

    async def enter(self, hub: MediaHub) -> None:
        if self.peer is not None:
            return
        self.peer = Peer(self.id, hub, self.settings, self.send, self._media_failed)
        self.peer.start()

    async def follow(self, publications: list[Publication]) -> None:
        if self.peer is not None and not self.peer.closed:
            await self.peer.subscribe(publications)

    def _media_failed(self) -> None:
        # ICE failed or the browser never answered: make it reconnect from scratch,
        # which is also the only way to survive a network change (no ICE restart in aiortc).
        log.info("media failed for participant %s; asking it to reconnect", self.id)
        task = asyncio.ensure_future(self.close(CloseCode.SHUTDOWN, "media failed, reconnect"))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_peer(self) -> None:
        if self.peer is not None:
            peer, self.peer = self.peer, None
            await peer.close()

    def welcome(self) -> dict[str, Any]:
        case, inspection = self.grant.case, self.grant.inspection
        kbps = (
            self.settings.media.applicant_video_kbps
            if self.role == Role.APPLICANT
            else self.settings.media.staff_video_kbps
        )
        message = protocol.welcome(
            you={"id": self.id, "name": self.name, "role": str(self.role)},
            inspection={
                "id": inspection.id,
                "case_no": case.case_no,
                "item_name": case.item_name,
                "applicant": case.applicant_name,
                "scheduled_at": inspection.scheduled_at,
            },
            permissions=sorted(str(a) for a in PERMISSIONS[self.role]),
            ice_servers=ice_servers(self.settings, f"kanyan-{self.id}"),
            video_kbps=kbps,
            heartbeat={
                "ping_after_s": self.settings.signalling.ping_after_s,
                "drop_after_s": self.settings.signalling.drop_after_s,
            },
        )
        if self.nodes:
            message["nodes"] = self.nodes
        return message

    # -- the message loop ---------------------------------------------------------------------

    async def serve(self, room: LiveRoom) -> None:
        self.room = room
        settings = self.settings.signalling
        last_heard = time.monotonic()
        while not self.ws.closed:
            try:
                msg = await self.ws.receive(timeout=settings.ping_after_s)
            except TimeoutError:
                if time.monotonic() - last_heard >= settings.drop_after_s:
                    await self.close(CloseCode.IDLE, "no message for too long")
                    return
                await self.send(protocol.ping())
                continue
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return
            last_heard = time.monotonic()
            if msg.type != WSMsgType.TEXT:
                await self.send(protocol.error("binary", "只接受文本消息 / text messages only"))
                continue
            data = msg.data
            if (
                len(data) * 4 > settings.max_message_bytes  # UTF-8: ≤ 4 bytes a character
                and len(data.encode()) > settings.max_message_bytes
            ):
                await self.send(
                    protocol.error(
                        "too_large",
                        f"消息过大 / message larger than {settings.max_message_bytes} bytes",
                    )
                )
                continue
            ref = None
            try:
                message = protocol.parse(data)
                ref = message.type
                await self.dispatch(room, message)
            except KanyanError as exc:
                await self.send(protocol.error(exc.code, exc.message, ref))
            except Exception:
                log.exception("participant %s: message failed", self.id)
                await self.send(protocol.error("internal", "服务器内部错误 / internal error", ref))

    async def dispatch(self, room: LiveRoom, message: protocol.Message) -> None:
        kind = message.type
        if kind == "ping":
            await self.send(protocol.pong())
        elif kind == "pong":
            pass
        elif kind == "hello":
            raise ProtocolError("已经握手 / hello was already received", code="already_greeted")
        elif kind in ("answer", "candidate"):
            room.room.require(self.id, Action.PUBLISH)  # nobody negotiates media from the lobby
            if self.peer is None:
                raise ProtocolError("没有媒体连接 / no media connection", code="no_peer")
            if kind == "answer":
                await self.peer.accept_answer(message["sdp"])
            else:
                await self.peer.add_candidate(
                    message["candidate"], message["sdpMid"], message["sdpMLineIndex"]
                )
        elif kind == "admit":
            await room.admit(self.id, message["participant"])
        elif kind == "deny":
            await room.deny(self.id, message["participant"])
        elif kind == "remove":
            await room.remove(self.id, message["participant"])
        elif kind == "start":
            await room.start(self.id)
        elif kind == "end":
            await room.end(self.id)
        elif kind == "media":
            await room.set_media(self.id, message["audio"], message["video"])
        elif kind == "leave":
            self.deliberate = True
            await self.close(1000, "left")
        elif kind == "screenshot":
            await room.screenshot(self.id, message["participant"], message["note"])
        elif kind == "current":
            await room.outcome.set_current(self.id, message["item"])
        elif kind == "mark":
            await room.outcome.mark(self.id, message["item"], message["verdict"], message["note"])
        elif kind == "move_screenshot":
            await room.outcome.move_screenshot(self.id, message["screenshot"], message["item"])
        elif kind == "note":
            await room.outcome.note(self.id, message["text"], message["item"])
        elif kind == "conclude":
            await room.outcome.conclude(
                self.id,
                message["verdict"],
                message["reasons"],
                message["deadline"],
                message["rectifications"],
            )
        elif kind == "interrupt":
            await room.interrupt(self.id, message["reason"])
        elif kind == "device":
            await room.set_device(self.id, message.fields)
        elif kind == "camera_request":
            await room.ask_camera(self.id, message["participant"], message["what"])
        elif kind == "confirm":
            await room.outcome.confirm(
                self.id,
                message["accepted"],
                message["note"],
                address=self.address,
                agent=self.agent,
            )


async def receive_hello(ws: web.WebSocketResponse, settings: Settings) -> protocol.Message:
    try:
        msg = await ws.receive(timeout=settings.signalling.hello_timeout_s)
    except TimeoutError:
        raise LinkError(
            "未收到握手消息 / no hello received",
            code="no_hello",
            status=400,
            close_code=CloseCode.NO_HELLO,
        ) from None
    if msg.type != WSMsgType.TEXT:
        raise LinkError(
            "握手消息无效 / invalid hello",
            code="no_hello",
            status=400,
            close_code=CloseCode.NO_HELLO,
        )
    message = protocol.parse(msg.data)
    if message.type != "hello":
        raise LinkError(
            "第一条消息必须是 hello / the first message must be hello",
            code="no_hello",
            status=400,
            close_code=CloseCode.NO_HELLO,
        )
    if message["version"] != protocol.VERSION:
        raise LinkError(
            f"协议版本不受支持，请刷新页面 / protocol version {message['version']} is not "
            f"supported (server speaks {protocol.VERSION}); reload the page",
            code="bad_version",
            status=400,
            close_code=CloseCode.BAD_VERSION,
        )
    return message


async def handle(
    request: web.Request,
    *,
    settings: Settings,
    links: Links,
    rooms: RoomService,
    limiter: ReconnectLimiter,
    nodes: Nodes | None = None,
) -> web.WebSocketResponse:
    if not origin_allowed(request, settings, nodes.origins() if nodes else frozenset()):
        raise web.HTTPForbidden(text="cross-origin WebSocket refused")
    ws = web.WebSocketResponse(
        max_msg_size=4 * settings.signalling.max_message_bytes, autoping=True
    )
    await ws.prepare(request)
    participant: BrowserParticipant | None = None
    room: LiveRoom | None = None
    try:
        hello = await receive_hello(ws, settings)
        grant = await links.authorise(hello["token"], hello["inspection"])
        if not limiter.allow(grant.invitee.id):
            raise LinkError(
                "重连过于频繁，请稍候再试 / too many reconnects; wait a few seconds",
                code="too_many_reconnects",
                status=429,
                close_code=CloseCode.TOO_MANY,
            )
        home = await nodes.home(grant.inspection.id) if nodes is not None else None
        if home is not None:
            # The room lives on another node: browsers do not follow a WebSocket's redirect,
            # so the page is told where to go, and goes at once.
            url = urlsplit(home)
            moved = f"{'wss' if url.scheme == 'https' else 'ws'}://{url.netloc}/ws"
            await ws.send_str(protocol.encode(protocol.moved(moved)))
            await ws.close(code=CloseCode.MOVED, message=b"moved")
            return ws
        participant = BrowserParticipant(
            ws,
            grant,
            settings,
            address=request.remote or "",
            agent=request.headers.get("User-Agent", ""),
            nodes=nodes.addresses() if nodes is not None else None,
        )
        room = await rooms.room_for(grant.inspection.id)
        await participant.send(participant.welcome())
        await room.arrive(participant, token=hello["token"])
        await participant.serve(room)
    except KanyanError as exc:
        # A link that cannot be used, or a room that will not take this person: say why and
        # close with the code the error carries (docs/protocol.md).
        if not ws.closed:
            await ws.send_str(protocol.encode(protocol.error(exc.code, exc.message)))
            await ws.close(code=exc.close_code, message=exc.code.encode())
    except ConnectionError:
        pass
    finally:
        if participant is not None:
            if room is not None:
                try:
                    await room.depart(participant, deliberate=participant.deliberate)
                except Exception:
                    log.exception("depart failed")
            await participant.close(1000, "bye")
    return ws

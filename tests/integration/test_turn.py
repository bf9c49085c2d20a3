"""TURN: a participant that can only use relayed candidates gets through a real coturn with the
time-limited credentials the server hands out (coturn's REST scheme)."""

from __future__ import annotations

import shutil
import socket
import subprocess

import pytest

from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.server import make_settings, running_server

TURNSERVER = shutil.which("turnserver")
pytestmark = pytest.mark.skipif(
    TURNSERVER is None,
    reason="coturn not installed (make test installs it: apt-get install coturn)",
)


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def coturn(tmp_path):
    port = free_udp_port()
    secret = "turn-test-secret"
    process = subprocess.Popen(
        [
            TURNSERVER,
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            f"--listening-port={port}",
            "--use-auth-secret",
            f"--static-auth-secret={secret}",
            "--realm=kanyan.test",
            "--no-tls",
            "--no-dtls",
            "--allow-loopback-peers",
            "--no-cli",
            "--min-port=49160",
            "--max-port=49200",
            f"--log-file={tmp_path / 'turn.log'}",
            "--simple-log",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield port, secret
    process.terminate()
    process.wait(timeout=10)


async def relayed_session(tmp_path, port: int, secret: str, timeout: float):
    settings = make_settings(
        tmp_path, ice={"turn_urls": [f"turn:127.0.0.1:{port}?transport=udp"], "turn_secret": secret}
    )
    async with running_server(settings) as server:
        invited = await server.invite("host", "applicant")
        host = RoomClient.of(
            server, invited, "host", video=ColourTrack((200, 30, 30)), audio=ToneTrack(440)
        )
        phone = RoomClient.of(
            server,
            invited,
            "applicant",
            video=ColourTrack((30, 30, 200)),
            audio=ToneTrack(880),
            relay_only=True,
        )
        try:
            await host.connect()
            await host.wait_for(lambda: host.status == "admitted")
            await phone.connect()
            await phone.wait_for(lambda: phone.welcome is not None)
            username = phone.welcome["ice_servers"][0]["username"]
            await host.send({"type": "admit", "participant": phone.id})
            await host.frames_from(phone.id, 10, timeout=timeout)
            candidates = phone.pc.getTransceivers()[
                0
            ].receiver.transport.transport.iceGatherer.getLocalCandidates()
            return username, {c.type for c in candidates}
        finally:
            await host.close()
            await phone.close()


async def test_relay_only_participant_connects_through_coturn(tmp_path, coturn):
    port, secret = coturn
    username, candidate_types = await relayed_session(tmp_path, port, secret, timeout=20)
    assert candidate_types == {"relay"}
    assert username.split(":")[1] == "kanyan-2"  # expiry:user, coturn's REST scheme


async def test_credentials_from_another_secret_are_refused_by_coturn(tmp_path, coturn):
    port, _ = coturn
    with pytest.raises(AssertionError, match="timed out"):
        await relayed_session(tmp_path, port, "not-the-secret", timeout=8)

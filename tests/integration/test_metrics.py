"""/metrics on a real server: what a live room with real aiortc peers shows, who may read it,
and two servers in one process keeping their figures apart."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.server import make_settings, running_server
from tests.support.staff import StaffBrowser, make_account

TOKEN = "metrics-token-0123456789"


async def scrape(base_url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url}/metrics", ssl=False, headers=headers or {}) as response,
    ):
        return response.status, await response.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """(sample name, sorted labels) → value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def metrics_of(base_url: str) -> dict:
    status, text = await scrape(base_url)
    assert status == 200, text
    return samples(text)


async def test_a_live_room_shows_in_the_metrics(server):
    invited = await server.invite("host", "applicant")
    host = RoomClient.of(
        server, invited, "host", video=ColourTrack((200, 40, 40)), audio=ToneTrack(440)
    )
    applicant = RoomClient.of(
        server, invited, "applicant", video=ColourTrack((40, 40, 200)), audio=ToneTrack(880)
    )
    before = await metrics_of(server.base_url)
    assert value(before, "kanyan_rooms", state="open") == 0
    assert value(before, "kanyan_forwarded_frames_total", kind="video") == 0
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted")
        await applicant.connect()
        await host.wait_for(lambda: any(m["status"] == "lobby" for m in host.roster))
        await host.send({"type": "admit", "participant": invited.invitee("applicant").id})
        await applicant.wait_for(lambda: applicant.seen[host.id].frames > 5, timeout=30)
        await host.wait_for(lambda: host.seen[applicant.id].frames > 5, timeout=30)

        found = await metrics_of(server.base_url)
        assert value(found, "kanyan_rooms", state="open") == 1
        assert value(found, "kanyan_participants", role="host", presence="admitted") == 1
        assert value(found, "kanyan_participants", role="applicant", presence="admitted") == 1
        # each of the two receives the other's audio and video; the recorder is no leg
        assert value(found, "kanyan_legs", kind="video") == 2
        assert value(found, "kanyan_legs", kind="audio") == 2
        assert value(found, "kanyan_received_frames_total", kind="video") > 10
        # Packets go out per leg; a video frame counts once its last (marked) packet is sent.
        frames = value(found, "kanyan_forwarded_frames_total", kind="video")
        packets = value(found, "kanyan_forwarded_packets_total", kind="video")
        assert frames >= 10 and packets >= frames
        assert value(found, "kanyan_forwarded_frames_total", kind="audio") == value(
            found, "kanyan_forwarded_packets_total", kind="audio"
        )
        assert value(found, "kanyan_forwarded_bytes_total", kind="audio") > 0
        assert value(found, "kanyan_forwarded_bytes_total", kind="video") > packets
        assert value(found, "kanyan_keyframe_requests_total") >= 1
        assert value(found, "kanyan_forwarding_send_errors_total") == 0
        # Audio never waits for a keyframe.
        assert (
            value(
                found,
                "kanyan_forwarding_dropped_packets_total",
                kind="audio",
                reason="keyframe_wait",
            )
            == 0
        )
        assert value(found, "kanyan_event_loop_lag_seconds_count") > 0
        assert value(found, "kanyan_outbox_messages", state="pending") >= 0
        assert value(found, "kanyan_logins_refused_total", reason="throttled") == 0
        assert value(found, "process_resident_memory_bytes") > 0
        assert value(found, "kanyan_recordings_active") == 0

        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live")
        for _ in range(600):  # the recorder process starts: up to a minute on a busy machine
            found = await metrics_of(server.base_url)
            if value(found, "kanyan_recordings_active") == 1:
                break
            await asyncio.sleep(0.1)
        assert value(found, "kanyan_rooms", state="live") == 1
        assert value(found, "kanyan_recordings_active") == 1
        assert value(found, "kanyan_recording_segments_total") == 1
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", timeout=60)
        for _ in range(900):
            found = await metrics_of(server.base_url)
            if value(found, "kanyan_recordings_active") == 0:
                break
            await asyncio.sleep(0.1)
        assert value(found, "kanyan_recordings_active") == 0
        assert value(found, "kanyan_recording_failed_segments_total") == 0
        assert value(found, "kanyan_recorder_dropped_frames_total") == 0
        assert value(found, "kanyan_rooms", state="open") == 0
        # The room is gone with its legs; what they forwarded still counts.
        assert value(found, "kanyan_legs", kind="video") == 0
        assert value(found, "kanyan_forwarded_packets_total", kind="video") >= packets
        assert value(found, "kanyan_forwarded_frames_total", kind="video") >= frames
    finally:
        for client in (host, applicant):
            await client.close()


async def test_refused_logins_are_counted(server):
    await make_account(server.archive, "zhangsan", "inspector")
    async with StaffBrowser(server.base_url) as tab:
        refused = await tab.login("zhangsan", "not the password")
        assert refused.status == 401
        await tab.login("nobody", "whatever")
        ok = await tab.login("zhangsan")
        assert ok.status in (200, 303)
    found = await metrics_of(server.base_url)
    assert value(found, "kanyan_logins_refused_total", reason="wrong_password") == 2
    assert value(found, "kanyan_logins_refused_total", reason="throttled") == 0


async def test_only_allowed_addresses_or_the_token_read_the_metrics(tmp_path):
    # Loopback is not allowed here: only the token opens it.
    settings = make_settings(
        tmp_path, metrics={"allowed_addresses": ["192.0.2.0/24"], "token": TOKEN}
    )
    async with running_server(settings) as server:
        status, _ = await scrape(server.base_url)
        assert status == 404
        status, _ = await scrape(server.base_url, {"Authorization": "Bearer wrong-token-000000"})
        assert status == 403
        status, _ = await scrape(server.base_url, {"Authorization": f"Basic {TOKEN}"})
        assert status == 403
        status, text = await scrape(server.base_url, {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert "kanyan_rooms" in text


async def test_loopback_reads_by_default_but_not_through_a_proxy(server):
    status, text = await scrape(server.base_url)
    assert status == 200 and "kanyan_event_loop_lag_seconds_bucket" in text
    status, _ = await scrape(server.base_url, {"X-Forwarded-For": "203.0.113.9"})
    assert status == 404
    status, _ = await scrape(server.base_url, {"Forwarded": "for=203.0.113.9"})
    assert status == 404
    # No token configured: no bearer token opens it either.
    status, _ = await scrape(server.base_url, {"Authorization": "Bearer anything-at-all-xx"})
    assert status == 403


async def test_disabled_metrics_are_not_there(tmp_path):
    settings = make_settings(tmp_path, metrics={"enabled": False, "token": TOKEN})
    async with running_server(settings) as server:
        assert (await scrape(server.base_url))[0] == 404
        assert (await scrape(server.base_url, {"Authorization": f"Bearer {TOKEN}"}))[0] == 404


async def test_two_servers_in_one_process_keep_their_own_figures(tmp_path):
    first = make_settings(tmp_path / "a")
    second = make_settings(tmp_path / "b")
    async with running_server(first) as one, running_server(second) as two:
        invited = await one.invite("host")
        host = RoomClient.of(one, invited, "host", video=ColourTrack((9, 9, 9)))
        try:
            await host.connect()
            await host.wait_for(lambda: host.status == "admitted")
            assert value(await metrics_of(one.base_url), "kanyan_rooms", state="open") == 1
            assert value(await metrics_of(two.base_url), "kanyan_rooms", state="open") == 0
        finally:
            await host.close()


@pytest.mark.parametrize(
    ("remote", "headers", "expected"),
    [
        ("127.0.0.1", {}, 200),
        ("::1", {}, 200),
        ("::ffff:127.0.0.1", {}, 200),
        ("10.1.2.3", {}, 200),
        ("10.1.2.3", {"X-Forwarded-For": "127.0.0.1"}, 404),
        ("198.51.100.7", {}, 404),
        ("198.51.100.7", {"Authorization": f"Bearer {TOKEN}"}, 200),
        ("198.51.100.7", {"Authorization": f"bearer {TOKEN}"}, 200),
        ("198.51.100.7", {"Authorization": f"Bearer {TOKEN}x"}, 403),
        ("127.0.0.1", {"Authorization": "Bearer nope"}, 403),
        (None, {}, 404),
        ("not an address", {}, 404),
    ],
)
def test_who_may_read(remote, headers, expected):
    from server.config import MetricsSettings
    from server.ops.metrics import may_read

    settings = MetricsSettings(allowed_addresses=["127.0.0.1", "::1", "10.0.0.0/8"], token=TOKEN)
    assert may_read(settings, remote, headers) == expected

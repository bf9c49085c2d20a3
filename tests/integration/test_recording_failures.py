"""When recording goes wrong the inspection goes on: a dead recorder is replaced, a full disk
is reported and recording resumes when there is room again, and the event log says what is
missing."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from recorder import files
from server.clock import parse
from server.services import ROOMS
from tests.integration.test_forwarding import three_in_room
from tests.support.recordings import decode, wait_recordings
from tests.support.server import make_settings, running_server


def notices(client, code: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in client.messages if m["type"] == "notice" and m.get("code") == code]


async def test_killed_recorder_is_replaced_by_a_new_segment(server):
    invited, host, clerk, applicant = await three_in_room(server, small=True)
    try:
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        recorder = server.app[ROOMS].get(invited.inspection.id).recorder
        await asyncio.sleep(3)
        first = recorder._process.pid
        # A stalled recorder does not stall the room, and catches up when it can run again.
        os.kill(first, signal.SIGSTOP)
        try:
            await host.frames_from(applicant.id, 30)
        finally:
            os.kill(first, signal.SIGCONT)
        await asyncio.sleep(2)
        killed_at = time.time()
        os.kill(first, signal.SIGKILL)
        await host.wait_for(lambda: notices(host, "recording_interrupted"), what="the host is told")
        # The room goes on: media still flows.
        await host.frames_from(applicant.id, 15)
        await host.wait_for(
            lambda: recorder.segment.number == 2 and recorder.status == "recording",
            what="a new segment",
        )
        assert recorder._process.pid != first
        assert [m["state"] for m in host.messages if m["type"] == "recording"][-2:] == [
            "interrupted",
            "recording",
        ]
        await asyncio.sleep(3)
        await host.end_session()
        rows = await wait_recordings(server.archive, invited.inspection.id)
    finally:
        for client in (host, clerk, applicant):
            await client.close()

    composites = sorted((r for r in rows if r.kind == "composite"), key=lambda r: r.segment)
    assert [(r.segment, r.state) for r in composites] == [(1, "interrupted"), (2, "finished")]
    interrupted, finished = composites
    root = server.settings.recordings_dir
    recovered = files.resolve_inside(root, interrupted.path)
    original = files.resolve_inside(root, interrupted.original_path)
    assert files.RECOVERED_MARK in recovered.name and original.exists()  # the original is kept
    assert files.sha256_file(recovered) == interrupted.sha256
    assert files.sha256_file(original) == interrupted.original_sha256
    # Everything up to about a second before the kill, the stall included, is in segment 1.
    started = parse(interrupted.started_at).timestamp()
    assert started + interrupted.duration_s >= killed_at - 2.0
    assert abs(decode(recovered).duration - interrupted.duration_s) < 0.2
    assert decode(files.resolve_inside(root, finished.path)).duration >= 2.5
    # Raw tracks of the dead segment were recovered too.
    assert all(r.state in ("finished", "interrupted") for r in rows)

    events = await server.archive.events.find(inspection_id=invited.inspection.id)
    types = [e.type for e in events]
    assert "recording.failed" in types and "recording.interrupted" in types
    gap = next(e for e in events if e.type == "recording.gap")
    assert gap.data["reason"] == "recorder_died" and 0 <= gap.data["seconds"] < 5
    assert gap.data["end"] == finished.started_at


# fault: (mount options at start, what mends it mid-session, the error logged). A mount cannot
# turn read-only under files open for writing, so the read-only disk is read-only from the start.
FAULTS = {
    "full": ("size=1m", "remount,size=64m", "ENOSPC: No space left on device"),
    "read-only": ("size=64m,ro", "remount,rw", "EROFS: Read-only file system"),
}


@pytest.fixture(params=list(FAULTS))
def broken_recordings(request, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A small filesystem for the recordings that fills up or turns read-only (as root)."""
    options, *_ = FAULTS[request.param]
    mount_point = tmp_path / "recordings"
    mount_point.mkdir()
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"{options},mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {result.stderr.strip()}")
    try:
        yield mount_point, *FAULTS[request.param][1:]
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def mount_point_was_full(error: str) -> bool:
    return error.startswith("ENOSPC")


async def mount_option(mount_point: Path, option: str) -> None:
    process = await asyncio.create_subprocess_exec("mount", "-o", option, str(mount_point))
    assert await process.wait() == 0


async def test_full_or_unwritable_disk_is_reported_and_the_session_goes_on(
    broken_recordings, tmp_path
):
    mount_point, mends, error = broken_recordings
    settings = make_settings(tmp_path)
    assert settings.recordings_dir == mount_point
    async with running_server(settings) as server:
        invited, host, clerk, applicant = await three_in_room(server, small=True)
        try:
            await host.send({"type": "start"})
            await host.wait_for(lambda: host.state == "live", what="live")
            await host.wait_for(
                lambda: notices(host, "storage_full"), timeout=40, what="the host is told"
            )
            # The session goes on: media still flows, the host can still act.
            await host.frames_from(applicant.id, 15)
            # The disk is mended (space freed, writable again): recording comes back by itself.
            await mount_option(mount_point, mends)
            await host.wait_for(
                lambda: notices(host, "recording_resumed"), timeout=40, what="recording resumes"
            )
            await asyncio.sleep(2)
            await host.end_session()
            await host.wait_for(lambda: host.state == "ended", what="ended")
            rows = await wait_recordings(server.archive, invited.inspection.id)
        finally:
            for client in (host, clerk, applicant):
                await client.close()
        events = await server.archive.events.find(inspection_id=invited.inspection.id)

    composites = sorted((r for r in rows if r.kind == "composite"), key=lambda r: r.segment)
    if mount_point_was_full(error):
        # The first file was cut when the disk filled: kept up to there, marked as such.
        assert composites[0].segment == 1 and composites[0].state in ("interrupted", "failed")
    else:
        # Read-only from the start: nothing could be created until it was mended.
        assert all(r.state == "finished" for r in rows), rows
    failed = [e for e in events if e.type == "recording.storage_failed"]
    assert len(failed) == 1  # told once, not at every retry
    assert failed[0].data["error"] == error
    assert "could not be kept" in failed[0].data["what"]
    resumed = composites[-1]
    assert resumed.state == "finished"
    assert resumed.segment > 1 if mount_point_was_full(error) else len(composites) == 1
    gap = next(e for e in events if e.type == "recording.gap")
    assert gap.data["reason"] == "storage"
    assert gap.data["start"] == failed[0].data["lost_from"]
    assert gap.data["end"] == resumed.started_at and gap.data["seconds"] > 0


async def test_a_recorder_that_falls_far_behind_costs_frames_not_the_room(tmp_path: Path):
    """Feeding never blocks and never buffers without bound: past the backlog limit frames
    are dropped, counted, and reported once."""
    from recorder.overlay import find_cjk_font
    from recorder.process import RecorderProcess
    from server.live.media import EncodedFrame

    async def ignore(event: dict) -> None:
        pass

    composite = files.create_exclusive(tmp_path / "x.recording.mp4")
    process = RecorderProcess(ignore, max_backlog=256 * 1024)
    overflows = []
    process.on_overflow = lambda: overflows.append(time.time())
    await process.start(
        {
            "composite": str(composite),
            "segment": 1,
            "t0": time.time(),
            "root": str(tmp_path),
            "dir": str(tmp_path),
            "font": str(find_cjk_font()),
            "case_no": "KY",
            "item_name": "x",
            "preset": "ultrafast",
            "crf": 30,
        }
    )
    os.kill(process.pid, signal.SIGSTOP)  # a recorder that gets no CPU at all
    try:
        for index in range(1000):
            started = time.perf_counter()
            process.push(
                EncodedFrame("video", bytes(2000), index * 6000, False, time.time(), (1, 1))
            )
            assert time.perf_counter() - started < 0.05  # never blocks
            if index % 20 == 0:
                await asyncio.sleep(0)
        assert process.dropped > 0 and len(overflows) == 1
        assert process.backlog() < 256 * 1024 + 2 * 2100
    finally:
        process.kill()  # SIGKILL ends a stopped process too
        await process.wait()

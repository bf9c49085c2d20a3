"""A crash of the server loses at most the last two seconds of the recording."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil

from recorder import files
from server.archive import ArchiveStore
from server.clock import parse
from tests.integration.test_forwarding import admit
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.recordings import decode
from tests.support.server import ROOT, ServerProcess, archive_at, write_config


def client_for(server: ServerProcess, role: str, **tracks) -> RoomClient:  # type: ignore[no-untyped-def]
    path = urlsplit(server.links()[role]).path  # /room/<inspection>/<token>
    _, _, inspection, token = path.split("/")
    return RoomClient(server.base_url, int(inspection), token, observe=False, **tracks)


def recorder_workers(pid: int) -> list[psutil.Process]:
    return [
        p
        for p in psutil.Process(pid).children(recursive=True)
        if "recorder.worker" in " ".join(p.cmdline())
    ]


async def test_kill_9_of_the_server_keeps_the_recording_up_to_two_seconds_before(tmp_path):
    config = write_config(tmp_path, demo={"enabled": True})
    server = ServerProcess(config, tmp_path).start()
    host = client_for(server, "host", video=ColourTrack((220, 30, 30), 320, 240))
    applicant = client_for(
        server, "applicant", video=ColourTrack((40, 60, 230)), audio=ToneTrack(880)
    )
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted", what="host seated")
        await applicant.connect()
        await applicant.wait_for(lambda: applicant.welcome is not None, what="welcome")
        await admit(host, applicant)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await asyncio.sleep(7)
        workers = recorder_workers(server.proc.pid)
        assert len(workers) == 1
        killed_at = time.time()
        server.kill(signal.SIGKILL)  # the whole process group, as an OOM kill or power cut would
        _, alive = psutil.wait_procs(workers, timeout=10)
        assert not alive  # nothing left to finalise the files behind the test's back
    finally:
        for client in (host, applicant):
            await client.die()
        server.stop()

    restarted = ServerProcess(config, tmp_path).start()  # recovery runs before it serves
    back = client_for(restarted, "host", video=ColourTrack((220, 30, 30), 320, 240))
    try:
        # The session is still live: when the host is back, recording goes on in segment 2.
        await back.connect()
        await back.wait_for(
            lambda: any(
                m["type"] == "recording" and m["state"] == "recording" for m in back.messages
            ),
            what="recording again",
        )
        await asyncio.sleep(2)
        await back.end_session()
        await back.wait_for(lambda: back.status == "closed", what="session ended")
    finally:
        await back.close()
        restarted.stop()

    archive = await ArchiveStore.open(archive_at(tmp_path))
    try:
        inspection_id = int(urlsplit(server.links()["host"]).path.split("/")[2])
        rows = await archive.evidence.recordings(inspection_id)
        events = await archive.events.find(inspection_id=inspection_id)
    finally:
        await archive.close()
    composite = next(r for r in rows if r.kind == "composite" and r.segment == 1)
    assert composite.state == "interrupted", composite
    assert all(r.state == "interrupted" for r in rows if r.segment == 1)
    resumed = next(r for r in rows if r.kind == "composite" and r.segment == 2)
    assert resumed.state == "finished" and resumed.duration_s >= 1.5
    recorded_until = parse(composite.started_at).timestamp() + composite.duration_s
    assert recorded_until >= killed_at - 2.0, killed_at - recorded_until

    root = tmp_path / "recordings"
    recovered = files.resolve_inside(root, composite.path)
    original = files.resolve_inside(root, composite.original_path)
    assert files.RECOVERED_MARK in recovered.name and files.TEMP_MARK in original.name
    assert files.sha256_file(recovered) == composite.sha256
    assert files.sha256_file(original) == composite.original_sha256
    video = decode(recovered)
    assert (video.width, video.height) == (1280, 720)
    assert abs(video.duration - composite.duration_s) < 0.2
    assert len(video.times) == composite.frames
    interrupted = [e for e in events if e.type == "recording.interrupted"]
    assert len(interrupted) == len([r for r in rows if r.segment == 1])
    assert "the server stopped while recording" in interrupted[0].data["why"]
    gap = next(e for e in events if e.type == "recording.gap")
    assert gap.data["reason"] == "server_restarted"
    assert abs(parse(gap.data["start"]).timestamp() - recorded_until) < 0.01
    assert gap.data["end"] == resumed.started_at


def test_the_recorder_dies_with_its_server(tmp_path: Path):
    """PR_SET_PDEATHSIG: killing only the server's process kills its recorder too, so no
    recorder can finalise a file behind anyone's back."""
    composite = tmp_path / "x.recording.mp4"
    composite.touch()
    parent = textwrap.dedent(
        f"""
        import asyncio, sys
        sys.path.insert(0, {str(ROOT)!r})
        from recorder.process import RecorderProcess

        async def main():
            async def ignore(event):
                pass
            process = RecorderProcess(ignore)
            await process.start({{
                "composite": {str(composite)!r}, "segment": 1, "t0": 0.0,
                "root": {str(tmp_path)!r}, "dir": {str(tmp_path)!r},
                "font": "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                "case_no": "KY", "item_name": "x", "preset": "ultrafast", "crf": 30,
            }})
            print(process.pid, flush=True)
            await asyncio.sleep(60)

        asyncio.run(main())
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", parent], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        worker = psutil.Process(int(proc.stdout.readline()))
        assert worker.is_running()
        proc.kill()  # the server process only, not its group
        proc.wait()
        worker.wait(timeout=10)  # raises TimeoutExpired if it outlived its server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


async def test_an_unregistered_unfinished_file_is_found_and_recovered_at_start(server, tmp_path):
    """The server died after the recorder created a raw track but before it was registered."""
    from recorder.recovery import recover_orphans
    from recorder.writer import RawTrackWriter

    invited = await server.invite("host")
    root = server.settings.recordings_dir
    directory = files.inspection_dir(root, "KY2026-000001", invited.inspection.id)
    orphan = files.create_exclusive(
        directory / files.temp_path(Path(files.raw_name(1795737599, 1, 7, "host", "audio")))
    )
    writer = RawTrackWriter(orphan, "audio")
    packet = bytes([0xFC, 0xFF, 0xFE])  # an Opus frame: 20 ms of silence
    for index in range(100):
        writer.write(packet, index * 20, False)
    writer.close()
    (directory / "notes.txt").write_text("not a recording")

    recovered = await recover_orphans(server.archive, root)
    assert len(recovered) == 1
    row = recovered[0]
    assert (row.kind, row.participant_id, row.track, row.segment) == ("raw", 7, "audio", 1)
    assert row.state == "interrupted" and row.original_path == files.relative(root, orphan)
    assert 1.5 < row.duration_s < 2.5
    assert files.sha256_file(files.resolve_inside(root, row.path)) == row.sha256
    assert await recover_orphans(server.archive, root) == []  # known now, original included


async def test_stopping_the_server_finalises_the_recording(tmp_path):
    """Ctrl-C or `systemctl stop` signal the whole process group: the server finishes every
    recording before it exits, and the recorder does not die of the signal first."""
    config = write_config(tmp_path, demo={"enabled": True})
    server = ServerProcess(config, tmp_path).start()
    host = client_for(server, "host", video=ColourTrack((220, 30, 30), 320, 240))
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted", what="host seated")
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await asyncio.sleep(3)
        stopped_at = time.time()
        server.kill(signal.SIGINT)  # what Ctrl-C in the terminal of `make run` sends
    finally:
        await host.die()
        server.stop()
    archive = await ArchiveStore.open(archive_at(tmp_path))
    try:
        inspection_id = int(urlsplit(server.links()["host"]).path.split("/")[2])
        rows = await archive.evidence.recordings(inspection_id)
    finally:
        await archive.close()
    assert rows and all(r.state == "finished" for r in rows), rows
    composite = next(r for r in rows if r.kind == "composite")
    assert parse(composite.started_at).timestamp() + composite.duration_s >= stopped_at - 0.5
    path = files.resolve_inside(tmp_path / "recordings", composite.path)
    assert files.sha256_file(path) == composite.sha256

"""The watchdogs on the real server, with short settings: a session nobody of the staff attends
is interrupted, and a stuck recorder process is replaced by a new segment, the host told."""

from __future__ import annotations

import os
import signal

from server.services import ROOMS
from tests.integration.test_forwarding import three_in_room
from tests.integration.test_live_revocation import seated
from tests.support.recordings import wait_recordings
from tests.support.server import make_settings, running_server


def notices(client, code: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in client.messages if m["type"] == "notice" and m.get("code") == code]


async def test_a_session_left_without_staff_is_interrupted(tmp_path):
    settings = make_settings(tmp_path, watchdog={"no_staff_s": 1})
    async with running_server(settings) as server:
        invited = await server.invite("host", "applicant")
        host, (applicant,) = await seated(server, invited, "applicant")
        try:
            await host.send({"type": "start"})
            await applicant.wait_for(lambda: applicant.state == "live", what="live")
            await host.close()  # the host leaves; the applicant films on, alone
            await applicant.wait_for(lambda: applicant.status == "closed", what="interrupted")
            assert applicant.close_code == 4012
            assert applicant.state == "interrupted"
            assert "无工作人员在场" in notices(applicant, "unattended")[0]["message"]
        finally:
            await applicant.close()
        inspection = await server.archive.inspections.get(invited.inspection.id)
        assert inspection.state == "interrupted"
        [event] = await server.archive.events.find(
            inspection_id=invited.inspection.id, types=["session.interrupted"]
        )
        assert event.actor == "system:watchdog"
        rows = await wait_recordings(server.archive, invited.inspection.id)
        assert [r.state for r in rows if r.kind == "composite"] == ["finished"]
        assert server.app[ROOMS].get(invited.inspection.id) is None


async def test_a_stuck_recorder_is_killed_and_recording_goes_on_in_a_new_segment(tmp_path):
    settings = make_settings(tmp_path, watchdog={"recorder_silent_s": 5})
    async with running_server(settings) as server:
        invited, host, clerk, applicant = await three_in_room(server, small=True)
        try:
            await host.send({"type": "start"})
            await host.wait_for(lambda: host.state == "live", what="live")
            recorder = server.app[ROOMS].get(invited.inspection.id).recorder
            await host.wait_for(lambda: recorder.status == "recording", what="recording")
            await host.wait_for(
                lambda: recorder.progress.get("duration_s", 0) >= 2, what="two seconds recorded"
            )
            stuck = recorder._process.pid
            os.kill(stuck, signal.SIGSTOP)  # alive, but never to say a word again
            await host.wait_for(
                lambda: notices(host, "recording_interrupted"), 30, what="the host is told"
            )
            await host.wait_for(
                lambda: recorder.segment.number == 2 and recorder.status == "recording",
                30,
                what="a new segment",
            )
            assert recorder._process.pid != stuck
            assert host.status == applicant.status == "admitted"  # nobody else was disturbed
            await host.end_session()
            rows = await wait_recordings(server.archive, invited.inspection.id)
        finally:
            for client in (host, clerk, applicant):
                await client.close()
        composites = sorted((r for r in rows if r.kind == "composite"), key=lambda r: r.segment)
        assert [(r.segment, r.state) for r in composites] == [
            (1, "interrupted"),
            (2, "finished"),
        ]
        types = [
            e.type for e in await server.archive.events.find(inspection_id=invited.inspection.id)
        ]
        assert types.index("recording.stuck") < types.index("recording.failed")

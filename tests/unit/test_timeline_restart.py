"""A server restart on the evidence timeline: the gap says why, the room's return is marked,
and the second segment sits after the gap on the session's clock."""

from __future__ import annotations

from server.cases.timeline import live_timeline
from tests.unit.test_timeline import event, recording


def test_a_restart_gap_and_the_rooms_return_are_on_the_timeline():
    recordings = [
        recording(1, 1, "2026-11-27T02:00:00.000Z", 40.0, state="interrupted"),
        recording(2, 2, "2026-11-27T02:00:46.500Z", 20.0),
    ]
    events = [
        event(
            1,
            "2026-11-27T02:00:46.500Z",
            "recording.gap",
            actor="recorder",
            start="2026-11-27T02:00:40.000Z",
            end="2026-11-27T02:00:46.500Z",
            seconds=6.5,
            reason="server_restarted",
        ),
        event(2, "2026-11-27T02:00:46.400Z", "room.restored", actor="system", seated=[7]),
        event(
            3,
            "2026-11-27T02:00:47.000Z",
            "recording.gap",
            actor="recorder",
            start="2026-11-27T02:00:47.000Z",
            end="2026-11-27T02:00:48.000Z",
            seconds=1,
            reason="something new",
        ),
    ]
    timeline = live_timeline(recordings, events, {7: "王"})
    assert [(s["start"], s["state"]) for s in timeline["segments"]] == [
        (0.0, "interrupted"),
        (46.5, "finished"),
    ]
    by_id = {m["event_id"]: m for m in timeline["markers"]}
    assert by_id[1]["kind"] == "gap" and by_id[1]["at"] == 40.0
    assert by_id[1]["label"] == "录像中断 6 秒（服务器重启）"
    assert by_id[2]["kind"] == "session" and by_id[2]["label"] == "服务器重启后恢复"
    assert by_id[3]["label"] == "录像中断 1 秒"  # an unknown reason is not made up

"""The evidence timeline: events placed on the recording's clock, segments and gaps."""

from __future__ import annotations

from server.archive import Event, Recording
from server.cases.timeline import live_timeline, video_timeline


def recording(id, segment, started, duration, kind="composite", state="finished"):
    return Recording(
        id,
        1,
        1,
        segment,
        kind,
        None,
        None,
        state,
        f"s{segment}.mp4",
        None,
        started,
        None,
        duration,
        1,
        1,
        "x",
        None,
        "",
        started,
    )


def event(id, at, type, actor="7", **data):
    return Event(id, at, type, 1, 1, actor, data, "", "")


def test_events_sit_on_the_first_segments_clock_and_gaps_show():
    recordings = [
        recording(1, 1, "2026-11-27T02:00:00.000Z", 60.0),
        recording(2, 2, "2026-11-27T02:01:30.000Z", 30.0),  # 30 s lost in between
        recording(3, 1, "2026-11-27T02:00:00.000Z", 60.0, kind="raw"),
    ]
    events = [
        event(1, "2026-11-27T01:55:00.000Z", "participant.joined"),  # in the lobby: not shown
        event(
            2, "2026-11-27T02:00:10.000Z", "checklist.marked", seq=2, verdict="conforms", by="李"
        ),
        event(
            3,
            "2026-11-27T02:01:00.000Z",
            "recording.gap",
            actor="recorder",
            start="2026-11-27T02:01:00.000Z",
            end="2026-11-27T02:01:30.000Z",
            seconds=30,
        ),
        event(4, "2026-11-27T02:01:40.000Z", "participant.left", participant=9),
        event(5, "2026-11-27T02:01:50.000Z", "conclusion.pronounced", verdict="rectify", by="张"),
    ]
    timeline = live_timeline(recordings, events, {7: "王", 9: "陈申请"})
    assert [(s["start"], s["duration"]) for s in timeline["segments"]] == [
        (0.0, 60.0),
        (90.0, 30.0),
    ]
    assert timeline["duration"] == 120.0
    by_id = {m["event_id"]: m for m in timeline["markers"]}
    assert 1 not in by_id
    assert by_id[2]["at"] == 10.0 and by_id[2]["label"] == "第 2 项 符合 · 李"
    assert by_id[3]["kind"] == "gap" and by_id[3]["at"] == 60.0 and "30 秒" in by_id[3]["label"]
    assert by_id[4]["at"] == 100.0 and by_id[4]["label"] == "离开 · 陈申请"
    assert by_id[5]["label"] == "宣布结论：整改 · 张"


def test_nothing_recorded_is_an_empty_timeline():
    assert live_timeline([], [event(1, "2026-11-27T02:00:00.000Z", "session.started")], {}) == {
        "segments": [],
        "markers": [],
        "duration": 0.0,
        "zero": None,
    }


def test_a_self_recorded_video_uses_the_instants_reviewers_chose():
    video = recording(8, 0, "2026-11-27T02:00:00.000Z", 42.0, kind="playable")
    events = [
        event(
            1,
            "2026-11-28T02:00:00.000Z",
            "screenshot.taken",
            actor="0",
            recording=8,
            offset_s=12.5,
            screenshot=3,
        ),
        event(
            2,
            "2026-11-28T02:00:05.000Z",
            "checklist.marked",
            actor="staff:li",
            recording=8,
            offset_s=99.0,
            seq=1,
            verdict="verified",
            by="李",
        ),
        event(
            3,
            "2026-11-28T02:00:05.000Z",
            "checklist.marked",
            recording=None,
            seq=1,
            verdict="verified",
        ),  # no instant: not on the timeline
    ]
    timeline = video_timeline(video, events, {})
    assert [(m["at"], m["kind"]) for m in timeline["markers"]] == [
        (12.5, "screenshot"),
        (42.0, "mark"),
    ]
    assert timeline["markers"][0]["screenshot"] == 3


def test_stamps_on_the_original_sit_on_its_playable_copy():
    # An HEVC upload plays as an H.264 copy: reviewers' stamps name the original.
    original = recording(8, 0, "2026-11-27T02:00:00.000Z", 42.0, kind="upload")
    copy = recording(9, 0, "2026-11-27T02:00:00.000Z", 42.0, kind="playable")
    events = [
        event(1, "2026-11-28T02:00:00.000Z", "checklist.current", recording=8, offset_s=3.0, seq=2),
        event(2, "2026-11-28T02:00:01.000Z", "record.entry", recording=7, offset_s=5.0),
    ]
    assert video_timeline(copy, events, {})["markers"] == []
    timeline = video_timeline(copy, events, {}, original=original)
    assert [(m["at"], m["kind"], m["label"]) for m in timeline["markers"]] == [
        (3.0, "current", "核实第 2 项"),
    ]


def test_a_playable_copy_shares_the_uploads_clock():
    # Reviewers' instants name the upload as received; the browser plays its playable copy.
    playable = recording(9, 0, "2026-11-27T02:00:00.000Z", 42.0, kind="playable")
    events = [
        event(1, "2026-11-28T02:00:00.000Z", "screenshot.taken", recording=8, offset_s=3.0),
        event(2, "2026-11-28T02:00:01.000Z", "checklist.marked", recording=7, offset_s=4.0),
    ]
    assert video_timeline(playable, events, {})["markers"] == []
    upload = recording(8, 0, "2026-11-27T02:00:00.000Z", 42.0, kind="upload")
    timeline = video_timeline(playable, events, {}, original=upload)
    assert [(m["event_id"], m["at"]) for m in timeline["markers"]] == [(1, 3.0)]
    assert timeline["segments"][0]["recording_id"] == 9

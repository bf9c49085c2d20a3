"""The automatic checks of a self-recorded video, one generated video per way to fail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server import clock
from server.video.checks import Requirements, Unreadable, check, check_rows, inspect
from tests.support.videos import make_video, two_takes

WANTED = Requirements(min_duration_s=2, min_width=640, min_height=480, max_age_hours=24)


def codes(path, **kwargs) -> list[str]:
    return [f.code for f in check(inspect(path), WANTED, **kwargs)]


def test_a_good_video_passes(tmp_path):
    facts = inspect(make_video(tmp_path / "good.mp4"))
    assert check(facts, WANTED) == []
    assert (facts.width, facts.height) == (640, 480) and facts.browser_playable
    assert 2.9 < facts.duration_s < 3.2 and round(facts.fps) == 15


@pytest.mark.parametrize(
    ("made", "code"),
    [
        (lambda p: make_video(p, seconds=1), "too_short"),
        (lambda p: make_video(p, size=(320, 240)), "too_small"),
        (lambda p: make_video(p, seconds=4, gap=(2, 3)), "timestamp_gap"),
        (lambda p: two_takes(p), "edited"),
        (lambda p: make_video(p, audio=False), "no_audio"),
    ],
)
def test_each_failure_has_its_own_code_and_message(tmp_path, made, code):
    path = made(tmp_path / "v.mp4")
    failures = check(inspect(path), WANTED)
    assert [f.code for f in failures] == [code]
    assert failures[0].message and "请" in failures[0].message  # says what to do next


def test_a_portrait_phone_video_passes_after_its_rotation(tmp_path):
    facts = inspect(make_video(tmp_path / "portrait.mp4", size=(640, 480), rotation=90))
    assert facts.rotation in (90, 270) and (facts.width, facts.height) == (480, 640)
    assert check(facts, WANTED) == []


def test_a_gap_names_where_it_is(tmp_path):
    [failure] = check(inspect(make_video(tmp_path / "g.mp4", seconds=4, gap=(2, 3))), WANTED)
    assert "第 2 秒" in failure.message and "3.0 秒" in failure.message


def test_not_a_video_and_a_cut_file(tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is a text file pretending")
    with pytest.raises(Unreadable):
        inspect(junk)
    whole = make_video(tmp_path / "whole.mp4", seconds=4, faststart=True).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole[: len(whole) // 2])
    assert "truncated" in codes(cut)


def test_hevc_reads_and_needs_a_playable_copy(tmp_path):
    facts = inspect(make_video(tmp_path / "hevc.mp4", codec="libx265"))
    assert facts.video_codec == "hevc" and not facts.browser_playable
    assert check(facts, WANTED) == []


def test_creation_time_before_upload_and_not_too_old(tmp_path):
    now = clock.now()
    made = clock.iso(now - timedelta(hours=2))
    fresh = make_video(tmp_path / "fresh.mp4", creation_time=made)
    assert codes(fresh, uploaded_at=now) == []
    old = make_video(tmp_path / "old.mp4", creation_time=clock.iso(now - timedelta(days=3)))
    assert codes(old, uploaded_at=now) == ["too_old"]
    future = make_video(tmp_path / "future.mp4", creation_time=clock.iso(now + timedelta(hours=1)))
    assert codes(future, uploaded_at=now) == ["created_after_upload"]


def test_check_rows_say_what_was_required_found_and_decided():
    wanted = Requirements(60, 1280, 720, 48)
    facts = {
        "container": "mov,mp4,m4a,3gp,3g2,mj2",
        "video_codec": "h264",
        "audio_codec": "aac",
        "width": 720,
        "height": 1280,
        "rotation": 90,
        "duration_s": 75.2,
        "frames": 2256,
        "fps": 30.0,
        "created_at": "2026-11-27T01:00:00.000000Z",
    }
    rows = {row["key"]: row for row in check_rows(facts, [], wanted)}
    assert all(row["passed"] for row in rows.values())
    assert rows["duration"]["required"] == "不少于 60 秒" and rows["duration"]["found"] == "75.2 秒"
    assert rows["resolution"]["found"] == "720×1280"
    assert rows["recent"]["found"] == "2026-11-27 09:00（北京时间）"
    failures = [{"code": "timestamp_gap", "message": "视频在第 3 秒处中断了 2.0 秒"}]
    rows = {row["key"]: row for row in check_rows(facts, failures, wanted)}
    assert rows["one_take"]["passed"] is False
    assert rows["one_take"]["messages"] == ["视频在第 3 秒处中断了 2.0 秒"]
    assert rows["duration"]["passed"] is True and rows["playable"]["passed"] is None
    unreadable = [{"code": "unreadable", "message": "无法读取"}]
    rows = {row["key"]: row for row in check_rows({}, unreadable, wanted)}
    assert rows["readable"]["passed"] is False
    assert {row["passed"] for key, row in rows.items() if key != "readable"} == {None}

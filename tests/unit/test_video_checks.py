"""The automatic checks of a self-recorded video, one generated video per way to fail."""

from __future__ import annotations

from datetime import timedelta

import pytest

from server import clock
from server.video.checks import Requirements, Unreadable, check, inspect
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

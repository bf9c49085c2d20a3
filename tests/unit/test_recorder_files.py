"""Evidence files: exclusive and private, named for an archivist, found only inside the
recordings directory; the pipe records between server and recorder; the settings."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from recorder import files, wire
from server import config
from server.errors import ConfigError, ProtocolError
from server.live import protocol

AT = 1795737599.25  # 2026-11-27 07:59:59.250 in Beijing


def test_names_say_when_which_segment_and_whose():
    assert files.composite_name(AT, 2) == "20261127-075959-s02-composite.mp4"
    assert files.raw_name(AT, 1, 34, "applicant", "video") == (
        "20261127-075959-s01-p34-applicant-video.webm"
    )
    assert files.screenshot_name(AT, 34) == "20261127-075959-250-shot-p34.jpg"
    final = Path("r/KY/1/20261127-075959-s01-composite.mp4")
    temp = files.temp_path(final)
    assert temp.name == "20261127-075959-s01-composite.recording.mp4"
    assert files.final_path(temp) == final
    assert files.recovered_path(temp).name == "20261127-075959-s01-composite.recovered.mp4"
    with pytest.raises(ValueError):
        files.final_path(final)


@pytest.mark.parametrize(
    ("text", "safe"),
    [("KY2026-000012", "KY2026-000012"), ("../../etc", "etc"), ("a/b c", "a_b_c"), ("..", "_")],
)
def test_case_numbers_become_safe_directory_names(text, safe):
    assert files.safe_component(text) == safe
    assert files.inspection_dir(Path("/r"), text, 3) == Path("/r") / safe / "3"


def test_files_are_created_exclusively_private_and_never_overwritten(tmp_path):
    first = files.create_exclusive(tmp_path / "a" / "x.recording.mp4")
    second = files.create_exclusive(tmp_path / "a" / "x.recording.mp4")
    assert first != second and second.name == "x-2.recording.mp4"
    assert (first.stat().st_mode & 0o777) == 0o600
    assert (first.parent.stat().st_mode & 0o777) == 0o700
    written = files.write_exclusive(tmp_path / "a" / "shot.jpg", b"jpeg")
    assert written.read_bytes() == b"jpeg" and (written.stat().st_mode & 0o777) == 0o600
    assert files.write_exclusive(tmp_path / "a" / "shot.jpg", b"other").name == "shot-2.jpg"
    assert written.read_bytes() == b"jpeg"


def test_finalising_never_replaces_a_file(tmp_path):
    temp = files.create_exclusive(tmp_path / "x.recording.mp4")
    temp.write_bytes(b"new")
    (tmp_path / "x.mp4").write_bytes(b"old")
    with pytest.raises(FileExistsError):
        files.finalise(temp)
    assert (tmp_path / "x.mp4").read_bytes() == b"old" and temp.exists()
    (tmp_path / "x.mp4").unlink()
    assert files.finalise(temp).read_bytes() == b"new" and not temp.exists()


def test_stored_paths_resolve_only_inside_the_recordings(tmp_path):
    (tmp_path / "KY" / "1").mkdir(parents=True)
    assert files.resolve_inside(tmp_path, "KY/1/x.mp4") == tmp_path.resolve() / "KY/1/x.mp4"
    for evil in ("../secret", "/etc/passwd", "KY/../../x"):
        with pytest.raises(ValueError):
            files.resolve_inside(tmp_path, evil)
    os.symlink("/etc", tmp_path / "KY" / "link")
    with pytest.raises(ValueError):
        files.resolve_inside(tmp_path, "KY/link/passwd")


def test_errors_for_the_log_name_no_absolute_path():
    error = OSError(28, "No space left on device", "/srv/kanyan/recordings/x.mp4")
    assert files.describe_error(error) == "ENOSPC: No space left on device"
    assert files.describe_error(ValueError("bad")) == "ValueError: bad"


def test_pipe_records_round_trip():
    stream = io.BytesIO(
        wire.encode_control({"op": "start", "case_no": "KY2026-1", "名": "张"})
        + wire.encode_frame("video", True, 34, 2, 123456789012, 1795737599.25, b"\x00vp8")
        + wire.encode_frame("audio", False, 35, 1, 960, 1795737599.5, b"")
    )
    assert wire.read_record(stream) == {"op": "start", "case_no": "KY2026-1", "名": "张"}
    frame = wire.read_record(stream)
    assert frame == wire.WireFrame("video", True, 34, 2, 123456789012, 1795737599.25, b"\x00vp8")
    assert wire.read_record(stream).kind == "audio"
    assert wire.read_record(stream) is None


def test_a_truncated_pipe_is_the_end_not_garbage():
    record = wire.encode_frame("video", True, 1, 1, 0, 0.0, b"x" * 100)
    assert wire.read_record(io.BytesIO(record[:-1])) is None
    oversized = wire._RECORD.pack(wire.MAX_RECORD + 1, wire.FRAME)
    with pytest.raises(ValueError):
        wire.read_record(io.BytesIO(oversized))


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ('{"type": "screenshot"}', "bad_field"),
        ('{"type": "screenshot", "participant": "3"}', "bad_field"),
        ('{"type": "screenshot", "participant": true}', "bad_field"),
        ('{"type": "screenshot", "participant": 3, "note": 5}', "bad_field"),
        ('{"type": "screenshot", "participant": 3, "note": "' + "长" * 501 + '"}', "bad_field"),
        ('{"type": "screenshot", "participant": 3, "item": 1}', "bad_field"),
    ],
)
def test_bad_screenshot_messages_are_refused(raw, code):
    with pytest.raises(ProtocolError) as error:
        protocol.parse(raw)
    assert error.value.code == code


def test_a_good_screenshot_message():
    message = protocol.parse('{"type": "screenshot", "participant": 3, "note": "消防通道"}')
    assert (message["participant"], message["note"]) == (3, "消防通道")
    assert protocol.parse('{"type": "screenshot", "participant": 3}')["note"] is None


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"preset": "turbo"}, "recording.preset must be one of"),
        ({"crf": 60}, "recording.crf must be 0–51"),
        ({"audio_kbps": 8}, "recording.audio_kbps"),
        ({"screenshot_quality": 80}, "recording.screenshot_quality must be 90–100"),
        ({"latency_ms": 50}, "recording.latency_ms"),
        ({"max_backlog_mb": 0}, "recording.max_backlog_mb"),
        ({"raw_tracks": "yes"}, "recording.raw_tracks: expected true or false"),
    ],
)
def test_recording_settings_are_checked(values, fragment):
    with pytest.raises(ConfigError, match=fragment):
        config.from_mapping({"recording": values})

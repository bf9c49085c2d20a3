"""The recorder's file names: written under a temporary name (`….recording.mp4`) and renamed
when finalised, so an unfinished file is recognisable at a glance and by the recovery at start.

Where files go and how they are created (exclusive, 0600, inside the recordings directory) is
the archive's (`server.archive.files`); the helpers are re-exported here for the recorder.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from server.archive.files import (
    create_exclusive,
    describe_error,
    inspection_dir,
    make_dir,
    relative,
    resolve_inside,
    safe_component,
    sha256_file,
    write_exclusive,
)
from server.clock import SHANGHAI

__all__ = [
    "create_exclusive",
    "describe_error",
    "inspection_dir",
    "make_dir",
    "relative",
    "resolve_inside",
    "safe_component",
    "sha256_file",
    "write_exclusive",
]

TEMP_MARK = ".recording"
RECOVERED_MARK = ".recovered"


def stamp(at: float, millis: bool = False) -> str:
    """Beijing time for file names: 20261126-153012 (or …-153012-123)."""
    moment = datetime.fromtimestamp(at, UTC).astimezone(SHANGHAI)
    text = moment.strftime("%Y%m%d-%H%M%S")
    return f"{text}-{int(moment.microsecond / 1000):03d}" if millis else text


def composite_name(at: float, segment: int) -> str:
    return f"{stamp(at)}-s{segment:02d}-composite.mp4"


def raw_name(at: float, segment: int, participant: int, role: str, kind: str) -> str:
    return f"{stamp(at)}-s{segment:02d}-p{participant}-{safe_component(role)}-{kind}.webm"


def screenshot_name(at: float, participant: int) -> str:
    return f"{stamp(at, millis=True)}-shot-p{participant}.jpg"


def temp_path(final: Path) -> Path:
    return final.with_name(final.stem + TEMP_MARK + final.suffix)


def final_path(temp: Path) -> Path:
    """The name an unfinished file gets when it is finalised."""
    stem = temp.stem
    if not stem.endswith(TEMP_MARK):
        raise ValueError(f"{temp} is not an unfinished recording")
    return temp.with_name(stem[: -len(TEMP_MARK)] + temp.suffix)


def recovered_path(temp: Path) -> Path:
    """Beside an interrupted recording: the playable part, remuxed."""
    final = final_path(temp)
    return final.with_name(final.stem + RECOVERED_MARK + final.suffix)


def finalise(temp: Path) -> Path:
    """Give an unfinished file its final name without ever replacing another file."""
    target = final_path(temp)
    os.link(temp, target)  # fails if the target exists, unlike rename
    os.unlink(temp)
    return target

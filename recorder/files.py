"""Where evidence files go and how they are made: exclusive, private, named for an archivist.

Every file lives under `recordings/<case number>/<inspection id>/`. It is created with O_EXCL
and mode 0600 (never overwriting anything, readable only by Kanyan), written under a temporary
name (`….recording.mp4`) and renamed when finalised, so an unfinished file is recognisable at a
glance and by the recovery at start. Paths stored in the archive are relative to the recordings
directory and resolved back only inside it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from server.clock import SHANGHAI

TEMP_MARK = ".recording"
RECOVERED_MARK = ".recovered"
_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def safe_component(text: str) -> str:
    """A path component made only of safe characters; never empty, never `.` or `..`."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "_"
    return cleaned[:80]


def inspection_dir(root: Path, case_no: str, inspection_id: int) -> Path:
    return root / safe_component(case_no) / str(int(inspection_id))


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


def make_dir(path: Path) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)


def create_exclusive(path: Path) -> Path:
    """Create `path` empty with mode 0600; if it exists, the next free `name-2.ext`, …"""
    make_dir(path.parent)
    candidate = path
    for attempt in range(2, 100):
        try:
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            stem, _, rest = path.name.partition(".")
            candidate = path.with_name(f"{stem}-{attempt}.{rest}")
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"no free name near {path}")


def write_exclusive(path: Path, data: bytes) -> Path:
    """Write a complete file exclusively (0600) and make it durable; returns the name used."""
    path = create_exclusive(path)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return path


def finalise(temp: Path) -> Path:
    """Give an unfinished file its final name without ever replacing another file."""
    target = final_path(temp)
    os.link(temp, target)  # fails if the target exists, unlike rename
    os.unlink(temp)
    return target


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def relative(root: Path, path: Path) -> str:
    return str(path.resolve().relative_to(root.resolve()))


def resolve_inside(root: Path, stored: str) -> Path:
    """A stored relative path back to a file, refusing anything outside `root`."""
    base = root.resolve()
    path = (base / stored).resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"{stored!r} is outside the recordings directory")
    return path


def describe_error(exc: BaseException) -> str:
    """An error for the event log: the reason without this machine's absolute paths."""
    code = getattr(exc, "errno", None)
    if isinstance(code, int) and code > 0:
        return f"{errno.errorcode.get(code, code)}: {os.strerror(code)}"
    return f"{type(exc).__name__}: {exc}"

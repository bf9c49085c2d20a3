"""Evidence files on disk: exclusive, private, and named for an archivist.

Every file of an inspection lives under `recordings/<case number>/<inspection id>/`. It is
created with O_EXCL and mode 0600 (never overwriting anything, readable only by Kanyan). Paths
stored in the archive are relative to the recordings directory and resolved back only inside
it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
from pathlib import Path

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def safe_component(text: str) -> str:
    """A path component made only of safe characters; never empty, never `.` or `..`."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "_"
    return cleaned[:80]


def inspection_dir(root: Path, case_no: str, inspection_id: int) -> Path:
    return root / safe_component(case_no) / str(int(inspection_id))


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

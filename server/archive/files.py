"""Files on disk: exclusive, private, and named for an archivist.

Every file of an inspection lives under `recordings/<case number>/<inspection id>/`. It is
created with O_EXCL and mode 0600 (never overwriting anything, readable only by Kanyan). Paths
stored in the archive are relative to the recordings directory and resolved back only inside
it. The data folder and the recordings folder are made private at every start (`make_private`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
from pathlib import Path

_UNSAFE = re.compile(r"[^0-9A-Za-z._-]+")


def safe_component(text: str) -> str:
    """A path component made only of safe characters; never empty, never `.` or `..`."""
    cleaned = _UNSAFE.sub("_", text).strip("._") or "_"
    return cleaned[:80]


def inspection_dir(root: Path, case_no: str, inspection_id: int) -> Path:
    return root / safe_component(case_no) / str(int(inspection_id))


PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_dir(path: Path) -> None:
    """`path` and every missing folder above it, each 0700 (mkdir's `parents` would make the
    folders above with the default mode: readable by everyone)."""
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            pass


def make_private(root: Path) -> list[tuple[Path, int]]:
    """Make `root` and everything in it readable by this user only: folders 0700, files 0600
    (symbolic links are left alone, never followed). Returns what was changed, with the mode it
    had; raises PermissionError naming what cannot be changed."""
    changed: list[tuple[Path, int]] = []

    def fix(path: Path, wanted: int) -> None:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if mode != wanted:
            os.chmod(path, wanted, follow_symlinks=False)
            changed.append((path, mode))

    make_dir(root)
    fix(root, PRIVATE_DIR)
    for folder, dirs, names in os.walk(root):
        for name in dirs:
            path = Path(folder, name)
            if not path.is_symlink():
                fix(path, PRIVATE_DIR)
        for name in names:
            path = Path(folder, name)
            if path.is_file() and not path.is_symlink():
                fix(path, PRIVATE_FILE)
    return changed


def not_private(root: Path) -> list[Path]:
    """What in `root` others could read or write (folders other than 0700, files other than
    0600)."""
    found = [root] if stat.S_IMODE(root.stat().st_mode) != PRIVATE_DIR else []
    for folder, dirs, names in os.walk(root):
        for name in [*dirs, *names]:
            path = Path(folder, name)
            if path.is_symlink():
                continue
            wanted = PRIVATE_DIR if path.is_dir() else PRIVATE_FILE
            if stat.S_IMODE(path.lstat().st_mode) != wanted:
                found.append(path)
    return found


def create_private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists (the archive's database, before
    SQLite creates it with the default mode; SQLite gives its -wal and -shm files the
    database's mode)."""
    make_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE))
    except FileExistsError:
        pass


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

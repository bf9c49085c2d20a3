"""The archive, its secrets and the evidence are readable by Kanyan's user alone.

The data folder and the recordings folder are made private at every start: folders 0700, files
0600, the database's -wal and -shm files included; a deployment left readable by everyone
(0644 files in 0755 folders) is fixed and the fix is logged.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest

from server.archive.files import not_private
from server.services import ARCHIVE
from tests.support.server import make_settings, running_server


def modes(root: Path) -> dict[str, str]:
    """Every folder and file under `root` (itself included) with its mode."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.stat().st_mode))
    return found


def everything_private(root: Path) -> list[str]:
    return [
        f"{name} {mode}"
        for name, mode in modes(root).items()
        if mode != ("0o700" if (root / name).is_dir() else "0o600")
    ]


@pytest.fixture
def loose_umask():
    """The umask of a careless shell: what Kanyan creates must not depend on it."""
    old = os.umask(0o022)
    yield
    os.umask(old)


async def test_a_fresh_start_makes_everything_private(tmp_path, loose_umask):
    settings = make_settings(tmp_path)
    async with running_server(settings) as server:
        # Writes: the database's WAL grows, the secrets and the certificate exist.
        await server.invite("host", "applicant")
        data = settings.data_dir
        assert {"kanyan.sqlite3", "kanyan.sqlite3-wal", "kanyan.sqlite3-shm"} <= {
            p.name for p in data.iterdir()
        }
        assert everything_private(data) == []
        assert everything_private(settings.recordings_dir) == []


async def test_a_start_fixes_what_an_earlier_install_left_readable(tmp_path, loose_umask, caplog):
    settings = make_settings(tmp_path)
    data, recordings = settings.data_dir, settings.recordings_dir
    data.mkdir(mode=0o755)
    # An archive made with the default mode, as SQLite and earlier versions left it.
    sqlite3.connect(data / "kanyan.sqlite3").close()
    os.chmod(data / "kanyan.sqlite3", 0o644)
    (data / "link-secret").write_text("an old secret")
    os.chmod(data / "link-secret", 0o644)
    (data / "uploads").mkdir(mode=0o777)
    os.chmod(data / "uploads", 0o777)
    (data / "uploads" / "staged").write_bytes(b"x")
    os.chmod(data / "uploads" / "staged", 0o666)
    shots = recordings / "KY-2026-0001" / "3"
    shots.mkdir(parents=True)
    for folder in (recordings, recordings / "KY-2026-0001", shots):
        os.chmod(folder, 0o755)
    (shots / "shot.jpg").write_bytes(b"jpeg")
    os.chmod(shots / "shot.jpg", 0o644)
    # A link elsewhere is not followed: its target keeps its mode.
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not Kanyan's")
    os.chmod(outside, 0o644)
    (recordings / "link").symlink_to(outside)
    assert everything_private(data) and everything_private(recordings)

    with caplog.at_level(logging.WARNING, logger="server.services"):
        async with running_server(settings) as server:
            await server.app[ARCHIVE].events.append("tick", actor="test")
            assert everything_private(data) == []
            assert not_private(recordings) == []
            assert stat.S_IMODE(shots.joinpath("shot.jpg").stat().st_mode) == 0o600
    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
    fixed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("made private")]
    assert any("kanyan.sqlite3 (was 0o644)" in line for line in fixed)
    assert any("shot.jpg (was 0o644)" in line for line in fixed)

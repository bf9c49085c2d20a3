"""The command line: verify-log on a real data directory, and start-up errors."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from server.archive import ArchiveStore
from tests.support.server import ROOT, sqlite_only, write_config


def run(*args: str, cwd) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "server", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@sqlite_only
async def test_verify_log_exit_codes(tmp_path):
    config = write_config(tmp_path)
    store = await ArchiveStore.open(tmp_path / "data" / "kanyan.sqlite3")
    for n in range(4):
        await store.events.append("e", actor="t", data={"n": n})
    await store.close()

    ok = run("--config", str(config), "verify-log", cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok: 4 events" in ok.stdout

    db = sqlite3.connect(tmp_path / "data" / "kanyan.sqlite3")
    db.execute("DROP TRIGGER events_append_only_update")
    db.execute("UPDATE events SET actor = 'someone else' WHERE id = 3")
    db.commit()
    db.close()
    broken = run("--config", str(config), "verify-log", cwd=tmp_path)
    assert broken.returncode == 1
    assert "event 3" in broken.stdout


@sqlite_only
def test_verify_log_without_an_archive_says_so(tmp_path):
    config = write_config(tmp_path)
    result = run("--config", str(config), "verify-log", cwd=tmp_path)
    assert result.returncode == 1 and "no archive database" in result.stdout


def test_a_bad_setting_stops_start_naming_the_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nprot = 8443\n")
    result = run("--config", str(bad), cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown setting server.prot" in result.stderr

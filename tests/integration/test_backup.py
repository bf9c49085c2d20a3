"""`python -m server backup DIR` while a real server writes (API intake and a recording session
with real aiortc peers), then `restore DIR` into new folders, and the restored installation
passes verify-log and verify-files."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
from pathlib import Path

import aiohttp
import pytest

from server.archive import ArchiveStore
from server.staff.api_keys import ApiKeys
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.recordings import wait_recordings
from tests.support.server import ROOT, write_config


async def cli(*args: str, cwd: Path) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def record_a_session(server, *, end: bool) -> RoomClient:
    """A host and an applicant with media, the session started (and ended with a conclusion
    when `end`, so its files are final and hashed)."""
    invited = await server.invite("host", "applicant")
    host = RoomClient.of(
        server, invited, "host", video=ColourTrack((200, 40, 40)), audio=ToneTrack(440)
    )
    applicant = RoomClient.of(
        server, invited, "applicant", video=ColourTrack((40, 40, 200)), audio=ToneTrack(880)
    )
    await host.connect()
    await host.wait_for(lambda: host.status == "admitted")
    await applicant.connect()
    await host.wait_for(lambda: any(m["status"] == "lobby" for m in host.roster))
    await host.send({"type": "admit", "participant": invited.invitee("applicant").id})
    await host.wait_for(lambda: host.seen[applicant.id].frames > 5, timeout=30)
    await host.send({"type": "start"})
    await host.wait_for(lambda: host.state == "live")
    await host.send({"type": "screenshot", "participant": applicant.id})
    await host.wait_for(lambda: any(m["type"] == "screenshot" for m in host.messages))
    await asyncio.sleep(2)
    if end:
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed", timeout=60)
        await applicant.close()
        await wait_recordings(server.archive, invited.inspection.id, timeout=90)
    host.others = [applicant]  # type: ignore[attr-defined]
    return host


async def keep_registering_cases(server, key: str, stop: asyncio.Event) -> int:
    """The platform registers cases through the API until told to stop: writes while the
    backup runs."""
    count = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        while not stop.is_set():
            body = {
                "application_no": f"SQ-BACKUP-{count:05d}",
                "applicant": {
                    "name": "备份测试申请人",
                    "id_no": "91450221MA5KDEM012",
                    "phone": "13812345678",
                },
                "item_code": "FOOD-OPERATION",
                "site_address": "柳州市柳江区拉堡镇示例路 1 号",
                "section": "食品药品审批股",
            }
            async with session.post(
                f"{server.base_url}/api/v1/cases",
                json=body,
                headers={"Authorization": f"Bearer {key}"},
            ) as response:
                assert response.status == 201, await response.text()
            count += 1
    return count


async def test_backup_while_the_server_writes_then_restore_and_verify(server, tmp_path):
    config = write_config(tmp_path)  # the same folders as the running server's
    ended = await record_a_session(server, end=True)
    live = await record_a_session(server, end=False)  # still recording during the backup
    _, key = await ApiKeys(server.archive).create("provincial-platform", actor="test")
    stop = asyncio.Event()
    writer = asyncio.ensure_future(keep_registering_cases(server, key, stop))
    try:
        await asyncio.sleep(0.5)
        before = await server.archive.events.count()
        code, out, err = await cli("--config", str(config), "backup", "backup", cwd=tmp_path)
        stop.set()
        registered = await writer
    finally:
        stop.set()
        for client in (live, *live.others, ended):  # type: ignore[attr-defined]
            await client.close()
    assert code == 0, out + err
    assert registered > 0
    assert "backed up" in out

    backup = tmp_path / "backup"
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["format"] == "kanyan-backup" and manifest["problems"] == []
    assert manifest["database"]["events"] >= before
    names = {entry["path"] for entry in manifest["files"]}
    assert "data/link-secret" in names and "data/session-secret" in names
    final = [e for e in manifest["files"] if e.get("state") == "final"]
    assert any(e["path"].endswith("-composite.mp4") for e in final)
    assert any(e["path"].endswith(".jpg") for e in final)
    assert any(e.get("state") == "unfinished" for e in manifest["files"])  # the live session
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert stat.S_IMODE((backup / "data" / "link-secret").stat().st_mode) == 0o600
    # The backup is logged in the live archive.
    logged = await server.archive.events.find(types=["archive.backed_up"])
    assert len(logged) == 1 and logged[0].data["problems"] == []

    restored = tmp_path / "restored"
    restored.mkdir()
    restored_config = write_config(restored)
    code, out, err = await cli(
        "--config", str(restored_config), "restore", str(backup), cwd=restored
    )
    assert code == 0, out + err
    code, out, err = await cli("--config", str(restored_config), "verify-log", cwd=restored)
    assert code == 0, out + err
    code, out, err = await cli("--config", str(restored_config), "verify-files", cwd=restored)
    assert code == 0, out + err
    assert f"ok: {len(final)} files match" in out

    assert (restored / "data" / "link-secret").read_bytes() == (
        tmp_path / "data" / "link-secret"
    ).read_bytes()
    assert stat.S_IMODE((restored / "data").stat().st_mode) == 0o700
    assert stat.S_IMODE((restored / "data" / "kanyan.sqlite3").stat().st_mode) == 0o600
    store = await ArchiveStore.open(restored / "data" / "kanyan.sqlite3")
    try:
        assert len(await store.events.find(types=["archive.restored"])) == 1
        _, total = await store.cases.search(query="SQ-BACKUP-", limit=1)
        assert 0 < total <= registered
    finally:
        await store.close()


async def test_restore_refuses_a_folder_that_is_not_empty(server, tmp_path):
    config = write_config(tmp_path)
    await server.invite("host")
    code, out, err = await cli("--config", str(config), "backup", "backup", cwd=tmp_path)
    assert code == 0, out + err
    # Into the running installation's own folders: refused, nothing touched.
    before = (tmp_path / "data" / "kanyan.sqlite3").stat().st_mtime_ns
    code, out, err = await cli("--config", str(config), "restore", "backup", cwd=tmp_path)
    assert code == 2
    assert "restore writes only into empty folders" in err and "不为空" in err
    assert (tmp_path / "data" / "kanyan.sqlite3").stat().st_mtime_ns == before
    # A backup into a folder that holds something is refused too.
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    code, _, err = await cli("--config", str(config), "backup", "full", cwd=tmp_path)
    assert code == 2 and "must be empty" in err


async def test_a_damaged_backup_is_not_restored(server, tmp_path):
    config = write_config(tmp_path)
    ended = await record_a_session(server, end=True)
    await ended.close()
    code, out, err = await cli("--config", str(config), "backup", "backup", cwd=tmp_path)
    assert code == 0, out + err
    manifest = json.loads((tmp_path / "backup" / "manifest.json").read_text())
    victim = next(e["path"] for e in manifest["files"] if e["path"].endswith(".mp4"))
    path = tmp_path / "backup" / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    restored = tmp_path / "restored"
    restored.mkdir()
    code, _, err = await cli(
        "--config", str(write_config(restored)), "restore", str(tmp_path / "backup"), cwd=restored
    )
    assert code == 2
    assert victim in err and "damaged" in err
    assert not (restored / "data").exists() and not (restored / "recordings").exists()


@pytest.mark.parametrize("content", ["", "{}", '{"format": "kanyan-backup", "version": 99}'])
async def test_something_else_is_not_taken_for_a_backup(tmp_path, content):
    config = write_config(tmp_path)
    (tmp_path / "not-a-backup").mkdir()
    if content:
        (tmp_path / "not-a-backup" / "manifest.json").write_text(content)
    code, _, err = await cli("--config", str(config), "restore", "not-a-backup", cwd=tmp_path)
    assert code == 2 and "kanyan:" in err
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    "sections",
    [
        {"archive": {"url": "postgresql://kanyan@db.example.invalid/kanyan"}},
        {"storage": {"kind": "s3", "endpoint": "https://s3.example.invalid"}},
    ],
)
async def test_a_province_is_told_to_use_its_databases_and_stores_tools(tmp_path, sections):
    """backup copies one machine's SQLite file and folder: with the archive on PostgreSQL or the
    files in an object store it would copy a fraction and call it a backup."""
    config = write_config(tmp_path, **sections)
    for command in (["backup", str(tmp_path / "b")], ["restore", str(tmp_path)]):
        code, _, err = await cli("--config", str(config), *command, cwd=tmp_path)
        assert code == 2
        assert "pg_basebackup" in err
    assert not (tmp_path / "b").exists()

"""Case packages and file checks from the command line, on a real recorded, concluded, archived
case: export, verify, and every kind of tampering named."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import zipfile
from pathlib import Path

import aiohttp

from server.services import API_KEYS, CASES
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.recordings import wait_recordings
from tests.support.server import ROOT, write_config


async def run_cli(config: Path, *args: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "--config",
        str(config),
        *args,
        cwd=config.parent,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output = (await asyncio.wait_for(process.communicate(), 120))[0].decode()
    return process.returncode or 0, output


async def archived_case(server) -> tuple[str, int]:
    """A session recorded with a screenshot, concluded, its record made, the case closed."""
    invited = await server.invite("host", "applicant")
    host = RoomClient.of(server, invited, "host", observe=False)
    applicant = RoomClient.of(
        server,
        invited,
        "applicant",
        video=ColourTrack((40, 60, 230)),
        audio=ToneTrack(880),
        observe=False,
    )
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted")
        await applicant.connect()
        await applicant.wait_for(lambda: applicant.welcome is not None)
        await host.send({"type": "admit", "participant": applicant.id})
        await host.frames_from(applicant.id, 5)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live")
        await host.send({"type": "screenshot", "participant": applicant.id})
        await host.wait_for(lambda: any(m["type"] == "screenshot" for m in host.messages))
        await asyncio.sleep(1.5)
        await host.end_session()
        await host.wait_for(lambda: host.status == "closed")
    finally:
        await host.close()
        await applicant.close()
    await wait_recordings(server.archive, invited.inspection.id)
    for _ in range(200):
        if await server.archive.records.of_inspection(invited.inspection.id):
            break
        await asyncio.sleep(0.1)
    case = await server.archive.cases.get(invited.inspection.case_id)
    await server.app[CASES].outcome.close(case, "已办结", actor="test")
    case = await server.archive.cases.get(case.id)
    assert case.state == "archived"
    return case.case_no, invited.inspection.id


def rewrite(package: Path, out: Path, change) -> None:  # type: ignore[no-untyped-def]
    """A copy of `package` with `change(name, data) -> data` applied to each member."""
    with zipfile.ZipFile(package) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, change(info.filename, source.read(info.filename)))


async def test_export_verify_and_tampering_is_named(server, tmp_path):
    case_no, _inspection_id = await archived_case(server)
    config = write_config(tmp_path)
    out = tmp_path / f"{case_no}.zip"
    code, output = await run_cli(config, "export", case_no, str(out))
    assert code == 0, output
    code, output = await run_cli(config, "verify-package", str(out))
    assert code == 0 and "ok:" in output, output

    with zipfile.ZipFile(out) as package:
        manifest = json.loads(package.read("manifest.json"))
        names = package.namelist()
    kinds = {f["kind"] for f in manifest["files"]}
    assert {"composite", "screenshot", "record-pdf", "record-html"} <= kinds
    assert manifest["case"]["case_no"] == case_no and manifest["events"]
    assert any(e["type"] == "conclusion.pronounced" for e in manifest["events"])

    # One byte of one file flipped: that file is named.
    shot = next(f["path"] for f in manifest["files"] if f["kind"] == "screenshot")

    def flip(name: str, data: bytes) -> bytes:
        if name != shot:
            return data
        return data[:100] + bytes([data[100] ^ 0xFF]) + data[101:]

    rewrite(out, tmp_path / "flipped.zip", flip)
    code, output = await run_cli(config, "verify-package", str(tmp_path / "flipped.zip"))
    assert code == 1 and shot in output, output

    # One event row edited: that row is named.
    target = next(e for e in manifest["events"] if e["type"] == "conclusion.pronounced")

    def edit(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        edited = json.loads(data)
        for row in edited["events"]:
            if row["id"] == target["id"]:
                row["data"] = row["data"].replace('"pass"', '"fail"')
        return json.dumps(edited, ensure_ascii=False).encode()

    rewrite(out, tmp_path / "edited.zip", edit)
    code, output = await run_cli(config, "verify-package", str(tmp_path / "edited.zip"))
    assert code == 1 and f"event {target['id']}" in output, output

    # A file replaced together with its hash in the manifest is still caught by the log.
    def swap(name: str, data: bytes) -> bytes:
        if name == shot:
            return b"not the screenshot"
        if name == "manifest.json":
            edited = json.loads(data)
            for entry in edited["files"]:
                if entry["path"] == shot:
                    entry["sha256"] = hashlib.sha256(b"not the screenshot").hexdigest()
            return json.dumps(edited, ensure_ascii=False).encode()
        return data

    rewrite(out, tmp_path / "swapped.zip", swap)
    code, output = await run_cli(config, "verify-package", str(tmp_path / "swapped.zip"))
    assert code == 1 and shot in output and "event log" in output, output

    # Not a package at all.
    (tmp_path / "junk.zip").write_bytes(b"PK but not really")
    code, output = await run_cli(config, "verify-package", str(tmp_path / "junk.zip"))
    assert code == 1 and "not a readable ZIP" in output
    assert len(names) == len(manifest["files"]) + 1

    # The platform fetches the same package and the record with its API key (the webhook's
    # links): the package verifies, and the fetch is in the case's log.
    _, key = await server.app[API_KEYS].create("provincial-platform", actor="test")
    case = (await server.archive.cases.search(query=case_no))[0][0]
    api = f"{server.base_url}/api/v1/cases/{case.id}"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as session:
        async with session.get(f"{api}/package.zip", ssl=False) as response:
            assert response.status == 200 and response.content_type == "application/zip"
            (tmp_path / "api.zip").write_bytes(await response.read())
        async with session.get(f"{api}/record.pdf", ssl=False) as response:
            assert response.status == 200 and (await response.read()).startswith(b"%PDF")
    code, output = await run_cli(config, "verify-package", str(tmp_path / "api.zip"))
    assert code == 0 and "ok:" in output, output
    exported = await server.archive.events.find(case_id=case.id, types=["case.exported"])
    assert any(e.actor == "apikey:provincial-platform" and e.data["complete"] for e in exported)


async def test_verify_files_names_a_changed_recording(server, tmp_path):
    _case_no, inspection_id = await archived_case(server)
    config = write_config(tmp_path)
    code, output = await run_cli(config, "verify-files")
    assert code == 0 and "ok:" in output, output
    composite = next(
        r for r in await server.archive.evidence.recordings(inspection_id) if r.kind == "composite"
    )
    path = server.settings.recordings_dir / composite.path
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, output = await run_cli(config, "verify-files")
    assert code == 1 and composite.path in output and "differs" in output, output
    last = await server.archive.integrity.last()
    assert last is not None and last.mismatched == 1

"""Case packages from the archive's pages: exported as a stream from the case page, checked by
the command line and by the verify page (uploaded as a stream); a flipped byte names its file;
the export is in the event log, whole or not."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import zipfile

from server import clock
from server.archive.package import verify
from tests.integration.test_package import rewrite, run_cli
from tests.support.evidence import fake_recorded_case, pattern
from tests.support.server import write_config
from tests.support.staff import StaffBrowser, make_account


async def exported(server, case_id: int) -> list:
    return await server.archive.events.find(case_id=case_id, types=["case.exported"])


async def check_on_page(tab: StaffBrowser, package: bytes) -> dict:
    """The verify page's script sends the file as the body, the form token in a header."""
    async with tab.session.post(
        f"{tab.base_url}/archive/verify",
        data=package,
        headers={
            "Content-Type": "application/zip",
            "Accept": "application/json",
            "X-CSRF-Token": tab.csrf,
            "X-File-Name": "%E6%A1%88%E4%BB%B6%E5%8C%85.zip",
        },
    ) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_export_from_the_case_page_then_verify_it_everywhere(server, tmp_path):
    fake = await fake_recorded_case(server)
    await make_account(server.archive, "wangwu", "archivist")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("wangwu")
        page = await tab.get(f"/archive/cases/{fake.case.id}")
        assert f'href="/archive/cases/{fake.case.id}/package"' in page.text
        async with tab.session.get(f"{server.base_url}/archive/cases/{fake.case.id}/package") as r:
            assert r.status == 200 and r.headers["Content-Type"] == "application/zip"
            assert "Content-Length" not in r.headers  # streamed as it is written
            assert r.headers["Transfer-Encoding"] == "chunked"
            disposition = r.headers["Content-Disposition"]
            body = await r.read()
        assert disposition.startswith(f'attachment; filename="{fake.case.case_no}-package-')
        out = tmp_path / "package.zip"
        out.write_bytes(body)
        with zipfile.ZipFile(out) as package:
            manifest = json.loads(package.read("manifest.json"))
            names = set(package.namelist())
        assert manifest["exported_by"] == "staff:wangwu" and not manifest["problems"]
        assert {f["source"] for f in manifest["files"]} == set(fake.files)
        assert names == {f["path"] for f in manifest["files"]} | {"manifest.json"}
        [event] = await exported(server, fake.case.id)
        assert event.actor == "staff:wangwu" and event.data["complete"] is True
        assert event.data["bytes"] == len(body) and event.data["files"] == len(fake.files)

        # Verified by the command line, by the page (streamed body, JSON) and in Python.
        config = write_config(tmp_path)
        code, output = await run_cli(config, "verify-package", str(out))
        assert code == 0 and "ok:" in output, output
        result = await check_on_page(tab, out.read_bytes())
        assert result["ok"] is True and result["files"] == len(fake.files)
        assert result["events"] == len(manifest["events"]) and result["name"] == "案件包.zip"
        assert verify(out).ok
        # The page without its script: a small multipart form, answered as a page.
        await tab.get("/archive/verify")
        with out.open("rb") as f:
            response = await tab.post(
                "/archive/verify", {"package": f, "csrf": tab.csrf}, csrf=False
            )
        assert response.status == 200 and 'class="notice ok verdict-ok"' in response.text

        # One byte of the screenshot flipped: every check names that file.
        shot = next(f["path"] for f in manifest["files"] if f["kind"] == "screenshot")

        def flip(name: str, data: bytes) -> bytes:
            if name != shot:
                return data
            return data[:100] + bytes([data[100] ^ 0x01]) + data[101:]

        flipped = tmp_path / "flipped.zip"
        rewrite(out, flipped, flip)
        code, output = await run_cli(config, "verify-package", str(flipped))
        assert code == 1 and shot in output, output
        result = await check_on_page(tab, flipped.read_bytes())
        assert result["ok"] is False and shot in result["problem"]
        with flipped.open("rb") as f:
            response = await tab.post(
                "/archive/verify", {"package": f, "csrf": tab.csrf}, csrf=False
            )
        assert 'class="error-message verdict-bad"' in response.text and shot in response.text

        # Not a package; nothing at all.
        junk = tmp_path / "junk.zip"
        junk.write_bytes(b"PK but not really")
        result = await check_on_page(tab, junk.read_bytes())
        assert result["ok"] is False and "not a readable ZIP" in result["problem"]
        async with tab.session.post(
            f"{server.base_url}/archive/verify",
            data=b"",
            headers={"Content-Type": "application/zip", "X-CSRF-Token": tab.csrf},
        ) as response:
            assert response.status == 400
        # Nothing is left behind in the temporary folder.
        assert not list((server.settings.data_dir / "tmp").glob("*"))
        # Without the form token, refused before a byte is stored.
        async with tab.session.post(
            f"{server.base_url}/archive/verify",
            data=out.read_bytes(),
            headers={"Content-Type": "application/zip"},
        ) as response:
            assert response.status == 403


async def test_a_package_left_half_way_is_logged_as_such(server):
    fake = await fake_recorded_case(server, archive=False)
    big = pattern(24 << 20, 9)
    stored = f"{fake.case.case_no}/{fake.inspection.id}/s03-p9-big-video.webm"
    (server.settings.recordings_dir / stored).write_bytes(big)
    row = await server.archive.evidence.add_recording(
        inspection_id=fake.inspection.id,
        case_id=fake.case.id,
        segment=3,
        kind="raw",
        path=stored,
        started_at=clock.now_iso(),
    )
    await server.archive.evidence.finish_recording(
        row.id,
        path=stored,
        sha256=hashlib.sha256(big).hexdigest(),
        size_bytes=len(big),
        duration_s=60.0,
        frames=900,
    )
    await make_account(server.archive, "admin1", "admin")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("admin1")
        page = await tab.get(f"/archive/cases/{fake.case.id}")
        size = int(re.search(r'id="package-size" data-bytes="(\d+)"', page.text).group(1))
        assert size > len(big)
        async with tab.session.get(
            f"{server.base_url}/archive/cases/{fake.case.id}/package"
        ) as response:
            await response.content.read(1 << 20)
            response.close()
    for _ in range(200):
        if await exported(server, fake.case.id):
            break
        await asyncio.sleep(0.05)
    [event] = await exported(server, fake.case.id)
    assert event.data["complete"] is False and 0 < event.data["bytes"] < size

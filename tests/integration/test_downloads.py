"""Evidence downloads over HTTP against the real server: byte ranges as RFC 9110 has them on a
real recording (seekable, resumable), every transfer in the event log with its range, and no
address — whatever it says — reaching a file outside the recordings folder or of another
inspection."""

from __future__ import annotations

from email.utils import formatdate
from urllib.parse import unquote

import pytest
from yarl import URL

from tests.integration.test_package import archived_case
from tests.support.evidence import fake_recorded_case
from tests.support.staff import StaffBrowser, make_account


async def fetch(tab: StaffBrowser, path: str, method: str = "GET", **headers: str):
    async with tab.session.request(
        method, URL(tab.base_url + path, encoded=True), headers=headers, allow_redirects=False
    ) as response:
        return response.status, response.headers, await response.read()


async def downloads(server, case_id: int) -> list:
    return await server.archive.events.find(case_id=case_id, types=["file.downloaded"])


async def test_ranges_on_a_real_recording_and_every_transfer_logged(server):
    case_no, inspection_id = await archived_case(server)
    composite = next(
        r for r in await server.archive.evidence.recordings(inspection_id) if r.kind == "composite"
    )
    data = (server.settings.recordings_dir / composite.path).read_bytes()
    size = len(data)
    assert size > 20_000 and data[4:8] == b"ftyp"
    case_id = composite.case_id
    path = f"/inspections/{inspection_id}/recordings/{composite.id}"
    await make_account(server.archive, "wangwu", "archivist")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("wangwu")

        # The whole file: seekable (Accept-Ranges), named, private, typed.
        status, headers, body = await fetch(tab, path + "?download=1")
        assert status == 200 and body == data
        assert headers["Accept-Ranges"] == "bytes" and headers["Content-Type"] == "video/mp4"
        assert headers["Cache-Control"] == "private, no-store"
        disposition = headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert (
            f'filename="{case_no}-inspection1-' in disposition
            and "composite-s01.mp4" in disposition
        )
        assert f"{case_no}-第1次勘验-" in unquote(disposition) and "合成录像" in unquote(
            disposition
        )
        etag, modified = headers["ETag"], headers["Last-Modified"]
        # Inline for the player.
        status, headers, _ = await fetch(tab, path)
        assert headers["Content-Disposition"].startswith("inline;")

        cases = [
            # (Range, status, expected body, Content-Range)
            ("bytes=0-99", 206, data[:100], f"bytes 0-99/{size}"),
            ("bytes=0-", 206, data, f"bytes 0-{size - 1}/{size}"),  # how <video> starts
            ("bytes=10000-10999", 206, data[10000:11000], f"bytes 10000-10999/{size}"),
            (f"bytes={size - 10}-", 206, data[-10:], f"bytes {size - 10}-{size - 1}/{size}"),
            ("bytes=-500", 206, data[-500:], f"bytes {size - 500}-{size - 1}/{size}"),
            (f"bytes=-{size * 3}", 206, data, f"bytes 0-{size - 1}/{size}"),
            (f"bytes=100-{size * 2}", 206, data[100:], f"bytes 100-{size - 1}/{size}"),
            (f"bytes={size - 1}-{size - 1}", 206, data[-1:], f"bytes {size - 1}-{size - 1}/{size}"),
            # Several ranges: overlapping or adjacent ones coalesce into one part ...
            ("bytes=0-99, 50-199", 206, data[:200], f"bytes 0-199/{size}"),
            ("bytes=200-299,0-199", 206, data[:300], f"bytes 0-299/{size}"),
            # ... ranges apart get the whole file (RFC 9110 §14.2: the server MAY ignore Range),
            ("bytes=0-9,5000-5009", 200, data, None),
            # also when one of them is past the end but another is satisfiable.
            (f"bytes=0-9,{size + 5}-", 206, data[:10], f"bytes 0-9/{size}"),
            # A unit it does not know is ignored (MUST).
            ("items=0-9", 200, data, None),
            # Unsatisfiable or invalid: 416 with the length.
            (f"bytes={size}-", 416, b"", f"bytes */{size}"),
            (f"bytes={size + 100}-{size + 200}", 416, b"", f"bytes */{size}"),
            ("bytes=-0", 416, b"", f"bytes */{size}"),
            ("bytes=500-100", 416, b"", f"bytes */{size}"),
            ("bytes=abc", 416, b"", f"bytes */{size}"),
            ("bytes=-", 416, b"", f"bytes */{size}"),
            ("bytes=" + "9" * 5000 + "-", 416, b"", f"bytes */{size}"),
        ]
        before = len(await downloads(server, case_id))
        logged = []
        for asked, want_status, want_body, want_range in cases:
            status, headers, body = await fetch(tab, path, Range=asked)
            assert (status, headers.get("Content-Range")) == (want_status, want_range), asked
            assert body == want_body, asked
            if status != 416:
                logged.append((asked, want_range or "whole", len(want_body)))

        # If-Range: a fresh validator resumes, a stale one gets the whole new file.
        for validator, want in (
            (etag, 206),
            ('"0-0"', 200),
            ("W/" + etag, 200),  # weak tags never validate a range
            (modified, 206),
            (formatdate(0, usegmt=True), 200),
            ("not a date", 200),
        ):
            status, headers, body = await fetch(
                tab, path, Range="bytes=100-199", **{"If-Range": validator}
            )
            assert status == want, validator
            assert body == (data[100:200] if want == 206 else data), validator
            logged.append(
                ("bytes=100-199", f"bytes 100-199/{size}" if want == 206 else "whole", len(body))
            )
        # HEAD sends no bytes and logs nothing.
        status, headers, body = await fetch(tab, path, "HEAD", Range="bytes=0-9")
        assert status == 206 and body == b""

        events = (await downloads(server, case_id))[before:]
        assert [(e.data["asked"][:200], e.data["range"], e.data["bytes"]) for e in events] == [
            (asked[:200], content_range, count) for asked, content_range, count in logged
        ]
        for event in events:
            assert event.actor == "staff:wangwu" and event.inspection_id == inspection_id
            assert event.data["recording"] == composite.id and event.data["kind"] == "composite"
            assert event.data["file"] == composite.path and event.data["sha256"] == composite.sha256
        # The case is archived: downloads are what it still takes, and the chain holds.
        assert (await server.archive.cases.get(case_id)).state == "archived"
        assert (await server.archive.verify_events())[1] is None

        # Screenshots and records leave their event too.
        [shot] = await server.archive.evidence.screenshots(inspection_id)
        [record] = await server.archive.records.of_inspection(inspection_id)
        status, headers, body = await fetch(tab, f"/screenshots/{shot.id}.jpg", Range="bytes=0-1")
        assert status == 206 and body == b"\xff\xd8"
        status, headers, body = await fetch(tab, f"/screenshots/{shot.id}.jpg?download=1")
        assert status == 200 and headers["Content-Disposition"].startswith("attachment;")
        assert f"-{shot.id}.jpg" in headers["Content-Disposition"]
        status, _, body = await fetch(tab, f"/records/{record.id}.pdf")
        assert status == 200 and body.startswith(b"%PDF")
        kinds = [e.data["kind"] for e in (await downloads(server, case_id))[-3:]]
        assert kinds == ["screenshot", "screenshot", "record-pdf"]


@pytest.fixture
async def two_cases(server):
    """An inspector's own archived case and another inspection's, with files on disk."""
    inspector = await make_account(server.archive, "zhangsan", "inspector")
    mine = await fake_recorded_case(server, host_account=inspector.id)
    other = await fake_recorded_case(server)
    outside = server.settings.recordings_dir.parent / "outside.bin"
    outside.write_bytes(b"not evidence")
    return mine, other


async def test_no_address_reaches_outside_the_recordings_or_another_inspection(server, two_cases):
    mine, other = two_cases
    i, r = mine.inspection.id, mine.composite.id
    attacks = [
        f"/inspections/{i}/recordings/..%2F..%2Foutside.bin",
        f"/inspections/{i}/recordings/%2E%2E%2F%2E%2E%2Foutside.bin",
        f"/inspections/{i}/recordings/{r}%2F..%2F..%2F..%2Foutside.bin",
        f"/inspections/{i}/recordings/{r}/../../../../outside.bin",
        f"/inspections/{i}/recordings/%2Fetc%2Fpasswd",
        f"/inspections/{i}/recordings//etc/passwd",
        f"/inspections/{i}/recordings/{r}/original/..%2F..%2Foutside.bin",
        f"/inspections/{i}/recordings/99999999999999999999999999",
        f"/inspections/99999999999999999999999999/recordings/{r}",
        f"/inspections/{i}/recordings/9223372036854775807",
        f"/inspections/{i}/recordings/-1",
        f"/inspections/{i}/recordings/0",
        f"/inspections/{i}/recordings/{r}.mp4",
        f"/inspections/{i}/recordings/{mine.raw.id}/original",  # has none
        # Another inspection's recording through this inspection's address.
        f"/inspections/{i}/recordings/{other.composite.id}",
        f"/inspections/{i}/recordings/{other.interrupted.id}/original",
        "/screenshots/..%2F..%2Foutside.bin.jpg",
        "/screenshots/%2Fetc%2Fpasswd.jpg",
        "/screenshots/99999999999999999999999999.jpg",
        "/records/..%2Foutside.pdf",
        "/records/99999999999999999999999999.pdf",
        "/records/99999999999999999999999999.html",
    ]
    await make_account(server.archive, "wangwu", "archivist")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("wangwu")
        for path in attacks:
            status, _, body = await fetch(tab, path)
            assert status == 404 and b"not evidence" not in body and b"root:" not in body, path
        # Stored paths that would leave the folder are never followed, even to a file there.
        async with server.archive.db.transaction() as tx:
            await tx.execute(
                "UPDATE recordings SET path = '../outside.bin', original_path = '/etc/passwd' "
                "WHERE id = ?",
                (mine.interrupted.id,),
            )
            await tx.execute(
                "UPDATE screenshots SET path = ? WHERE id = ?",
                (str(server.settings.recordings_dir.parent / "outside.bin"), mine.shot.id),
            )
        for path in (
            f"/inspections/{i}/recordings/{mine.interrupted.id}",
            f"/inspections/{i}/recordings/{mine.interrupted.id}/original",
            f"/screenshots/{mine.shot.id}.jpg",
        ):
            status, _, body = await fetch(tab, path)
            assert status == 404 and b"not evidence" not in body and b"root:" not in body, path
        assert not await downloads(server, mine.case.id)

    # An inspector reads their own case's files, not another's (403, nothing sent or logged).
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("zhangsan")
        status, _, body = await fetch(tab, f"/inspections/{i}/recordings/{r}")
        assert status == 200 and body == mine.files[mine.composite.path]
        for path in (
            f"/inspections/{other.inspection.id}/recordings/{other.composite.id}",
            f"/inspections/{other.inspection.id}/recordings/{other.interrupted.id}/original",
            f"/archive/inspections/{other.inspection.id}",
            f"/archive/cases/{other.case.id}",
        ):
            status, _, body = await fetch(tab, path)
            assert status == 403 and other.files[other.composite.path] not in body, path
        assert not await downloads(server, other.case.id)
    # The unfinished original of an interrupted recording, for an archivist.
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("wangwu")
        status, headers, body = await fetch(
            tab, f"/inspections/{other.inspection.id}/recordings/{other.interrupted.id}/original"
        )
        assert status == 200 and body == other.files[other.interrupted.original_path]
        assert "unfinished-s02" in headers["Content-Disposition"]
        [event] = await downloads(server, other.case.id)
        assert event.data["kind"] == "original" and event.data["range"] == "whole"


async def test_a_broken_connection_mid_file_still_left_its_event(server, two_cases):
    mine, _ = two_cases
    await make_account(server.archive, "wangwu", "archivist")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("wangwu")
        url = f"{server.base_url}/inspections/{mine.inspection.id}/recordings/{mine.composite.id}"
        async with tab.session.get(url) as response:
            assert response.status == 200
            await response.content.read(10)
            response.close()
    events = await downloads(server, mine.case.id)
    assert len(events) == 1 and events[0].data["bytes"] == len(mine.files[mine.composite.path])

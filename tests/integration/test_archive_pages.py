"""The archive's pages against the real server: search and its JSON twin, a case as the archive
keeps it, the player's timeline, annotations on an archived case, retention and its tombstones,
verify-files from the dashboard, and the catalog's retention field."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import timedelta

from server import clock
from server.states import Verdict
from tests.support.evidence import fake_recorded_case
from tests.support.staff import StaffBrowser, make_account


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def config_of(page: str) -> dict:
    block = re.search(
        r'<script type="application/json" id="archive-config">(.*?)</script>', page, re.S
    )
    assert block, "no #archive-config"
    return json.loads(block.group(1))


async def logged_in(server, username: str, role: str) -> StaffBrowser:
    account = await make_account(server.archive, username, role)
    tab = StaffBrowser(server.base_url)
    await tab.login(username)
    tab.account = account  # type: ignore[attr-defined]
    return tab


async def test_search_by_every_filter_with_its_json_twin_and_pages(server):
    passed = await fake_recorded_case(
        server, applicant="柳江区示例餐饮店", id_no="91450221MA5KDEM012"
    )
    failed = await fake_recorded_case(
        server,
        applicant="拉堡镇百姓大药房",
        id_no="450221199001011234",
        section="药品审批股",
        verdict=Verdict.FAIL,
    )
    open_case = await fake_recorded_case(server, applicant="示例旅馆", archive=False)
    async with await logged_in(server, "wangwu", "archivist") as tab:
        page = await tab.get("/archive")
        assert page.status == 200 and 'id="archive-search"' in page.text
        for case in (passed, failed, open_case):
            assert f'href="/archive/cases/{case.case.id}"' in page.text

        async def found(**query: str) -> set[int]:
            params = "&".join(f"{k}={v}" for k, v in query.items())
            response = await tab.get(f"/archive?{params}&format=json")
            assert response.status == 200, response.text
            return {c["id"] for c in response.json()["cases"]}

        assert await found(applicant="示例餐饮") == {passed.case.id}
        assert await found(number=passed.case.application_no[-6:]) == {passed.case.id}
        assert await found(number=failed.case.case_no) == {failed.case.id}
        assert await found(id_no="4502211990") == {failed.case.id}
        assert await found(section="药品审批股") == {failed.case.id}
        assert await found(verdict="fail") == {failed.case.id}
        assert await found(verdict="pass") == {passed.case.id, open_case.case.id}
        assert await found(state="archived") == {passed.case.id, failed.case.id}
        assert await found(item="FOOD-OPERATION", state="closed") == set()
        today = clock.shanghai(clock.now(), "%Y-%m-%d")
        assert await found(**{"from": today, "to": today}) == {
            passed.case.id,
            failed.case.id,
            open_case.case.id,
        }
        tomorrow = clock.shanghai(clock.now() + timedelta(days=1), "%Y-%m-%d")
        assert await found(**{"from": tomorrow}) == set()
        # A LIKE wildcard is a character like any other.
        assert await found(applicant="%") == set()
        # The JSON twin by Accept too, with the filters and the paging.
        response = await tab.get(
            "/archive?applicant=大药房", headers={"Accept": "application/json"}
        )
        body = response.json()
        assert (
            body["total"] == 1 and body["page"] == 1 and body["filters"] == {"applicant": "大药房"}
        )
        [entry] = body["cases"]
        assert entry["verdict"] == "fail" and entry["state"] == "archived"
        assert entry["url"] == f"/archive/cases/{failed.case.id}"
        # Bad input is a 400 naming it, never a 500; unknown values filter nothing.
        assert (await tab.get("/archive?from=2026-13-01")).status == 400
        assert (await tab.get("/archive?page=99999999999999999999999")).status == 404
        assert len(await found(verdict="nonsense", state="nonsense")) == 3
        page = await tab.get("/archive?applicant=大药房&lang=en")
        assert "Application / case no." in page.text and "archived" in page.text.lower()

    # An inspector finds only the cases of inspections they were invited to.
    inspector = await make_account(server.archive, "zhangsan", "inspector")
    mine = await fake_recorded_case(server, host_account=inspector.id, applicant="我的案件")
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("zhangsan")
        response = await tab.get("/archive?format=json")
        assert [c["id"] for c in response.json()["cases"]] == [mine.case.id]
        page = await tab.get("/archive")
        assert "仅显示您参与勘验的案件" in page.text


async def test_the_case_page_holds_every_kind_of_evidence(server):
    fake = await fake_recorded_case(server)
    async with await logged_in(server, "wangwu", "archivist") as tab:
        page = await tab.get(f"/archive/cases/{fake.case.id}")
        assert page.status == 200, page.text[:2000]
        text = text_of(page.text)
        assert fake.case.case_no in text and "已归档" in text and "只能添加批注" in text
        # Recordings: both segments in order, the raw track, the interrupted one marked, with
        # its unfinished original; each with its download.
        rows = re.findall(
            r'class="recording-row" data-recording="(\d+)" data-kind="(\w+)" data-state="(\w+)"',
            page.text,
        )
        assert rows == [
            (str(fake.composite.id), "composite", "finished"),
            (str(fake.raw.id), "raw", "finished"),
            (str(fake.interrupted.id), "composite", "interrupted"),
        ]
        base = f"/inspections/{fake.inspection.id}/recordings"
        assert f'href="{base}/{fake.composite.id}?download=1"' in page.text
        assert f'href="{base}/{fake.interrupted.id}/original"' in page.text
        assert "录制中断，已恢复" in text and "recorder process died" in text
        # The screenshot: full size, download, and its instant in the recording (5 s).
        assert f'href="/screenshots/{fake.shot.id}.jpg"' in page.text
        assert (
            f'data-seek="5.0" href="/archive/inspections/{fake.inspection.id}?t=5.0#player"'
            in page.text
        )
        # Checklist, conclusion, record, event log with hashes, retention date, package size.
        assert 'data-mark="conforms"' in page.text and "与材料一致" in text
        assert "现场与申请材料一致" in text
        assert f'href="/records/{fake.record.id}.pdf"' in page.text
        assert (
            'data-type="case.archived"' in page.text
            and 'data-type="recording.finished"' in page.text
        )
        event = (await server.archive.events.find(case_id=fake.case.id))[-1]
        assert f'title="{event.hash}"' in page.text
        keep_until = re.search(r'id="keep-until">([\d-]+)<', page.text).group(1)
        assert keep_until == await _keep_until(server, fake.case.id)
        size = int(re.search(r'id="package-size" data-bytes="(\d+)"', page.text).group(1))
        assert size == sum(len(data) for data in fake.files.values())
        assert 'id="delete-files-form"' not in page.text  # nobody deletes before the date
        page = await tab.get(f"/archive/cases/{fake.case.id}?lang=en")
        assert "Interrupted, recovered" in page.text and "Files kept until" in page.text


async def _keep_until(server, case_id: int) -> str:
    from server.cases.retention import Retention
    from server.services import CATALOG

    retention = Retention(server.archive, server.app[CATALOG], server.settings.recordings_dir)
    value = await retention.keep_until(case_id)
    assert value is not None
    return value


async def test_the_player_page_gives_the_timeline_with_addresses_and_the_gallery(server):
    fake = await fake_recorded_case(server)
    async with await logged_in(server, "wangwu", "archivist") as tab:
        page = await tab.get(f"/archive/inspections/{fake.inspection.id}?t=12.5")
        assert page.status == 200, page.text[:2000]
        config = config_of(page.text)
        timeline = config["timeline"]
        base = f"/inspections/{fake.inspection.id}/recordings"
        assert [(s["url"], s["start"], s["state"]) for s in timeline["segments"]] == [
            (f"{base}/{fake.composite.id}", 0.0, "finished"),
            (f"{base}/{fake.interrupted.id}", 90.0, "interrupted"),
        ]
        assert timeline["duration"] == 120.0 and config["start"] == 12.5
        # Markers sit at their events' server time (all at once here: nothing was recorded).
        [mark] = [m for m in timeline["markers"] if m["kind"] == "mark"]
        assert mark["label"] == "第 2 项 符合 · 张主持" and 0 <= mark["at"] < 5
        assert any(m["kind"] == "screenshot" for m in timeline["markers"])
        assert 'src="/static/js/archive-player.js' in page.text
        assert "<script>" not in page.text  # no inline script: data only
        assert 'data-seek="5.0"' in page.text
        # Nonsense instants are dropped, not errors.
        for t in ("nan", "inf", "-3", "abc", "1e99"):
            page = await tab.get(f"/archive/inspections/{fake.inspection.id}?t={t}")
            assert page.status == 200 and config_of(page.text)["start"] is None, t


async def test_annotations_are_the_only_change_an_archived_case_takes(server):
    fake = await fake_recorded_case(server)
    async with await logged_in(server, "wangwu", "archivist") as tab:
        await tab.get(f"/archive/cases/{fake.case.id}")
        response = await tab.post(
            f"/archive/cases/{fake.case.id}/annotations", {"text": "  补充说明：申请人电话已变更  "}
        )
        assert response.status == 303
        assert response.headers["Location"].endswith("?notice=annotated#annotations")
        page = await tab.get(f"/archive/cases/{fake.case.id}?notice=annotated")
        assert "批注已添加" in page.text and "补充说明：申请人电话已变更" in page.text
        [annotation] = await server.archive.cases.annotations(fake.case.id)
        assert (
            annotation.actor == "staff:wangwu" and annotation.text == "补充说明：申请人电话已变更"
        )
        events = await server.archive.events.find(case_id=fake.case.id, types=["case.annotated"])
        assert events[-1].data["text"] == annotation.text
        # Empty: the page again with the reason; the case is still archived and unchanged.
        response = await tab.post(f"/archive/cases/{fake.case.id}/annotations", {"text": "  "})
        assert response.status == 400 and 'id="case-error"' in response.text
        assert (await server.archive.cases.get(fake.case.id)).state == "archived"


async def test_retention_refuses_before_the_date_and_leaves_tombstones_after(server):
    fake = await fake_recorded_case(server)
    keep_until = await _keep_until(server, fake.case.id)
    await make_account(server.archive, "admin1", "admin")
    async with StaffBrowser(server.base_url) as admin:
        await admin.login("admin1")
        await admin.get(f"/archive/cases/{fake.case.id}")
        response = await admin.post(
            f"/archive/cases/{fake.case.id}/delete-files", {"reason": "保管期满"}
        )
        assert response.status == 409 and keep_until in response.text
        assert all((server.settings.recordings_dir / p).exists() for p in fake.files)
        # Thirty-one years later (the archive's date moved back instead).
        long_ago = clock.iso(clock.now() - timedelta(days=round(365.25 * 31)))
        async with server.archive.db.transaction() as tx:
            await tx.execute(
                "UPDATE cases SET archived_at = ? WHERE id = ?", (long_ago, fake.case.id)
            )
        page = await admin.get(f"/archive/cases/{fake.case.id}")
        assert 'id="delete-files-form"' in page.text
        response = await admin.post(f"/archive/cases/{fake.case.id}/delete-files", {"reason": " "})
        assert response.status == 400
        response = await admin.post(
            f"/archive/cases/{fake.case.id}/delete-files", {"reason": "保管期满，按规定销毁"}
        )
        assert response.status == 303
        assert not any((server.settings.recordings_dir / p).exists() for p in fake.files)
        page = await admin.get(f"/archive/cases/{fake.case.id}?notice=files_deleted")
        assert 'class="tombstone"' in page.text and "保管期满，按规定销毁" in page.text
        assert fake.composite.sha256[:12] in page.text and 'id="delete-files-form"' not in page.text
        # What was deleted is gone from every address, the record of it stays.
        base = f"/inspections/{fake.inspection.id}/recordings"
        for path in (f"{base}/{fake.composite.id}", f"/screenshots/{fake.shot.id}.jpg"):
            assert (await admin.get(path)).status == 404, path
        assert (await server.archive.events.find(case_id=fake.case.id))[-1].type in (
            "case.files_deleted",
        )
    # Only an administrator deletes, even after the date.
    async with await logged_in(server, "wangwu", "archivist") as tab:
        await tab.get(f"/archive/cases/{fake.case.id}")
        response = await tab.post(f"/archive/cases/{fake.case.id}/delete-files", {"reason": "x"})
        assert response.status == 403


async def test_verify_files_from_the_dashboard(server):
    fake = await fake_recorded_case(server)
    await make_account(server.archive, "admin1", "admin")
    async with StaffBrowser(server.base_url) as admin:
        await admin.login("admin1")
        page = await admin.get("/dashboard")
        assert 'id="file-checks"' in page.text and "尚未核验过" in page.text
        response = await admin.post("/archive/verify-files")
        assert response.status == 303 and "files_check_started" in response.headers["Location"]
        for _ in range(100):
            if await server.archive.integrity.last():
                break
            await asyncio.sleep(0.05)
        check = await server.archive.integrity.last()
        assert check is not None and check.ok and check.actor == "staff:admin1"
        page = await admin.get("/dashboard")
        assert f"{check.files} 个文件的 SHA-256 全部一致" in page.text
        # A changed file: the next run names it.
        path = server.settings.recordings_dir / fake.shot.path
        path.write_bytes(path.read_bytes()[:-1] + b"\x00")
        await admin.post("/archive/verify-files")
        for _ in range(100):
            last = await server.archive.integrity.last()
            if last and last.id != check.id:
                break
            await asyncio.sleep(0.05)
        page = await admin.get("/dashboard")
        assert fake.shot.path in page.text and "0 个文件缺失、1 个文件不一致" in page.text
    # The archivist sees the result and cannot start a run; an inspector sees neither.
    async with await logged_in(server, "wangwu", "archivist") as tab:
        page = await tab.get("/dashboard")
        assert fake.shot.path in page.text and 'id="verify-files-form"' not in page.text
        assert (await tab.post("/archive/verify-files")).status == 403
    async with await logged_in(server, "zhangsan", "inspector") as tab:
        page = await tab.get("/dashboard")
        assert 'id="file-checks"' not in page.text and 'href="/archive"' in page.text


async def test_the_catalog_form_sets_the_retention_period(server):
    await make_account(server.archive, "admin1", "admin")
    async with StaffBrowser(server.base_url) as admin:
        await admin.login("admin1")
        page = await admin.get("/catalog/FOOD-OPERATION/edit")
        assert 'name="retention_years"' in page.text
        form = _form_values(page.text)
        response = await admin.post("/catalog", {**form, "retention_years": "0"})
        assert response.status == 400 and "retention_years" in response.text
        response = await admin.post("/catalog", {**form, "retention_years": "abc"})
        assert response.status == 400
        response = await admin.post(
            "/catalog", {**form, "retention_years": "15", "note": "保管15年"}
        )
        assert response.status in (302, 303), response.text[:500]
        versions = await server.archive.catalog.versions("FOOD-OPERATION")
        assert versions[0].data["retention_years"] == 15
        page = await admin.get("/catalog/FOOD-OPERATION/edit")
        assert (
            'name="retention_years" type="number" min="1" max="100" inputmode="numeric" value="15"'
            in page.text
        )
        page = await admin.get("/catalog/FOOD-OPERATION")
        assert "档案保管期限（年）：15" in text_of(page.text)
        # Emptied again: the default.
        form = _form_values((await admin.get("/catalog/FOOD-OPERATION/edit")).text)
        response = await admin.post("/catalog", {**form, "retention_years": ""})
        assert response.status in (302, 303)
        assert (
            "retention_years"
            not in (await server.archive.catalog.versions("FOOD-OPERATION"))[0].data
        )


def _form_values(page: str) -> dict[str, str]:
    form = page[page.index('id="catalog-form"') :]
    values: dict[str, str] = {}
    for match in re.finditer(r"<input ([^>]*)>", form):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1)))
        if "name" in attrs and attrs.get("type") != "checkbox":
            values[attrs["name"]] = html.unescape(attrs.get("value", ""))
        elif attrs.get("type") == "checkbox" and "checked" in match.group(1):
            values[attrs["name"]] = "on"
    for match in re.finditer(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[match.group(1)] = html.unescape(match.group(2))
    for match in re.finditer(r'<select name="(\w+)">(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', match.group(2))
        values[match.group(1)] = chosen.group(1) if chosen else ""
    return values

"""Every route × every kind of caller, against the real server, with the status each must get.

Callers: nobody (anonymous), an applicant holding their status link, an observer holding their
room link, each staff role, a staff member still on a one-time password, the platform with an API
key, an approval clerk of another section (业务股室) than the case's, and — for the room — a
personal link of another inspection. The archive's routes have a row for an inspector's own case
and one for another's. Every route the app serves must have a row here: a new route without one
fails this test.
"""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest
from PIL import Image

from server import clock
from server.archive import GroupMember
from server.archive.uploads import StoredFile
from server.cases.checklist import catalog_points
from server.services import CASES, LINKS, STATUS_LINKS
from server.staff.api_keys import ApiKeys
from tests.support.evidence import fake_recorded_case
from tests.support.route_table import CALLERS, OTHER_SECTION, ROLES, table
from tests.support.server import make_settings
from tests.support.staff import INTAKE_FORM, StaffBrowser, make_account
from tests.support.videos import make_video


async def setup_world(server) -> dict[str, str]:
    archive = server.archive
    cases = server.app[CASES]
    inspector = await make_account(archive, "inspector", "inspector")
    staff_accounts = {
        role: await make_account(archive, role, role)
        for role in ("admin", "clerk", "archivist", "leader")
    }
    await make_account(archive, "one_time", "inspector", changed=False)
    await make_account(archive, "other_clerk", "clerk", sections=(OTHER_SECTION,))
    spare = await make_account(archive, "spare", "clerk")
    spare_key, _ = await ApiKeys(archive).create("spare", actor="test")
    form = {**INTAKE_FORM}
    application = {
        "application_no": form["application_no"],
        "applicant": {
            "name": form["applicant_name"],
            "id_no": form["applicant_id_no"],
            "phone": form["applicant_phone"],
        },
        "item_code": form["item_code"],
        "site_address": form["site_address"],
        "section": form["section"],
    }
    case, _ = await cases.intake(application, actor="test")
    group = [
        GroupMember("host", inspector.display_name, user_id=inspector.id),
        GroupMember("observer", "赵观察"),
        GroupMember("applicant", case.applicant_name),
    ]
    inspection = await cases.schedule(case.id, clock.now(), group, actor="test")
    members = await archive.inspections.invitees(inspection.id)
    observer = next(m for m in members if m.role == "observer")
    host = next(m for m in members if m.role == "host")
    excluded, _ = await cases.intake({**application, "application_no": "SQ-X"}, actor="test")
    exclusion = await cases.declare(excluded.id, "site", "无信号", actor="test")
    other, _ = await cases.intake({**application, "application_no": "SQ-O"}, actor="test")
    other_inspection = await cases.schedule(
        other.id, clock.now() + timedelta(minutes=1), group, actor="test"
    )
    shot_path = server.settings.recordings_dir / "perm" / "shot.jpg"
    shot_path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (200, 30, 30)).save(shot_path, quality=92)
    shot = await archive.evidence.add_screenshot(
        inspection_id=inspection.id,
        case_id=case.id,
        participant_id=observer.id,
        taker_id=host.id,
        taken_at=clock.now_iso(),
        path="perm/shot.jpg",
        width=64,
        height=48,
        size_bytes=shot_path.stat().st_size,
        sha256="0" * 64,
    )
    (shot_path.parent / "record-v1.html").write_text("<!doctype html><p>勘验笔录</p>")
    (shot_path.parent / "record-v1.pdf").write_bytes(b"%PDF-1.7 test")
    record = await archive.records.add(
        inspection.id,
        1,
        html_path="perm/record-v1.html",
        html_sha256="0" * 64,
        pdf_path="perm/record-v1.pdf",
        pdf_sha256="0" * 64,
        pdf_bytes=13,
        actor="test",
    )
    reviewing = await video_under_review(server, application, staff_accounts["clerk"])
    mine = await fake_recorded_case(server, host_account=inspector.id)
    other_fake = await fake_recorded_case(server)
    return {
        "reviewing": str(reviewing),
        "mine_case": str(mine.case.id),
        "mine_inspection": str(mine.inspection.id),
        "mine_rec": str(mine.composite.id),
        "mine_orig": str(mine.interrupted.id),
        "other_case": str(other_fake.case.id),
        "other_insp": str(other_fake.inspection.id),
        "other_rec": str(other_fake.composite.id),
        "other_orig": str(other_fake.interrupted.id),
        "observer_path": f"/room/{inspection.id}/{server.app[LINKS].token(observer, inspection)}",
        "record": str(record.id),
        "screenshot": str(shot.id),
        "observer_room": server.app[LINKS].token(observer, inspection),
        "case": str(case.id),
        "inspection": str(inspection.id),
        "other_inspection": str(other_inspection.id),
        "exclusion": str(exclusion.id),
        "excluded_case": str(excluded.id),
        "invitee": str(observer.id),
        "room": server.app[LINKS].token(host, inspection),
        "status": (await server.app[STATUS_LINKS].path(case)).rsplit("/", 1)[1],
        "spare_account": str(spare.id),
        "spare_key": str(spare_key.id),
        "application": {**application, "application_no": "SQ-API"},
    }


async def video_under_review(server, application: dict, clerk) -> int:
    """A self-recorded inspection whose video passed its checks, with the clerk account in its
    group: the id of the inspection."""
    archive = server.archive
    case, _ = await server.app[CASES].intake(
        {**application, "application_no": "SQ-V"}, actor="test"
    )
    [version, *_] = await archive.catalog.versions(case.item_code)
    inspection = await archive.inspections.schedule(
        case.id,
        clock.now_iso(),
        version.id,
        [
            GroupMember("host", "刘主持"),
            GroupMember("clerk", clerk.display_name, user_id=clerk.id),
            GroupMember("applicant", case.applicant_name),
        ],
        actor="test",
        checklist=catalog_points(version.data["checklist"]),
        method="video",
    )
    folder = server.settings.recordings_dir / "perm-video"
    folder.mkdir(parents=True, exist_ok=True)
    make_video(folder / "site.mp4", seconds=1, size=(160, 120))
    Image.new("RGB", (32, 24)).save(folder / "poster.jpg")
    Image.new("RGB", (320, 24)).save(folder / "strip.jpg")
    upload = await archive.uploads.create(
        "perm-upload",
        inspection.id,
        (folder / "site.mp4").stat().st_size,
        filename="site.mp4",
        filetype="video/mp4",
        address="127.0.0.1",
        agent="test",
        expires_at=clock.iso(clock.now() + timedelta(days=1)),
    )
    await archive.uploads.complete(upload.id)
    await archive.uploads.checked(
        upload.id,
        files=[
            StoredFile(kind, f"perm-video/{name}", "0" * 64, (folder / name).stat().st_size)
            for kind, name in (
                ("upload", "site.mp4"),
                ("poster", "poster.jpg"),
                ("strip", "strip.jpg"),
            )
        ],
        facts={"duration_s": 1.0, "width": 160, "height": 120},
        failures=[],
    )
    return inspection.id


def served_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path")
        if route.method == "HEAD" or template is None or "prefix" in info:
            continue  # static files, and aiohttp's automatic HEAD twins of GET routes
        routes.add((route.method, template))
    return routes


@pytest.fixture
def settings(tmp_path):
    # Every caller posts an empty login from one address: more than the throttle lets through.
    return make_settings(
        tmp_path, staff={"login_max_failures": 100, "login_max_failures_per_address": 100}
    )


@pytest.fixture
async def world(server):
    ids = await setup_world(server)
    browsers = {}
    for caller in CALLERS:
        tab = StaffBrowser(server.base_url)
        await tab.get("/login")  # every caller holds a valid form token: this is not a CSRF test
        if caller == "applicant":
            assert (await tab.get(f"/s/{ids['status']}")).status == 200
        if caller == "observer":
            assert (await tab.get(ids["observer_path"])).status == 200
        if caller in (*ROLES, "one_time", "other_clerk"):
            response = await tab.login(caller)
            assert response.status == 303, caller
        browsers[caller] = tab
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    yield ids, browsers, key
    for tab in browsers.values():
        await tab.close()


async def test_every_route_answers_every_caller_as_the_table_says(server, world):
    ids, browsers, key = world
    rows = table(ids)
    covered = {(method, route) for method, route, *_ in rows}
    missing = served_routes(server.app) - covered
    assert not missing, f"routes without a row in the permission table: {sorted(missing)}"
    mismatches = []
    for method, route, path, body, expected in rows:
        assert set(expected) == set(CALLERS), route
        for caller in CALLERS:
            tab = browsers[caller]
            headers = {"Authorization": f"Bearer {key}"} if caller == "api_key" else {}
            if route.startswith("/api/") or method not in ("GET", "POST"):
                got = await _api(tab, method, path, body, headers)
            elif method == "GET":
                got = (await tab.get(path, headers=headers)).status
            else:
                got = (await tab.post(path, body, headers=headers)).status
            if got != expected[caller]:
                mismatches.append(
                    f"{method} {path} as {caller}: {got}, expected {expected[caller]}"
                )
    assert not mismatches, "\n".join(mismatches)


async def _api(tab, method, path, body, headers) -> int:
    kwargs = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    async with tab.session.request(method, tab.base_url + path, **kwargs) as response:
        return response.status


async def test_a_room_link_opens_no_other_inspections_websocket(server, world):
    ids, _, _ = world
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as session:
        ws = await session.ws_connect(
            server.base_url.replace("https", "wss") + "/ws",
            headers={"Origin": server.base_url},
        )
        await ws.send_json(
            {
                "type": "hello",
                "version": 1,
                "inspection": int(ids["other_inspection"]),
                "token": ids["room"],
            }
        )
        message = await ws.receive_json()
        assert message["type"] == "error" and message["code"] == "wrong_inspection"
        await ws.receive()
        assert ws.close_code == 4004

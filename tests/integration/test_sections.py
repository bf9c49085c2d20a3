"""Sections (业务股室): approval clerks — and inspectors, when the bureau says so — see and act on
their own sections' cases only; admins and archivists see every case.

Against the real server: a clerk of another section neither finds the case (lists, search by ID
number, dashboard) nor opens it, its files or any of its actions (404), and cannot cancel its
inspection by declaring an exclusion. The administrator gives each account its sections in the
staff pages or with `python -m server user add --section`.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.integration.test_server_start import run_cli
from tests.support.server import make_settings, write_config
from tests.support.staff import (
    INTAKE_FORM,
    StaffBrowser,
    beijing,
    make_account,
    register,
    schedule_form,
)

FOOD = INTAKE_FORM["section"]  # 食品药品审批股
HEALTH = "卫生审批股"
ID_NO = INTAKE_FORM["applicant_id_no"]


@pytest.fixture
def settings(tmp_path, request):
    return make_settings(tmp_path, staff=getattr(request, "param", {}))


async def scheduled_case(tab: StaffBrowser) -> tuple[int, int]:
    """A case of the food section, scheduled now; its id and its inspection's."""
    case_id = await register(tab)
    await tab.get(f"/cases/{case_id}/schedule")
    response = await tab.post(
        f"/cases/{case_id}/inspections", schedule_form(beijing(timedelta(minutes=5)))
    )
    assert response.status == 303, response.text[:300]
    page = await tab.get(f"/cases/{case_id}")
    inspection = int(re.search(r'id="inspection-(\d+)"', page.text).group(1))  # type: ignore[union-attr]
    return case_id, inspection


async def test_a_clerk_of_another_section_neither_sees_nor_touches_the_case(server, inspector):
    case_id, inspection_id = await scheduled_case(inspector)
    await make_account(server.archive, "food", "clerk", sections=(FOOD,))
    await make_account(server.archive, "health", "clerk", sections=(HEALTH,))
    async with StaffBrowser(server.base_url) as health, StaffBrowser(server.base_url) as food:
        await health.login("health")
        await food.login("food")
        # The clerk of the owning section sees it everywhere.
        assert (await food.get(f"/cases/{case_id}")).status == 200
        assert INTAKE_FORM["application_no"] in (await food.get(f"/cases?q={ID_NO}")).text
        case_no = (await server.archive.cases.get(case_id)).case_no
        assert case_no in (await food.get("/dashboard")).text
        # The other section's clerk finds nothing: not in the list, not by the ID number, not
        # on the dashboard, and the case's own pages do not exist for them.
        for path in ("/cases", f"/cases?q={ID_NO}", f"/cases?section={FOOD}", "/dashboard"):
            page = await health.get(path)
            assert page.status == 200
            assert INTAKE_FORM["application_no"] not in page.text, path
            assert case_no not in page.text, path
            assert INTAKE_FORM["applicant_name"] not in page.text, path
            assert "q=" in path or ID_NO not in page.text  # a search shows what was asked
        listing = await health.get("/cases")
        assert f"<option>{FOOD}</option>" not in listing.text  # not even as a filter
        page = await health.get(f"/cases/{case_id}")
        assert page.status == 404 and ID_NO not in page.text
        # Declaring an exclusion would cancel the food section's inspection: refused.
        response = await health.post(
            f"/cases/{case_id}/exclusions", {"ground": "site", "reason": "现场无信号"}
        )
        assert response.status == 404
        assert (await health.post(f"/cases/{case_id}/close", {"note": "办结"})).status == 404
    inspection = await server.archive.inspections.get(inspection_id)
    assert inspection.state == "scheduled"
    assert await server.archive.eligibility.exclusions(case_id) == []
    assert (await server.archive.cases.get(case_id)).state == "scheduled"


async def test_a_clerk_registers_cases_of_their_own_sections_only(server):
    await make_account(server.archive, "health", "clerk", sections=(HEALTH,))
    async with StaffBrowser(server.base_url) as health:
        await health.login("health")
        form = await health.get("/cases/new")
        assert f'<option value="{HEALTH}">' in form.text and FOOD not in form.text
        await health.get("/cases/new")
        response = await health.post("/cases", dict(INTAKE_FORM))
        assert response.status == 400 and HEALTH in response.text
        assert (await server.archive.cases.search())[1] == 0
        case_id = await register(health, section=HEALTH)
        assert (await health.get(f"/cases/{case_id}")).status == 200


async def test_a_clerk_without_a_section_sees_no_case_and_is_told_why(server, inspector):
    await register(inspector)
    await make_account(server.archive, "newcomer", "clerk", sections=())
    async with StaffBrowser(server.base_url) as tab:
        await tab.login("newcomer")
        page = await tab.get("/dashboard")
        assert "尚未分配业务股室" in page.text
        listing = await tab.get("/cases")
        assert INTAKE_FORM["application_no"] not in listing.text


async def test_only_the_owning_sections_clerks_can_join_the_group(server, inspector):
    case_id = await register(inspector)
    food = await make_account(server.archive, "food", "clerk", sections=(FOOD, HEALTH))
    health = await make_account(server.archive, "health", "clerk", sections=(HEALTH,))
    page = await inspector.get(f"/cases/{case_id}/schedule")
    assert f'value="{food.id}"' in page.text and f'value="{health.id}"' not in page.text
    response = await inspector.post(
        f"/cases/{case_id}/inspections",
        schedule_form(beijing(timedelta(minutes=5)), clerk_account=str(health.id)),
    )
    assert response.status == 400 and "不属于承办股室" in response.text
    assert await server.archive.inspections.of_case(case_id) == []


@pytest.mark.parametrize("settings", [{"inspectors_by_section": True}], indirect=True)
async def test_inspectors_keep_to_their_sections_when_the_bureau_says_so(server):
    mine = await make_account(server.archive, "food_inspector", "inspector", sections=(FOOD,))
    other = await make_account(server.archive, "health_inspector", "inspector", sections=(HEALTH,))
    await make_account(server.archive, "archivist", "archivist")
    async with (
        StaffBrowser(server.base_url) as food,
        StaffBrowser(server.base_url) as health,
        StaffBrowser(server.base_url) as archivist,
    ):
        for tab, name in ((food, "food_inspector"), (health, "health_inspector")):
            await tab.login(name)
        await archivist.login("archivist")
        case_id, inspection_id = await scheduled_case(food)
        # Only inspectors of the case's section are offered, or taken, as its host.
        form = await food.get(f"/cases/{case_id}/schedule")
        assert f'value="{mine.id}"' in form.text and f'value="{other.id}"' not in form.text
        response = await food.post(
            f"/cases/{case_id}/inspections",
            schedule_form(beijing(timedelta(days=1)), host_account=other.id),
        )
        assert response.status == 400 and "不负责承办股室" in response.text
        assert (await health.get(f"/cases/{case_id}")).status == 404
        assert (await health.get(f"/cases/{case_id}/schedule")).status == 404
        assert (await health.get(f"/inspections/{inspection_id}/notice")).status == 404
        response = await health.post(f"/inspections/{inspection_id}/cancel", {"reason": "取消"})
        assert response.status == 404
        case_no = (await server.archive.cases.get(case_id)).case_no
        assert case_no not in (await health.get("/dashboard")).text
        assert case_no in (await food.get("/dashboard")).text
        assert (await archivist.get(f"/cases/{case_id}")).status == 200
    assert (await server.archive.inspections.get(inspection_id)).state == "scheduled"


async def test_the_administrator_gives_accounts_their_sections(server, inspector):
    case_id = await register(inspector)
    await make_account(server.archive, "boss", "admin")
    async with StaffBrowser(server.base_url) as admin, StaffBrowser(server.base_url) as clerk:
        await admin.login("boss")
        page = await admin.get("/admin/accounts")
        assert f'<option value="{FOOD}">' in page.text  # the sections cases name, offered
        response = await admin.post(
            "/admin/accounts",
            {"username": "lisi", "display_name": "李四", "role": "clerk", "sections": HEALTH},
        )
        assert response.status == 200 and 'id="one-time-password"' in response.text
        password = re.search(r'id="one-time-password">([^<]+)<', response.text).group(1)  # type: ignore[union-attr]
        account = await server.archive.staff.find("lisi")
        assert account is not None and account.sections == (HEALTH,)
        await clerk.login("lisi", password)
        await clerk.get("/account/password")
        changed = {"current": password, "new": "Clerk-pass-2026", "repeat": "Clerk-pass-2026"}
        assert (await clerk.post("/account/password", changed)).status == 303
        assert (await clerk.get(f"/cases/{case_id}")).status == 404
        # Editing: both sections, separated as people type them.
        await admin.get("/admin/accounts")
        response = await admin.post(
            f"/admin/accounts/{account.id}/sections", {"sections": f"{HEALTH}、{FOOD}"}
        )
        assert response.status == 303
        assert (await server.archive.staff.get(account.id)).sections == (HEALTH, FOOD)
        assert (await clerk.get(f"/cases/{case_id}")).status == 200
        response = await admin.post(f"/admin/accounts/{account.id}/sections", {"sections": "x"})
        assert response.status == 400
        assert (await server.archive.staff.get(account.id)).sections == (HEALTH, FOOD)
    [event] = await server.archive.events.find(types=["staff.sections_changed"])
    assert event.data == {"staff_id": account.id, "sections": [HEALTH, FOOD]}


def test_the_command_line_sets_sections(tmp_path):
    config = write_config(tmp_path)
    added = run_cli(
        config, "user", "add", "lisi", "--role", "clerk", "--section", FOOD, "--section", HEALTH
    )
    assert added.returncode == 0, added.stderr
    assert f"sections: {FOOD}、{HEALTH}" in added.stdout
    changed = run_cli(config, "user", "sections", "lisi", HEALTH)
    assert changed.returncode == 0 and f"sections of lisi: {HEALTH}" in changed.stdout
    listed = run_cli(config, "user", "list")
    assert re.search(rf"lisi\tclerk\tlisi\tactive\t{HEALTH}$", listed.stdout, re.MULTILINE)
    refused = run_cli(config, "user", "sections", "lisi", "x")
    assert refused.returncode == 1 and "sections" in refused.stderr


NOT_ABOUT_A_CASE = {"account", "key", "webhook", "code", "action"}


def test_every_staff_route_about_a_case_keeps_to_the_sections(server):
    """A route that names a case, an inspection or anything of theirs must say how to find the
    case (staff_page(case=…), or web.views.access's readers), or another section's clerk could
    reach it."""
    unguarded, checked = [], 0
    for route in server.app.router.routes():
        handler = route.handler
        info = route.resource.get_info() if route.resource else {}
        template = info.get("formatter") or info.get("path") or ""
        names = set(re.findall(r"\{(\w+)\}", template)) - NOT_ABOUT_A_CASE
        if not hasattr(handler, "staff_action") or not names:
            continue
        checked += 1
        # Either staff_page finds the case, or the handler asks web.views.access.
        if getattr(handler, "staff_case", None) is None and not getattr(
            handler, "case_access", False
        ):
            unguarded.append(f"{route.method} {template}")
    assert not unguarded, unguarded
    assert checked >= 19

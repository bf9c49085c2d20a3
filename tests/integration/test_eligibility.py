"""The five exclusions (SPEC §3) stop scheduling, each with its reason, through the staff pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.support.staff import (
    StaffBrowser,
    beijing,
    make_account,
    register,
    schedule_form,
)


async def try_to_schedule(tab, case_id: int):
    await tab.get(f"/cases/{case_id}/schedule")
    return await tab.post(
        f"/cases/{case_id}/inspections", schedule_form(beijing(timedelta(days=1)), tab.account.id)
    )


@pytest.mark.parametrize(
    ("ground", "label", "reason"),
    [
        ("security", "涉及国家安全或商业秘密", "厂区涉及军工配套生产线"),
        ("site", "现场不具备视频勘验条件", "地下室无移动网络信号"),
        ("content", "勘验内容不适宜视频勘验", "需实测排烟管道风量"),
        ("law", "法律法规规定不适用视频勘验", "地方规章要求现场核查"),
    ],
)
async def test_each_declared_exclusion_blocks_scheduling_with_its_reason(
    server, inspector, ground, label, reason
):
    case_id = await register(inspector)
    await inspector.get(f"/cases/{case_id}")
    response = await inspector.post(
        f"/cases/{case_id}/exclusions", {"ground": ground, "reason": reason}
    )
    assert response.status == 303
    page = await inspector.get(f"/cases/{case_id}")
    assert "本案不适用视频勘验" in page.text and label in page.text and reason in page.text
    assert 'id="schedule-link"' not in page.text  # no way to schedule from the page
    response = await try_to_schedule(inspector, case_id)
    assert response.status == 409
    assert label in response.text and reason in response.text
    assert await server.archive.inspections.of_case(case_id) == []
    case = await server.archive.cases.get(case_id)
    assert case.state == "excluded"
    declared = await server.archive.eligibility.exclusions(case_id)
    assert [(x.ground, x.reason, x.declared_by) for x in declared] == [
        (ground, reason, "staff:zhangsan")
    ]


async def test_a_dishonesty_import_after_intake_blocks_at_scheduling(server, inspector):
    case_id = await register(inspector)
    assert (await server.archive.cases.get(case_id)).state == "intake"
    csv_text = (
        "证件号码,名称,失信事由,列入日期\n91450221MA5KDEM012,柳江区示例餐饮店,承诺不实,2026-10-08\n"
    )
    await inspector.get("/dishonesty")
    response = await inspector.post(
        "/dishonesty/import",
        data=_multipart(csv_text.encode("gb18030"), inspector.csrf),
        csrf=False,
    )
    assert response.status == 200 and "导入完成" in response.text
    response = await try_to_schedule(inspector, case_id)
    assert response.status == 409
    assert "申请人被列入失信名单" in response.text and "承诺不实" in response.text
    case = await server.archive.cases.get(case_id)
    assert case.state == "excluded"
    page = await inspector.get(f"/cases/{case_id}")
    assert "承诺不实（列入日期 2026-10-08）" in page.text
    assert [x.declared_by for x in await server.archive.eligibility.exclusions(case_id)] == [
        "system:dishonesty-list"
    ]


async def test_an_item_taken_off_video_after_intake_blocks_at_scheduling(server, inspector):
    case_id = await register(inspector)
    await make_account(server.archive, "boss", "admin")
    async with StaffBrowser(server.base_url) as admin:
        await admin.login("boss")
        page = await admin.get("/catalog/FOOD-OPERATION/edit")
        assert page.status == 200
        form = _form_fields(page.text)
        form.pop("video_allowed", None)
        form.update(
            exclusion_ground="law", exclusion_reason="新规要求现场核验", note="暂停视频勘验"
        )
        response = await admin.post("/catalog", form)
        assert response.status == 303, response.text[:600]
    response = await try_to_schedule(inspector, case_id)
    assert response.status == 409 and "新规要求现场核验" in response.text
    [exclusion] = await server.archive.eligibility.exclusions(case_id)
    assert exclusion.declared_by == "catalog:FOOD-OPERATION v2 (staff:boss)"


async def test_a_withdrawn_exclusion_lets_the_case_be_scheduled(server, inspector):
    case_id = await register(inspector)
    await inspector.get(f"/cases/{case_id}")
    await inspector.post(f"/cases/{case_id}/exclusions", {"ground": "site", "reason": "无信号"})
    [exclusion] = await server.archive.eligibility.exclusions(case_id)
    await inspector.get(f"/cases/{case_id}")
    response = await inspector.post(
        f"/exclusions/{exclusion.id}/withdraw", {"reason": "申请人已安装信号放大器"}
    )
    assert response.status == 303
    assert (await server.archive.cases.get(case_id)).state == "intake"
    response = await try_to_schedule(inspector, case_id)
    assert response.status == 303
    assert (await server.archive.cases.get(case_id)).state == "scheduled"


async def test_declaring_an_exclusion_cancels_a_scheduled_inspection(server, inspector):
    case_id = await register(inspector)
    assert (await try_to_schedule(inspector, case_id)).status == 303
    await inspector.get(f"/cases/{case_id}")
    await inspector.post(
        f"/cases/{case_id}/exclusions", {"ground": "security", "reason": "涉密车间"}
    )
    [inspection] = await server.archive.inspections.of_case(case_id)
    assert inspection.state == "cancelled"


async def test_a_declaration_needs_a_ground_and_a_reason(server, inspector):
    case_id = await register(inspector)
    await inspector.get(f"/cases/{case_id}")
    response = await inspector.post(f"/cases/{case_id}/exclusions", {"ground": "dishonest"})
    assert response.status == 400
    assert "ground" in response.text and "reason" in response.text
    assert await server.archive.eligibility.exclusions(case_id) == []


def _form_fields(html: str) -> dict[str, str]:
    """The values an edit form carries, as a browser would submit them unchanged."""
    import html as html_lib

    fields: dict[str, str] = {}
    form = html[html.index('id="catalog-form"') :]
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form):
        fields[name] = html_lib.unescape(value)
    for name, value in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        fields[name] = html_lib.unescape(value)
    if re.search(r'name="video_allowed" checked', form):
        fields["video_allowed"] = "on"
    return fields


def _multipart(raw: bytes, csrf: str):
    import aiohttp

    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("mode", "merge")
    form.add_field("file", raw, filename="失信名单.csv", content_type="text/csv")
    return form

"""Notices on the staff pages: each case's deliveries with the receiver's answer and a resend
that is logged; the administrator's receivers and failed messages; e-mail addresses checked at
scheduling; a person opted out of reminders and back in."""

from __future__ import annotations

import html
import re
from datetime import timedelta

from aiosmtpd.controller import Controller

from server import clock
from server.archive import GroupMember
from server.archive.uploads import StoredFile
from server.services import STATUS_LINKS
from tests.support.notices import FAST, Mailbox, Receiver, concluded_case, free_port, wait
from tests.support.server import make_settings, running_server
from tests.support.staff import StaffBrowser, beijing, make_account, register, schedule_form


async def give_up_now(server, message_id: int) -> None:
    """As if the message had been due for three days: its next failure is the last."""
    async with server.archive.db.transaction() as tx:
        await tx.execute(
            "UPDATE outbox SET first_due_at = ? WHERE id = ?",
            (clock.iso(clock.now() - timedelta(days=3)), message_id),
        )


async def test_a_failed_push_is_shown_with_the_answer_and_sent_again_by_hand(tmp_path):
    settings = make_settings(tmp_path, notices=FAST)
    receiver = Receiver("s3cret", ["500"] * 1000)
    port = free_port()
    runner = await receiver.start(port)
    try:
        async with running_server(settings) as server:
            await make_account(server.archive, "admin1", "admin")
            await make_account(server.archive, "zhang", "inspector")
            async with StaffBrowser(server.base_url) as admin:
                await admin.login("admin1")
                bad = await admin.post(
                    "/admin/webhooks",
                    [("name", "platform"), ("url", "ftp://x"), ("topics", "case.concluded")],
                )
                assert bad.status == 400 and "http(s)" in bad.text
                assert await server.archive.outbox.webhooks() == []
                added = await admin.post(
                    "/admin/webhooks",
                    [
                        ("name", "platform"),
                        ("url", f"http://127.0.0.1:{port}/hook"),
                        ("topics", "case.concluded"),
                    ],
                )
                assert added.status == 200
                secret = re.search(r'id="webhook-secret">([^<]+)<', added.text).group(1)
                receiver.secret = html.unescape(secret)
                again = await admin.get("/admin/notices")
                assert receiver.secret not in again.text  # shown once

            case_id = await concluded_case(server)

            async def tried() -> bool:
                [message] = await server.archive.outbox.of_case(case_id)
                return message.attempts >= 1 and message.state == "retrying"

            await wait(tried, what="a first failed attempt")
            assert receiver.attempts  # the signature was good: the receiver answered 500
            [message] = await server.archive.outbox.of_case(case_id)
            await give_up_now(server, message.id)

            async def failed() -> bool:
                return (await server.archive.outbox.get(message.id)).state == "failed"

            await wait(failed, what="given up")
            async with StaffBrowser(server.base_url) as tab:
                await tab.login("zhang")
                page = await tab.get(f"/cases/{case_id}")
                row = re.search(
                    rf'<tr class="delivery[^>]*data-message="{message.id}".*?</tr>', page.text, re.S
                )
                assert row and 'data-state="failed"' in row.group(0)
                assert "<code>500</code>" in row.group(0) and "发送失败" in row.group(0)
                async with StaffBrowser(server.base_url) as admin:
                    await admin.login("admin1")
                    listed = await admin.get("/admin/notices")
                    assert f'data-message="{message.id}"' in listed.text
                    dashboard = await admin.get("/dashboard")
                    assert "失败 1" in dashboard.text
                receiver.answers = []  # the platform is back
                resent = await tab.post(f"/messages/{message.id}/resend")
                assert resent.status == 303 and "notice=resent" in resent.headers["Location"]

                async def sent() -> bool:
                    return (await server.archive.outbox.get(message.id)).state == "sent"

                await wait(sent, what="sent again")
                page = await tab.get(f"/cases/{case_id}")
                assert "已送达" in page.text
            events = await server.archive.events.find(case_id=case_id)
            resends = [e for e in events if e.type == "notice.resent"]
            assert resends and resends[0].actor == "staff:zhang"
            assert "body" not in resends[0].data  # the log never holds a message's text
    finally:
        await runner.cleanup()
    assert len(receiver.accepted) == 1  # once, under the same key as every failed try
    assert set(receiver.attempts) == {message.key}


async def test_addresses_are_checked_at_scheduling_and_a_person_can_opt_out_of_reminders(
    tmp_path,
):
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        settings = make_settings(
            tmp_path,
            notices={**FAST, "reminder_minutes": 60},
            mail={"host": "127.0.0.1", "port": smtp_port, "security": "none"},
        )
        async with running_server(settings) as server:
            account = await make_account(server.archive, "zhang", "inspector")
            async with StaffBrowser(server.base_url) as tab:
                await tab.login("zhang")
                case_id = await register(tab)
                when = beijing(timedelta(days=1))
                await tab.get(f"/cases/{case_id}/schedule")
                refused = await tab.post(
                    f"/cases/{case_id}/inspections",
                    schedule_form(when, account.id, expert_email="wang@", applicant_email="x y"),
                )
                assert refused.status == 400
                assert "expert[0].email" in refused.text and "applicant[0].email" in refused.text
                assert 'value="wang@"' in refused.text  # what was typed stays in the form
                assert await server.archive.inspections.of_case(case_id) == []
                done = await tab.post(
                    f"/cases/{case_id}/inspections",
                    schedule_form(
                        when, account.id, expert_email="Wang@Experts.EXAMPLE.cn", expert_phone=""
                    ),
                )
                assert done.status == 303, done.text[:1000]
                [inspection] = await server.archive.inspections.of_case(case_id)
                expert = next(
                    i
                    for i in await server.archive.inspections.invitees(inspection.id)
                    if i.role == "expert"
                )
                assert expert.email == "Wang@experts.example.cn"

                async def reminders() -> list[str]:
                    return [
                        m.state
                        for m in await server.archive.outbox.of_case(case_id)
                        if m.topic == "reminder" and m.invitee_id == expert.id
                    ]

                assert await reminders() == ["pending"]  # due an hour before, tomorrow
                off = await tab.post(f"/invitees/{expert.id}/reminders", {"wanted": "no"})
                assert off.status == 303
                assert await reminders() == ["cancelled"]
                page = await tab.get(f"/cases/{case_id}")
                assert "不提醒" in page.text
                on = await tab.post(f"/invitees/{expert.id}/reminders", {"wanted": "yes"})
                assert on.status == 303
                assert sorted(await reminders()) == ["cancelled", "pending"]
                bad = await tab.post(f"/invitees/{expert.id}/reminders", {"wanted": "maybe"})
                assert bad.status == 400

                async def invited() -> bool:
                    return any(m["To"] == "Wang@experts.example.cn" for m in mailbox.messages)

                await wait(invited, what="the expert's invitation by e-mail")
            changes = [
                e
                for e in await server.archive.events.find(case_id=case_id)
                if e.type == "invitee.reminders"
            ]
            assert [e.data["wanted"] for e in changes] == [False, True]
            assert all(e.actor == "staff:zhang" for e in changes)
    finally:
        smtp.stop()


async def test_the_applicant_is_told_to_shoot_again_with_the_status_link(tmp_path):
    mailbox = Mailbox()
    smtp_port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    try:
        settings = make_settings(
            tmp_path,
            notices=FAST,
            mail={"host": "127.0.0.1", "port": smtp_port, "security": "none"},
        )
        async with running_server(settings) as server:
            archive = server.archive
            case = await archive.cases.create(
                application_no="V1",
                applicant_name="陈申请",
                item_code="X",
                item_name="食品经营许可",
            )
            deadline = clock.iso(clock.now() + timedelta(days=3))
            applicant = GroupMember("applicant", "陈申请", email="chen@shop.test")
            inspection = await archive.inspections.schedule(
                case.id,
                deadline,
                None,
                [GroupMember("host", "张"), applicant],
                actor="t",
                method="video",
            )
            await archive.uploads.create(
                "u1",
                inspection.id,
                10,
                filename="site.mp4",
                filetype="video/mp4",
                address="",
                agent="",
                expires_at=clock.iso(clock.now() + timedelta(days=1)),
            )
            await archive.uploads.complete("u1")
            stored = StoredFile("upload", "KY/v/site.mp4", "b" * 64, 10, 30.0, 900)
            await archive.uploads.checked("u1", files=[stored], facts={}, failures=[])
            await archive.uploads.ask_again(inspection.id, "门头未拍到", actor="staff:zhang")

            async def told() -> bool:
                return any(m["Subject"] == "请重新拍摄现场视频" for m in mailbox.messages)

            await wait(told, what="the e-mail asking for another video")
            [message] = [m for m in mailbox.messages if m["Subject"] == "请重新拍摄现场视频"]
            status_url = await server.app[STATUS_LINKS].url(case, server.base_url)
            assert message["To"] == "chen@shop.test" and status_url in message.get_content()
            assert clock.shanghai(deadline, "%m月%d日") in message.get_content()
    finally:
        smtp.stop()

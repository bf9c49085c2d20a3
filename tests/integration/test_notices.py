"""Notices and pushes against the real server: webhooks delivered exactly once per idempotency
key through errors, timeouts and a restart; nothing sent for a change that rolled back; the
signature checked by the code docs/api.md gives receivers; e-mail through a real SMTP server;
SMS through an HTTP gateway; a regulator's finding that ends in the dishonesty list."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from server import clock
from server.archive import ArchiveStore, GroupMember
from server.notices.delivery import sign
from server.services import API_KEYS, CASES
from tests.support.archive import inject_failure, remove_failure
from tests.support.notices import (
    FAST,
    Mailbox,
    Receiver,
    concluded_case,
    docs_verify,
    free_port,
    true,
    wait,
)
from tests.support.server import ROOT, make_settings, running_server
from tests.support.staff import StaffBrowser, make_account


async def test_a_webhook_is_delivered_once_through_errors_a_timeout_and_a_restart(tmp_path):
    settings = make_settings(tmp_path, notices=FAST)
    secret = "receiver-secret"
    receiver = Receiver(secret, ["500", "hang"])
    port = free_port()
    runner = await receiver.start(port)
    try:
        async with running_server(settings) as server:
            await server.archive.outbox.add_webhook(
                "platform", f"http://127.0.0.1:{port}/hook", secret, ["case.concluded"], actor="t"
            )
            case_id = await concluded_case(server)
            # The first try fails (500): stop the server while it waits to retry.
            await wait(lambda: true(len(receiver.attempts) >= 1), what="first attempt")
        assert receiver.accepted == {}
        settings2 = make_settings(tmp_path, notices=FAST)
        async with running_server(settings2) as server:

            async def delivered() -> bool:
                [message] = await server.archive.outbox.of_case(case_id)
                return message.state == "sent"

            await wait(delivered, what="delivered after the restart")
            [message] = await server.archive.outbox.of_case(case_id)
            events = await server.archive.events.find(case_id=case_id, types=["notice.sent"])
    finally:
        await runner.cleanup()
    assert len(receiver.attempts) >= 3  # 500, a timeout, then accepted
    assert set(receiver.attempts) == {message.key}  # one key on every try
    [body] = receiver.accepted.values()
    assert body["topic"] == "case.concluded" and body["conclusion"]["verdict"] == "pass"
    assert body["delivery"] == message.key and "id_no" not in json.dumps(body)
    assert len(events) == 1 and events[0].data["key"] == message.key


async def test_a_send_cut_by_a_stop_is_due_again_at_once(tmp_path):
    """Stopping the server while a webhook hangs hands the message back, due at once, rather
    than leaving it to its lease (half a minute and more) as a crash would."""
    settings = make_settings(tmp_path, notices={**FAST, "webhook_timeout_s": 60})
    receiver = Receiver("s", ["hang"])
    port = free_port()
    runner = await receiver.start(port)
    try:
        async with running_server(settings) as server:
            await server.archive.outbox.add_webhook(
                "platform", f"http://127.0.0.1:{port}/hook", "s", ["case.concluded"], actor="t"
            )
            case_id = await concluded_case(server)
            await wait(lambda: true(len(receiver.attempts) >= 1), what="the send hangs")
        stopped = clock.now_iso()
        archive = await ArchiveStore.open(settings.archive_location)
        try:
            [message] = await archive.outbox.of_case(case_id)
        finally:
            await archive.close()
    finally:
        await runner.cleanup()
    assert (message.state, message.last_error) == ("retrying", "interrupted: the server stopped")
    assert message.due_at <= stopped


async def test_a_change_that_rolls_back_sends_nothing(tmp_path):
    settings = make_settings(tmp_path, notices=FAST)
    receiver = Receiver("s", [])
    port = free_port()
    runner = await receiver.start(port)
    try:
        async with running_server(settings) as server:
            await server.archive.outbox.add_webhook(
                "platform", f"http://127.0.0.1:{port}/hook", "s", ["case.concluded"], actor="t"
            )
            # The change fails after its message was written.
            await inject_failure(server.archive, "outbox", "AFTER")
            with pytest.raises(Exception, match="injected failure"):
                await concluded_case(server)
            await remove_failure(server.archive, "outbox")
            await asyncio.sleep(3)  # a delivery round or more
            assert await server.archive.db.value("SELECT COUNT(*) FROM outbox") == 0
            assert await server.archive.db.value("SELECT COUNT(*) FROM conclusions") == 0
    finally:
        await runner.cleanup()
    assert receiver.attempts == []


def test_the_documented_check_refuses_replays_and_changes():
    verify = docs_verify()
    body = b'{"topic":"case.concluded"}'
    now = int(time.time())
    assert verify("secret", sign("secret", now, body), body)
    assert not verify("secret", sign("secret", now, body), body + b" ")
    assert not verify("secret", sign("other", now, body), body)
    assert not verify("secret", sign("secret", now - 3600, body), body)  # replayed later
    assert not verify("secret", "garbage", body)


async def test_invitations_by_email_carry_each_persons_own_link_and_cancellation_revokes(tmp_path):
    mailbox = Mailbox()
    port = free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        settings = make_settings(
            tmp_path,
            notices=FAST,
            mail={"host": "127.0.0.1", "port": port, "security": "none", "sender": "kanyan@test"},
        )
        async with running_server(settings) as server:
            cases = server.app[CASES]
            case = await server.archive.cases.create(
                application_no="M1",
                applicant_name="陈申请",
                item_code="FOOD-OPERATION",
                item_name="食品经营许可",
            )
            group = [
                GroupMember("host", "张主持", email="zhang@bureau.test"),
                GroupMember("observer", "赵观察", email="zhao@regulator.test"),
                GroupMember("applicant", "陈申请", email="chen@shop.test", phone=""),
            ]
            when = clock.now().replace(microsecond=0)
            inspection = await cases.schedule(
                case.id, when.astimezone(clock.SHANGHAI), group, actor="t"
            )

            async def all_sent() -> bool:
                return len(mailbox.messages) >= 3

            await wait(all_sent, what="three invitations")
            links = {}
            for invitee in await server.archive.inspections.invitees(inspection.id):
                links[invitee.email] = server.links.room_url(invitee, inspection)
            for message in mailbox.messages[:3]:
                to = message["To"]
                text = message.get_content()
                assert links[to] in text, (to, text)
                others = [url for address, url in links.items() if address != to]
                assert not any(url in text for url in others)
                assert "91450221" not in text and message["Subject"] == "现场视频勘验邀请"

            await cases.cancel(inspection.id, "申请人申请延期", actor="t")

            async def cancelled() -> bool:
                return sum("已取消" in m.get_content() for m in mailbox.messages) >= 3

            await wait(cancelled, what="cancellation notices")
            async with aiohttp.ClientSession() as session:
                async with session.get(links["chen@shop.test"], ssl=False) as response:
                    assert 400 <= response.status < 500
            # Reminders for the cancelled time are not sent.
            reminders = [
                m for m in await server.archive.outbox.of_case(case.id) if m.topic == "reminder"
            ]
            assert reminders == [] or all(m.state == "cancelled" for m in reminders)
    finally:
        smtp.stop()


async def test_sms_through_the_gateway_fills_the_template_and_retries_a_failure(tmp_path):
    got: list[dict] = []
    failures = [True]

    async def gateway(request: web.Request) -> web.Response:
        got.append(await request.json())
        assert request.headers["Authorization"] == "Bearer gw-token"
        if failures and failures.pop():
            return web.json_response({"code": "BUSY"}, status=503)
        return web.json_response({"code": "OK"})

    app = web.Application()
    app.router.add_post("/send", gateway)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        settings = make_settings(
            tmp_path,
            notices=FAST,
            sms={
                "url": f"http://127.0.0.1:{port}/send",
                "headers": ["Authorization: Bearer gw-token"],
                "body": '{"mobile": "{phone}", "content": "{text}"}',
                "success_contains": '"OK"',
            },
        )
        async with running_server(settings) as server:
            case = await server.archive.cases.create(
                application_no="S1",
                applicant_name="陈申请",
                item_code="X",
                item_name="食品经营许可",
            )
            inspection = await server.archive.inspections.schedule(
                case.id,
                clock.now_iso(),
                None,
                [GroupMember("applicant", "陈申请", phone="13812345678")],
                actor="t",
            )

            async def sent() -> bool:
                messages = await server.archive.outbox.of_case(case.id)
                return any(m.state == "sent" for m in messages)

            await wait(sent, what="the SMS")
            [message] = [
                m for m in await server.archive.outbox.of_case(case.id) if m.topic == "invitation"
            ]
            assert message.attempts == 2 and message.last_status == 200
    finally:
        await runner.cleanup()
    assert len(got) == 2 and got[0] == got[1]
    assert got[0]["mobile"] == "13812345678"
    assert "陈申请您好" in got[0]["content"] and f"/room/{inspection.id}/" in got[0]["content"]


async def test_a_regulators_finding_confirmed_keeps_the_applicant_from_video(tmp_path):
    settings = make_settings(tmp_path, notices=FAST)
    async with running_server(settings) as server:
        cases = server.app[CASES]
        application = {
            "application_no": "F1",
            "applicant": {
                "name": "某某餐饮店",
                "id_no": "91450221MA5KDEM012",
                "phone": "13800000000",
            },
            "item_code": "FOOD-OPERATION",
            "site_address": "柳州市柳江区示例路 1 号",
            "section": "食品药品审批股",
        }
        case, _ = await cases.intake(application, actor="t")
        _, key = await server.app[API_KEYS].create("市场监管局", actor="t")
        async with aiohttp.ClientSession() as session:
            url = f"{server.base_url}/api/v1/cases/{case.id}/findings"
            headers = {"Authorization": f"Bearer {key}"}
            async with session.post(url, json={"kind": "x"}, headers=headers, ssl=False) as r:
                assert r.status == 400 and "kind" in (await r.json())["error"]["fields"]
            async with session.post(
                url, json={"kind": "faked_video", "text": "视频系在他处拍摄"}, ssl=False
            ) as r:
                assert r.status == 401
            finding = {"kind": "faked_video", "text": "视频系在他处拍摄"}
            async with session.post(url, json=finding, headers=headers, ssl=False) as r:
                assert r.status == 201, await r.text()
                recorded = await r.json()
        assert recorded["state"] == "open"
        assert await server.archive.eligibility.find_dishonest("91450221MA5KDEM012") is None
        # Staff see it on the dashboard and the case page, and confirm it there.
        await make_account(server.archive, "li", "inspector")
        async with StaffBrowser(server.base_url) as tab:
            await tab.login("li")
            dashboard = await tab.get("/dashboard")
            assert f'data-finding="{recorded["id"]}"' in dashboard.text
            page = await tab.get(f"/cases/{case.id}")
            assert "视频系在他处拍摄" in page.text and "/findings/" in page.text
            path = f"/findings/{recorded['id']}/review"
            refused = await tab.post(path, {"decision": "confirm", "note": ""})
            assert refused.status == 400 and "审核意见" in refused.text
            assert await server.archive.eligibility.find_dishonest("91450221MA5KDEM012") is None
            done = await tab.post(path, {"decision": "confirm", "note": "经核实属实"})
            assert done.status == 303
            twice = await tab.post(path, {"decision": "dismiss", "note": "再次处理"})
            assert twice.status == 409, twice.status
            assert "已处理" in twice.text
        listed = await server.archive.eligibility.find_dishonest("91450221MA5KDEM012")
        assert listed is not None and case.case_no in listed.reason
        again, _ = await cases.intake({**application, "application_no": "F2"}, actor="t")
        assert again.state == "excluded"
        [exclusion] = await server.archive.eligibility.exclusions(again.id)
        assert exclusion.ground == "dishonest" and case.case_no in exclusion.reason
        events = await server.archive.events.find(case_id=case.id)
        assert "finding.recorded" in [e.type for e in events]
        [listed_event] = [e for e in events if e.type == "dishonesty.listed"]
        assert listed_event.actor == "staff:li"


def test_docs_show_every_topic():
    text = Path(ROOT / "docs" / "api.md").read_text()
    from server.notices.rules import TOPICS

    for topic in TOPICS.values():
        assert f"`{topic}`" in text

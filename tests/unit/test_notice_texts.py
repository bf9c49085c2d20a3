"""What people are told: zh-CN, one SMS (70 characters) apart from the link, never an ID number;
the SMS gateway's body filled safely for JSON and form bodies; the backoff's bounds."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from server.config import SmsSettings
from server.notices import texts
from server.notices.delivery import Sms, backoff

URL = "https://kanyan.example.gov.cn/room/12/abcdefghijklmnopqrstuvwxyz0123456789"
AT = "2026-12-01T02:30:00+00:00"  # 10:30 in Beijing

ALL = {
    "invitation": texts.invitation("陈申请", "食品经营许可", AT, URL),
    "video_request": texts.video_request("陈申请", "食品经营许可", AT, URL),
    "video_again": texts.video_again("食品经营许可", AT, URL),
    "video_again_late": texts.video_again("食品经营许可", None, URL),
    "rescheduled": texts.rescheduled("食品经营许可", AT, URL),
    "cancelled": texts.cancelled("食品经营许可", AT),
    "reminder": texts.reminder("食品经营许可", AT, URL),
    "concluded_pass": texts.concluded("KY-2026-000123", "pass", None, URL),
    "concluded_rectify": texts.concluded("KY-2026-000123", "rectify", "2026-12-20", URL),
    "concluded_fail": texts.concluded("KY-2026-000123", "fail", None, URL),
    "deadline": texts.deadline_near("KY-2026-000123", "2026-12-20", URL),
}


@pytest.mark.parametrize("name", ALL)
def test_each_text_fits_one_sms_beside_its_link(name):
    text = ALL[name]
    assert text.startswith(texts.SIGN)
    assert len(text.replace(URL, "")) <= 70, (name, len(text.replace(URL, "")))


def test_times_are_beijing_and_dates_read_as_people_write_them():
    assert "12月01日 10:30" in ALL["invitation"]
    assert "12月20日前" in ALL["concluded_rectify"]


def test_the_gateway_body_is_escaped_for_json_and_for_forms():
    tricky = '他说："好"\n& 100% = ok'
    as_json = Sms(SmsSettings(url="http://gw", body='{"to": "{phone}", "msg": "{text}"}'))
    assert json.loads(as_json.body("13812345678", tricky)) == {"to": "13812345678", "msg": tricky}
    as_form = Sms(
        SmsSettings(
            url="http://gw",
            content_type="application/x-www-form-urlencoded",
            body="mobile={phone}&content={text}&sign=KY",
        )
    )
    fields = parse_qs(as_form.body("13812345678", tricky))
    assert fields == {"mobile": ["13812345678"], "content": [tricky], "sign": ["KY"]}


def test_the_backoff_doubles_with_jitter_up_to_its_cap():
    for attempts, ceiling in ((1, 10), (2, 20), (3, 40), (10, 600)):
        waits = [backoff(attempts, 10, 600) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 10  # jittered, not fixed

"""The applicant's link over real HTTPS: an app's own browser gets the way out (and no room
script), the phone's browser gets the lobby with the appointment and what to prepare."""

from __future__ import annotations

import html
import re

import aiohttp

from server import clock
from tests.integration.test_headers import check_policy, inline_code
from tests.support.browser import IN_APP_AGENTS

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 11; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
IOS_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
IOS_WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/WIFI Language/zh_CN"
)


async def get(url: str, agent: str) -> tuple[int, str]:
    """The page as the phone gets it; it must run under the Content-Security-Policy."""
    async with aiohttp.ClientSession(headers={"User-Agent": agent}) as session:
        async with session.get(url, ssl=False, allow_redirects=False) as response:
            body = await response.text()
            assert not check_policy(response.headers.get("Content-Security-Policy"))
            assert not inline_code(body), inline_code(body)
            return response.status, html.unescape(body)


async def test_an_apps_own_browser_is_shown_the_way_out_and_no_room(server):
    invited = await server.invite("host", "applicant")
    link = server.links.room_url(invited.invitee("applicant"), invited.inspection)
    for app, agent in IN_APP_AGENTS.items():
        status, body = await get(link, agent)
        assert status == 200, app
        assert "请用手机浏览器打开" in body and f'data-app="{app}"' in body
        assert f'value="{link}"' in body  # the link to copy
        assert "<svg" in body and "在浏览器打开" in body
        # Nothing there could start a camera.
        assert "js/phone.js" not in body and "kanyan-config" not in body
    status, body = await get(link, IOS_WECHAT)
    assert "在 Safari 中打开" in body and "微信" in body
    status, body = await get(link + "?lang=en", IN_APP_AGENTS["dingtalk"])
    assert "Open this link in your phone's browser" in body and "DingTalk" in body
    # Staff who open their link in an app are shown the same.
    host = server.links.room_url(invited.invitee("host"), invited.inspection)
    status, body = await get(host, IN_APP_AGENTS["wechat"])
    assert "请用手机浏览器打开" in body and "js/room.js" not in body
    # Whoever insists may try anyway.
    status, body = await get(link + "?browser=anyway", IN_APP_AGENTS["wechat"])
    assert status == 200 and "js/phone.js" in body


async def test_a_bad_link_is_refused_in_any_browser(server):
    invited = await server.invite("applicant")
    status, body = await get(
        f"{server.base_url}/room/{invited.inspection.id}/v1.1.1.applicant", IN_APP_AGENTS["qq"]
    )
    assert status == 400 and "格式不正确" in body and "请用手机浏览器打开" not in body


async def test_the_lobby_says_when_with_whom_and_what_to_prepare(server):
    invited = await server.invite("host", "applicant")
    link = server.links.room_url(invited.invitee("applicant"), invited.inspection)
    status, body = await get(link, ANDROID_CHROME)
    assert status == 200 and "js/phone.js" in body
    at = clock.parse(invited.inspection.scheduled_at).astimezone(clock.SHANGHAI)
    when = f"{at.year}年{at.month}月{at.day}日 {at:%H:%M}"
    assert f'<dd id="scheduled-at">{when}（北京时间）</dd>' in body
    assert f'<dd id="host-name">{invited.invitee("host").name}</dd>' in body
    assert "身份证原件" in body
    # The item's shooting requirements (config/catalog.toml) name the places to show.
    must_show = re.findall(r'<ul class="must-show">(.*?)</ul>', body, re.S)
    assert must_show and "门头招牌及门牌号" in must_show[0]
    # The camera help lists Android first on Android, iOS first on an iPhone.
    order = re.findall(r'data-platform="(\w+)"', body)
    assert order == ["android", "ios"]
    _, body = await get(link, IOS_SAFARI)
    assert re.findall(r'data-platform="(\w+)"', body) == ["ios", "android"]

"""The apps' own browsers are told apart from the phone's browsers by their user agents."""

from __future__ import annotations

import pytest

from tests.support.browser import IN_APP_AGENTS
from web.browsers import in_app_browser, is_ios

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 11; Redmi 9A) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)
IOS_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
WECHAT_ANDROID = (
    "Mozilla/5.0 (Linux; Android 12; V2118A Build/SP1A.210812.003; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile Safari/537.36 XWEB/5023 "
    "MMWEBSDK/20230504 MMWEBID/7208 MicroMessenger/8.0.37.2380(0x2800255B) WeChat/arm64 "
    "Weixin NetType/4G Language/zh_CN ABI/arm64"
)
WECHAT_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.40(0x18002831) NetType/WIFI Language/zh_CN"
)
WECOM = WECHAT_ANDROID.replace("MicroMessenger/8.0.37.2380", "wxwork/4.1.6 MicroMessenger/7.0.1")
QQ_APP = (
    "Mozilla/5.0 (Linux; Android 10; PCAM00 Build/QKQ1.190918.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 MQQBrowser/6.2 TBS/046011 Mobile "
    "Safari/537.36 V1_AND_SQ_8.8.68_2538_YYB_D A_8086800 QQ/8.8.68.7265 NetType/WIFI "
    "WebP/0.3.0 Pixel/1080 StatusBarHeight/96 SimpleUISwitch/0 QQTheme/1000 InMagicWin/0"
)
QQ_BROWSER = (
    "Mozilla/5.0 (Linux; U; Android 11; zh-cn; M2012K11AC Build/RKQ1.200826.002) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 MQQBrowser/12.1 "
    "Mobile Safari/537.36 COVC/045913"
)
ALIPAY = (
    "Mozilla/5.0 (Linux; U; Android 11; zh-CN; M2007J3SC Build/RKQ1.200826.002) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.43 "
    "Mobile Safari/537.36 UCBS/3.22.2.43_220223200704 NebulaSDK/1.8.100112 Nebula "
    "AlipayDefined(nt:WIFI,ws:393|0|2.75) AliApp(AP/10.2.60.8000) AlipayClient/10.2.60.8000 "
    "Language/zh-Hans useStatusBar/true isConcaveScreen/true Region/CNAriver/1.0.0"
)
DINGTALK = (
    "Mozilla/5.0 (Linux; U; Android 11; zh-CN; V2031A Build/RP1A.200720.012) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.1.233 "
    "Mobile Safari/537.36 AliApp(DingTalk/6.5.40) com.alibaba.android.rimet/24646881 "
    "Channel/227200 language/zh-CN abi/64 UT4Aplus/0.2.25 colorScheme/light"
)


@pytest.mark.parametrize(
    ("agent", "app"),
    [
        (WECHAT_ANDROID, "wechat"),
        (WECHAT_IOS, "wechat"),
        (WECOM, "wecom"),
        (QQ_APP, "qq"),
        (ALIPAY, "alipay"),
        (DINGTALK, "dingtalk"),
        *((agent, app) for app, agent in IN_APP_AGENTS.items()),
        (ANDROID_CHROME, None),
        (IOS_SAFARI, None),
        (QQ_BROWSER, None),  # the standalone QQ Browser is a browser of its own
        ("", None),
    ],
)
def test_in_app_browsers_by_user_agent(agent, app):
    found = in_app_browser(agent)
    assert (found.code if found else None) == app


def test_every_in_app_browser_has_a_name_in_both_languages():
    for agent in (WECHAT_ANDROID, WECOM, QQ_APP, ALIPAY, DINGTALK):
        found = in_app_browser(agent)
        assert found is not None and found.name_zh and found.name_en


def test_ios_is_told_apart_for_the_menu_wording():
    assert is_ios(WECHAT_IOS) and is_ios(IOS_SAFARI)
    assert not is_ios(WECHAT_ANDROID)

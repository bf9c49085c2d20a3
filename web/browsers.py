"""Browsers that cannot hold a video inspection: the apps' built-in browsers.

Applicants open their link from an SMS or a chat, and WeChat, QQ, Alipay, DingTalk and the
like open it in their own browser, where the camera is unreliable or refused. The room page
then says, before any camera prompt, how to open the link in the phone's own browser.
(web/static/js/browsers.js checks the same user agents, and what the page lacks.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class InAppBrowser:
    code: str
    name_zh: str
    name_en: str


# The order matters: WeCom's agent also says MicroMessenger.
IN_APP_BROWSERS: tuple[tuple[re.Pattern[str], InAppBrowser], ...] = (
    (re.compile(r"wxwork", re.I), InAppBrowser("wecom", "企业微信", "WeCom")),
    (re.compile(r"MicroMessenger", re.I), InAppBrowser("wechat", "微信", "WeChat")),
    # The QQ app says "QQ/8.9…"; the standalone QQ Browser says "MQQBrowser/" and works.
    (re.compile(r"(?<![A-Za-z])QQ/\d"), InAppBrowser("qq", "QQ", "QQ")),
    (re.compile(r"AlipayClient|AliApp\(AP", re.I), InAppBrowser("alipay", "支付宝", "Alipay")),
    (re.compile(r"DingTalk", re.I), InAppBrowser("dingtalk", "钉钉", "DingTalk")),
    (re.compile(r"Weibo", re.I), InAppBrowser("weibo", "微博", "Weibo")),
    (re.compile(r"aweme|BytedanceWebview", re.I), InAppBrowser("douyin", "抖音", "Douyin")),
    (re.compile(r"Lark/|Feishu", re.I), InAppBrowser("feishu", "飞书", "Feishu")),
)


def in_app_browser(user_agent: str) -> InAppBrowser | None:
    """The app whose built-in browser this is, or None for a browser of its own."""
    for pattern, app in IN_APP_BROWSERS:
        if pattern.search(user_agent):
            return app
    return None


def is_ios(user_agent: str) -> bool:
    return bool(re.search(r"iPhone|iPad|iPod", user_agent))

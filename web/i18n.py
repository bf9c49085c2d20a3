"""UI strings: zh-CN first, English second. Pages and scripts read the same table."""

from __future__ import annotations

from aiohttp import web

LANGS = ("zh", "en")

STRINGS: dict[str, tuple[str, str]] = {
    "app": ("勘验 · 远程视频勘验", "Kanyan · remote site inspection"),
    "case_no": ("案件编号", "Case no."),
    "item": ("许可事项", "Licence item"),
    "applicant": ("申请人", "Applicant"),
    "you_are": ("您的身份", "You are"),
    "join": ("进入勘验", "Join the inspection"),
    "join_phone": ("开始视频勘验", "Start the video inspection"),
    "join_hint": (
        "将使用摄像头和麦克风。进入后请等待主持人准入。",
        "Your camera and microphone will be used. After joining, wait for the host to admit you.",
    ),
    "phone_hint": (
        "请在勘验现场使用手机后置摄像头，按主持人要求逐项展示现场。",
        "At the site, use the phone's rear camera and show each point the host asks for.",
    ),
    "status_connecting": ("正在连接…", "Connecting…"),
    "status_lobby": ("等待主持人准入", "Waiting for the host to admit you"),
    "status_connected": ("已连接", "Connected"),
    "status_reconnecting": ("正在重连", "Reconnecting"),
    "status_closed": ("连接已结束", "Disconnected"),
    "state_open": ("未开始", "Not started"),
    "state_live": ("勘验进行中", "In session"),
    "state_ended": ("勘验已结束", "Ended"),
    "recorded_notice": (
        "本次勘验全程录音录像，作为审批证据存档。",
        "This inspection is recorded in full and archived as evidence.",
    ),
    "lobby": ("等候室", "Lobby"),
    "lobby_empty": ("暂无等候人员", "Nobody is waiting"),
    "admit": ("准入", "Admit"),
    "deny": ("拒绝", "Deny"),
    "remove": ("移出", "Remove"),
    "remove_confirm": (
        "确定将此人移出勘验？其链接将被撤销。",
        "Remove this person? Their link will be revoked.",
    ),
    "start": ("开始勘验", "Start session"),
    "end": ("结束勘验", "End session"),
    "end_confirm": (
        "确定结束本次勘验？结束后任何人都无法再进入。",
        "End this inspection? Nobody can join afterwards.",
    ),
    "mic": ("麦克风", "Microphone"),
    "camera": ("摄像头", "Camera"),
    "mute": ("静音", "Mute"),
    "unmute": ("取消静音", "Unmute"),
    "camera_off": ("关闭摄像头", "Camera off"),
    "camera_on": ("打开摄像头", "Camera on"),
    "switch_camera": ("切换摄像头", "Switch camera"),
    "leave": ("离开", "Leave"),
    "you": ("我", "Me"),
    "no_video": ("无视频", "No video"),
    "disconnected": ("已断开", "Disconnected"),
    "reconnected": ("已重连", "Reconnected"),
    "quality_good": ("网络良好", "Good connection"),
    "quality_fair": ("网络一般", "Fair connection"),
    "quality_poor": ("网络较差", "Poor connection"),
    "no_camera": ("未能打开摄像头：", "Could not open the camera: "),
    "ended_message": ("本次勘验已结束，感谢配合。", "The inspection has ended. Thank you."),
    "removed_message": ("您已被主持人移出。", "The host removed you."),
    "denied_message": ("主持人未准入。", "The host did not admit you."),
    "replaced_message": (
        "您已在其他窗口进入，本窗口已断开。",
        "You joined from another window; this one was disconnected.",
    ),
    "role_host": ("主持人", "Host"),
    "role_clerk": ("业务审批人员", "Approval clerk"),
    "role_expert": ("专家审查员", "Expert reviewer"),
    "role_observer": ("观察员", "Observer"),
    "role_applicant": ("申请人", "Applicant"),
    "lang_switch": ("English", "中文"),
    "error_title": ("无法打开", "Cannot open"),
    "error_next": (
        "如有疑问，请联系勘验主持人或审批窗口。",
        "If in doubt, contact the inspection host or the approval desk.",
    ),
    "login": ("工作人员登录", "Staff login"),
    "username": ("用户名", "User name"),
    "password": ("密码", "Password"),
    "sign_in": ("登录", "Sign in"),
    "recording": ("录制中", "Recording"),
    "recording_interrupted": ("录制中断", "Recording interrupted"),
    "recording_stopped": ("录制已结束", "Recording ended"),
    "screenshot": ("截图", "Screenshot"),
    "screenshots": ("截图", "Screenshots"),
    "screenshot_of": ("截取画面：", "Capture: "),
    "screenshot_saved": ("截图已保存", "Screenshot saved"),
    "screenshot_taking": ("正在截图…", "Taking a screenshot…"),
    "screenshot_key": (
        "快捷键 S：截取鼠标所指（或申请人）的画面",
        "Key S: capture the tile under the pointer (or the applicant)",
    ),
    "no_screenshots": ("暂无截图", "No screenshots yet"),
}


def lang_of(request: web.Request) -> str:
    wanted = request.query.get("lang") or request.cookies.get("lang") or "zh"
    return wanted if wanted in LANGS else "zh"


def table(lang: str) -> dict[str, str]:
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in STRINGS.items()}


def _merge_staff_strings() -> None:
    from .staff_strings import STAFF_STRINGS

    clash = set(STRINGS) & set(STAFF_STRINGS)
    assert not clash, f"string keys defined twice: {clash}"
    STRINGS.update(STAFF_STRINGS)


_merge_staff_strings()

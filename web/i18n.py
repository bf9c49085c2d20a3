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
    "denied_mark": ("已拒绝，可准入", "denied; may be admitted"),
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
    "denied_message": (
        "主持人未准入。如需进入，请联系主持人，待主持人准许后重新打开链接。",
        "The host did not admit you. Contact the host, and open your link again once they "
        "allow it.",
    ),
    "revoked_message": (
        "您的链接已失效（邀请已撤销，或勘验已改期、取消）。",
        "Your link no longer works (the invitation was withdrawn, or the inspection moved or "
        "cancelled).",
    ),
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
    # The outcome in the room: checklist, marks, work record, conclusion, 中止. Keys start with
    # room_ so that they never clash with web/staff_strings.py.
    "state_interrupted": ("勘验已中止", "Interrupted"),
    "interrupted_message": (
        "本次勘验已中止，请等待主持人通知后重新进入",
        "This session was interrupted. Wait for the host to tell you, then join again.",
    ),
    "rejoin": ("重新进入", "Join again"),
    "room_interrupted_staff": (
        "本次勘验已中止，未作结论；勘验待继续，可重新进入开始新的会话。",
        "The session was interrupted without a conclusion; join again to start a new session.",
    ),
    "room_tab_points": ("核查要点", "Checklist"),
    "room_tab_record": ("工作记录", "Work record"),
    "room_tab_conclusion": ("结论", "Conclusion"),
    "room_checklist_loading": ("正在加载核查要点…", "Loading the checklist…"),
    "room_point_n": ("第 {n} 项", "Point {n}"),
    "room_current": ("当前", "Now"),
    "room_set_current": ("设为当前", "Set current"),
    "room_unmarked": ("未标记", "Not marked"),
    "room_mark_verified": ("已核验", "Verified"),
    "room_mark_conforms": ("符合", "Conforms"),
    "room_mark_not_conforms": ("不符合", "Does not conform"),
    "room_mark_rectify": ("需整改", "Needs rectification"),
    "room_mark_note": ("说明（可选）", "Note (optional)"),
    "room_marks_count": ("共标记 {n} 次", "marked {n} times"),
    "room_shots_count": ("截图 {n}", "Screenshots: {n}"),
    "room_no_point": ("未关联要点", "No point"),
    "room_move_shot": ("截图所属要点", "Point of this screenshot"),
    "room_record_empty": ("暂无记录", "No entries yet"),
    "room_record_text": ("记录内容", "Entry"),
    "room_record_add": ("添加记录", "Add"),
    "room_record_tie": ("关联当前要点", "Tie to the current point"),
    "room_verdict": ("结论", "Verdict"),
    "room_verdict_pass": ("通过", "Pass"),
    "room_verdict_rectify": ("整改", "Rectify"),
    "room_verdict_fail": ("不通过", "Fail"),
    "room_reasons": ("理由", "Reasons"),
    "room_deadline": ("整改期限", "Rectify by"),
    "room_rectifications": ("整改事项", "Rectifications"),
    "room_rect_add": ("添加整改事项", "Add a rectification"),
    "room_rect_remove": ("删除", "Remove"),
    "room_rect_text": ("整改内容", "What must be rectified"),
    "room_announce": ("宣布结论", "Pronounce the conclusion"),
    "room_announce_confirm": (
        "宣布结论「{verdict}」？宣布后不能修改。",
        "Pronounce the conclusion “{verdict}”? It cannot be changed afterwards.",
    ),
    "room_need_verdict": ("请选择结论", "Choose the verdict"),
    "room_need_reasons": ("请写明理由", "Give the reasons"),
    "room_need_deadline": ("请填写整改期限", "Give the deadline"),
    "room_need_rect": ("请至少填写一项整改内容", "List at least one rectification"),
    "room_not_concluded": ("尚未宣布结论", "No conclusion yet"),
    "room_concluded": ("已宣布结论", "The conclusion was pronounced"),
    "room_confirmation_waiting": ("等待申请人确认", "Waiting for the applicant to confirm"),
    "room_confirmation_confirmed": ("已确认", "Confirmed"),
    "room_confirmation_declined": ("不予确认", "Declined"),
    "room_interrupt": ("中止", "Interrupt"),
    "room_interrupt_title": ("中止本次勘验", "Interrupt this session"),
    "room_interrupt_reason": ("中止原因", "Reason"),
    "room_interrupt_hint": (
        "中止后不作结论，勘验保持待继续；同一链接可重新进入，开始新的会话。",
        "No conclusion is made; the inspection stays open and the same links start a new session.",
    ),
    "room_ok": ("确定", "OK"),
    "room_cancel": ("取消", "Cancel"),
    "room_now_verifying": ("正在核实：", "Now verifying: "),
    "room_result_title": ("勘验结论", "Inspection result"),
    "room_result_pass": ("通过", "Passed"),
    "room_result_rectify": ("需整改", "Rectification needed"),
    "room_result_fail": ("不通过", "Not passed"),
    "room_result_pass_words": ("现场勘验通过。", "The site inspection passed."),
    "room_result_rectify_words": (
        "请在 {deadline} 前完成以下整改，然后申请复勘：",
        "Complete the following by {deadline}, then ask for a re-inspection:",
    ),
    "room_result_fail_words": ("现场勘验未通过。", "The site inspection did not pass."),
    "room_result_reasons": ("理由：", "Reasons: "),
    "room_result_confirm": ("确认已知悉", "I have read it"),
    "room_result_decline": ("不予确认", "I do not confirm"),
    "room_result_decline_title": ("不予确认", "Decline to confirm"),
    "room_result_decline_reason": ("原因（可选）", "Reason (optional)"),
    "room_result_confirmed": (
        "已记录：您已确认知悉本结论。",
        "Recorded: you confirmed having read it.",
    ),
    "room_result_declined": ("已记录：您不予确认本结论。", "Recorded: you declined to confirm it."),
    "room_result_hide": ("收起", "Hide"),
    "room_result_show": ("查看勘验结论", "Show the result"),
}


def lang_of(request: web.Request) -> str:
    wanted = request.query.get("lang") or request.cookies.get("lang") or "zh"
    return wanted if wanted in LANGS else "zh"


def table(lang: str) -> dict[str, str]:
    index = LANGS.index(lang)
    return {key: pair[index] for key, pair in STRINGS.items()}


def _merge_page_strings() -> None:
    """The other pages' tables, each in its own module (zh-CN first, English second)."""
    from .account_strings import ACCOUNT_STRINGS
    from .archive_strings import ARCHIVE_STRINGS
    from .notice_strings import NOTICE_STRINGS
    from .phone_strings import PHONE_STRINGS
    from .staff_strings import STAFF_STRINGS
    from .video_strings import VIDEO_STRINGS

    assert all(key.startswith("video_") for key in VIDEO_STRINGS)
    for more in (
        STAFF_STRINGS,
        NOTICE_STRINGS,
        VIDEO_STRINGS,
        ARCHIVE_STRINGS,
        ACCOUNT_STRINGS,
        PHONE_STRINGS,
    ):
        clash = set(STRINGS) & set(more)
        assert not clash, f"string keys defined twice: {clash}"
        STRINGS.update(more)


_merge_page_strings()

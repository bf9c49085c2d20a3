"""UI strings of deliveries, webhook receivers and regulators' findings: zh-CN first, English
second. Merged into `web.i18n.STRINGS`; every key starts with `msg_`, but the
confirmations shown after a form (`notice_…`, the staff pages' convention)."""

from __future__ import annotations

NOTICE_STRINGS: dict[str, tuple[str, str]] = {
    "msg_deliveries": ("通知发送记录", "Deliveries"),
    "msg_deliveries_hint": (
        "邀请、提醒、结论通知和推送，每条都有发送记录；失败的可手动重发（留痕）。",
        "Invitations, reminders, results and pushes, each with its record; a failed one can "
        "be sent again by hand (logged).",
    ),
    "msg_none": ("暂无通知", "Nothing sent yet"),
    "msg_channel": ("渠道", "Channel"),
    "msg_receiver": ("接收方", "Receiver"),
    "msg_topic": ("内容", "About"),
    "msg_state": ("状态", "State"),
    "msg_attempts": ("次数", "Attempts"),
    "msg_answer": ("对方应答", "Receiver's answer"),
    "msg_due": ("计划发送", "Due"),
    "msg_resend": ("重发", "Send again"),
    "msg_resend_confirm": (
        "确定重新发送这条通知？对方将以同一编号收到。",
        "Send this again? The receiver gets it under the same delivery id.",
    ),
    "notice_resent": ("已安排重发。", "Queued to be sent again."),
    "msg_channel_webhook": ("推送", "Webhook"),
    "msg_channel_email": ("邮件", "E-mail"),
    "msg_channel_sms": ("短信", "SMS"),
    "msg_state_pending": ("待发送", "Waiting"),
    "msg_state_sending": ("发送中", "Sending"),
    "msg_state_retrying": ("重试中", "Retrying"),
    "msg_state_sent": ("已送达", "Delivered"),
    "msg_state_failed": ("发送失败", "Failed"),
    "msg_state_cancelled": ("已撤回", "Withdrawn"),
    "msg_topic_invitation": ("勘验邀请", "Invitation"),
    "msg_topic_rescheduled": ("改期通知", "New time"),
    "msg_topic_cancelled": ("取消通知", "Cancellation"),
    "msg_topic_reminder": ("勘验提醒", "Reminder"),
    "msg_topic_video_again": ("重新拍摄通知", "Shoot again"),
    "msg_topic_concluded": ("结论通知", "Result"),
    "msg_topic_deadline": ("整改期限提醒", "Deadline reminder"),
    "msg_topic_case.concluded": ("推送：勘验结论", "Push: conclusion"),
    "msg_topic_reinspection.requested": ("推送：申请复勘", "Push: re-inspection requested"),
    "msg_topic_video.accepted": ("推送：视频已采用", "Push: video accepted"),
    "msg_topic_case.archived": ("推送：已归档", "Push: archived"),
    "msg_reminders_off": ("不提醒", "No reminders"),
    "msg_reminders_stop": ("停止提醒", "Stop reminders"),
    "msg_reminders_start": ("恢复提醒", "Remind again"),
    "notice_reminders_changed": ("提醒设置已更新。", "The reminder setting was saved."),
    "msg_email": ("电子邮箱", "E-mail"),
    # regulators' findings
    "msg_findings": ("行业主管部门核查发现", "Regulators' findings"),
    "msg_findings_hint": (
        "确认后，申请人将以本案为由列入失信名单，此后不得采用视频勘验。",
        "Once confirmed, the applicant is put on the dishonesty list with this case as the "
        "reason and may no longer be inspected by video.",
    ),
    "msg_finding_kind_faked_video": ("视频造假", "Faked video"),
    "msg_finding_kind_site_differs": ("现场与视频不符", "The site differs from the video"),
    "msg_finding_kind_other": ("其他", "Other"),
    "msg_finding_state_open": ("待审核", "To review"),
    "msg_finding_state_confirmed": ("已确认", "Confirmed"),
    "msg_finding_state_dismissed": ("不予采信", "Dismissed"),
    "msg_finding_from": ("来源", "From"),
    "msg_finding_note": ("审核意见", "Review note"),
    "msg_finding_confirm": ("确认并列入失信名单", "Confirm and list the applicant"),
    "msg_finding_confirm_ask": (
        "确认该核查发现？申请人将被列入失信名单。",
        "Confirm this finding? The applicant will be put on the dishonesty list.",
    ),
    "msg_finding_dismiss": ("不予采信", "Dismiss"),
    "notice_finding_reviewed": ("核查发现已处理。", "The finding was reviewed."),
    "msg_open_findings": ("待审核的核查发现", "Findings to review"),
    "msg_none_findings": ("没有待审核的核查发现", "No findings to review"),
    # the administrator's page
    "msg_admin": ("通知与推送", "Notices and webhooks"),
    "msg_admin_hint": (
        "推送接收方（省级平台、行业主管部门）与所有未送达的通知。短信和邮件服务在配置文件中设置。",
        "Webhook receivers (the provincial platform, regulators) and every message not "
        "delivered. The SMS gateway and the mail server are set in the configuration file.",
    ),
    "msg_backlog": (
        "待发送 {pending} · 重试中 {retrying} · 失败 {failed}",
        "Waiting {pending} · retrying {retrying} · failed {failed}",
    ),
    "msg_troubled": ("未送达的通知", "Messages not delivered"),
    "msg_webhooks": ("推送接收方", "Webhook receivers"),
    "msg_webhook_name": ("名称", "Name"),
    "msg_webhook_url": ("接收地址", "URL"),
    "msg_webhook_topics": ("推送事项", "Topics"),
    "msg_webhook_add": ("添加接收方", "Add receiver"),
    "msg_webhook_disable": ("停用", "Disable"),
    "msg_webhook_disable_confirm": (
        "停用后不再向该接收方推送。确定？",
        "Stop sending to this receiver?",
    ),
    "msg_webhook_disabled": ("已停用", "Disabled"),
    "notice_webhook_disabled": ("接收方已停用。", "The receiver was disabled."),
    "msg_webhook_secret": ("签名密钥（仅显示一次）", "Signing secret (shown once)"),
    "msg_webhook_secret_hint": (
        "请交给接收方，用于校验 X-Kanyan-Signature；校验方法见 docs/api.md。",
        "Give it to the receiver to check X-Kanyan-Signature with; docs/api.md shows how.",
    ),
    "msg_case": ("案件", "Case"),
}

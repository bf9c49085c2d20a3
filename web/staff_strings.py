"""UI strings of the staff pages and the applicant's status page: zh-CN first, English second.

Merged into `web.i18n.STRINGS`. Keys must not be names of dict methods (copy, items, …): the
templates read them as `t.key`. The strings of inspection outcomes on the staff pages start with
`outcome_` and those of the applicant's status page with `progress_`, apart from the room's.
"""

from __future__ import annotations

STAFF_STRINGS: dict[str, tuple[str, str]] = {
    # login and account
    "login_hint": (
        "供审批局工作人员使用。专家、观察员和申请人请使用发给您的个人链接。",
        "For bureau staff. Experts, observers and applicants use the personal link sent to them.",
    ),
    "login_forgot": (
        "忘记密码请联系系统管理员重置。",
        "Forgot your password? Ask the administrator to reset it.",
    ),
    "sign_out": ("退出", "Sign out"),
    "change_password": ("修改密码", "Change password"),
    "must_change_password": (
        "您正在使用一次性密码，请先设置自己的密码。",
        "You signed in with a one-time password: choose your own password first.",
    ),
    "current_password": ("当前密码", "Current password"),
    "new_password": ("新密码", "New password"),
    "repeat_password": ("再次输入新密码", "Repeat the new password"),
    "password_rules": (
        "至少 10 位，同时包含字母和数字，不含用户名。",
        "At least 10 characters with letters and digits, not containing the user name.",
    ),
    "save": ("保存", "Save"),
    "notice_password_changed": ("密码已修改。", "Your password was changed."),
    # navigation
    "nav": ("导航", "Navigation"),
    "nav_dashboard": ("工作台", "Dashboard"),
    "nav_cases": ("案件", "Cases"),
    "nav_new_case": ("登记案件", "Register a case"),
    "nav_catalog": ("事项目录", "Catalog"),
    "nav_dishonesty": ("失信名单", "Dishonesty list"),
    "nav_accounts": ("用户管理", "Staff accounts"),
    "nav_api_keys": ("接口密钥", "API keys"),
    # dashboard
    "today_inspections": ("今日勘验", "Today's inspections"),
    "upcoming_inspections": ("后续勘验", "Upcoming inspections"),
    "waiting_cases": ("待安排勘验的案件", "Cases awaiting scheduling"),
    "none_today": ("今天没有安排勘验。", "No inspection today."),
    "none_upcoming": ("暂无后续勘验。", "Nothing scheduled ahead."),
    "none_waiting": ("没有待安排的案件。", "No case is waiting."),
    "see_all": ("查看全部", "See all"),
    "me_hosting": ("由我主持", "I host"),
    "admin_tasks": ("系统管理", "Administration"),
    "admin_accounts_hint": (
        "为勘验人员、审批人员和档案管理员开设账号",
        "accounts for inspectors, clerks and archivists",
    ),
    "admin_catalog_hint": (
        "维护勘验事项、勘验要点和拍摄要求",
        "licence items, checklists and shooting requirements",
    ),
    "admin_keys_hint": (
        "供政务服务平台推送案件的接口密钥",
        "keys for the government-service platform",
    ),
    "admin_dishonesty_hint": ("导入失信名单", "import the dishonesty list"),
    # common
    "time": ("时间", "Time"),
    "state": ("状态", "State"),
    "role": ("角色", "Role"),
    "name": ("姓名", "Name"),
    "unit": ("单位", "Unit"),
    "phone": ("联系电话", "Phone"),
    "reason": ("理由", "Reason"),
    "choose": ("请选择", "Choose"),
    "all": ("全部", "All"),
    "yes": ("是", "Yes"),
    "copy_link": ("复制", "Copy"),
    "copied": ("已复制", "Copied"),
    "create": ("创建", "Create"),
    "edit": ("修改", "Edit"),
    "version": ("版本", "Version"),
    "current": ("当前", "Current"),
    "active": ("在用", "Active"),
    "revoked": ("已撤销", "Revoked"),
    "revoke": ("撤销", "Revoke"),
    "disabled": ("已停用", "Disabled"),
    "disable": ("停用", "Disable"),
    "enable": ("启用", "Enable"),
    "created": ("创建", "Created"),
    "print": ("打印", "Print"),
    "minutes": ("分钟", "min"),
    "demo": ("演示", "Demo"),
    "previous": ("上一页", "Previous"),
    "next": ("下一页", "Next"),
    "beijing_time": ("北京时间", "Beijing time"),
    # case list and intake
    "search": ("搜索", "Search"),
    "search_hint": (
        "案件编号、申请编号、申请人、证件号码或地址",
        "case no., application no., applicant, ID or address",
    ),
    "section": ("承办股室", "Business section"),
    "received": ("登记时间", "Received"),
    "received_from": ("登记日期自", "Received from"),
    "received_to": ("至", "to"),
    "filter": ("筛选", "Filter"),
    "clear_filters": ("清除", "Clear"),
    "found": ("共", "Found"),
    "no_cases": ("没有符合条件的案件。", "No matching case."),
    "application_no": ("申请编号", "Application no."),
    "applicant_name": ("申请人名称", "Applicant name"),
    "applicant_id_no": ("身份证号码 / 统一社会信用代码", "ID number / unified social credit code"),
    "site_address": ("勘验地址", "Site address"),
    "id_no": ("证件号码", "ID no."),
    "intake_hint": (
        "登记经初审移交现场勘查的申请。政务服务平台也可通过接口自动推送。",
        "Register an application handed over after preliminary review. The platform can also "
        "send cases through the API.",
    ),
    "register_case": ("登记", "Register"),
    "not_for_video": ("不适用视频勘验", "Not for video inspection"),
    # case page
    "case_details": ("案件信息", "Case details"),
    "inspection": ("勘验安排", "Inspection"),
    "reinspection": ("复勘", "Re-inspection"),
    "notice_created": ("案件已登记。", "The case was registered."),
    "notice_existing": (
        "该申请编号已登记，已打开原案件。",
        "This application number was already registered; here is its case.",
    ),
    "notice_excluded": ("已记录排除声明。", "The exclusion was recorded."),
    "notice_withdrawn": ("已撤回排除声明。", "The exclusion was withdrawn."),
    "notice_scheduled": (
        "勘验已安排，个人链接已生成。",
        "The inspection is scheduled and its personal links issued.",
    ),
    "notice_rescheduled": (
        "勘验已改期，此前发出的链接已全部失效，请发送新链接。",
        "The inspection was moved; every earlier link stopped working, so send the new ones.",
    ),
    "notice_cancelled": (
        "勘验已取消，链接已失效。",
        "The inspection was cancelled; its links stopped working.",
    ),
    "notice_member_added": ("已增加人员。", "The person was added."),
    "notice_member_revoked": ("已撤销该人员的链接。", "That person's link was revoked."),
    "notice_status_renewed": (
        "查询链接已更换，旧链接已失效。",
        "The status link was replaced; the old one stopped working.",
    ),
    "excluded_title": ("本案不适用视频勘验", "This case is not for video inspection"),
    "excluded_hint": (
        "以下情形使本案不能安排视频勘验，应转为现场勘验：",
        "The following rule out video inspection; route the case to an on-site inspection:",
    ),
    "withdraw": ("撤回", "Withdraw"),
    "withdraw_reason": ("撤回理由", "Why withdraw"),
    "withdrawn_exclusions": ("已撤回的排除声明", "Withdrawn exclusions"),
    "withdrawn_by": ("撤回人", "withdrawn by"),
    "declare_exclusion": ("声明不适用视频勘验", "Declare unsuitable for video"),
    "declare_hint": (
        "如涉及国家安全或商业秘密、现场不具备条件、内容不适宜视频勘验或法律法规另有规定，"
        "请在此记录理由。",
        "Record why when the site involves state security or trade secrets, lacks the "
        "conditions for video, the content is unsuited, or a law excludes it.",
    ),
    "ground": ("情形", "Ground"),
    "declare": ("记录声明", "Record"),
    "no_active_inspection": ("尚未安排勘验。", "No inspection is scheduled."),
    "schedule_inspection": ("安排勘验", "Schedule the inspection"),
    "links_open_at": ("个人链接开放时间：", "Personal links open at"),
    "links_close": ("勘验结束即失效。", "they stop working when the session ends."),
    "open_host_link": ("以主持人身份进入", "Open the host link"),
    "open_my_link": ("进入勘验", "Open my link"),
    "print_notice": ("打印申请人告知单", "Print the applicant's notice"),
    "personal_link": ("个人链接", "Personal link"),
    "link_revoked": ("链接已撤销", "Link revoked"),
    "revoke_confirm": (
        "撤销后此人的链接立即失效，确定吗？",
        "Their link stops working at once. Revoke?",
    ),
    "applicant_room_qr": (
        "申请人勘验二维码（用手机扫码进入）",
        "Applicant's room QR code (scan with the phone)",
    ),
    "live_now": ("现场实况", "In the room now"),
    "live_nobody": ("尚无人进入", "Nobody has come in yet"),
    "reschedule": ("改期", "Reschedule"),
    "new_time": ("新的勘验时间（北京时间）", "New time (Beijing time)"),
    "reschedule_hint": (
        "改期后此前发出的所有链接立即失效，系统生成新链接。",
        "Moving the inspection makes every link sent so far stop working; new ones are issued.",
    ),
    "add_member": ("增加人员", "Add a person"),
    "cancel_inspection": ("取消勘验", "Cancel the inspection"),
    "cancel_confirm": (
        "取消后所有链接立即失效，确定吗？",
        "Every link stops working at once. Cancel?",
    ),
    "checklist": ("勘验要点", "Checklist"),
    "frozen_at_scheduling": ("安排时锁定", "fixed when scheduled"),
    "shooting": ("拍摄要求", "Shooting requirements"),
    "min_duration": ("最短时长", "Minimum duration"),
    "min_resolution": ("最低分辨率", "Minimum resolution"),
    "history": ("办理记录", "History"),
    "status_link": ("申请人查询链接", "Applicant's status link"),
    "status_link_hint": (
        "申请人凭此链接查看办理状态和勘验结论，有效至案件办结；不能进入勘验或查看档案。",
        "The applicant follows the case and its conclusion here until it is closed; it opens "
        "neither the room nor the archive.",
    ),
    "renew_status_link": ("更换查询链接", "Replace the status link"),
    "renew_status_confirm": (
        "旧的查询链接将失效，确定更换吗？",
        "The old status link will stop working. Replace it?",
    ),
    # scheduling form
    "inspection_time": ("勘验时间", "Inspection time"),
    "schedule_time_hint": (
        "个人链接在勘验开始前 30 分钟开放。",
        "Personal links open 30 minutes before this time.",
    ),
    "host_account": ("主持人（勘验人员账号）", "Host (inspector account)"),
    "host_named_person": ("— 其他人员（在下方填写） —", "— someone else (fill in below) —"),
    "host_name_hint": ("主持人姓名（如专家审查员）", "Host's name (e.g. an expert reviewer)"),
    "clerk_accounts": ("业务审批人员（账号）", "Approval clerks (accounts)"),
    "add_row": ("增加一行", "Add a row"),
    "applicant_or_agent": ("申请人或委托代理人", "Applicant or agent"),
    "applicant_link_hint": (
        "申请人将获得勘验二维码和查询链接，可打印告知单交给申请人。",
        "The applicant gets a room QR code and a status link; print the notice for them.",
    ),
    "already_scheduled": (
        "本案已有待进行的勘验；如需调整请在案件页改期或取消。",
        "This case already has an inspection scheduled; move or cancel it on the case page.",
    ),
    "schedule_and_issue": ("安排并生成链接", "Schedule and issue links"),
    # applicant notice
    "notice_title": ("远程视频勘验告知单", "Remote video inspection notice"),
    "notice_room_qr": ("勘验时扫码进入", "Scan to join the inspection"),
    "notice_room_qr_hint": (
        "勘验开始前 30 分钟起可用，请在勘验现场使用手机扫码。",
        "Works from 30 minutes before; scan with your phone at the site.",
    ),
    "notice_status_qr": ("扫码查询办理进度", "Scan to follow your case"),
    "notice_status_qr_hint": (
        "可随时查看办理状态和勘验结论。",
        "Shows the case's state and the conclusion at any time.",
    ),
    "notice_prepare": ("请提前准备", "Please prepare"),
    "notice_step_1": (
        "使用电量充足、网络良好（建议 4G/5G 或 Wi-Fi）的智能手机，允许浏览器使用摄像头和麦克风。",
        "A charged smartphone with a good connection (4G/5G or Wi-Fi); allow the browser to use "
        "the camera and microphone.",
    ),
    "notice_step_2": (
        "准备好身份证件，勘验开始时须自我介绍并承诺所展示的现场真实。",
        "Have your ID at hand: the inspection starts with your self-introduction and your "
        "commitment that the site you show is genuine.",
    ),
    "notice_step_3": (
        "勘验时使用手机后置摄像头，按主持人要求逐项展示现场。",
        "Use the phone's rear camera and show each point the host asks for.",
    ),
    "notice_step_4": (
        "如需改期，请联系审批窗口；改期后原二维码失效。",
        "To reschedule, call the approval desk; the old QR code then stops working.",
    ),
    "notice_points": ("勘验要点", "What will be checked"),
    # status page
    "status_title": ("办理进度查询", "Case status"),
    "status_scheduled_at": ("视频勘验时间：", "Video inspection:"),
    "status_room_hint": (
        "勘验二维码或链接另行发给您，请于勘验时在现场使用手机打开。",
        "The inspection link or QR code is sent to you separately; open it on your phone at the "
        "site at that time.",
    ),
    "status_intake": (
        "您的申请已受理，工作人员将与您联系约定视频勘验时间。",
        "Your application was received; staff will contact you to agree a time for the video "
        "inspection.",
    ),
    "status_excluded": (
        "您的申请不适用视频勘验，工作人员将联系您安排现场勘验。原因：",
        "Your application cannot be inspected by video; staff will contact you to arrange an "
        "on-site inspection. Why:",
    ),
    "status_footer": (
        "本页面仅显示办理状态。如有疑问，请联系审批窗口。",
        "This page only shows the state of your case. Questions: contact the approval desk.",
    ),
    # inspection outcomes on the case page, the dashboard and the schedule page
    "notice_closed": ("案件已办结。", "The case was closed."),
    "notice_record_generated": (
        "已生成新版本的勘验笔录，原有版本保留。",
        "A new version of the record was made; the earlier ones are kept.",
    ),
    "outcome_title": ("勘验结论", "Conclusion"),
    "outcome_verdict": ("结论", "Verdict"),
    "outcome_reasons": ("理由", "Reasons"),
    "outcome_rectifications": ("整改事项", "To rectify"),
    "outcome_deadline": ("整改期限", "Deadline"),
    "outcome_inclusive": ("（含当日）", " (inclusive)"),
    "outcome_pronounced": ("宣布", "Pronounced"),
    "outcome_confirmation": ("申请人确认", "Applicant's confirmation"),
    "outcome_confirmed": ("已确认知悉", "Confirmed having read it"),
    "outcome_declined": ("不予确认", "Declined to confirm"),
    "outcome_not_confirmed": ("申请人尚未确认", "Not confirmed yet"),
    "outcome_address": ("地址", "from"),
    "outcome_note": ("说明", "Note"),
    "outcome_requests": ("复勘申请", "Re-inspection requests"),
    "outcome_requested_at": ("申请时间", "Asked"),
    "outcome_request_note": ("整改情况说明", "What was done"),
    "outcome_scheduled_as": ("已安排为第 %s 次勘验", "scheduled as inspection %s"),
    "outcome_close": ("办结", "Close the case"),
    "outcome_close_hint": (
        "承办股室依据勘验结论作出处理后办结；办结后申请人查询链接失效。",
        "Close once the section has acted on the conclusion; the applicant's status link then "
        "stops working.",
    ),
    "outcome_close_note": ("办结说明（可选）", "Note (optional)"),
    "outcome_close_confirm": ("确定办结本案？", "Close this case?"),
    "outcome_inspection_n": ("第 %s 次勘验", "Inspection %s"),
    "outcome_follows": ("复勘：接续第 %s 次勘验", "Re-inspection following inspection %s"),
    "outcome_interrupted": ("勘验已中止，原因", "Interrupted because"),
    "outcome_cancelled": ("取消原因", "Cancelled because"),
    "outcome_points": ("逐项核实", "Checklist"),
    "outcome_point": ("要点", "Point"),
    "outcome_result": ("核实结果", "Result"),
    "outcome_marked_by": ("核实人", "By"),
    "outcome_not_marked": ("未核实", "Not checked"),
    "outcome_marked_times": ("共标记 %s 次", "marked %s times"),
    "outcome_shots": ("截图", "Screenshots"),
    "outcome_loose_shots": ("未归入要点的截图", "Screenshots attached to no point"),
    "outcome_work_record": ("工作记录", "Work record"),
    "outcome_no_conclusion": ("本次勘验未作出结论。", "No conclusion was pronounced."),
    "outcome_records": ("勘验笔录", "Inspection record"),
    "outcome_open_html": ("查看", "Open"),
    "outcome_download_pdf": ("下载 PDF", "Download PDF"),
    "outcome_no_records": (
        "尚无笔录（勘验结束后自动生成）。",
        "No record yet (one is made when the session ends).",
    ),
    "outcome_regenerate": ("重新生成笔录", "Regenerate the record"),
    "outcome_regenerate_hint": (
        "生成新版本，原有版本保留。",
        "Makes a new version; earlier ones are kept.",
    ),
    "outcome_none_requests": (
        "没有待安排的复勘申请。",
        "No re-inspection request is waiting.",
    ),
    "outcome_schedule_reinspection": ("安排复勘", "Schedule the re-inspection"),
    "outcome_to_close": ("待办结", "Awaiting closure"),
    "outcome_none_to_close": ("没有待办结的案件。", "No case awaits closure."),
    "outcome_concluded_on": ("结论日期", "Concluded on"),
    "outcome_reinspection_banner": (
        "本次安排的是复勘：申请人已申请复勘，将核实第 %s 次勘验提出的以下整改事项"
        "（即本次勘验要点）。",
        "This schedules a re-inspection: the applicant asked for it, and it verifies what "
        "inspection %s demanded (these become its checklist).",
    ),
    "outcome_applicant_says": ("申请人说明：", "The applicant says: "),
    # the applicant's status page, after the session
    "progress_live": ("视频勘验正在进行。", "The video inspection is in progress."),
    "progress_interrupted": (
        "上次视频勘验已中止，工作人员将与您联系继续勘验。原因：",
        "The last video inspection was interrupted; staff will contact you to continue it. Why:",
    ),
    "progress_passed": (
        "视频勘验已通过，审批部门将依法办理后续手续。",
        "The video inspection passed; the bureau will complete the next steps.",
    ),
    "progress_failed": (
        "视频勘验未通过，审批部门将依法作出处理。如有疑问，请联系审批窗口。",
        "The video inspection did not pass; the bureau will decide accordingly. Questions: "
        "contact the approval desk.",
    ),
    "progress_overdue": (
        "整改期限已过，未收到复勘申请，审批部门将依法处理。请联系审批窗口。",
        "The rectification deadline passed without a request for re-inspection; the bureau will "
        "decide accordingly. Contact the approval desk.",
    ),
    "progress_conclusion": ("勘验结论", "Conclusion"),
    "progress_verdict_pass": ("通过", "Passed"),
    "progress_verdict_rectify": ("需整改", "Rectification required"),
    "progress_verdict_fail": ("不通过", "Not passed"),
    "progress_reasons": ("理由：", "Reasons:"),
    "progress_rectify_list": ("请整改以下事项：", "Please rectify:"),
    "progress_deadline": ("整改期限：", "Rectify by:"),
    "progress_deadline_end": (
        "（含当日）。完成后请在本页申请复勘。",
        " (inclusive). When done, ask for re-inspection on this page.",
    ),
    "progress_confirm_title": ("确认已知悉", "Confirm you have read it"),
    "progress_confirm_hint": (
        "请阅读上述勘验结论并确认已知悉；如有异议，可选择不予确认并说明理由。",
        "Read the conclusion above and confirm you have seen it; if you disagree, decline and "
        "say why.",
    ),
    "progress_confirm": ("确认已知悉", "I have read it"),
    "progress_decline": ("不予确认", "I do not confirm"),
    "progress_note_optional": ("说明（可选）", "Note (optional)"),
    "progress_confirmed": (
        "您已于 %s 确认已知悉勘验结论。",
        "On %s you confirmed having read the conclusion.",
    ),
    "progress_declined": (
        "您于 %s 表示不予确认。如已了解结论，仍可确认已知悉。",
        "On %s you declined to confirm. You can still confirm having read it.",
    ),
    "progress_request_title": ("整改完成，申请复勘", "Rectified: ask for re-inspection"),
    "progress_request_hint": (
        "请简要说明已完成的整改，工作人员将与您约定复勘时间。",
        "Say briefly what you did; staff will agree a time for the re-inspection with you.",
    ),
    "progress_request_note": ("整改情况说明", "What was done"),
    "progress_request_send": ("提交复勘申请", "Ask for re-inspection"),
    "progress_request_received": (
        "您的复勘申请已于 %s 收到，工作人员将与您联系约定复勘时间。",
        "Your request for re-inspection was received on %s; staff will contact you to agree a "
        "time.",
    ),
    "progress_late": (
        "整改期限已过，不能在线申请复勘，请联系审批窗口。",
        "The deadline has passed: you can no longer ask for re-inspection here. Contact the "
        "approval desk.",
    ),
    "progress_notice_confirmed": (
        "已记录：您确认已知悉勘验结论。",
        "Recorded: you confirmed having read the conclusion.",
    ),
    "progress_notice_declined": (
        "已记录：您不予确认勘验结论。",
        "Recorded: you declined to confirm the conclusion.",
    ),
    "progress_notice_requested": ("复勘申请已提交。", "Your request for re-inspection was sent."),
    # catalog
    "new_item": ("新增事项", "New item"),
    "edit_item": ("修改事项", "Edit item"),
    "code": ("代码", "Code"),
    "video_allowed": ("适用视频勘验", "Video inspection allowed"),
    "checklist_points": ("勘验要点数", "Checklist points"),
    "catalog_hint": (
        "每次修改保存为新版本；已安排的勘验保留安排时的版本。",
        "Every edit is saved as a new version; a scheduled inspection keeps the version it was "
        "scheduled with.",
    ),
    "catalog_edit_hint": (
        "保存后生成新版本，已安排的勘验不受影响。",
        "Saving adds a version; inspections already scheduled are not affected.",
    ),
    "if_not_for_video": ("不适用视频勘验时", "When not for video"),
    "one_per_line": ("每行一条", "one per line"),
    "first_point_rule": (
        "第一条必须是申请人自我介绍并承诺所展示现场真实（须含“承诺”“真实”）。",
        "The first point must be the applicant's self-introduction and commitment that the site "
        "shown is genuine (mentioning 承诺 and 真实).",
    ),
    "min_width": ("最低宽度（像素）", "Minimum width (px)"),
    "min_height": ("最低高度（像素）", "Minimum height (px)"),
    "must_show": ("必须拍摄的内容", "Must show"),
    "change_note": ("修改说明", "What changed"),
    "save_version": ("保存为新版本", "Save as a new version"),
    "source_file": ("来自目录文件", "from the catalog file"),
    "source_ui": ("页面修改", "edited in the UI"),
    # dishonesty list
    "dishonesty_hint": (
        "在案件登记和安排勘验时，系统按证件号码比对失信名单；命中的案件不能安排视频勘验。",
        "Cases are checked against this list by ID number at intake and again at scheduling; a "
        "listed applicant's case cannot be scheduled for video.",
    ),
    "import_csv": ("导入 CSV", "Import a CSV file"),
    "csv_file": ("CSV 文件", "CSV file"),
    "csv_format": (
        "首行为表头：证件号码、名称、失信事由、列入日期（或 id_no,name,reason,listed_on）；"
        "UTF-8 或 GBK 编码。",
        "Header row: 证件号码, 名称, 失信事由, 列入日期 (or id_no,name,reason,listed_on); UTF-8 "
        "or GBK.",
    ),
    "mode_merge": ("合并（新增和更新条目）", "Merge (add and update entries)"),
    "mode_replace": (
        "替换（文件即完整名单，未列出的条目移出）",
        "Replace (the file is the whole list; entries not in it leave)",
    ),
    "do_import": ("导入", "Import"),
    "import_done": ("导入完成", "Imported"),
    "added": ("新增", "added"),
    "updated": ("更新", "updated"),
    "removed": ("移出", "removed"),
    "listed": ("在册名单", "Listed"),
    "listed_on": ("列入日期", "Listed on"),
    "imports": ("导入记录", "Imports"),
    # accounts
    "new_account": ("新建账号", "New account"),
    "display_name": ("显示名称", "Display name"),
    "one_time_password_for": ("一次性密码：", "One-time password for"),
    "one_time_password_hint": (
        "请当面或通过安全渠道告知本人。本密码只显示这一次，首次登录后必须修改。",
        "Hand it over in person or by a safe channel. It is shown only now and must be changed "
        "at first login.",
    ),
    "awaiting_first_login": ("待首次登录", "Awaiting first login"),
    "reset_password": ("重置密码", "Reset password"),
    "reset_confirm": (
        "将生成新的一次性密码，原密码和已登录的会话立即失效。确定吗？",
        "A new one-time password replaces the old one and ends the account's sessions. Reset?",
    ),
    # API keys
    "api_keys_hint": (
        "政务服务平台调用 POST /api/v1/cases 时在 Authorization 头中携带密钥（Bearer）。"
        "接口说明见 docs/api.md。",
        "The platform sends the key as 'Authorization: Bearer <key>' when calling "
        "POST /api/v1/cases; see docs/api.md.",
    ),
    "key_name": ("名称", "Name"),
    "key_name_hint": ("如：省政务服务平台", "e.g. provincial platform"),
    "create_key": ("生成密钥", "Create key"),
    "key_prefix": ("密钥前缀", "Prefix"),
    "last_used": ("最近使用", "Last used"),
    "new_key_for": ("新密钥：", "New key for"),
    "new_key_hint": (
        "密钥只显示这一次，系统只保存其摘要。请立即复制并安全保存。",
        "The key is shown only now; Kanyan keeps only its hash. Copy it and keep it safe.",
    ),
    "revoke_key_confirm": (
        "撤销后使用此密钥的调用将立即被拒绝。确定吗？",
        "Calls with this key are refused at once. Revoke?",
    ),
    # self-recorded video
    "video_method": ("勘验方式", "Method"),
    "video_method_live": ("远程视频连线勘验", "Live video session"),
    "video_method_video": ("申请人自行录制现场视频", "Self-recorded site video"),
    "video_method_hint": (
        "自行录制：申请人按拍摄要求一次不间断拍摄现场并在截止时间前上传，勘验组在线审查；时间为视频"
        "提交截止时间。",
        "Self-recorded: the applicant films the site in one take as the item requires and "
        "uploads it before the time given (the deadline); the group reviews it online.",
    ),
}

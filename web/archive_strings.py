"""UI strings of the archive, the player, case packages and the statistics: zh-CN first, English
second. Merged into `web.i18n.STRINGS`; every key starts with `archive_`. Templates build some
keys from a value (`archive_kind_<kind>`, `archive_marker_<kind>`, `archive_stats_<column>`, …):
tests/unit/test_archive_strings.py checks each family is complete."""

from __future__ import annotations

ARCHIVE_STRINGS: dict[str, tuple[str, str]] = {
    # navigation and the dashboard
    "archive_nav": ("档案", "Archive"),
    "archive_title": ("档案查询", "Archive"),
    "archive_open": ("查看档案", "Open in the archive"),
    "archive_staff_page": ("案件办理页", "Case workflow page"),
    "archive_search_link": ("档案查询", "Search the archive"),
    "archive_search_hint": (
        "按申请编号、申请人、证件号码、事项、结论查找案件，回放录像、下载证据、导出案件包",
        "find cases by number, applicant, ID, item or conclusion; play, download, export",
    ),
    "archive_verify_link_hint": (
        "上传案件包，核验其中每个文件和每条事件是否被改动",
        "upload a case package to check that no file or event in it was altered",
    ),
    "archive_stats_link_hint": (
        "按月份、事项、股室统计勘验次数、结论比例和时长",
        "inspections by month, item and section; verdict rates; session lengths",
    ),
    "archive_file_checks": ("文件完整性核验", "File integrity check"),
    "archive_file_check_ok": (
        "上次核验：%d 个文件的 SHA-256 全部一致",
        "Last check: all %d files match their SHA-256",
    ),
    "archive_file_check_bad": (
        "上次核验：%d 个文件缺失、%d 个文件不一致（共 %d 个）",
        "Last check: %d missing, %d differ (of %d files)",
    ),
    "archive_file_check_never": ("尚未核验过。", "No check has run yet."),
    "archive_file_check_running": ("正在核验……", "A check is running…"),
    "archive_file_check_start": ("立即核验全部文件", "Check every file now"),
    "archive_file_check_hint": (
        "重新计算每个存档文件的 SHA-256 并与档案记录比对；系统也会定期自动核验。",
        "Re-hashes every archived file against the archive's record; it also runs on schedule.",
    ),
    "archive_problem_missing": ("缺失", "missing"),
    "archive_problem_differs": ("内容与记录的 SHA-256 不一致", "differs from its SHA-256"),
    "archive_notice_files_check_started": (
        "已开始核验，完成后此处显示结果（刷新页面查看）。",
        "The check started; its result appears here when done (reload the page).",
    ),
    "archive_notice_files_check_running": (
        "核验正在进行，请稍后刷新。",
        "A check is already running; reload later.",
    ),
    # search
    "archive_own_only": (
        "仅显示您参与勘验的案件。",
        "Only the cases whose inspections you took part in are shown.",
    ),
    "archive_number": ("申请编号 / 案件编号", "Application / case no."),
    "archive_number_hint": ("全部或部分编号", "all or part of it"),
    "archive_id_no": ("身份证号 / 统一社会信用代码", "ID no. / credit code"),
    "archive_verdict": ("勘验结论", "Conclusion"),
    "archive_inspections_n": ("%d 次勘验", "%d inspections"),
    # the case
    "archive_immutable": (
        "本案已归档：内容不可更改，只能添加批注；每次查看和下载文件都记入事件日志。",
        "This case is archived: nothing in it changes, it can only be annotated; every file "
        "viewed or downloaded is recorded in the event log.",
    ),
    "archive_no_inspections": ("本案没有勘验。", "This case has no inspection."),
    "archive_method_live": ("现场视频勘验", "Live video inspection"),
    "archive_method_video": ("申请人自行录制", "Self-recorded video"),
    "archive_scheduled": ("安排于", "Scheduled"),
    "archive_started": ("开始", "Started"),
    "archive_ended": ("结束", "Ended"),
    "archive_play": ("播放录像及证据时间轴", "Play the recording with its evidence timeline"),
    "archive_segments_n": ("%d 段", "%d segments"),
    "archive_markers_n": ("%d 个时间点", "%d markers"),
    "archive_recordings": ("录像文件", "Recordings"),
    "archive_no_recordings": ("没有录像文件。", "No recording."),
    "archive_segment": ("分段", "Segment"),
    "archive_kind": ("类型", "Kind"),
    "archive_whose": ("参与人", "Whose"),
    "archive_duration": ("时长", "Duration"),
    "archive_size": ("大小", "Size"),
    "archive_download": ("下载", "Download"),
    "archive_original": ("中断原始文件", "Unfinished original"),
    "archive_kind_composite": ("合成录像", "Composite"),
    "archive_kind_raw": ("原始音视频轨", "Raw track"),
    "archive_kind_upload": ("上传原件", "Upload as received"),
    "archive_kind_playable": ("播放副本", "Playable copy"),
    "archive_kind_poster": ("封面图", "Poster"),
    "archive_kind_strip": ("缩略图条", "Thumbnail strip"),
    "archive_track_video": ("视频", "video"),
    "archive_track_audio": ("音频", "audio"),
    "archive_state_finished": ("完整", "Complete"),
    "archive_state_interrupted": ("录制中断，已恢复", "Interrupted, recovered"),
    "archive_state_failed": ("录制中断，未能恢复", "Interrupted, lost"),
    "archive_state_recording": ("录制中", "Being written"),
    "archive_uploads": ("自行录制视频的上传", "Uploads of the self-recorded video"),
    "archive_file_name": ("文件名", "File name"),
    "archive_checks": ("自动检查", "Checks"),
    "archive_checks_passed": ("全部通过", "All passed"),
    "archive_upload_uploading": ("上传中", "Uploading"),
    "archive_upload_checking": ("检查中", "Checking"),
    "archive_upload_accepted": ("已接收", "Accepted"),
    "archive_upload_rejected": ("未通过检查", "Rejected"),
    "archive_upload_cancelled": ("已取消", "Cancelled"),
    "archive_upload_expired": ("已过期", "Expired"),
    "archive_upload_failed": ("处理失败", "Failed"),
    "archive_full_size": ("查看原图", "Full size"),
    "archive_at_instant": ("录像中", "In the recording at"),
    "archive_annotations": ("批注", "Annotations"),
    "archive_no_annotations": ("暂无批注。", "No annotation yet."),
    "archive_annotation_text": ("批注内容", "Annotation"),
    "archive_annotation_hint": (
        "批注连同您的姓名和时间记入档案，不能修改或删除；案件本身不变。",
        "The note is kept with your name and the time and cannot be changed or removed; the "
        "case itself stays as it is.",
    ),
    "archive_annotate": ("添加批注", "Add the annotation"),
    "archive_notice_annotated": ("批注已添加。", "The annotation was added."),
    "archive_event_log": ("事件日志", "Event log"),
    "archive_event_log_hint": (
        "本案的全部事件，按发生顺序；每条事件的哈希值链接前一条，任何改动都能被发现。",
        "Every event of the case in order; each row's hash chains to the one before, so any "
        "change is found.",
    ),
    "archive_event_type": ("事件", "Event"),
    "archive_actor": ("操作人", "By"),
    "archive_event_data": ("内容", "Data"),
    "archive_hash": ("哈希值", "Hash"),
    "archive_archived_at": ("归档时间", "Archived"),
    # case packages
    "archive_package": ("案件包", "Case package"),
    "archive_package_hint": (
        "一个 ZIP 文件：全部录像、截图、笔录，以及案件信息、文件哈希值和事件日志"
        "（manifest.json）。",
        "One ZIP file: every recording, screenshot and record, with the case, each file's hash "
        "and the event log (manifest.json).",
    ),
    "archive_package_expected": ("预计大小约", "Expected size about"),
    "archive_files_n": ("%d 个文件", "%d files"),
    "archive_offload_waiting": (
        "待上传至对象存储：%d 个文件",
        "Waiting to go to the object store: %d files",
    ),
    "archive_offload_down": (
        "对象存储暂不可用，文件保留在本机，恢复后自动上传",
        "The object store does not answer: the files stay here and go once it is back",
    ),
    "archive_export": ("导出案件包", "Export the package"),
    "archive_verify_title": ("核验案件包", "Verify a case package"),
    "archive_verify_hint": (
        "选择以前导出的案件包。系统重新计算其中每个文件的 SHA-256 和每条事件的哈希值，"
        "全部一致即说明内容未被改动；否则指出第一处不一致。",
        "Choose a package exported before. Every file's SHA-256 and every event's hash are "
        "recomputed: all matching proves nothing was altered; otherwise the first mismatch is "
        "named.",
    ),
    "archive_package_file": ("案件包文件（.zip）", "Package file (.zip)"),
    "archive_verify": ("核验", "Verify"),
    "archive_verify_checking": ("已上传，正在核验……", "Uploaded; checking…"),
    "archive_verify_ok": (
        "核验通过：%d 个文件、%d 条事件均未被改动。",
        "Verified: %d files and %d events are unaltered.",
    ),
    "archive_verify_bad": ("核验未通过，第一处不一致：", "Not verified. First mismatch:"),
    "archive_verify_failed": ("核验未能完成：", "The check could not be done:"),
    # retention
    "archive_retention": ("保管期限", "Retention"),
    "archive_keep_until": ("文件保管至", "Files kept until"),
    "archive_retention_rule": (
        "期满前不能删除任何文件；期满后系统管理员可删除文件，删除记录（含每个文件的哈希值）永久保留。",
        "Nothing is deleted before this date; after it an administrator may delete the files, "
        "and a record of what was deleted (with each file's hash) stays.",
    ),
    "archive_not_archived": (
        "案件归档后开始计算保管期限。",
        "The retention period starts when the case is archived.",
    ),
    "archive_files_deleted": ("文件已删除", "Files deleted"),
    "archive_delete_reason": ("删除理由", "Why delete"),
    "archive_delete_files": ("删除本案文件", "Delete this case's files"),
    "archive_delete_confirm": (
        "保管期限已满。删除后录像、截图和笔录文件不可恢复，确定删除吗？",
        "The retention period is over. The recordings, screenshots and records cannot be "
        "recovered afterwards. Delete them?",
    ),
    "archive_notice_files_deleted": (
        "文件已删除，删除记录已保存。",
        "The files were deleted; the record of it is kept.",
    ),
    "archive_retention_years": ("档案保管期限（年）", "Retention (years)"),
    "archive_retention_default": ("默认 30 年", "30 years by default"),
    "archive_retention_hint": (
        "案件归档后其录像、截图和笔录文件的保管年限，1–100；留空为默认值。",
        "How many years an archived case's files are kept, 1–100; empty for the default.",
    ),
    # the player
    "archive_player": ("录像回放", "Playback"),
    "archive_player_loading": ("正在加载播放器……", "Loading the player…"),
    "archive_player_hint": (
        "点击时间轴上的标记或下方列表中的时间，录像即跳到该时刻；多段录像连续播放。",
        "Click a marker on the bar or a time in the list and the recording goes there; "
        "segments play on as one session.",
    ),
    "archive_nothing_to_play": ("没有可播放的录像。", "There is no recording to play."),
    "archive_timeline_at": ("起点", "Starts at"),
    "archive_seek": ("跳到此时刻", "Go to this moment"),
    "archive_marker_session": ("开始与结束", "Start and end"),
    "archive_marker_join": ("进入", "Joined"),
    "archive_marker_leave": ("离开", "Left"),
    "archive_marker_gap": ("中断", "Gaps"),
    "archive_marker_current": ("核实要点", "Point verified"),
    "archive_marker_mark": ("标记", "Marks"),
    "archive_marker_note": ("工作记录", "Work record"),
    "archive_marker_screenshot": ("截图", "Screenshots"),
    "archive_marker_conclusion": ("结论", "Conclusion"),
    # statistics
    "archive_stats_nav": ("统计", "Statistics"),
    "archive_stats_title": ("勘验统计", "Inspection statistics"),
    "archive_stats_csv": ("下载 CSV", "Download CSV"),
    "archive_stats_from": ("结论日期自", "Concluded from"),
    "archive_stats_to": ("至", "to"),
    "archive_stats_hint": (
        "按宣布结论的日期（北京时间）统计；自行录制视频与现场视频勘验一并计入。",
        "Counted by the date the conclusion was pronounced (Beijing time); self-recorded "
        "videos count with live inspections.",
    ),
    "archive_stats_overall": ("合计", "Overall"),
    "archive_stats_period": ("期间", "Period"),
    "archive_stats_by_month": ("按月份", "By month"),
    "archive_stats_by_month_column": ("月份", "Month"),
    "archive_stats_by_item": ("按事项", "By item"),
    "archive_stats_by_item_column": ("事项", "Item"),
    "archive_stats_by_section": ("按股室", "By section"),
    "archive_stats_by_section_column": ("股室", "Section"),
    "archive_stats_none": ("此期间没有数据。", "Nothing in this period."),
    "archive_stats_excluded": ("不适用视频勘验的案件（按情形）", "Cases excluded, by ground"),
    "archive_stats_cases": ("案件数", "Cases"),
    "archive_stats_inspections": ("勘验次数", "Inspections"),
    "archive_stats_pass": ("通过", "Pass"),
    "archive_stats_rectify": ("整改", "Rectify"),
    "archive_stats_fail": ("不通过", "Fail"),
    "archive_stats_pass_rate": ("通过率", "Pass rate"),
    "archive_stats_rectify_rate": ("整改率", "Rectify rate"),
    "archive_stats_fail_rate": ("不通过率", "Fail rate"),
    "archive_stats_reinspection_share": ("复勘占比", "Re-inspections"),
    "archive_stats_self_recorded": ("自行录制", "Self-recorded"),
    "archive_stats_median_session_minutes": ("时长中位数（分钟）", "Median length (min)"),
}

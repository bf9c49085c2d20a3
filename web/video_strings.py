"""UI strings of self-recorded site videos: the applicant's upload on the status page
(templates/_video_upload.html, js/upload.js) and the review on the case page
(templates/staff/_video_review.html, js/review.js). zh-CN first, English second.

Merged into `web.i18n.STRINGS`; every key starts with `video_`. The method's names
(video_method, video_method_live, video_method_video, video_method_hint) are in
web/staff_strings.py. Templates format `%s`/`%d` placeholders, scripts `{name}` ones.
"""

from __future__ import annotations

VIDEO_STRINGS: dict[str, tuple[str, str]] = {
    # the applicant: what to film, by when
    "video_state_awaiting": ("待上传现场视频", "Awaiting your site video"),
    "video_upload_title": ("上传现场视频", "Upload the site video"),
    "video_deadline": ("请在此时间前上传：", "Upload it before "),
    "video_deadline_passed": (
        "已超过上传截止时间。仍可上传，请尽快完成；如有困难请联系审批窗口。",
        "The deadline has passed. You can still upload: do it soon, or contact the approval desk.",
    ),
    "video_asked_again": (
        "勘验组要求您重新拍摄并上传，原因：",
        "The inspection group asks you to film and upload the site again. Why: ",
    ),
    "video_requirements": ("拍摄要求", "How to film it"),
    "video_req_first": (
        "开头先面对镜头出示身份证件作自我介绍（姓名、申请事项），并口头承诺：所拍摄的场所真实、"
        "与申请材料一致。",
        "Begin facing the camera: show your ID and introduce yourself (your name, what you apply "
        "for), and promise aloud that the site you film is genuine and matches your application.",
    ),
    "video_req_take": (
        "一次拍完，中途不要暂停、不要剪辑或拼接；拍摄时不要切换到其他应用。",
        "Film it in one take: do not pause, cut or join clips, and do not switch to another app "
        "while filming.",
    ),
    "video_req_show": ("依次拍清楚以下内容：", "Show each of these clearly, one after another:"),
    "video_req_duration": ("视频时长不少于 ", "At least "),
    "video_minutes": ("%d 分钟", "%d minutes long"),
    "video_seconds": ("%d 秒", "%d seconds long"),
    "video_req_resolution": ("清晰度不低于 ", "Resolution at least "),
    "video_req_resolution_hint": (
        "（在相机设置中选择 720P 或更高）",
        " (choose 720p or better in the camera's settings)",
    ),
    "video_req_sound": (
        "开启声音录制，边拍边说明所拍的内容。",
        "Record with sound, and say what you are filming as you go.",
    ),
    "video_req_recent": (
        "须是上传前 %d 小时内拍摄的原始视频，不要上传转发或编辑过的视频。",
        "It must be the original video, filmed within %d hours before you upload it — not one "
        "forwarded or edited.",
    ),
    # the applicant: the upload
    "video_record": ("现场录制视频", "Record the video now"),
    "video_choose": ("从相册选择视频", "Choose a video from the gallery"),
    "video_pick_hint": (
        "单个视频不超过 %s。上传可随时暂停；网络中断或刷新页面后，重新选择同一个视频即可接着上传。",
        "At most %s. You can pause at any time; after a network drop or a reload, choose the same "
        "video again and the upload goes on where it stopped.",
    ),
    "video_needs_script": (
        "上传视频需要开启浏览器的 JavaScript。",
        "Uploading needs JavaScript enabled in the browser.",
    ),
    "video_unsupported": (
        "此浏览器不支持断点续传上传，请用手机自带浏览器或微信打开本链接。",
        "This browser cannot upload resumably; open this link in the phone's own browser.",
    ),
    "video_pause": ("暂停", "Pause"),
    "video_resume": ("继续上传", "Resume"),
    "video_uploading": ("正在上传…", "Uploading…"),
    "video_paused": ("已暂停，点“继续上传”接着传", "Paused: press Resume to go on"),
    "video_offline": (
        "网络已断开，恢复后将自动继续上传",
        "The network dropped: the upload goes on by itself when it is back",
    ),
    "video_failed": ("上传未完成：", "The upload stopped: "),
    "video_failed_network": (
        "网络不稳定，上传未完成。请点“继续上传”。",
        "The network is unsteady and the upload stopped. Press Resume.",
    ),
    "video_too_big": (
        "视频超过 {size}，请用较低画质重新拍摄。",
        "The video is over {size}: film it again at a lower quality.",
    ),
    "video_time_left": ("剩余约 {time}", "about {time} left"),
    "video_resume_hint": (
        "上次的视频“{name}”尚未传完：重新选择同一个视频，即可从中断处继续。",
        "“{name}” was not finished: choose the same video again to go on where it stopped.",
    ),
    "video_checking": ("上传完成，正在自动检查…", "Uploaded; checking it automatically…"),
    "video_accepted": ("已通过自动检查", "Passed the automatic checks"),
    "video_rejected": (
        "未通过自动检查，请按以下提示重新拍摄后上传：",
        "It did not pass the automatic checks. Film it again as below, then upload it:",
    ),
    "video_upload_again": ("重新上传视频", "Upload another video"),
    "video_under_review": (
        "您的视频已通过自动检查，勘验组正在审查；审查完成后，勘验结论将显示在本页。",
        "Your video passed the automatic checks and the inspection group is reviewing it; the "
        "conclusion will show on this page.",
    ),
    "video_attempts": ("已上传的视频", "Videos uploaded"),
    "video_no_name": ("（无文件名）", "(no file name)"),
    "video_attempt_uploading": ("未传完", "Not finished"),
    "video_attempt_checking": ("正在自动检查", "Being checked"),
    "video_attempt_accepted": ("已通过自动检查", "Passed the checks"),
    "video_attempt_rejected": ("未通过自动检查", "Did not pass the checks"),
    "video_attempt_cancelled": ("已取消", "Cancelled"),
    "video_attempt_expired": ("未在规定时间内传完，已删除", "Not finished in time; removed"),
    "video_attempt_failed": ("处理失败", "Failed"),
    # staff: the review
    "video_role_inspector": ("勘验人员", "Inspector"),
    "video_awaiting": ("等待申请人上传视频", "awaiting the applicant's video"),
    "video_under_review_staff": (
        "申请人的视频已通过自动检查，正在审查：见下方。",
        "The applicant's video passed its checks and is under review: see below.",
    ),
    "video_loading": ("正在加载视频…", "Loading the video…"),
    "video_strip": ("视频缩略图", "Thumbnails"),
    "video_strip_hint": ("点击跳转到该处", "Click to go there"),
    "video_seek": ("跳转到此处", "Go to this instant"),
    "video_at": ("当前位置 {time}.{ms}", "At {time}.{ms}"),
    "video_screenshot": ("截图", "Screenshot"),
    "video_screenshots": ("截图", "Screenshots"),
    "video_screenshot_taking": ("正在截取当前画面…", "Capturing this frame…"),
    "video_screenshot_saved": (
        "截图已保存，归入当前核实要点",
        "Screenshot saved, on the point being verified",
    ),
    "video_saved": ("已保存", "Saved"),
    "video_reload": (
        "登录已过期或页面已失效，请刷新页面后重试",
        "Your session expired or the page is out of date: reload it and try again",
    ),
    "video_file": ("视频文件", "The video file"),
    "video_file_name": ("文件名", "File name"),
    "video_size": ("大小", "Size"),
    "video_duration": ("时长", "Duration"),
    "video_resolution": ("分辨率", "Resolution"),
    "video_rotated": ("手机旋转 %d°", "rotated %d°"),
    "video_uploaded": ("上传完成", "Uploaded"),
    "video_played": ("播放文件", "Played"),
    "video_converted": (
        "原视频浏览器无法直接播放，此处播放转换的 H.264 副本；截图取自原视频。",
        "Browsers cannot play the original: this is an H.264 copy; screenshots come from the "
        "original.",
    ),
    "video_checks": ("自动检查结果", "Automatic checks"),
    "video_check": ("检查项", "Check"),
    "video_check_required": ("要求", "Required"),
    "video_check_found": ("实际", "Found"),
    "video_check_result": ("结果", "Result"),
    "video_check_passed": ("通过", "Passed"),
    "video_check_failed": ("未通过", "Failed"),
    "video_check_unchecked": ("未检查", "Not checked"),
    "video_checklist": ("逐项核实", "Checklist"),
    "video_checklist_hint": (
        "播放到相应画面后标记；标记、记录和截图都记在视频的当前时间点上。",
        "Play to the part that shows a point, then mark it: marks, notes and screenshots are "
        "kept at the video's current instant.",
    ),
    "video_conclude": ("出具结论", "Pronounce the conclusion"),
    "video_conclude_hint": (
        "出具结论后本次勘验结束，生成勘验笔录，申请人在办理进度查询页面看到结论。",
        "The conclusion ends this inspection and makes its record; the applicant sees it on the "
        "status page.",
    ),
    "video_conclude_confirm": (
        "出具结论「{verdict}」？出具后不能修改。",
        "Pronounce the conclusion “{verdict}”? It cannot be changed afterwards.",
    ),
    "video_ask_again": ("要求重新拍摄", "Ask for another video"),
    "video_ask_again_hint": (
        "本视频不足以作出结论时使用：申请人将在办理进度查询页面看到原因并重新上传；本视频仍存档。",
        "When this video is not enough for a conclusion: the applicant sees why on the status "
        "page and uploads again; this video stays archived.",
    ),
    "video_ask_again_reason": ("原因（申请人可见）", "Why (the applicant sees this)"),
    "video_ask_again_need_reason": ("请写明原因", "Give the reason"),
    "video_ask_again_confirm": (
        "要求申请人重新拍摄？本视频的审查将结束。",
        "Ask the applicant for another video? The review of this one ends.",
    ),
}

"""Strings of the applicant's phone: the lobby, the viewfinder, the camera tools, the cues about
the network, and the help on browsers and camera permissions; and the host's view of them.
zh-CN first, English second; merged into web.i18n.STRINGS."""

from __future__ import annotations

PHONE_STRINGS: dict[str, tuple[str, str]] = {
    # The lobby: preview, microphone, appointment, host presence, what to prepare.
    "phone_status_prepare": ("勘验前准备", "Getting ready"),
    "phone_mic_level": ("麦克风音量", "Microphone level"),
    "phone_mic_hint": (
        "请说句话：绿色条跟着跳动，说明对方能听到您。",
        "Say something: the green bar moves when you can be heard.",
    ),
    "phone_scheduled": ("约定时间", "Scheduled"),
    "phone_host": ("主持人", "Host"),
    "phone_host_unknown": (
        "点击下方按钮进入等候后，这里会显示主持人是否已上线。",
        "After you tap the button below to wait, this line shows whether the host is online.",
    ),
    "phone_host_online": (
        "主持人已上线，请稍候，马上为您准入。",
        "The host is online and will admit you shortly.",
    ),
    "phone_host_offline": (
        "主持人尚未上线。请保持本页打开，主持人上线后会准入您。",
        "The host is not online yet. Keep this page open: the host admits you on arrival.",
    ),
    "phone_prepare_title": ("请提前准备", "Please have ready"),
    "phone_prepare_id": (
        "身份证原件（委托代理人另带授权委托书）",
        "Your ID card (an agent also brings the power of attorney)",
    ),
    "phone_prepare_places": (
        "到达经营场所现场，按要求依次拍摄：",
        "Be at the site, ready to film in turn:",
    ),
    "phone_prepare_network": (
        "网络：Wi-Fi 或 4G/5G 信号良好，必要时靠近窗口",
        "Network: good Wi-Fi or 4G/5G signal; move near a window if needed",
    ),
    "phone_network_wifi": (
        "网络：已连接 Wi-Fi。信号弱时可改用 4G/5G。",
        "Network: Wi-Fi. If its signal is weak, use 4G/5G.",
    ),
    "phone_network_cellular": (
        "网络：正在使用移动数据，请留意流量。",
        "Network: mobile data (mind your data allowance).",
    ),
    "phone_network_slow": (
        "网络：当前网络很慢，请靠近窗口或换用 Wi-Fi。",
        "Network: very slow; move near a window or use Wi-Fi.",
    ),
    "phone_network_save_data": (
        "网络：已开启省流量模式，画面可能不清楚，建议关闭。",
        "Network: data saver is on and the picture may suffer; turn it off.",
    ),
    "phone_prepare_battery": (
        "电量：建议 50% 以上，或接上充电宝。",
        "Battery: above 50%, or plug in a power bank.",
    ),
    "phone_battery_ok": ("电量：{n}%", "Battery: {n}%"),
    "phone_battery_low": (
        "电量仅剩 {n}%，请先充电或接上充电宝。",
        "Battery only {n}%: charge it or plug in a power bank.",
    ),
    "phone_prepare_light": (
        "光线：打开现场的灯，较暗处可用手电筒。",
        "Light: switch the site's lights on; use the torch in dark corners.",
    ),
    "phone_prepare_screen": (
        "本浏览器无法保持屏幕常亮：请在手机设置中暂时把「自动锁屏」改为较长时间。",
        "This browser cannot keep the screen on: set automatic screen lock to a longer time.",
    ),
    "phone_waiting_button": ("已进入等候", "Waiting"),
    # The viewfinder and the camera tools.
    "phone_pip": (
        "主持人画面（点一下放大，拖动可移开）",
        "The host (tap to enlarge, drag to move)",
    ),
    "phone_torch": ("手电筒", "Torch"),
    "phone_zoom": ("缩放", "Zoom"),
    "phone_torch_on": ("打开手电筒", "Torch on"),
    "phone_torch_off": ("关闭手电筒", "Torch off"),
    "phone_no_torch": (
        "此手机不能在网页中打开手电筒：请打开现场的灯，或请旁人用另一部手机照明。",
        "This phone cannot light its torch from a web page: switch the lights on, or have "
        "someone light the place with another phone.",
    ),
    "phone_camera_tool_failed": ("摄像头设置失败：", "Camera setting failed: "),
    "phone_request_torch": ("{name}请您打开手电筒照亮", "{name} asks you to switch the torch on"),
    "phone_request_switch_camera": ("{name}请您切换摄像头", "{name} asks you to switch camera"),
    "phone_request_close": ("知道了", "OK"),
    # Weak signal and freezes, as the applicant is told.
    "phone_weak_signal": (
        "网络较差，请靠近窗口或切换网络",
        "Weak network: move closer to a window or switch networks",
    ),
    "phone_link_frozen": (
        "网络中断 {n} 秒：对方暂时看不到您的画面。请靠近窗口或切换网络，恢复后会自动继续。",
        "No connection for {n} s: the others cannot see your picture. Move near a window or "
        "switch networks; it resumes by itself.",
    ),
    "phone_server_stalled": (
        "服务器已较长时间未收到您的画面，正在等待网络恢复…",
        "The server has not received your picture for a while; waiting for the network…",
    ),
    "phone_camera_frozen": (
        "摄像头画面已停止 {n} 秒，正在重新打开摄像头…",
        "The camera has been still for {n} s; opening it again…",
    ),
    # The camera could not be opened.
    "phone_camera_denied_title": ("摄像头或麦克风未被允许", "Camera or microphone not allowed"),
    "phone_camera_busy_title": ("摄像头正被其他应用使用", "The camera is in use by another app"),
    "phone_camera_missing_title": ("未找到摄像头", "No camera found"),
    "phone_camera_other_title": ("无法打开摄像头", "Could not open the camera"),
    "phone_camera_denied_lead": (
        "视频勘验需要使用摄像头和麦克风。请按下面的步骤允许本网站使用，然后点「重试」。",
        "The video inspection needs the camera and microphone. Allow this site as below, "
        "then tap Retry.",
    ),
    "phone_camera_busy_lead": (
        "请关闭正在使用摄像头的应用（如微信视频通话、相机），然后点「重试」。",
        "Close the app using the camera (a WeChat video call, the camera app), then tap Retry.",
    ),
    "phone_help_android": (
        "安卓手机（Chrome 或手机自带浏览器）",
        "Android (Chrome or the built-in browser)",
    ),
    "phone_help_android_1": (
        "点击地址栏左侧的锁形图标（或「ⓘ」）",
        "Tap the lock icon (or ⓘ) left of the address",
    ),
    "phone_help_android_2": ("点击「权限」或「网站设置」", "Tap Permissions or Site settings"),
    "phone_help_android_3": (
        "把「摄像头」和「麦克风」都设为「允许」",
        "Set both Camera and Microphone to Allow",
    ),
    "phone_help_ios": ("苹果手机（Safari）", "iPhone (Safari)"),
    "phone_help_ios_1": (
        "点击地址栏左侧的「大小」按钮（aA）",
        "Tap the aA button left of the address",
    ),
    "phone_help_ios_2": (
        "选择「网站设置」，把「摄像头」和「麦克风」设为「允许」",
        "Choose Website Settings and set Camera and Microphone to Allow",
    ),
    "phone_help_ios_3": (
        "若仍不行：打开手机「设置」→「Safari 浏览器」→「摄像头」和「麦克风」→「允许」",
        "If that does not help: Settings → Safari → Camera and Microphone → Allow",
    ),
    "phone_help_retry": (
        "回到本页，点击下方「重试」",
        "Come back to this page and tap Retry below",
    ),
    "phone_retry": ("重试", "Retry"),
    # Leaving an app's own browser for the phone's (web/templates/_browser_help.html).
    "browser_title": ("请用手机浏览器打开", "Open this link in your phone's browser"),
    "browser_in_app": (
        "您正在「{app}」里打开链接。{app}内置的浏览器无法可靠地使用摄像头，"
        "请换到手机浏览器中进行视频勘验。",
        "You opened the link inside {app}, whose built-in browser cannot use the camera "
        "reliably. Open it in your phone's browser for the video inspection.",
    ),
    "browser_step_menu": ("点击屏幕右上角的「⋯」", "Tap ⋯ at the top right of the screen"),
    "browser_step_open": ("选择「在浏览器打开」", "Choose Open in browser"),
    "browser_step_open_ios": ("选择「在 Safari 中打开」", "Choose Open in Safari"),
    "browser_step_allow": (
        "在浏览器中打开后，允许使用摄像头和麦克风",
        "In the browser, allow the camera and microphone",
    ),
    "browser_picture": (
        "示意图：右上角「⋯」菜单中的「在浏览器打开」",
        "Picture: Open in browser, in the ⋯ menu at the top right",
    ),
    "browser_picture_page": ("勘验链接", "Inspection link"),
    "browser_picture_open": ("在浏览器打开", "Open in browser"),
    "browser_picture_hint": ("在菜单中找浏览器图标", "Look for the browser icon"),
    "browser_unsupported": (
        "此浏览器不能使用摄像头或进行视频通话。"
        "请换用手机自带的浏览器、Chrome 或 Safari 打开本链接。",
        "This browser cannot use the camera or hold a video call. Open this link in the "
        "phone's own browser, Chrome or Safari.",
    ),
    "browser_step_copy": ("点击下方「复制链接」", "Tap Copy link below"),
    "browser_step_paste": (
        "打开手机浏览器，粘贴到地址栏并打开",
        "Open the phone's browser, paste it into the address bar and go",
    ),
    "browser_link": ("您的勘验链接", "Your inspection link"),
    "browser_copy": ("复制链接", "Copy link"),
    "browser_copied": (
        "已复制，请到手机浏览器中粘贴打开",
        "Copied: paste it into your phone's browser",
    ),
    "browser_personal": (
        "此链接仅供您本人使用，请勿转发他人。",
        "This link is for you alone; do not forward it.",
    ),
    "browser_anyway": (
        "仍在此处打开（可能无法使用摄像头）",
        "Open here anyway (the camera may not work)",
    ),
    # What the host's page says of a participant's picture and network.
    "cue_background_applicant": ("申请人已切到后台", "The applicant switched to another app"),
    "cue_background": ("已切到后台", "Switched to another app"),
    "cue_stalled": (
        "服务器长时间未收到画面，可能是对方网络中断",
        "No picture has reached the server for a while: their network may be down",
    ),
    "cue_frozen": ("画面已停止 {n} 秒：", "Picture still for {n} s: "),
    "cue_frozen_poor": (
        "对方网络较差，正在等待恢复",
        "their network is poor; waiting for it to recover",
    ),
    "cue_frozen_stalled": (
        "服务器也未收到对方画面，可能是对方网络中断，正在等待恢复",
        "the server receives nothing from them either (their network may be down); waiting",
    ),
    "cue_frozen_wait": ("正在等待恢复", "waiting for it to recover"),
    "cue_uplink_fair": ("网络一般", "Fair network"),
    "cue_uplink_poor": ("网络较差", "Poor network"),
    "ask_torch": ("请开手电筒", "Ask for the torch"),
    "ask_switch_camera": ("请换摄像头", "Ask to switch camera"),
    "ask_sent": ("已发送请求", "Request sent"),
    "ask_torch_none": (
        "对方手机不能在网页中打开手电筒，已提示其打开现场的灯",
        "their phone cannot light its torch from a web page; they were asked to switch a light on",
    ),
}

"""Real Chromium for tests: fake cameras from generated .y4m files, desktop and phone contexts."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-features=WebRtcHideLocalIpsWithMdns",
    "--allow-loopback-in-peer-connection",
    "--autoplay-policy=no-user-gesture-required",
    "--ignore-certificate-errors",
]

# A cheap Android phone: small portrait screen, touch, mobile Chrome.
PHONE = {
    "viewport": {"width": 360, "height": 640},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 11; Redmi 9A) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
}


def make_y4m(
    path: Path,
    rgb: tuple[int, int, int],
    width: int = 640,
    height: int = 480,
    frames: int = 30,
    fps: int = 15,
) -> Path:
    """A looping camera that films one colour with a moving block (never commit these)."""
    container = av.open(str(path), "w", format="yuv4mpegpipe")
    stream = container.add_stream("rawvideo", rate=fps)
    stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
    base = np.zeros((height, width, 3), np.uint8)
    base[:, :] = rgb
    size = height // 8
    for n in range(frames):
        image = base.copy()
        x = (n * (width - size)) // frames
        image[height // 2 - size // 2 : height // 2 + size // 2, x : x + size] = 255
        frame = av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
        for packet in stream.encode(frame):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)
    container.close()
    return path


def launch(playwright, y4m: Path):  # type: ignore[no-untyped-def]
    """One Chromium process per fake camera (the file applies to the whole process)."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*ARGS, f"--use-file-for-fake-video-capture={y4m.resolve()}"],
    )


# Per-tile playback facts, read the way a person would judge "the video plays".
TILE_VIDEO = """(id) => {
  const video = document.querySelector(`.tile[data-participant="${id}"] video`);
  if (!video || !video.srcObject) return null;
  const quality = video.getVideoPlaybackQuality();
  let colour = null;
  if (video.videoWidth) {
    const canvas = document.createElement('canvas');
    canvas.width = 16; canvas.height = 16;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(video, 0, 0, 16, 16);
    const d = ctx.getImageData(0, 0, 16, 16).data;
    let r = 0, g = 0, b = 0;
    for (let i = 0; i < d.length; i += 4) { r += d[i]; g += d[i + 1]; b += d[i + 2]; }
    const n = d.length / 4;
    colour = [r / n, g / n, b / n];
  }
  return {width: video.videoWidth, height: video.videoHeight,
          frames: quality.totalVideoFrames, paused: video.paused, colour};
}"""


def launch_asking(playwright, y4m: Path):  # type: ignore[no-untyped-def]
    """Like `launch`, but the camera is not granted by itself: each context grants what it
    wants (PERMITTED), or nothing — and then the page's camera request is refused, as when a
    person taps 不允许."""
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            *(a for a in ARGS if a != "--use-fake-ui-for-media-stream"),
            f"--use-file-for-fake-video-capture={y4m.resolve()}",
        ],
    )


PERMITTED = ["camera", "microphone", "screen-wake-lock"]

# Apps whose own browser opens the links applicants get by SMS or chat.
IN_APP_AGENTS = {
    "wechat": "Mozilla/5.0 (Linux; Android 12; V2118A Build/SP1A.210812.003; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/107.0.5304.141 Mobile "
    "Safari/537.36 XWEB/5023 MMWEBSDK/20230504 MMWEBID/7208 MicroMessenger/8.0.37.2380"
    "(0x2800255B) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64",
    "qq": "Mozilla/5.0 (Linux; Android 10; PCAM00 Build/QKQ1.190918.001; wv) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.72 MQQBrowser/6.2 TBS/046011 Mobile "
    "Safari/537.36 V1_AND_SQ_8.8.68_2538_YYB_D A_8086800 QQ/8.8.68.7265 NetType/WIFI",
    "alipay": "Mozilla/5.0 (Linux; U; Android 11; zh-CN; M2007J3SC Build/RKQ1.200826.002) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.2.43 "
    "Mobile Safari/537.36 NebulaSDK/1.8.100112 Nebula AliApp(AP/10.2.60.8000) "
    "AlipayClient/10.2.60.8000 Language/zh-Hans",
    "dingtalk": "Mozilla/5.0 (Linux; U; Android 11; zh-CN; V2031A Build/RP1A.200720.012) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/69.0.3497.100 UWS/3.22.1.233 "
    "Mobile Safari/537.36 AliApp(DingTalk/6.5.40) com.alibaba.android.rimet/24646881 "
    "language/zh-CN",
}

# Counts the page's camera requests (before any of its own scripts run).
COUNT_CAMERA_REQUESTS = """
window.__cameraRequests = 0;
if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  navigator.mediaDevices.getUserMedia = (constraints) => {
    window.__cameraRequests += 1;
    return real(constraints);
  };
}
"""

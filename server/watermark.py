"""Text on evidence images: the CJK font, and the watermark band of a screenshot (time, case
number, who took it, whose picture). The recorder's burned-in header uses the same font.

FFmpeg inside PyAV has no drawtext and OpenCV has no CJK glyphs: text is drawn with Pillow and a
CJK font from Debian.
"""

from __future__ import annotations

import functools
import io
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .clock import SHANGHAI
from .errors import ConfigError

FONT_PACKAGE = "fonts-wqy-microhei"

# Debian's CJK fonts, smallest first.
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)

PROBE = "勘验录像"


def find_cjk_font(configured: str = "", candidates: tuple[str, ...] = FONT_CANDIDATES) -> Path:
    """The font the recorder draws Chinese with, or a ConfigError that says how to get one."""
    candidates = (configured,) if configured else candidates
    for candidate in candidates:
        path = Path(candidate)
        if path.is_file() and _draws_chinese(path):
            return path
    if configured:
        raise ConfigError(
            f"recording.font: {configured} 不存在或不含中文字形 / is missing or has no Chinese "
            "glyphs"
        )
    raise ConfigError(
        "未找到中文字体，录像无法加盖中文时间和案件信息。请安装 Debian 软件包 "
        f"{FONT_PACKAGE}（apt-get install {FONT_PACKAGE}），或在 recording.font 中指定字体文件。 "
        f"/ No CJK font found: the recorder burns Chinese text into the video. Install the "
        f"Debian package {FONT_PACKAGE} or set recording.font."
    )


def _draws_chinese(path: Path) -> bool:
    try:
        font = ImageFont.truetype(str(path), 24)
    except OSError:
        return False
    left, top, right, bottom = font.getbbox(PROBE)
    return right - left > 40 and bottom - top > 10


@functools.lru_cache(maxsize=16)
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def elide(text: str, face: ImageFont.FreeTypeFont, max_width: int) -> str:
    """`text`, shortened with an ellipsis so that it fits in `max_width` pixels."""
    if face.getlength(text) <= max_width:
        return text
    while text and face.getlength(text + "…") > max_width:
        text = text[:-1]
    return text + "…" if text else ""


ROLE_NAMES = {
    "host": "主持人",
    "clerk": "业务审批人员",
    "expert": "专家审查员",
    "observer": "观察员",
    "applicant": "申请人",
}


def label_text(name: str, role: str) -> str:
    return f"{name}（{ROLE_NAMES.get(role, role)}）"


def now_text(at: float | None = None) -> str:
    """Beijing time to the second, for watermarks."""
    moment = datetime.fromtimestamp(at, UTC) if at is not None else datetime.now(UTC)
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def watermark_lines(
    at: float, case_no: str, taker: tuple[str, str], subject: tuple[str, str]
) -> list[str]:
    return [
        f"{now_text(at)} 北京时间  案件编号 {case_no}",
        f"截图人 {label_text(*taker)}  画面 {label_text(*subject)}",
    ]


def render_jpeg(
    image: Image.Image, lines: list[str], font_path: str, quality: int
) -> tuple[bytes, int, int]:
    """The picture at its own size with the watermark band at its foot, as JPEG."""
    image = image.convert("RGB")
    width, height = image.size
    size = max(12, min(40, round(min(width, height * 16 / 9) / 48)))
    face = font(font_path, size)
    line_height = round(size * 1.35)
    band = line_height * len(lines) + size // 2
    box = (0, height - band, width, height)
    image.paste(Image.eval(image.crop(box), lambda v: v * 2 // 5), box)
    draw = ImageDraw.Draw(image)
    for index, line in enumerate(lines):
        text = elide(line, face, width - size)
        draw.text(
            (size // 2, height - band + size // 4 + index * line_height),
            text,
            font=face,
            fill=(255, 255, 255),
        )
    out = io.BytesIO()
    # 4:4:4 keeps the watermark's edges and the site's fine print legible.
    image.save(out, "JPEG", quality=quality, subsampling=0, optimize=False)
    return out.getvalue(), width, height

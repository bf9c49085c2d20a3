"""Burned-in text: the header (Beijing time, case number, licence item) and the tile labels.

FFmpeg inside PyAV has no drawtext and OpenCV has no CJK glyphs, so text is drawn with Pillow
and a CJK font from Debian. Text is rendered into small grey-level patches only when it changes
(the header once a second) and copied onto the luma plane; the chroma under a patch is set
neutral. Drawing on the whole frame with Pillow would cost ~3 ms a frame.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

import numpy as np
from PIL import Image, ImageDraw

from server.clock import SHANGHAI
from server.watermark import (
    FONT_CANDIDATES,
    FONT_PACKAGE,
    ROLE_NAMES,
    elide,
    find_cjk_font,
    font,
    label_text,
    now_text,
)

__all__ = [
    "FONT_CANDIDATES",
    "FONT_PACKAGE",
    "ROLE_NAMES",
    "elide",
    "find_cjk_font",
    "font",
    "label_text",
    "now_text",
]


# Studio-range luma: text 235 on a dark band 32; the glyphs' anti-aliasing maps in between.
TEXT_Y, BAND_Y = 235, 32
_LUT = np.linspace(BAND_Y, TEXT_Y, 256).astype(np.uint8)


def header_text(at: float, case_no: str, item_name: str) -> tuple[str, str]:
    """(left, right) header text for the server time `at` (epoch seconds)."""
    moment = datetime.fromtimestamp(int(at), UTC).astimezone(SHANGHAI)
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S") + " 北京时间",
        f"案件编号 {case_no}  ·  {item_name}",
    )


def text_patch(
    text: str,
    font_path: str,
    size: int,
    width: int,
    height: int,
    *,
    align: str = "left",
    padding: int = 8,
) -> np.ndarray:
    """A height × width luma patch: `text` in white on the dark band, vertically centred."""
    face = font(font_path, size)
    image = Image.new("L", (width, height), 0)
    text = elide(text, face, width - 2 * padding)
    if text:
        draw = ImageDraw.Draw(image)
        length = face.getlength(text)
        ascent, descent = face.getmetrics()
        y = (height - ascent - descent) // 2
        if align == "center":
            x = (width - length) / 2
        elif align == "right":
            x = width - padding - length
        else:
            x = padding
        draw.text((x, y), text, font=face, fill=255)
    return _LUT[np.asarray(image)]


class Header:
    """The header band, re-rendered only when the second (or the case) changes."""

    def __init__(self, font_path: str, case_no: str, item_name: str, width: int, height: int):
        self.font_path = font_path
        self.case_no = case_no
        self.item_name = item_name
        self.width = width
        self.height = height
        self._second: int | None = None
        self._patch = np.full((height, width), BAND_Y, np.uint8)
        self.renders = 0

    def patch(self, at: float) -> np.ndarray:
        second = int(at)
        if second != self._second:
            self._second = second
            self._patch = self._render(at)
            self.renders += 1
        return self._patch

    def _render(self, at: float) -> np.ndarray:
        left, right = header_text(at, self.case_no, self.item_name)
        size = max(12, self.height * 11 // 20)
        half = self.width // 2
        band = np.empty((self.height, self.width), np.uint8)
        band[:, :half] = text_patch(left, self.font_path, size, half, self.height)
        band[:, half:] = text_patch(
            right, self.font_path, size, self.width - half, self.height, align="right"
        )
        return band


@functools.lru_cache(maxsize=256)
def label_patch(font_path: str, name: str, role: str, width: int) -> np.ndarray:
    """The name-and-role label at the foot of a tile."""
    height = 26 if width >= 300 else 22
    face = font(font_path, height - 8)
    text = elide(label_text(name, role), face, width - 16)
    patch_width = min(width, math.ceil(face.getlength(text)) + 16) & ~1
    return text_patch(text, font_path, height - 8, max(2, patch_width), height, padding=6)


@functools.lru_cache(maxsize=256)
def placeholder_patch(
    font_path: str, lines: tuple[str, ...], width: int, height: int
) -> np.ndarray:
    """A cell without video: the person's name and why there is no picture, centred."""
    size = max(14, min(32, height // 8))
    line_height = size + size // 2
    image = np.full((height, width), 48, np.uint8)
    top = (height - line_height * len(lines)) // 2
    for index, line in enumerate(lines):
        y = top + index * line_height
        if 0 <= y and y + line_height <= height:
            image[y : y + line_height] = np.maximum(
                image[y : y + line_height],
                text_patch(line, font_path, size, width, line_height, align="center"),
            )
    return image

"""Burned-in text: the header's time and case, Chinese glyphs, labels that fit their tile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recorder import overlay
from server.errors import ConfigError

FONT = str(overlay.find_cjk_font())
# 2026-11-26 23:59:59 UTC is 2026-11-27 07:59:59 in Beijing
MOMENT = 1795737599.4


@pytest.mark.parametrize(
    ("at", "left"),
    [
        (MOMENT, "2026-11-27 07:59:59 北京时间"),
        (MOMENT + 0.6, "2026-11-27 08:00:00 北京时间"),  # to the second, never rounded up
        (0.0, "1970-01-01 08:00:00 北京时间"),
    ],
)
def test_header_text_is_beijing_time_to_the_second(at, left):
    assert overlay.header_text(at, "KY2026-000012", "食品经营许可") == (
        left,
        "案件编号 KY2026-000012  ·  食品经营许可",
    )


def test_header_renders_once_a_second_and_changes_with_it():
    header = overlay.Header(FONT, "KY2026-000012", "食品经营许可", 1280, 40)
    first = header.patch(MOMENT).copy()
    assert header.patch(MOMENT + 0.1) is header.patch(MOMENT + 0.5)
    second = header.patch(MOMENT + 1)
    assert header.renders == 2
    changed = np.argwhere(first != second)
    # Only the clock changed: the left half. The case number on the right stayed.
    assert len(changed) and changed[:, 1].max() < 640
    assert (first[:, 640:] == second[:, 640:]).all()


def test_chinese_is_drawn_inside_the_patch_vertically_centred():
    patch = overlay.text_patch("案件编号勘验", FONT, 22, 300, 40)
    assert patch.shape == (40, 300)
    ink = np.argwhere(patch > 128)
    assert len(ink) > 200  # CJK glyphs, not tofu boxes or nothing
    top, bottom = ink[:, 0].min(), ink[:, 0].max()
    assert top >= 4 and bottom <= 36 and abs((top + bottom) / 2 - 20) <= 4
    left, right = ink[:, 1].min(), ink[:, 1].max()
    assert left >= 8 and right < 300 - 8


@pytest.mark.parametrize("align", ["left", "center", "right"])
def test_alignment(align):
    ink = np.argwhere(overlay.text_patch("勘验", FONT, 20, 400, 30, align=align) > 128)[:, 1]
    middle = (ink.min() + ink.max()) / 2
    expected = {"left": 30, "center": 200, "right": 370}[align]
    assert abs(middle - expected) < 30


@pytest.mark.parametrize(
    ("text", "width", "elided"),
    [
        ("张主持（主持人）", 400, False),
        ("一个名字非常非常非常长的业务审批人员（业务审批人员）", 160, True),
    ],
)
def test_labels_fit_their_tile(text, width, elided):
    face = overlay.font(FONT, 18)
    fitted = overlay.elide(text, face, width)
    assert face.getlength(fitted) <= width
    assert fitted.endswith("…") == elided
    name = text.partition("（")[0]
    patch = overlay.label_patch(FONT, name, "clerk", width)
    assert patch.shape[1] <= width and patch.shape[1] % 2 == 0


def test_label_names_the_role_in_chinese():
    assert overlay.label_text("陈申请", "applicant") == "陈申请（申请人）"
    assert overlay.label_text("王专家", "expert") == "王专家（专家审查员）"


def test_placeholder_shows_name_and_reason():
    patch = overlay.placeholder_patch(FONT, ("陈申请", "已断开"), 400, 300)
    assert patch.shape == (300, 400)
    rows = np.flatnonzero((patch > 128).any(axis=1))
    assert len(rows) and rows.min() > 90 and rows.max() < 210  # two lines around the middle


def test_missing_font_names_the_debian_package(tmp_path: Path):
    with pytest.raises(ConfigError) as error:
        overlay.find_cjk_font(candidates=(str(tmp_path / "none.ttc"),))
    assert "fonts-wqy-microhei" in error.value.message
    with pytest.raises(ConfigError, match=r"recording\.font"):
        overlay.find_cjk_font(str(tmp_path / "missing.ttf"))
    not_a_font = tmp_path / "x.ttf"
    not_a_font.write_bytes(b"nope")
    with pytest.raises(ConfigError):
        overlay.find_cjk_font(str(not_a_font))


def test_the_server_refuses_to_start_without_a_cjk_font(tmp_path: Path):
    from tests.support.server import make_settings
    from web.app import create_app

    settings = make_settings(tmp_path, recording={"font": str(tmp_path / "none.ttc")})
    with pytest.raises(ConfigError, match=r"recording\.font"):
        create_app(settings)

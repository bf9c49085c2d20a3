"""Every string a template asks for exists in both languages."""

from __future__ import annotations

import re
from pathlib import Path

from web.i18n import STRINGS

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"


def test_every_template_string_has_zh_and_en():
    used = set()
    for path in TEMPLATES.rglob("*.html"):
        used |= set(re.findall(r"\bt\.([a-z_0-9]+)", path.read_text()))
    missing = sorted(key for key in used if key not in STRINGS)
    assert not missing, f"strings used in templates but not defined: {missing}"
    for key, (zh, en) in STRINGS.items():
        assert zh.strip() and en.strip(), key


def test_no_string_key_hides_behind_a_dict_method():
    # Templates read `t.key`; Jinja looks up attributes first, so `t.copy` would be dict.copy.
    assert not [key for key in STRINGS if hasattr(dict, key)]


SCRIPTS = TEMPLATES.parent / "static" / "js"
# Keys the scripts build from a value: t(`room_mark_${verdict}`) and the like.
BUILT_KEYS = {
    "role_{}": ["host", "clerk", "expert", "observer", "applicant"],
    "state_{}": ["open", "live", "ended", "interrupted"],
    "quality_{}": ["good", "fair", "poor"],
    "room_mark_{}": ["verified", "conforms", "not_conforms", "rectify"],
    "room_verdict_{}": ["pass", "rectify", "fail"],
    "room_result_{}": ["pass", "rectify", "fail", "confirmed", "declined"],
    "room_result_{}_words": ["pass", "fail"],
    "room_confirmation_{}": ["waiting", "confirmed", "declined"],
    "cue_uplink_{}": ["fair", "poor"],
    "phone_request_{}": ["torch", "switch_camera"],
    "ask_{}": ["torch", "switch_camera"],
    "video_attempt_{}": [
        "uploading",
        "checking",
        "accepted",
        "rejected",
        "cancelled",
        "expired",
        "failed",
    ],
}


def test_every_script_string_has_zh_and_en():
    used = set()
    for path in SCRIPTS.glob("*.js"):
        source = path.read_text()
        used |= set(re.findall(r"\b(?:t|fmt)\(\"([a-z_0-9]+)\"[,)]", source))
        # Keys held in variables first (a ternary, a table of advice) are quoted whole.
        used |= set(re.findall(r"\"((?:room|phone|cue)_[a-z_0-9]+)\"", source))
        families = re.findall(r"\b(?:t|fmt)\(`([a-z_]+)\$\{", source)
        families += re.findall(r"\b(?:t|fmt)\(\"([a-z_]+)\" \+", source)
        for family in families:
            assert any(pattern.startswith(family) for pattern in BUILT_KEYS), family
    for pattern, values in BUILT_KEYS.items():
        used |= {pattern.format(value) for value in values}
    missing = sorted(key for key in used if key not in STRINGS)
    assert not missing, f"strings used in scripts but not defined: {missing}"

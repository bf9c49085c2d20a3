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

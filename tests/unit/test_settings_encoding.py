"""A catalog or settings file saved in GBK (as a Windows editor here may do) is refused with a
message naming the file, not a traceback (found by tests/fuzz/test_imports.py)."""

from __future__ import annotations

import pytest

from server import config
from server.cases.catalog import load_file
from server.errors import ConfigError


def test_a_catalog_in_gbk_is_refused_by_name(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_bytes('[[item]]\ncode = "FOOD-OPERATION"\nname = "食品经营许可"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as refused:
        load_file(path)
    assert str(path) in refused.value.message and "UTF-8" in refused.value.message


def test_settings_in_gbk_are_refused_by_name(tmp_path):
    path = tmp_path / "kanyan.toml"
    path.write_bytes('[mail]\nsender = "勘验 <kanyan@example.gov.cn>"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as refused:
        config.load(path)
    assert str(path) in refused.value.message and "UTF-8" in refused.value.message

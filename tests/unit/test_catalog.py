"""The licence-item catalog: the shipped file is valid, and every mistake names its field."""

from __future__ import annotations

import tomllib

import pytest

from server.cases.catalog import SHIPPED, item_from_form, load_file, parse, validate_item
from server.errors import ConfigError
from tests.support.data import changed

GOOD = {
    "code": "TEST-ITEM",
    "name": "测试事项",
    "video_allowed": True,
    "checklist": ["申请人自我介绍，承诺所展示现场真实", "门头招牌"],
    "shooting": {
        "min_duration_s": 300,
        "min_width": 1280,
        "min_height": 720,
        "must_show": ["门头"],
    },
}


def test_shipped_catalog_is_valid_and_realistic():
    items = load_file(SHIPPED)
    codes = {item.code for item in items}
    assert {"FOOD-OPERATION", "PUBLIC-HYGIENE", "DRUG-RETAIL", "HOTEL-SPECIAL"} <= codes
    for item in items:
        # SPEC §4 step 2: the applicant's self-introduction and commitment come first.
        assert "自我介绍" in item.checklist[0] and "承诺" in item.checklist[0], item.code
        assert len(item.checklist) >= 4 and item.shooting.must_show
    excluded = [item for item in items if not item.video_allowed]
    assert excluded and all(item.exclusion_reason for item in excluded)


def test_shipped_file_uses_the_contract_shape():
    data = tomllib.loads(SHIPPED.read_text())
    for raw in data["item"]:
        assert {"code", "name", "video_allowed", "checklist", "shooting"} <= set(raw)
        assert set(raw["shooting"]) == {"min_duration_s", "min_width", "min_height", "must_show"}


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("code", KeyError, "code"),
        ("code", "food", "code"),
        ("code", 7, "code"),
        ("name", "", "name"),
        ("name", "x" * 101, "name"),
        ("video_allowed", "yes", "video_allowed"),
        ("video_allowed", KeyError, "video_allowed"),
        ("checklist", "申请人承诺真实", "checklist"),
        ("checklist", ["申请人承诺真实"], "checklist"),
        ("checklist", ["门头招牌", "申请人承诺真实"], "checklist[0]"),
        ("checklist", ["申请人承诺真实", ""], "checklist[1]"),
        ("checklist", ["申请人承诺真实", "门头", "门头"], "checklist[2]"),
        ("shooting", KeyError, "shooting"),
        ("shooting.min_duration_s", "300", "shooting.min_duration_s"),
        ("shooting.min_duration_s", 0, "shooting.min_duration_s"),
        ("shooting.min_width", 1280.5, "shooting.min_width"),
        ("shooting.min_height", KeyError, "shooting.min_height"),
        ("shooting.must_show", [], "shooting.must_show"),
        ("shooting.fps", 30, "shooting.fps"),
        ("colour", "red", "colour"),
        ("exclusion_ground", "dishonest", "exclusion_ground"),
    ],
)
def test_each_mistake_names_its_field(path, value, field):
    item, errors = validate_item(changed(GOOD, path, value))
    assert item is None
    assert field in errors, errors


def test_a_malformed_file_names_file_item_and_field(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text(SHIPPED.read_text().replace("min_width = 1280", 'min_width = "1280"', 1))
    with pytest.raises(ConfigError) as err:
        load_file(path)
    message = err.value.message
    assert str(path) in message
    assert "item 1 (FOOD-OPERATION)" in message
    assert "shooting.min_width" in message


def test_every_problem_of_a_file_is_listed_and_repeated_codes_are_caught():
    data = {"item": [GOOD, GOOD, changed(GOOD, "name", KeyError)], "extra": 1}
    with pytest.raises(ConfigError) as err:
        parse(data, "catalog.toml")
    lines = err.value.message.splitlines()
    assert any("unknown top-level key 'extra'" in line for line in lines)
    assert any("item 2 (TEST-ITEM): code: TEST-ITEM repeats item 1" in line for line in lines)
    assert any(line.startswith("catalog.toml: item 3 (TEST-ITEM): name") for line in lines)


def test_not_for_video_gets_a_ground_and_reason():
    item, errors = validate_item(changed(GOOD, "video_allowed", False))
    assert not errors and item is not None
    assert item.exclusion_ground == "law" and item.exclusion_reason


def test_admin_form_round_trips_an_item():
    form = {
        "code": "test-item",
        "name": "测试事项",
        "video_allowed": "on",
        "checklist": "申请人自我介绍，承诺所展示现场真实\r\n门头招牌\n\n",
        "min_duration_s": "300",
        "min_width": "1280",
        "min_height": "720",
        "must_show": "门头",
    }
    item, errors = item_from_form(form)
    assert not errors
    assert item == validate_item(GOOD)[0]
    item, errors = item_from_form({**form, "min_width": "wide"})
    assert item is None and "shooting.min_width" in errors

"""Intake validation and the dishonesty list's file format, without a server."""

from __future__ import annotations

import pytest

from server.archive import GroupMember
from server.cases.intake import check_group, decode_upload, parse_application, parse_dishonesty_csv
from server.errors import BadRequest
from tests.support.data import changed

CODES = {"FOOD-OPERATION", "DRUG-RETAIL"}
GOOD = {
    "application_no": "SQ20261126000123",
    "applicant": {
        "name": "柳江区示例餐饮店",
        "id_no": "91450221MA5KDEM012",
        "phone": "13812345678",
    },
    "item_code": "FOOD-OPERATION",
    "site_address": "柳州市柳江区拉堡镇示例路 1 号",
    "section": "食品药品审批股",
}


def test_a_good_application_is_normalised():
    data = changed(GOOD, "applicant.phone", "+86 138-1234-5678")
    data["applicant"]["id_no"] = "91450221-ma5kdem012"
    application = parse_application(data, CODES)
    assert application.applicant_phone == "13812345678"
    assert application.applicant_id_no == "91450221MA5KDEM012"


def test_every_bad_field_is_named_at_once():
    data = {
        "application_no": "",
        "applicant": {"name": "张", "id_no": "123", "phone": "call me", "email": "x@y"},
        "item_code": "UNKNOWN",
        "site_address": "近",
        "extra": 1,
    }
    with pytest.raises(BadRequest) as err:
        parse_application(data, CODES)
    assert set(err.value.details) == {
        "application_no",
        "applicant.name",
        "applicant.id_no",
        "applicant.phone",
        "applicant.email",
        "item_code",
        "site_address",
        "section",
        "extra",
    }


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("application_no", KeyError, "application_no"),
        ("application_no", "SQ 2026", "application_no"),
        ("application_no", "x" * 65, "application_no"),
        ("application_no", 123, "application_no"),
        ("applicant", KeyError, "applicant"),
        ("applicant", "张三", "applicant"),
        ("applicant.name", KeyError, "applicant.name"),
        ("applicant.name", "   ", "applicant.name"),
        ("applicant.name", "张三\x00", "applicant.name"),
        ("applicant.id_no", "110105194912310021", "applicant.id_no"),
        ("applicant.id_no", None, "applicant.id_no"),
        ("applicant.phone", "12345", "applicant.phone"),
        ("item_code", "HAZ", "item_code"),
        ("item_code", ["FOOD-OPERATION"], "item_code"),
        ("site_address", "x" * 201, "site_address"),
        ("section", KeyError, "section"),
    ],
)
def test_each_bad_field(path, value, field):
    with pytest.raises(BadRequest) as err:
        parse_application(changed(GOOD, path, value), CODES)
    assert list(err.value.details) == [field]
    assert field in err.value.message


@pytest.mark.parametrize("body", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_refused(body):
    with pytest.raises(BadRequest):
        parse_application(body, CODES)


def test_dishonesty_csv_in_chinese_headers_and_gbk():
    text = "证件号码,名称,失信事由,列入日期\n11010519491231002X,张某,提供虚假材料,2026-03-01\n\n"
    rows = parse_dishonesty_csv(decode_upload(text.encode("gb18030")))
    assert [(r.id_no, r.name, r.reason, r.listed_on) for r in rows] == [
        ("11010519491231002X", "张某", "提供虚假材料", "2026-03-01")
    ]
    bom = ("\ufeffid_no,name\n9144030071526726XG,某公司\n").encode()
    assert parse_dishonesty_csv(decode_upload(bom))[0].name == "某公司"


def test_a_bad_row_refuses_the_whole_file_naming_the_line():
    text = "id_no,name\n11010519491231002X,张某\n110105194912310021,李某\n9144030071526726XG,\n"
    with pytest.raises(BadRequest) as err:
        parse_dishonesty_csv(text)
    assert set(err.value.details) == {"line 3.id_no", "line 4.name"}


def test_a_csv_without_the_needed_columns_says_which():
    with pytest.raises(BadRequest, match="name"):
        parse_dishonesty_csv("证件号码,地址\n11010519491231002X,某地\n")
    with pytest.raises(BadRequest, match="为空"):
        parse_dishonesty_csv("")


def test_group_needs_one_host_and_one_applicant():
    errors = check_group([GroupMember("expert", "王专家"), GroupMember("expert", "", phone="1")])
    assert errors["host"] and errors["applicant"]
    assert "expert[1].name" in errors and "expert[1].phone" in errors
    two_hosts = [
        GroupMember("host", "甲"),
        GroupMember("host", "乙"),
        GroupMember("applicant", "丙"),
    ]
    assert "host" in check_group(two_hosts)
    assert check_group([GroupMember("host", "甲"), GroupMember("applicant", "丙")]) == {}

"""ID numbers, unified social credit codes and phone numbers as an approval bureau gets them."""

from __future__ import annotations

import pytest

from server.cases.identifiers import check_identity_number, check_phone, identity_kind


@pytest.mark.parametrize(
    ("value", "normal", "kind"),
    [
        ("11010519491231002X", "11010519491231002X", "person"),  # GB 11643's own example
        ("11010519491231002x", "11010519491231002X", "person"),  # lower-case check letter
        ("110105 19491231 002X", "11010519491231002X", "person"),  # typed with spaces
        ("9144030071526726XG", "9144030071526726XG", "organisation"),
        ("91330100799655058B", "91330100799655058B", "organisation"),
        ("91450221MA5KDEM012", "91450221MA5KDEM012", "organisation"),  # the demo applicant
        ("91450221-MA5KDEM012", "91450221MA5KDEM012", "organisation"),
    ],
)
def test_valid_numbers_are_normalised(value, normal, kind):
    assert check_identity_number(value) == normal
    assert identity_kind(normal) == kind


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("110105194912310021", "校验位或出生日期"),  # wrong check digit
        ("110105194913310025", "校验位或出生日期"),  # month 13
        ("11010519491231002", "18 位"),  # one short
        ("9144030071526726XH", "统一社会信用代码校验位"),  # wrong check character
        ("9144030071526726OG", "统一社会信用代码"),  # O is not in the alphabet
        ("", "18 位"),
    ],
)
def test_invalid_numbers_say_why(value, why):
    with pytest.raises(ValueError, match=why):
        check_identity_number(value)


@pytest.mark.parametrize(
    ("value", "normal"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("0772-2123456", "0772-2123456"),
        ("07722123456", "0772-2123456"),
        ("(010) 62345678", "010-62345678"),
        ("020-87654321", "020-87654321"),
    ],
)
def test_phone_numbers_are_normalised(value, normal):
    assert check_phone(value) == normal


@pytest.mark.parametrize(
    "value", ["12345678901", "1381234567", "138123456789", "abc", "", "1234567"]
)
def test_bad_phone_numbers_are_refused(value):
    with pytest.raises(ValueError, match="手机号码"):
        check_phone(value)

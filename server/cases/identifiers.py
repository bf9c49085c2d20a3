"""Chinese identifiers an approval bureau receives: resident ID numbers, unified social credit
codes, phone numbers and e-mail addresses. Each check returns the normalised form or raises
ValueError saying, in zh-CN then English, what is wrong with it.
"""

from __future__ import annotations

import re
from datetime import date

# GB 11643-1999: 17 digits weighted 2^(17-i) mod 11, then a check character.
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"

# GB 32100-2015: 18 characters from this alphabet (no I, O, S, V, Z); the last is a check.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]

_MOBILE = re.compile(r"1[3-9]\d{9}")
# Area codes: 010 and 02x have three digits (Beijing, the large cities), all others four.
_LANDLINE = re.compile(r"(010|02\d|0[3-9]\d{2})([2-9]\d{6,7})")
# What mail servers accept in practice: no quoted local parts, a domain with a dot.
_EMAIL = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def _compact(value: str) -> str:
    return re.sub(r"[\s\-－()（）]", "", value).upper()


def resident_id_check(first17: str) -> str:
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def uscc_check(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def _is_resident_id(value: str) -> bool:
    if not re.fullmatch(r"\d{17}[\dX]", value):
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date.today():
        return False
    return resident_id_check(value[:17]) == value[17]


def _is_uscc(value: str) -> bool:
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        return False
    return uscc_check(value[:17]) == value[17]


def identity_kind(value: str) -> str:
    """'person' for a resident ID number, 'organisation' for a unified social credit code."""
    return "person" if _is_resident_id(value) else "organisation"


def check_identity_number(value: str) -> str:
    """An 18-character resident ID number or unified social credit code, checksum verified."""
    compact = _compact(value)
    if len(compact) != 18:
        raise ValueError(
            f"应为 18 位身份证号码或统一社会信用代码，实为 {len(compact)} 位 / expected an "
            f"18-character ID number or unified social credit code, got {len(compact)}"
        )
    if _is_resident_id(compact) or _is_uscc(compact):
        return compact
    if re.fullmatch(r"\d{17}[\dX]", compact):
        raise ValueError(
            "身份证号码校验位或出生日期不正确 / the ID number's check digit or birth date is wrong"
        )
    raise ValueError(
        "统一社会信用代码校验位不正确或含无效字符 / the unified social credit code has a wrong "
        "check character or an invalid character"
    )


def check_phone(value: str) -> str:
    """A mainland mobile number (11 digits) or a landline with its area code (0772-2123456)."""
    compact = _compact(value)
    if compact.startswith("+86"):
        compact = compact[3:]
    elif compact.startswith("0086"):
        compact = compact[4:]
    if _MOBILE.fullmatch(compact):
        return compact
    landline = _LANDLINE.fullmatch(compact)
    if landline:
        return f"{landline.group(1)}-{landline.group(2)}"
    raise ValueError(
        "应为 11 位手机号码或带区号的固定电话 / expected an 11-digit mobile number or a "
        "landline with its area code"
    )


def is_mobile(phone: str) -> bool:
    """Whether a number (as check_phone returns it) can receive an SMS."""
    return _MOBILE.fullmatch(phone) is not None


def check_email(value: str) -> str:
    """An e-mail address, its domain in lower case."""
    address = value.strip()
    if len(address) <= 254 and _EMAIL.fullmatch(address):
        local, domain = address.rsplit("@", 1)
        if len(local) <= 64:
            return f"{local}@{domain.lower()}"
    raise ValueError("电子邮箱地址格式不正确 / not a valid e-mail address, e.g. name@example.cn")

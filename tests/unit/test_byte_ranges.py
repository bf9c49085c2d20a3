"""Which bytes an evidence download sends for a Range header (RFC 9110 §14), as a table."""

from __future__ import annotations

import pytest

from web.views.downloads import Chosen, choose_range

SIZE = 1000
ETAG = '"5f3a-3e8"'
MODIFIED = 1_764_201_600  # Thu, 27 Nov 2025 00:00:00 GMT
DATE = "Thu, 27 Nov 2025 00:00:00 GMT"


@pytest.mark.parametrize(
    ("header", "want"),
    [
        (None, Chosen(200)),
        ("bytes=0-99", Chosen(206, 0, 99)),
        ("bytes=0-", Chosen(206, 0, 999)),
        ("BYTES = 10-19", Chosen(206, 10, 19)),  # the unit is case-insensitive
        ("bytes=990-", Chosen(206, 990, 999)),
        ("bytes=-10", Chosen(206, 990, 999)),
        ("bytes=-5000", Chosen(206, 0, 999)),
        ("bytes=500-99999", Chosen(206, 500, 999)),
        ("bytes=999-999", Chosen(206, 999, 999)),
        ("bytes=0-99,100-199", Chosen(206, 0, 199)),  # adjacent
        ("bytes=0-99, 150-199", Chosen(206, 0, 199)),  # a gap smaller than a part's headers
        ("bytes=100-199,0-149", Chosen(206, 0, 199)),  # overlapping, out of order
        ("bytes=0-0,-1", Chosen(200)),  # apart: the whole file instead of multipart
        ("bytes=0-9,,20-29", Chosen(206, 0, 29)),  # empty list elements
        ("bytes=0-9,2000-", Chosen(206, 0, 9)),  # the unsatisfiable part is dropped
        ("items=0-9", Chosen(200)),  # a unit it does not know: ignored
        ("0-9", Chosen(200)),
        ("bytes=1000-", Chosen(416)),
        ("bytes=1000-2000", Chosen(416)),
        ("bytes=-0", Chosen(416)),
        ("bytes=2000-,3000-", Chosen(416)),
        ("bytes=9-3", Chosen(416)),  # invalid
        ("bytes=abc", Chosen(416)),
        ("bytes=-", Chosen(416)),
        ("bytes=", Chosen(416)),
        ("bytes=1-2-3", Chosen(416)),
        ("bytes=" + "9" * 5000 + "-", Chosen(416)),  # no 4300-digit int() error
        ("bytes=0-" + "9" * 5000, Chosen(206, 0, 999)),
    ],
)
def test_ranges(header, want):
    assert choose_range(header, None, SIZE, ETAG, MODIFIED) == want


@pytest.mark.parametrize(
    ("validator", "want"),
    [
        (ETAG, Chosen(206, 0, 9)),
        (f"  {ETAG} ", Chosen(206, 0, 9)),
        ('"5f3a-3e9"', Chosen(200)),  # another version of the file
        (f"W/{ETAG}", Chosen(200)),  # weak tags never validate a range
        (DATE, Chosen(206, 0, 9)),
        ("Thu, 27 Nov 2025 00:00:01 GMT", Chosen(200)),  # later: not this version's date
        ("Wed, 26 Nov 2025 23:59:59 GMT", Chosen(200)),
        ("yesterday", Chosen(200)),
        ("", Chosen(200)),
    ],
)
def test_if_range(validator, want):
    assert choose_range("bytes=0-9", validator, SIZE, ETAG, MODIFIED) == want


def test_if_range_without_range_is_the_whole_file():
    assert choose_range(None, ETAG, SIZE, ETAG, MODIFIED) == Chosen(200)


def test_an_empty_file_has_no_satisfiable_range():
    assert choose_range("bytes=0-", None, 0, ETAG, MODIFIED) == Chosen(416)
    assert choose_range("bytes=-5", None, 0, ETAG, MODIFIED) == Chosen(416)
    assert choose_range(None, None, 0, ETAG, MODIFIED) == Chosen(200)

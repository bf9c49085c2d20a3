"""The archive's strings: their own prefix, and every key a template builds from a value."""

from __future__ import annotations

from server.archive.uploads import OVER
from server.cases.statistics import COLUMNS
from server.cases.timeline import MARKERS
from web.archive_strings import ARCHIVE_STRINGS
from web.i18n import STRINGS


def test_every_key_has_the_prefix_and_is_merged():
    assert all(key.startswith("archive_") for key in ARCHIVE_STRINGS)
    assert all(STRINGS[key] == pair for key, pair in ARCHIVE_STRINGS.items())


def test_every_family_a_template_builds_is_complete():
    families = {
        "archive_kind_{}": ["composite", "raw", "upload", "playable", "poster", "strip"],
        "archive_track_{}": ["audio", "video"],
        "archive_state_{}": ["finished", "interrupted", "failed", "recording"],
        "archive_upload_{}": ["uploading", "checking", *OVER],
        "archive_marker_{}": sorted({kind for kind, _ in MARKERS.values()}),
        "archive_stats_{}": [key for key, _ in COLUMNS],
        "archive_problem_{}": ["missing", "differs"],
        "archive_notice_{}": [
            "annotated",
            "files_deleted",
            "files_check_started",
            "files_check_running",
        ],
    }
    missing = [
        pattern.format(value)
        for pattern, values in families.items()
        for value in values
        if pattern.format(value) not in ARCHIVE_STRINGS
    ]
    assert not missing


def test_formats_take_their_numbers_in_both_languages():
    for key, (zh, en) in ARCHIVE_STRINGS.items():
        assert zh.count("%d") == en.count("%d"), key

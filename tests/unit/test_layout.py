"""The composite's layout: pure arithmetic, checked as tables."""

from __future__ import annotations

import itertools

import pytest

from recorder.layout import HEADER_HEIGHT, HEIGHT, WIDTH, Rect, Seat, arrange, fit, tiles_area

ROLES = ["host", "clerk", "expert", "observer", "clerk", "expert", "clerk", "expert", "observer"]


def seats(count: int, applicant_at: int | None = None) -> list[Seat]:
    people = [Seat(i + 1, ROLES[i]) for i in range(count)]
    if applicant_at is not None:
        people[applicant_at] = Seat(applicant_at + 1, "applicant")
    return people


# tiles → (columns, rows) of equal cells when nobody is the applicant
UNIFORM = {
    1: (1, 1),
    2: (2, 1),
    3: (2, 2),
    4: (2, 2),
    5: (3, 2),
    6: (3, 2),
    7: (3, 3),
    8: (3, 3),
    9: (3, 3),
}


@pytest.mark.parametrize(("count", "expected"), UNIFORM.items())
def test_equal_cells_without_an_applicant(count, expected):
    placements = arrange(seats(count))
    assert len(placements) == count
    columns, rows = expected
    assert len({p.cell.x for p in placements}) == min(columns, count)
    assert len({p.cell.y for p in placements}) == rows
    widths = [p.cell.w for p in placements]
    heights = [p.cell.h for p in placements]
    assert max(widths) - min(widths) <= 2 and max(heights) - min(heights) <= 2
    assert abs(widths[0] - WIDTH / columns) <= 6
    assert [p.seat.id for p in placements] == list(range(1, count + 1))  # arrival order


@pytest.mark.parametrize("count", range(2, 10))
@pytest.mark.parametrize("where", [0, -1])
def test_the_applicant_gets_the_large_tile(count, where):
    applicant_at = 0 if where == 0 else count - 1
    placements = arrange(seats(count, applicant_at))
    big = max(placements, key=lambda p: p.cell.w * p.cell.h)
    assert big.seat.role == "applicant" and big.big
    others = [p for p in placements if p is not big]
    assert all(p.cell.w * p.cell.h * 3 < big.cell.w * big.cell.h for p in others)
    assert [p.seat.id for p in others] == [s.id for s in seats(count) if s.id != applicant_at + 1]


@pytest.mark.parametrize("count", range(1, 10))
@pytest.mark.parametrize("applicant", [False, True])
def test_cells_stay_inside_below_the_header_on_even_pixels_and_never_overlap(count, applicant):
    placements = arrange(seats(count, 0 if applicant else None))
    area = tiles_area()
    assert area == Rect(0, HEADER_HEIGHT, WIDTH, HEIGHT - HEADER_HEIGHT)
    for p in placements:
        assert area.contains(p.cell)
        assert all(v % 2 == 0 for v in (p.cell.x, p.cell.y, p.cell.w, p.cell.h))
        assert p.cell.w >= 200 and p.cell.h >= 150
    for a, b in itertools.combinations(placements, 2):
        assert not a.cell.overlaps(b.cell)


def test_more_than_nine_shows_the_applicant_and_eight_others():
    people = [Seat(i, "clerk") for i in range(1, 13)] + [Seat(99, "applicant")]
    placements = arrange(people)
    assert len(placements) == 9
    assert placements[0].seat.id == 99 and [p.seat.id for p in placements[1:]] == list(range(1, 9))


def test_nobody_no_cells():
    assert arrange([]) == []


@pytest.mark.parametrize(
    ("source", "cell", "expected"),
    [
        # landscape into landscape: full width, centred vertically
        ((640, 480), Rect(0, 40, 852, 676), Rect(0, 58, 852, 640)),
        # a portrait phone stays portrait: full height, centred horizontally
        ((720, 1280), Rect(0, 40, 852, 676), Rect(236, 40, 380, 676)),
        # exact fit
        ((1280, 720), Rect(0, 0, 1280, 720), Rect(0, 0, 1280, 720)),
        # tiny source is scaled up
        ((160, 120), Rect(10, 10, 320, 240), Rect(10, 10, 320, 240)),
        # square into a wide cell
        ((500, 500), Rect(100, 100, 400, 200), Rect(200, 100, 200, 200)),
    ],
)
def test_fit_keeps_the_aspect(source, cell, expected):
    rect = fit(*source, cell)
    assert rect == expected
    assert cell.contains(rect)
    assert abs(rect.w / rect.h - source[0] / source[1]) < 0.02


def test_fit_of_nothing_is_the_cell():
    assert fit(0, 0, Rect(2, 2, 100, 100)) == Rect(2, 2, 100, 100)

"""Where everyone goes in the composite: pure arithmetic, no media.

The canvas is 1280×720 with a header band on top. The grid reflows with the number of people
(1, 2, 3–4, 5–6, 7–9 tiles). When the applicant is in the room with others, their tile is the
large one (it films the site, the evidence that matters most) and the others line the edge;
without an applicant the cells are equal. Every rectangle is on even pixels, so the YUV 4:2:0
chroma planes line up with the luma plane.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH, HEIGHT = 1280, 720
HEADER_HEIGHT = 40
GAP = 4  # between cells, so neighbouring videos never touch
MAX_TILES = 9

# tiles → (columns, rows) of equal cells
UNIFORM = [(1, (1, 1)), (2, (2, 1)), (4, (2, 2)), (6, (3, 2)), (9, (3, 3))]
# tiles → (columns, rows, big columns, big rows): the big cell sits top-left, the others fill
# the remaining cells in reading order.
FEATURED = [(4, (3, 3, 2, 3)), (6, (3, 3, 2, 2)), (9, (4, 3, 2, 2))]


@dataclass(frozen=True, slots=True)
class Rect:
    x: int
    y: int
    w: int
    h: int

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def contains(self, other: Rect) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def overlaps(self, other: Rect) -> bool:
        return (
            self.x < other.right
            and other.x < self.right
            and self.y < other.bottom
            and other.y < self.bottom
        )


@dataclass(frozen=True, slots=True)
class Seat:
    """One person as the layout sees them."""

    id: int
    role: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Placement:
    seat: Seat
    cell: Rect
    big: bool


def even(value: float) -> int:
    return int(value) & ~1


def tiles_area(width: int = WIDTH, height: int = HEIGHT, header: int = HEADER_HEIGHT) -> Rect:
    return Rect(0, header, width, height - header)


def _cells(area: Rect, columns: int, rows: int) -> list[list[Rect]]:
    """A columns × rows grid over `area`, each cell inset by half the gap."""
    xs = [area.x + even(area.w * i / columns) for i in range(columns + 1)]
    ys = [area.y + even(area.h * j / rows) for j in range(rows + 1)]
    half = GAP // 2
    return [
        [
            Rect(xs[i] + half, ys[j] + half, xs[i + 1] - xs[i] - GAP, ys[j + 1] - ys[j] - GAP)
            for i in range(columns)
        ]
        for j in range(rows)
    ]


def _span(cells: list[list[Rect]], columns: int, rows: int) -> Rect:
    first, last = cells[0][0], cells[rows - 1][columns - 1]
    return Rect(first.x, first.y, last.right - first.x, last.bottom - first.y)


def _pick(table: Sequence[tuple[int, tuple[int, ...]]], count: int) -> tuple[int, ...]:
    for limit, shape in table:
        if count <= limit:
            return shape
    return table[-1][1]


def arrange(seats: list[Seat], area: Rect | None = None) -> list[Placement]:
    """Cells for up to nine seats, in the given (arrival) order; the applicant goes big.

    With more than nine people the applicant and the first eight others are shown.
    """
    area = area or tiles_area()
    featured = next((s for s in seats if s.role == "applicant"), None)
    if featured is not None and len(seats) > 1:
        others = [s for s in seats if s is not featured][: MAX_TILES - 1]
        columns, rows, big_columns, big_rows = _pick(FEATURED, len(others) + 1)
        cells = _cells(area, columns, rows)
        placements = [Placement(featured, _span(cells, big_columns, big_rows), True)]
        free = [
            cells[j][i]
            for j in range(rows)
            for i in range(columns)
            if not (i < big_columns and j < big_rows)
        ]
        placements += [Placement(s, cell, False) for s, cell in zip(others, free, strict=False)]
        return placements
    shown = seats[:MAX_TILES]
    if not shown:
        return []
    columns, rows = _pick(UNIFORM, len(shown))
    cells = _cells(area, columns, rows)
    flat = [cells[j][i] for j in range(rows) for i in range(columns)]
    return [Placement(s, cell, len(shown) == 1) for s, cell in zip(shown, flat, strict=False)]


def fit(width: int, height: int, cell: Rect) -> Rect:
    """The largest rectangle of the source's aspect inside `cell`, centred, on even pixels."""
    if width <= 0 or height <= 0:
        return cell
    scale = min(cell.w / width, cell.h / height)
    w = max(2, min(cell.w, even(width * scale + 1)))
    h = max(2, min(cell.h, even(height * scale + 1)))
    return Rect(cell.x + even((cell.w - w) / 2), cell.y + even((cell.h - h) / 2), w, h)

"""The composite picture drawn on YUV planes: tiles where the layout says, in their colours,
with labels, placeholders and the header."""

from __future__ import annotations

import av
import numpy as np
import pytest

from recorder import overlay
from recorder.compositor import BLACK_Y, Compositor, TileView, plane
from recorder.layout import HEADER_HEIGHT, Seat, arrange, fit

FONT = str(overlay.find_cjk_font())
AT = 1795737599.0
RED, GREEN, BLUE = (220, 30, 30), (30, 200, 40), (40, 60, 230)


def solid(rgb: tuple[int, int, int], width: int, height: int) -> av.VideoFrame:
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = rgb
    return av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")


def rgb_of(frame: av.VideoFrame) -> np.ndarray:
    return frame.to_ndarray(format="rgb24").astype(int)


def mean(image: np.ndarray, rect) -> np.ndarray:  # type: ignore[no-untyped-def]
    inner = image[rect.y + rect.h // 3 : rect.bottom - rect.h // 3, rect.x + 8 : rect.right - 8]
    return inner.reshape(-1, 3).mean(axis=0)


CASES = [
    # (people as (role, colour, source size) — None colour: no video), the applicant is big
    [("applicant", BLUE, (1280, 720))],
    [("host", RED, (640, 480)), ("applicant", BLUE, (720, 1280))],
    [("host", RED, (640, 480)), ("clerk", GREEN, (320, 240)), ("applicant", BLUE, (640, 480))],
    [("host", RED, (640, 480)), ("clerk", GREEN, (640, 360)), ("expert", BLUE, (480, 640))],
    [("host", RED, (640, 480)), ("clerk", None, None), ("applicant", BLUE, (1280, 720))]
    + [("expert", GREEN, (640, 480))] * 4,
]


@pytest.mark.parametrize("people", CASES)
def test_tiles_show_their_video_in_their_cells(people):
    seats = [Seat(i + 1, role, f"人{i}") for i, (role, _, _) in enumerate(people)]
    placements = arrange(seats)
    tiles = []
    for placement in placements:
        _, colour, size = people[placement.seat.id - 1]
        tiles.append(TileView(placement, solid(colour, *size) if colour else None))
    compositor = Compositor(FONT, "KY2026-000012", "食品经营许可")
    frame = compositor.render(7, AT, tiles)
    assert (frame.width, frame.height, frame.format.name) == (1280, 720, "yuv420p")
    assert frame.pts == 7 and float(frame.time_base) == 1 / 15
    image = rgb_of(frame)
    for placement in placements:
        _, colour, size = people[placement.seat.id - 1]
        if colour is None:
            # A placeholder: grey, with light text (the name) in the middle.
            region = plane(frame, 0)[placement.cell.y : placement.cell.bottom, placement.cell.x :]
            assert (region == 48).mean() > 0.5 and (region > 200).any()
            continue
        rect = fit(*size, placement.cell)
        assert np.abs(mean(image, rect) - colour).max() < 12, (placement, mean(image, rect))
        # Aspect kept: outside the fitted picture the cell is dark.
        if rect.x - placement.cell.x >= 8:
            beside = image[rect.y + rect.h // 2, placement.cell.x + 2 : rect.x - 2]
            assert beside.max() < 40
    # The header band is the header, rendered for this second.
    assert (plane(frame, 0)[:HEADER_HEIGHT] == compositor.header.patch(AT)).all()


def test_each_tile_carries_its_label():
    seat = Seat(3, "applicant", "陈申请")
    placement = arrange([seat])[0]
    frame = Compositor(FONT, "KY", "x").render(0, AT, [TileView(placement, solid(BLUE, 640, 480))])
    label = overlay.label_patch(FONT, "陈申请", "applicant", placement.cell.w)
    h, w = label.shape
    y = plane(frame, 0)
    cell = placement.cell
    assert (y[cell.bottom - h : cell.bottom, cell.x : cell.x + w] == label).all()
    u = plane(frame, 1)
    assert (
        u[(cell.bottom - h) // 2 : cell.bottom // 2, cell.x // 2 : (cell.x + w) // 2] == 128
    ).all()


def test_dropped_participant_shows_disconnected_not_their_last_picture():
    seat = Seat(1, "applicant", "陈申请")
    placement = arrange([seat])[0]
    compositor = Compositor(FONT, "KY", "x")
    frame = compositor.render(0, AT, [TileView(placement, solid(BLUE, 640, 480), "dropped")])
    cell = placement.cell
    expected = overlay.placeholder_patch(FONT, ("陈申请", "已断开"), cell.w, cell.h)
    region = plane(frame, 0)[cell.y : cell.bottom, cell.x : cell.right]
    label_h = overlay.label_patch(FONT, "陈申请", "applicant", cell.w).shape[0]
    assert (region[:-label_h] == expected[:-label_h]).all()
    muted = compositor.render(1, AT, [TileView(placement, solid(BLUE, 640, 480), video_on=False)])
    no_video = overlay.placeholder_patch(FONT, ("陈申请", "无视频"), cell.w, cell.h)
    region = plane(muted, 0)[cell.y : cell.bottom, cell.x : cell.right]
    assert (region[:-label_h] == no_video[:-label_h]).all()


def test_empty_room_is_header_on_black():
    frame = Compositor(FONT, "KY", "x").render(0, AT, [])
    assert (plane(frame, 0)[HEADER_HEIGHT:] == BLACK_Y).all()
    assert (plane(frame, 1) == 128).all() and (plane(frame, 2) == 128).all()


def test_a_picture_shown_twice_is_scaled_once():
    seat = Seat(1, "host", "张主持")
    placement = arrange([seat])[0]
    compositor = Compositor(FONT, "KY", "x")
    picture = solid(RED, 640, 480)
    compositor.render(0, AT, [TileView(placement, picture)])
    scaler = compositor.scaler(1)
    first = scaler._scaled
    compositor.render(1, AT, [TileView(placement, picture)])
    assert scaler._scaled is first
    compositor.render(2, AT, [TileView(placement, solid(RED, 640, 480))])
    assert scaler._scaled is not first

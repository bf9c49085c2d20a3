"""The composite picture, drawn straight onto the YUV 4:2:0 planes of the output frame.

Nothing here converts to RGB: each decoded tile is scaled plane by plane (FFmpeg's swscale,
area filter) and copied into place; text patches are copied onto the luma plane over neutral
chroma. That is what lets Python keep up with the FFmpeg command line (MEDIA-NOTES).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from . import overlay
from .layout import HEADER_HEIGHT, HEIGHT, WIDTH, Placement, Rect, fit

BLACK_Y, NEUTRAL = 16, 128
CELL_Y = 24  # an empty cell: a little lighter than the gaps between cells


def plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    """A writable (height, width) view of one plane, without its line padding."""
    p = frame.planes[index]
    return np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]


@dataclass
class TileView:
    """What one cell shows at one instant."""

    placement: Placement
    frame: av.VideoFrame | None  # the latest decoded picture, or None for a placeholder
    status: str = "admitted"  # admitted | dropped
    video_on: bool = True


class Scaler:
    """Scales one source's frames, remembering the last result (sources change at their own
    rate; the composite may show the same picture twice)."""

    def __init__(self) -> None:
        self._reformatter = VideoReformatter()
        # The source is held, not just its id: a freed frame's id may be reused.
        self._source: av.VideoFrame | None = None
        self._size = (0, 0)
        self._scaled: av.VideoFrame | None = None

    def scale(self, frame: av.VideoFrame, width: int, height: int) -> av.VideoFrame:
        if frame is not self._source or (width, height) != self._size or self._scaled is None:
            if frame.width == width and frame.height == height and frame.format.name == "yuv420p":
                self._scaled = frame
            else:
                self._scaled = self._reformatter.reformat(
                    frame, width, height, "yuv420p", interpolation="AREA"
                )
            self._source, self._size = frame, (width, height)
        return self._scaled


class Compositor:
    """Draws 1280×720 frames: header, tiles with labels, placeholders."""

    def __init__(self, font_path: str, case_no: str, item_name: str, fps: int = 15) -> None:
        self.font_path = font_path
        self.header = overlay.Header(font_path, case_no, item_name, WIDTH, HEADER_HEIGHT)
        self.time_base = Fraction(1, fps)
        self._scalers: dict[int, Scaler] = {}

    def scaler(self, seat_id: int) -> Scaler:
        scaler = self._scalers.get(seat_id)
        if scaler is None:
            scaler = self._scalers[seat_id] = Scaler()
        return scaler

    def render(self, index: int, at: float, tiles: list[TileView]) -> av.VideoFrame:
        """Output frame number `index`, showing the room at server time `at`."""
        frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
        y, u, v = plane(frame, 0), plane(frame, 1), plane(frame, 2)
        y.fill(BLACK_Y)
        u.fill(NEUTRAL)
        v.fill(NEUTRAL)
        y[:HEADER_HEIGHT] = self.header.patch(at)
        for tile in tiles:
            self._draw_tile(y, u, v, tile)
        frame.pts = index
        frame.time_base = self.time_base
        return frame

    def _draw_tile(self, y: np.ndarray, u: np.ndarray, v: np.ndarray, tile: TileView) -> None:
        cell = tile.placement.cell
        seat = tile.placement.seat
        fill(y, u, v, cell, CELL_Y)
        if tile.frame is not None and tile.status != "dropped" and tile.video_on:
            rect = fit(tile.frame.width, tile.frame.height, cell)
            scaled = self.scaler(seat.id).scale(tile.frame, rect.w, rect.h)
            blit(y, u, v, rect, scaled)
        else:
            if tile.status == "dropped":
                lines = (seat.name, "已断开")
            else:
                lines = (seat.name, "无视频")
            patch = overlay.placeholder_patch(self.font_path, lines, cell.w, cell.h)
            put_luma(y, u, v, cell.x, cell.y, patch)
        label = overlay.label_patch(self.font_path, seat.name, seat.role, cell.w)
        put_luma(y, u, v, cell.x, cell.bottom - label.shape[0], label)


def fill(y: np.ndarray, u: np.ndarray, v: np.ndarray, rect: Rect, luma: int) -> None:
    y[rect.y : rect.bottom, rect.x : rect.right] = luma
    cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.h // 2, rect.w // 2
    u[cy : cy + ch, cx : cx + cw] = NEUTRAL
    v[cy : cy + ch, cx : cx + cw] = NEUTRAL


def blit(y: np.ndarray, u: np.ndarray, v: np.ndarray, rect: Rect, frame: av.VideoFrame) -> None:
    """Copy a yuv420p frame of exactly rect's size into the planes."""
    y[rect.y : rect.bottom, rect.x : rect.right] = plane(frame, 0)[: rect.h, : rect.w]
    cy, cx, ch, cw = rect.y // 2, rect.x // 2, rect.h // 2, rect.w // 2
    u[cy : cy + ch, cx : cx + cw] = plane(frame, 1)[:ch, :cw]
    v[cy : cy + ch, cx : cx + cw] = plane(frame, 2)[:ch, :cw]


def put_luma(y: np.ndarray, u: np.ndarray, v: np.ndarray, x: int, top: int, patch: np.ndarray):  # type: ignore[no-untyped-def]
    """A grey-level patch at (x, top) over neutral chroma; clipped to the frame."""
    h = min(patch.shape[0], y.shape[0] - top)
    w = min(patch.shape[1], y.shape[1] - x)
    if h <= 0 or w <= 0:
        return
    x, top = x & ~1, top & ~1
    y[top : top + h, x : x + w] = patch[:h, :w]
    u[top // 2 : (top + h) // 2, x // 2 : (x + w) // 2] = NEUTRAL
    v[top // 2 : (top + h) // 2, x // 2 : (x + w) // 2] = NEUTRAL

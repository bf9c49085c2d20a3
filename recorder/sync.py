"""Server time for every received frame: one clock for all sources, so audio and video line up.

aiortc hands frames over with timestamps that start at 0 for each track, in the codec clock. A
`SourceClock` maps them onto the server's wall clock: it anchors the media timeline at the
least-delayed frame seen recently (network jitter only ever makes frames late) and follows the
sender's clock drift, moving the anchor only when it is off by more than a tolerance, so audio
stays sample-continuous.
"""

from __future__ import annotations

from collections import deque

# aiortc releases an audio frame only when four more are buffered behind it (JitterBuffer
# prefetch 4 × 20 ms), and a packet is complete 20 ms after its first sample was captured.
# Video frames are released when the next one starts to arrive: one frame interval, which the
# worker estimates per source. Checked by tests/integration/test_recording_sync.py.
AUDIO_DELAY_S = 0.1
VIDEO_DELAY_S = 0.0


class SourceClock:
    """Maps one source's media timestamps (from one connection) to server time."""

    def __init__(
        self, clock_rate: int, delay: float = 0.0, tolerance: float = 0.02, window: float = 5.0
    ) -> None:
        self.clock_rate = clock_rate
        self.delay = delay
        self.tolerance = tolerance
        self.window = window
        self.offset: float | None = None
        self.moves = 0
        self._recent: deque[tuple[float, float]] = deque()  # (arrival, sample), samples rising

    def wall(self, timestamp: int, arrival: float) -> float:
        """The server time at which the frame with this timestamp was captured."""
        media = timestamp / self.clock_rate
        sample = arrival - self.delay - media
        recent = self._recent
        while recent and recent[-1][1] >= sample:
            recent.pop()
        recent.append((arrival, sample))
        while recent[0][0] < arrival - self.window:
            recent.popleft()
        lowest = recent[0][1]
        if self.offset is None:
            self.offset = lowest
        elif abs(lowest - self.offset) > self.tolerance:
            self.offset = lowest
            self.moves += 1
        return media + self.offset

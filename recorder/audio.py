"""The recording's sound: every participant's voice on one timeline, summed, never clipped.

Voices are summed (one speaker keeps their full level) and a block limiter brings the sum back
under full scale only when people talk over each other: the gain drops at once when a block
would clip and recovers over about half a second.
"""

from __future__ import annotations

import numpy as np

RATE = 48000
BLOCK = 1024  # one AAC frame
# -3 dBFS: AAC reconstruction can overshoot its input by a fifth around discontinuities.
CEILING = 0.7
FADE = 240  # 5 ms ramp where a voice starts or jumps, instead of a click
RELEASE_PER_BLOCK = 0.05
CONTIGUOUS_S = 0.03  # a source's next packet within this of where it should be: no gap
MAX_LAG_S = 2.0  # a source later than this loses what is past rather than lag further
LATE_MARGIN_S = 0.1  # how much further back a late source steps than it has to
GIVE_BACK_HEADROOM_S = 0.2  # "early again": this far ahead of what is being written
QUIET = 0.01  # -40 dBFS: a packet this quiet is a pause that can be skipped


_RAMP = np.linspace(0.0, 1.0, FADE, dtype=np.float32)


class Mixer:
    """Samples from `position` onwards, added in by sources, taken out in blocks."""

    def __init__(self, rate: int = RATE, horizon_s: float = 10.0) -> None:
        self.rate = rate
        self.position = 0  # the first sample not yet taken
        self.gain = 1.0
        self.dropped = 0  # samples that came after their time had been written
        self._pending = np.zeros(0, np.float32)
        self._horizon = int(horizon_s * rate)
        self._next: dict[object, int] = {}
        self._lag: dict[object, int] = {}
        self.delayed = 0  # samples by which late sources were pushed back

    def add(self, source: object, start: int, samples: np.ndarray) -> None:
        """Mix mono float samples in at sample `start` of the timeline.

        A source whose packets come after their place has been written (a network or CPU
        stall) is delayed rather than cut: its lag grows by the lateness. Once its packets are
        early again, the lag is given back by skipping quiet packets (pauses between words),
        so the voice returns in step with the picture without losing speech.
        """
        lag = self._lag.get(source, 0)
        start += lag
        expected = self._next.get(source)
        seamless = expected is not None and abs(start - expected) <= CONTIGUOUS_S * self.rate
        if seamless and expected is not None:
            start = expected  # the same stream, a little jitter: keep it seamless
        if start < self.position:
            # Late: step back by the lateness and a margin at once, so that a delay that keeps
            # growing makes one short gap instead of a stutter on every packet.
            late = self.position - start
            margin = int(LATE_MARGIN_S * self.rate)
            if lag + late + margin <= MAX_LAG_S * self.rate:
                lag += late + margin
                start = self.position + margin
                self.delayed += late + margin
            else:
                self.dropped += min(late, len(samples))
                samples = samples[late:]
                start, lag = self.position, 0
            seamless = False
        elif (
            lag
            and start - self.position > GIVE_BACK_HEADROOM_S * self.rate
            and float(np.sqrt(np.mean(np.square(samples)))) < QUIET
        ):
            # Early again and quiet: skip a pause, not a word, to get back in step.
            give = min(lag, len(samples))
            samples = samples[give:]
            lag -= give
        if not seamless and len(samples) >= FADE:
            samples = samples.copy()
            samples[:FADE] *= _RAMP
        self._lag[source] = lag
        self._next[source] = start + len(samples)
        if not len(samples) or start - self.position > self._horizon:
            return
        offset = start - self.position
        end = offset + len(samples)
        if end > len(self._pending):
            grown = np.zeros(max(end, 2 * len(self._pending)), np.float32)
            grown[: len(self._pending)] = self._pending
            self._pending = grown
        self._pending[offset:end] += samples

    def forget(self, source: object) -> None:
        self._next.pop(source, None)
        self._lag.pop(source, None)

    def take(self, count: int = BLOCK) -> np.ndarray:
        """The next `count` samples, limited; silence where nobody spoke."""
        block = np.zeros(count, np.float32)
        have = min(count, len(self._pending))
        if have:
            block[:have] = self._pending[:have]
            self._pending = (
                self._pending[count:] if len(self._pending) > count else self._pending[:0]
            )
        self.position += count
        return self._limit(block)

    def _limit(self, block: np.ndarray) -> np.ndarray:
        peak = float(np.max(np.abs(block))) if len(block) else 0.0
        target = min(1.0, CEILING / peak) if peak > 0 else 1.0
        if target < self.gain:
            self.gain = target
        else:
            self.gain = min(target, self.gain + RELEASE_PER_BLOCK)
        if self.gain < 1.0:
            block *= self.gain
        return block


def to_mono(planes: np.ndarray) -> np.ndarray:
    """Decoded audio (channels × samples, float planar) as one float32 channel."""
    if planes.ndim == 1:
        return planes.astype(np.float32, copy=False)
    if planes.shape[0] == 1:
        return planes[0].astype(np.float32, copy=False)
    return planes.mean(axis=0, dtype=np.float32)

"""The mix and the clocks: voices on one timeline, never clipped, late voices delayed rather
than cut; media timestamps mapped onto server time through jitter and drift."""

from __future__ import annotations

import numpy as np
import pytest

from recorder.audio import BLOCK, CEILING, FADE, Mixer, to_mono
from recorder.sync import SourceClock

RATE = 48000


def tone(frequency: float, seconds: float, amplitude: float = 0.3, start: int = 0) -> np.ndarray:
    t = (np.arange(int(seconds * RATE)) + start) / RATE
    return (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def drain(mixer: Mixer, seconds: float) -> np.ndarray:
    return np.concatenate([mixer.take() for _ in range(int(seconds * RATE) // BLOCK)])


def level(samples: np.ndarray, frequency: float) -> float:
    t = np.arange(len(samples)) / RATE
    return float(2 * abs(np.sum(samples * np.exp(-2j * np.pi * frequency * t))) / len(samples))


def test_one_voice_keeps_its_level():
    mixer = Mixer()
    mixer.add("a", 0, tone(440, 1.0))
    out = drain(mixer, 1.0)
    assert abs(level(out[FADE:], 440) - 0.3) < 0.01
    assert mixer.gain == 1.0


@pytest.mark.parametrize("voices", [2, 4, 8])
def test_many_voices_are_summed_and_never_clip(voices):
    mixer = Mixer()
    for index in range(voices):
        mixer.add(index, 0, tone(300 + 110 * index, 1.0, amplitude=0.4))
    out = drain(mixer, 1.0)
    assert np.abs(out).max() <= CEILING + 1e-6
    for index in range(voices):
        assert level(out[RATE // 4 :], 300 + 110 * index) > 0.05


def test_the_limiter_lets_go_when_the_crowd_stops():
    mixer = Mixer()
    for index in range(4):
        mixer.add(index, 0, tone(300 + 110 * index, 0.5, amplitude=0.5))
    mixer.add("solo", RATE // 2, tone(1000, 1.5, amplitude=0.3, start=RATE // 2))
    out = drain(mixer, 2.0)
    assert np.abs(out).max() <= CEILING + 1e-6
    assert abs(level(out[-RATE // 2 :], 1000) - 0.3) < 0.01  # back to full level


def test_packets_a_little_off_their_place_join_seamlessly():
    mixer = Mixer()
    signal = tone(440, 1.0)
    position = 0
    for _, jitter in zip(range(50), np.tile([0, 7, -11, 3], 13), strict=False):
        mixer.add("a", position + int(jitter), signal[position : position + 960])
        position += 960
    out = drain(mixer, 1.0)
    assert np.abs(out[FADE : 48000 - 1024] - signal[FADE : 48000 - 1024]).max() < 1e-6


def test_a_late_voice_is_delayed_not_cut_and_catches_up_in_a_pause():
    mixer = Mixer()
    speech = tone(440, 0.4)
    mixer.add("a", 0, speech[:9600])  # 0.2 s on time
    out = [mixer.take() for _ in range(20)]  # 0.43 s written: the rest of the word is late
    mixer.add("a", 9600, speech[9600:])
    assert mixer.dropped == 0 and mixer.delayed > 0
    out += [mixer.take() for _ in range(20)]
    heard = np.concatenate(out)
    assert np.count_nonzero(np.abs(heard) > 0.05) > 0.9 * np.count_nonzero(np.abs(speech) > 0.05)
    lag = mixer._lag["a"]
    # A pause comes early enough: it is skipped and the voice is back in step.
    silence = np.zeros(960, np.float32)
    start = mixer.position + int(0.3 * RATE)
    for index in range(lag // 960 + 2):
        mixer.add("a", start + index * 960 - lag, silence)
    assert mixer._lag["a"] == 0


def test_a_voice_hopelessly_late_is_cut_and_counted():
    mixer = Mixer()
    drain(mixer, 3.0)
    mixer.add("a", 0, tone(440, 0.1))
    assert mixer.dropped == 4800 and mixer._lag["a"] == 0


def test_new_voices_fade_in():
    mixer = Mixer()
    mixer.add("a", 0, np.ones(2048, np.float32) * 0.5)
    out = mixer.take()
    assert out[0] == 0 and out[FADE // 2] == pytest.approx(0.25, abs=0.01) and out[FADE] == 0.5


def test_to_mono():
    stereo = np.array([[0.2, 0.4], [0.4, 0.0]], np.float32)
    assert to_mono(stereo).tolist() == pytest.approx([0.3, 0.2])
    assert to_mono(np.array([[0.1, 0.2]], np.float32)).tolist() == pytest.approx([0.1, 0.2])


def arrivals(delays: list[float], clock_rate: int = 90000, step: float = 1 / 15) -> list[tuple]:
    base = 1_800_000_000.0
    return [
        (int(i * step * clock_rate), base + i * step + delay, base + i * step)
        for i, delay in enumerate(delays)
    ]


@pytest.mark.parametrize(
    "delays",
    [
        [0.05] * 60,  # steady
        [0.05 + 0.04 * ((i * 7) % 5) / 4 for i in range(60)],  # jitter up to 40 ms
        [0.3] + [0.05] * 59,  # a slow first frame
    ],
)
def test_source_clock_maps_to_capture_time_plus_the_least_delay(delays):
    clock = SourceClock(90000, tolerance=0.005)
    walls = [clock.wall(ts, arrival) - capture for ts, arrival, capture in arrivals(delays)]
    assert all(abs(w - 0.05) < 0.006 for w in walls[5:]), walls


def test_source_clock_follows_drift_but_holds_still_within_tolerance():
    # The sender's clock runs 0.1% slow: 30 ms over 30 s, 5 ms over the 5 s window.
    clock = SourceClock(48000, tolerance=0.02)
    errors = []
    for i in range(1500):
        capture = 1_800_000_000.0 + i * 0.02
        wall = clock.wall(int(i * 960 * 0.999), capture + 0.03)
        errors.append(wall - capture)
    assert max(abs(e - 0.03) for e in errors) < 0.02 + 0.0055  # tolerance + 5 s of drift
    assert clock.moves >= 1
    steady = SourceClock(48000, tolerance=0.02)
    for i in range(500):
        steady.wall(i * 960, 1_800_000_000.0 + i * 0.02 + 0.03 + 0.01 * (i % 2))
    assert steady.moves == 0


def test_audio_delay_is_taken_off():
    clock = SourceClock(48000, delay=0.1)
    assert clock.wall(0, 1000.1) == pytest.approx(1000.0)


def test_a_growing_delay_makes_one_gap_not_a_stutter():
    """Packets that come a little later each time (a queue building up somewhere) are moved
    back once, with a margin, instead of being cut into on every packet."""
    mixer = Mixer()
    signal = tone(440, 2.0)
    out = []
    for packet in range(100):
        start = packet * 960
        # By the time this packet arrives, the mix has been written up to 64 samples further
        # into it than for the packet before.
        while mixer.position + BLOCK <= start + 64 * packet - 2000:
            out.append(mixer.take())
        mixer.add("a", start, signal[start : start + 960])
    out += [mixer.take() for _ in range(10)]
    heard = np.concatenate(out)
    silent = np.convolve(np.abs(heard) < 1e-6, np.ones(20), "valid") == 20  # 20 samples of nothing
    gaps = np.count_nonzero(silent[1:] & ~silent[:-1])
    assert gaps <= 3, gaps
    assert mixer.dropped == 0

"""Audio and video stay together in the recording: a flash and a beep made at the same instant
land within 100 ms of each other in the file."""

from __future__ import annotations

import asyncio

import numpy as np

from recorder import files
from tests.support.peers import BeepTrack, FlashTrack, RoomClient
from tests.support.recordings import decode, wait_recordings

PERIOD = 2.0


def onsets(signal: np.ndarray, times: np.ndarray, threshold: float) -> list[float]:
    """Times at which `signal` rises through `threshold`."""
    above = signal > threshold
    rising = np.flatnonzero(above[1:] & ~above[:-1]) + 1
    return [float(times[i]) for i in rising]


async def test_flash_and_beep_stay_within_100_ms(server):
    invited = await server.invite("host")
    host = RoomClient.of(server, invited, "host", video=FlashTrack(PERIOD), audio=BeepTrack(PERIOD))
    try:
        await host.connect()
        await host.wait_for(lambda: host.status == "admitted", what="host seated")
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        await asyncio.sleep(9)
        await host.end_session()
        rows = await wait_recordings(server.archive, invited.inspection.id)
    finally:
        await host.close()
    composite = next(r for r in rows if r.kind == "composite")
    video = decode(files.resolve_inside(server.settings.recordings_dir, composite.path))

    brightness = np.array([image[20:, :].mean() for image in video.small])
    flashes = onsets(brightness, np.array(video.times), 128)

    rate = video.rate
    block = rate // 200  # 5 ms
    usable = len(video.audio) // block * block
    energy = np.abs(video.audio[:usable]).reshape(-1, block).max(axis=1)
    beeps = onsets(energy, video.audio_start + np.arange(len(energy)) * block / rate, 0.2)

    # A flash in the last moments of the file may have its beep cut by the end of the audio:
    # only flashes the audio covers (and some) are judged.
    audio_end = video.audio_start + usable / rate
    flashes = [flash for flash in flashes if flash + 0.2 <= audio_end]
    assert len(flashes) >= 4, flashes
    pairs = []
    for flash in flashes:
        beep = min(beeps, key=lambda b: abs(b - flash))
        pairs.append(round(beep - flash, 3))
    assert all(abs(offset) <= 0.1 for offset in pairs), pairs

"""Recorder benchmark: Kanyan's recorder against the FFmpeg command line, in the same run.

For 1, 2, 4 and 6 participants (640×480 at 15 fps VP8 and Opus, encoded once beforehand from a
textured, moving, noisy scene like a camera's), it measures the CPU seconds that Kanyan's
recorder process spends per recorded second, and the same for Debian's `ffmpeg` making the same
composite from the same frames (same layout, scaler, size, fps, x264 preset, CRF and one
encoder thread, header and labels with drawtext, amix, AAC, fragmented MP4). It also measures
the presets and CRFs the default was chosen from, and the screenshot latency in a real room.

Run: .venv/bin/python bench/recorder.py   (installs Debian's ffmpeg when it is missing)
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import numpy as np  # noqa: E402

from recorder import files, overlay  # noqa: E402
from recorder.layout import Seat, arrange, fit  # noqa: E402
from recorder.process import RecorderProcess  # noqa: E402
from recorder.writer import RawTrackWriter, vp8_size  # noqa: E402
from server.config import RecordingSettings  # noqa: E402
from server.live.jitter import vp8_is_keyframe  # noqa: E402
from server.live.media import EncodedFrame  # noqa: E402

SECONDS = 20
FPS = 15
T0 = 1_800_000_000.0  # the inputs' server time: 2027-01-15 16:00:00 in Beijing
CASE_NO, ITEM = "KY2026-000001", "食品经营许可"
ROLES = ["applicant", "host", "clerk", "expert", "observer", "expert"]
NAMES = ["陈申请", "张主持", "李审批", "王专家", "赵观察", "刘专家"]
DEFAULTS = RecordingSettings()


def ensure_ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path:
        return path
    print("installing Debian's ffmpeg (the reference) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-q", "ffmpeg"], check=True, env=env)
    return shutil.which("ffmpeg") or "ffmpeg"


# -- inputs -----------------------------------------------------------------------------------


@dataclass
class Participant:
    index: int
    frames: list[EncodedFrame] = field(default_factory=list)
    video: Path | None = None
    audio: Path | None = None


def scene(index: int, rng: np.random.Generator) -> np.ndarray:
    """A large textured backdrop per participant: it is panned across, like a hand-held camera."""
    base = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    image = av.VideoFrame.from_ndarray(base, format="rgb24").reformat(960, 720).to_ndarray()
    tint = np.array([(60, 20, 0), (0, 40, 60), (40, 40, 0), (20, 0, 50), (0, 50, 20), (50, 30, 30)])
    return np.clip(image.astype(int) // 2 + 64 + tint[index % 6], 0, 255).astype(np.uint8)


def make_inputs(count: int, directory: Path) -> list[Participant]:
    rng = np.random.default_rng(7)
    noise = [rng.integers(-6, 7, (480, 640, 3)).astype(np.int16) for _ in range(8)]
    people = []
    for index in range(count):
        person = Participant(index)
        backdrop = scene(index, rng)
        encoder = av.CodecContext.create("libvpx", "w")
        encoder.width, encoder.height, encoder.pix_fmt = 640, 480, "yuv420p"
        encoder.time_base = Fraction(1, 90000)
        encoder.framerate = FPS
        encoder.bit_rate = 600_000
        encoder.gop_size = 3000  # like aiortc: keyframes on request only
        encoder.options = {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"}
        for n in range(SECONDS * FPS):
            x = int(160 + 150 * np.sin(n / 40 + index))
            y = int(120 + 100 * np.cos(n / 55 + index))
            image = backdrop[y : y + 480, x : x + 640].astype(np.int16) + noise[n % 8]
            image[200 + (n * 3) % 200 : 260 + (n * 3) % 200, 100:220] = 240  # something moving
            frame = av.VideoFrame.from_ndarray(
                np.clip(image, 0, 255).astype(np.uint8), format="rgb24"
            ).reformat(format="yuv420p")
            frame.pts, frame.time_base = n * 6000, Fraction(1, 90000)
            for packet in encoder.encode(frame):
                data = bytes(packet)
                capture = n / FPS
                person.frames.append(
                    EncodedFrame(
                        "video",
                        data,
                        n * 6000,
                        vp8_is_keyframe(data),
                        T0 + capture + 1 / FPS + 0.02,  # aiortc completes a frame one frame late
                        (index + 1, 1),
                    )
                )
        opus = av.CodecContext.create("libopus", "w")
        opus.sample_rate, opus.layout, opus.format = 48000, "stereo", "s16"
        opus.time_base = Fraction(1, 48000)
        samples = 0
        for _ in range(SECONDS * 50):
            t = (np.arange(960) + samples) / 48000
            voice = 0.2 * np.sin(2 * np.pi * (180 + 40 * index) * t) * (0.6 + 0.4 * np.sin(3 * t))
            pcm = (voice * 32767).astype(np.int16)
            frame = av.AudioFrame.from_ndarray(np.repeat(pcm, 2).reshape(1, -1), "s16", "stereo")
            frame.sample_rate, frame.pts, frame.time_base = 48000, samples, Fraction(1, 48000)
            for packet in opus.encode(frame):
                person.frames.append(
                    EncodedFrame(
                        "audio",
                        bytes(packet),
                        samples,
                        False,
                        T0 + samples / 48000 + 0.12,
                        (index + 1, 1),
                    )
                )
            samples += 960
        person.frames.sort(key=lambda f: f.arrival)
        # The same frames as files for the command line, on the same timeline.
        person.video = directory / f"p{index}-video.webm"
        person.audio = directory / f"p{index}-audio.webm"
        first_key = next(f for f in person.frames if f.kind == "video")
        video = RawTrackWriter(person.video, "video", vp8_size(first_key.data))
        audio = RawTrackWriter(person.audio, "audio")
        for f in person.frames:
            writer = video if f.kind == "video" else audio
            step = 90 if f.kind == "video" else 48
            writer.write(f.data, f.timestamp // step, f.keyframe)
        video.close()
        audio.close()
        people.append(person)
    return people


def roster(people: list[Participant]) -> list[dict]:
    return [
        {"id": p.index + 1, "role": ROLES[p.index], "name": NAMES[p.index], "status": "admitted"}
        for p in people
    ]


# -- Kanyan -----------------------------------------------------------------------------------


@dataclass
class Result:
    cpu_per_s: float
    mbps: float
    feed_cpu_per_s: float = 0.0


def kanyan(people: list[Participant], preset: str, crf: int, out: Path) -> Result:
    composite = files.create_exclusive(out / "composite.recording.mp4")
    return asyncio.run(_kanyan(people, preset, crf, out, composite))


async def _kanyan(
    people: list[Participant], preset: str, crf: int, out: Path, composite: Path
) -> Result:
    events: dict[str, dict] = {}

    async def on_event(event: dict) -> None:
        events[event["event"]] = event
        if event["event"] == "closed" and event["kind"] == "composite":
            events["composite"] = event

    process = RecorderProcess(on_event, ticks=False)
    feed_start = time.process_time()
    await process.start(
        {
            "composite": str(composite),
            "segment": 1,
            "t0": T0,
            "root": str(out),
            "dir": str(out),
            "latency": DEFAULTS.latency_ms / 1000,
            "raw_tracks": DEFAULTS.raw_tracks,
            "font": str(overlay.find_cjk_font()),
            "case_no": CASE_NO,
            "item_name": ITEM,
            "preset": preset,
            "crf": crf,
            "audio_kbps": DEFAULTS.audio_kbps,
        }
    )
    process.control({"op": "roster", "at": T0, "members": roster(people)})
    frames = sorted((f for p in people for f in p.frames), key=lambda f: f.arrival)
    for index, frame in enumerate(frames):
        process.push(frame)
        if index % 64 == 0:
            await process.drain()
    await process.finish(T0 + SECONDS)
    feed = time.process_time() - feed_start
    code = await process.wait()
    if code != 0 or "finished" not in events:
        raise RuntimeError(f"the recorder failed ({code}): {process.last_error}")
    cpu = events["finished"]["cpu_s"] - events["ready"]["cpu_s"]
    size = events["composite"]["size"]
    return Result(cpu / SECONDS, size * 8 / SECONDS / 1e6, feed / SECONDS)


# -- the FFmpeg command line ------------------------------------------------------------------


def ffmpeg_command(
    ffmpeg: str, people: list[Participant], preset: str, crf: int, out: Path, seconds: float
) -> list[str]:
    font = str(overlay.find_cjk_font())
    seats = [Seat(p.index + 1, ROLES[p.index], NAMES[p.index]) for p in people]
    header = out / "header.txt"
    header.write_text(f"%{{pts:localtime:{int(T0)}:%Y-%m-%d %H\\:%M\\:%S}} 北京时间")
    inputs: list[str] = []
    for person in people:
        inputs += ["-i", str(person.video), "-i", str(person.audio)]
    graph = [f"color=c=black:s=1280x720:r={FPS}[base]"]
    last = "base"
    labels = []
    for number, placement in enumerate(arrange(seats)):
        person = people[placement.seat.id - 1]
        rect = fit(640, 480, placement.cell)
        graph.append(
            f"[{2 * person.index}:v]scale={rect.w}:{rect.h}:flags=area,setsar=1[v{number}]"
        )
        graph.append(f"[{last}][v{number}]overlay={rect.x}:{rect.y}:eof_action=repeat[o{number}]")
        last = f"o{number}"
        label = overlay.label_text(placement.seat.name, placement.seat.role)
        labels.append(
            f"drawtext=fontfile={font}:text='{label}':x={placement.cell.x + 6}:"
            f"y={placement.cell.bottom - 22}:fontsize=18:fontcolor=white:box=1:boxcolor=black"
        )
    text = f"fontfile={font}:fontsize=22:fontcolor=white:y=9"
    graph.append(
        f"[{last}]drawbox=x=0:y=0:w=1280:h=40:color=0x202020:t=fill,"
        f"drawtext={text}:textfile={header}:x=8,"
        f"drawtext={text}:text='案件编号 {CASE_NO}  ·  {ITEM}':x=w-tw-8,"
        + ",".join(labels)
        + "[vout]"
    )
    voices = "".join(f"[{2 * p.index + 1}:a]" for p in people)
    graph.append(
        f"{voices}amix=inputs={len(people)}:normalize=0,alimiter=limit=0.7,"
        "aresample=48000,aformat=channel_layouts=mono[aout]"
    )
    return [
        ffmpeg, "-v", "error", "-y", *inputs,
        "-filter_complex", ";".join(graph), "-map", "[vout]", "-map", "[aout]",
        "-t", str(seconds), "-r", str(FPS),
        "-c:v", "libx264", "-threads", "1", "-preset", preset, "-crf", str(crf),
        "-pix_fmt", "yuv420p",
        "-g", str(FPS), "-keyint_min", str(FPS), "-sc_threshold", "0", "-bf", "0",
        "-c:a", "aac", "-aac_coder", "fast", "-b:a", f"{DEFAULTS.audio_kbps}k",
        "-movflags", "frag_keyframe+empty_moov+default_base_moof+delay_moov",
        "-f", "mp4", str(out / "composite.mp4"),
    ]  # fmt: skip


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ffmpeg_run(ffmpeg: str, people: list[Participant], preset: str, crf: int, out: Path) -> Result:
    out.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TZ": "Asia/Shanghai"}
    # Start-up (opening inputs, fonts, x264) is measured apart and taken off, as it is for Kanyan.
    before = child_cpu()
    subprocess.run(ffmpeg_command(ffmpeg, people, preset, crf, out, 0.2), check=True, env=env)
    startup = child_cpu() - before
    before = child_cpu()
    subprocess.run(ffmpeg_command(ffmpeg, people, preset, crf, out, SECONDS), check=True, env=env)
    cpu = child_cpu() - before - startup
    size = (out / "composite.mp4").stat().st_size
    return Result(cpu / SECONDS, size * 8 / SECONDS / 1e6)


# -- screenshots ------------------------------------------------------------------------------


async def screenshot_latency(work: Path, count: int = 20) -> list[float]:
    """Press to archived row in a real room: a host asks, a 1280×720 applicant is captured."""
    from tests.integration.test_forwarding import admit
    from tests.support.peers import ColourTrack, RoomClient
    from tests.support.server import make_settings, running_server

    settings = make_settings(work)
    async with running_server(settings) as server:
        invited = await server.invite("host", "applicant")
        host = RoomClient(server.base_url, invited.inspection.id, invited.token("host"))
        applicant = RoomClient(
            server.base_url,
            invited.inspection.id,
            invited.token("applicant"),
            video=ColourTrack((40, 60, 230), 1280, 720),
            observe=False,
        )
        try:
            await host.connect()
            await host.wait_for(lambda: host.status == "admitted", what="host")
            await applicant.connect()
            await applicant.wait_for(lambda: applicant.welcome is not None, what="welcome")
            await admit(host, applicant)
            await host.frames_from(applicant.id, 20)
            latencies = []
            for _ in range(count):
                before = len([m for m in host.messages if m["type"] == "screenshot"])
                pressed = time.perf_counter()
                await host.send({"type": "screenshot", "participant": applicant.id})
                await host.wait_for(
                    lambda b=before: (
                        len([m for m in host.messages if m["type"] == "screenshot"]) > b
                    ),
                    what="screenshot",
                )
                latencies.append((time.perf_counter() - pressed) * 1000)
                await asyncio.sleep(0.8)
            return latencies
        finally:
            await host.close()
            await applicant.close()


# -- the run ----------------------------------------------------------------------------------


def main() -> None:
    ffmpeg = ensure_ffmpeg()
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout
    print(f"reference: {version.splitlines()[0]}")
    print(f"machine: {os.cpu_count()} cores; shared with other work, so figures move a little")
    preset, crf = DEFAULTS.preset, DEFAULTS.crf
    with tempfile.TemporaryDirectory(prefix="kanyan-bench-") as tmp:
        work = Path(tmp)
        print(f"encoding the inputs (6 × {SECONDS} s of 640×480 VP8 at {FPS} fps + Opus) …")
        everyone = make_inputs(6, work)

        print(f"\nKanyan vs ffmpeg CLI, preset {preset}, CRF {crf} (CPU s per recorded s)")
        print(f"{'inputs':>6} {'kanyan':>8} {'ffmpeg':>8} {'ratio':>6} {'Mbps':>6} {'feed':>6}")
        results = {}
        for count in (1, 2, 4, 6):
            people = everyone[:count]
            ours = kanyan(people, preset, crf, work / f"k{count}")
            theirs = ffmpeg_run(ffmpeg, people, preset, crf, work / f"f{count}")
            results[count] = (ours, theirs)
            print(
                f"{count:>6} {ours.cpu_per_s:>8.3f} {theirs.cpu_per_s:>8.3f} "
                f"{ours.cpu_per_s / theirs.cpu_per_s:>6.2f} {ours.mbps:>6.2f} "
                f"{ours.feed_cpu_per_s:>6.3f}"
            )
        print("(feed: CPU the server spends piping frames to the recorder, not counted above)")

        print("\nChoosing the default: 4 inputs, Kanyan (CPU s per recorded s / Mbps)")
        presets = ("ultrafast", "superfast", "veryfast")
        crfs = (23, 26, 28)
        print(f"{'preset':>10} " + " ".join(f"{'CRF ' + str(c):>14}" for c in crfs))
        for candidate in presets:
            cells = []
            for value in crfs:
                run = kanyan(everyone[:4], candidate, value, work / f"c-{candidate}-{value}")
                cells.append(f"{run.cpu_per_s:.3f} / {run.mbps:.2f}")
            print(f"{candidate:>10} " + " ".join(f"{c:>14}" for c in cells))

        latencies = asyncio.run(screenshot_latency(work / "shots"))
        print(
            f"\nscreenshots: median {statistics.median(latencies):.0f} ms, "
            f"max {max(latencies):.0f} ms over {len(latencies)}"
        )

    ours, theirs = results[4]
    print(f"screenshot_ms_median: {statistics.median(latencies):.1f}")
    print(f"recording_mbps: {ours.mbps:.3f}")
    print(f"recorded_rooms_per_core: {1 / ours.cpu_per_s:.2f}")
    print(
        "recorder: kanyan_cpu / ffmpeg_cli_cpu (4 inputs, 720p15) = "
        f"{ours.cpu_per_s / theirs.cpu_per_s:.3f}"
    )


if __name__ == "__main__":
    main()

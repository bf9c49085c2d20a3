"""What a machine can check of a self-recorded site video (SPEC §6, seed §3): a readable
container with a video stream, long enough, large enough (after the phone's rotation), one
uninterrupted take (no timestamp gap over a second, nothing going backwards, no edit-list
splices, a steady frame rate), made before it was uploaded and not too long before, with sound.

Blocking work (demuxing the whole file): run it in a worker thread or process. Packets are read,
not decoded, except one frame for the rotation, so a 300 MB video takes seconds.
"""

from __future__ import annotations

import itertools
import statistics
import struct
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import av

from .. import clock

MAX_GAP_S = 1.0
UNSTEADY_FACTOR = 3.0  # an interval this many times the usual one is a stall
UNSTEADY_SHARE = 0.05  # stalls in more than this share of intervals: not a steady rate
CLOCK_SKEW_S = 300  # a phone's clock may run a few minutes ahead of the server's
DEFAULT_MAX_AGE_HOURS = 168


class Unreadable(Exception):
    """Not a video Kanyan can read at all (`check-video` exits 2)."""


@dataclass(frozen=True)
class Requirements:
    min_duration_s: int
    min_width: int
    min_height: int
    max_age_hours: int = 168


def requirements_of(shooting: Any) -> Requirements:
    """A catalog item's shooting requirements (server.cases.catalog.Shooting) as checks."""
    return Requirements(
        shooting.min_duration_s,
        shooting.min_width,
        shooting.min_height,
        shooting.max_age_hours or DEFAULT_MAX_AGE_HOURS,
    )


@dataclass(frozen=True)
class Failure:
    code: str  # stable, for scripts
    message: str  # zh-CN, with what to do next


@dataclass
class Facts:
    """What the file is, as read."""

    container: str = ""
    video_codec: str = ""
    audio_codec: str = ""
    width: int = 0  # as displayed (after rotation)
    height: int = 0
    rotation: int = 0
    duration_s: float = 0.0
    frames: int = 0
    fps: float = 0.0
    created_at: str | None = None
    gaps: list[tuple[float, float]] = field(default_factory=list)  # (at, seconds missing)
    backwards: int = 0
    edits: int = 0  # edit-list entries beyond the first
    stalls: int = 0
    truncated: bool = False

    @property
    def browser_playable(self) -> bool:
        """H.264 with AAC (or no sound) in MP4 plays in every browser the bureau uses."""
        return (
            self.container.startswith("mov")
            and self.video_codec == "h264"
            and self.audio_codec in ("aac", "")
        )


def inspect(path: Path) -> Facts:
    """Read the file's streams and every video packet's timestamps (blocking)."""
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise Unreadable(f"无法读取：{exc.__class__.__name__}") from exc
    with container:
        if not container.streams.video:
            raise Unreadable("文件中没有视频画面")
        video = container.streams.video[0]
        facts = Facts(container=container.format.name, video_codec=video.codec_context.name)
        if container.streams.audio:
            facts.audio_codec = container.streams.audio[0].codec_context.name
        created = container.metadata.get("creation_time")
        facts.created_at = created or None
        facts.rotation = _rotation(container)
        width, height = video.codec_context.width, video.codec_context.height
        if facts.rotation % 180:
            width, height = height, width
        facts.width, facts.height = width, height
        expected = video.frames  # what the index promises (0 when the container has none)
        times, dts, audio_packets = _packets(container, video, facts)
        if not times:
            raise Unreadable("文件中没有可读的视频帧")
        if expected and len(times) < expected:
            facts.truncated = True
        _timing(facts, times, dts)
        if container.streams.audio and audio_packets == 0:
            facts.audio_codec = ""
    if path.suffix.lower() in (".mp4", ".mov", ".m4v", ".3gp") or facts.container.startswith("mov"):
        facts.edits = mp4_edits(path)
    return facts


def _rotation(container: av.container.InputContainer) -> int:
    try:
        for frame in container.decode(video=0):
            return round(frame.rotation or 0) % 360
    except av.FFmpegError:
        return 0
    finally:
        container.seek(0)
    return 0


def _packets(
    container: av.container.InputContainer, video: av.video.stream.VideoStream, facts: Facts
) -> tuple[list[float], list[float], int]:
    times: list[float] = []
    dts: list[float] = []
    audio = 0
    base = video.time_base
    streams = [video] + ([container.streams.audio[0]] if container.streams.audio else [])
    try:
        for packet in container.demux(*streams):
            if packet.size == 0:
                continue  # a flush packet
            if packet.stream.type == "audio":
                audio += 1
                continue
            if packet.pts is not None and base is not None:
                times.append(float(packet.pts * base))
            if packet.dts is not None and base is not None:
                dts.append(float(packet.dts * base))
    except (av.FFmpegError, OSError):
        facts.truncated = True  # what was read before the damage still counts
    return times, dts, audio


def _timing(facts: Facts, times: list[float], dts: list[float]) -> None:
    ordered = sorted(times)
    intervals = [b - a for a, b in itertools.pairwise(ordered) if b > a]
    usual = statistics.median(intervals) if intervals else 0.0
    facts.frames = len(ordered)
    facts.duration_s = (ordered[-1] - ordered[0] + usual) if ordered else 0.0
    facts.fps = 1 / usual if usual else 0.0
    facts.gaps = [
        (round(a - ordered[0], 3), round(b - a - usual, 3))
        for a, b in itertools.pairwise(ordered)
        if b - a > MAX_GAP_S
    ]
    facts.backwards = sum(1 for a, b in itertools.pairwise(dts) if b <= a)
    if usual:
        facts.stalls = sum(1 for gap in intervals if UNSTEADY_FACTOR * usual < gap <= MAX_GAP_S)


def mp4_edits(path: Path) -> int:
    """Edit-list entries beyond one per track: what a splice in an editor leaves (the first,
    and an initial empty edit, are what every camera writes)."""
    extra = 0
    try:
        with open(path, "rb") as f:
            for elst in _boxes(f, 0, path.stat().st_size, ("moov", "trak", "edts", "elst")):
                f.seek(elst[0])
                version_flags, count = struct.unpack(">II", f.read(8))
                version = version_flags >> 24
                size = 20 if version == 1 else 12
                media_times = []
                for _ in range(min(count, 1000)):
                    entry = f.read(size)
                    if len(entry) < size:
                        break
                    if version == 1:
                        _, media_time = struct.unpack(">Qq", entry[:16])
                    else:
                        _, media_time = struct.unpack(">Ii", entry[:8])
                    media_times.append(media_time)
                real = [t for t in media_times if t != -1]
                extra += max(0, len(real) - 1)
    except (OSError, struct.error):
        return 0
    return extra


def _boxes(f, start: int, end: int, path: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """(payload start, payload end) of every box along `path` (ISO BMFF)."""
    position = start
    while position + 8 <= end:
        f.seek(position)
        header = f.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        offset = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            offset = 16
        elif size == 0:
            size = end - position
        if size < offset:
            return
        if kind.decode("latin-1") == path[0]:
            if len(path) == 1:
                yield (position + offset, position + size)
            else:
                yield from _boxes(f, position + offset, position + size, path[1:])
        position += size


def check(
    facts: Facts, wanted: Requirements, *, uploaded_at: datetime | None = None
) -> list[Failure]:
    """Every requirement the video does not meet, each with what to do next (zh-CN)."""
    failures = []
    if facts.truncated:
        failures.append(Failure("truncated", "文件不完整或已损坏，请重新导出或重新拍摄后上传。"))
    if facts.duration_s < wanted.min_duration_s:
        failures.append(
            Failure(
                "too_short",
                f"视频时长 {facts.duration_s:.0f} 秒，少于要求的 {wanted.min_duration_s} 秒，"
                "请按拍摄要求完整拍摄后重新上传。",
            )
        )
    long_side, short_side = max(facts.width, facts.height), min(facts.width, facts.height)
    need_long = max(wanted.min_width, wanted.min_height)
    need_short = min(wanted.min_width, wanted.min_height)
    if long_side < need_long or short_side < need_short:
        failures.append(
            Failure(
                "too_small",
                f"分辨率 {facts.width}×{facts.height} 低于要求的 {wanted.min_width}×"
                f"{wanted.min_height}，请在相机设置中选择 720P 或更高画质后重新拍摄。",
            )
        )
    if facts.gaps:
        at, missing = facts.gaps[0]
        failures.append(
            Failure(
                "timestamp_gap",
                f"视频在第 {at:.0f} 秒处中断了 {missing:.1f} 秒，须为一次不间断拍摄，"
                "请从头完整拍摄一遍。",
            )
        )
    if facts.backwards and not facts.edits:  # an edit list explains its own jumps
        failures.append(
            Failure(
                "timestamp_backwards",
                "视频时间轴出现倒退，像是由多段拼接而成；须为一次不间断拍摄，请重新拍摄。",
            )
        )
    if facts.edits:
        failures.append(
            Failure(
                "edited",
                "视频经过剪辑拼接；请上传手机拍摄的原始视频，不要剪辑。",
            )
        )
    if facts.stalls > UNSTEADY_SHARE * max(facts.frames, 1):
        failures.append(
            Failure(
                "unsteady_frame_rate",
                "视频帧率不稳定（画面多次停顿），请在光线充足处重新拍摄，拍摄时不要切换应用。",
            )
        )
    if not facts.audio_codec:
        failures.append(
            Failure(
                "no_audio",
                "视频没有声音；开头须有申请人的自我介绍和真实性承诺，请开启麦克风重新拍摄。",
            )
        )
    if facts.created_at and uploaded_at is not None:
        try:
            created = clock.parse(facts.created_at)
        except ValueError:
            created = None
        if created is not None and created.tzinfo is not None:
            if (created - uploaded_at).total_seconds() > CLOCK_SKEW_S:
                failures.append(
                    Failure("created_after_upload", "视频的拍摄时间晚于上传时间，请上传原始视频。")
                )
            elif (uploaded_at - created).total_seconds() > wanted.max_age_hours * 3600:
                failures.append(
                    Failure(
                        "too_old",
                        f"视频拍摄于 {clock.shanghai(created, '%Y-%m-%d %H:%M')}，早于允许的 "
                        f"{wanted.max_age_hours} 小时内，请重新拍摄现场。",
                    )
                )
    return failures


# What each check is, as the case page and the record list them: (key, zh-CN name, English
# name, the failure codes that mean it was not met).
CHECKS: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("readable", "文件完整可读", "Complete and readable", frozenset({"unreadable", "truncated"})),
    ("duration", "时长", "Duration", frozenset({"too_short"})),
    ("resolution", "分辨率", "Resolution", frozenset({"too_small"})),
    (
        "one_take",
        "一次不间断拍摄",
        "One uninterrupted take",
        frozenset({"timestamp_gap", "timestamp_backwards", "edited"}),
    ),
    ("steady", "帧率稳定", "Steady frame rate", frozenset({"unsteady_frame_rate"})),
    ("audio", "有声音", "Sound", frozenset({"no_audio"})),
    ("recent", "拍摄时间", "When it was filmed", frozenset({"created_after_upload", "too_old"})),
    ("playable", "浏览器可播放", "Plays in a browser", frozenset({"unplayable"})),
)


def check_rows(
    facts: dict[str, Any], failures: list[dict[str, str]], wanted: Requirements
) -> list[dict[str, Any]]:
    """An attempt's checks for people: each check's name, what was required, what the file had
    and whether it passed (None: not checked, as for an unreadable file). `facts` and
    `failures` are what the archive keeps of the attempt (server.archive.uploads.Upload)."""
    failed = {f.get("code", "") for f in failures}
    read = bool(facts)
    width, height = facts.get("width") or 0, facts.get("height") or 0
    created = facts.get("created_at")
    try:
        filmed = clock.shanghai(clock.parse(created), "%Y-%m-%d %H:%M") if created else ""
    except ValueError:
        filmed = str(created)
    found = {
        "readable": " / ".join(
            x
            for x in (facts.get("container"), facts.get("video_codec"), facts.get("audio_codec"))
            if x
        ),
        "duration": f"{float(facts.get('duration_s') or 0):.1f} 秒" if read else "",
        "resolution": f"{width}×{height}" if read else "",
        "one_take": "",
        "steady": f"{float(facts.get('fps') or 0):.2f} 帧/秒" if read else "",
        "audio": (facts.get("audio_codec") or "无声音") if read else "",
        "recent": (f"{filmed}（北京时间）" if filmed else "文件未记录拍摄时间") if read else "",
        "playable": "",
    }
    required = {
        "readable": "",
        "duration": f"不少于 {wanted.min_duration_s} 秒",
        "resolution": f"不低于 {wanted.min_width}×{wanted.min_height}",
        "one_take": "无中断、无时间倒退、无剪辑拼接",
        "steady": "无明显卡顿",
        "audio": "开头须有自我介绍和真实性承诺",
        "recent": f"上传前 {wanted.max_age_hours} 小时内",
        "playable": "",
    }
    rows = []
    for key, name, name_en, codes in CHECKS:
        if codes & failed:
            passed: bool | None = False
        elif (not read and key != "readable") or (key == "playable" and failed):
            passed = None  # not checked: the file could not be read, or failed before this
        else:
            passed = True
        rows.append(
            {
                "key": key,
                "name": name,
                "name_en": name_en,
                "required": required[key],
                "found": found[key],
                "passed": passed,
                "messages": [f.get("message", "") for f in failures if f.get("code") in codes],
            }
        )
    return rows

"""An inspection's evidence timeline: where each thing that happened is in its recording.

Pure: the archive's rows and events in, the player's view out. A live inspection's recording is
one or more composite segments on the session's wall clock (gaps between them when the
recorder or the server stopped); the timeline's zero is the first segment's start, and every
event sits at its server time. A self-recorded video is one file; its marks and screenshots sit
at the instant the reviewer chose. The web player (web/static/js/player.js) draws it and seeks
the right segment when a marker is clicked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import clock
from ..archive import Event, Recording
from ..states import verdict_label
from .checklist import mark_label

# Event type → (marker kind, zh-CN label).
MARKERS: dict[str, tuple[str, str]] = {
    "session.started": ("session", "勘验开始"),
    "session.ended": ("session", "勘验结束"),
    "session.interrupted": ("gap", "勘验中止"),
    "participant.joined": ("join", "进入"),
    "participant.reconnected": ("join", "重新连接"),
    "participant.admitted": ("join", "准入"),
    "participant.dropped": ("leave", "断线"),
    "participant.left": ("leave", "离开"),
    "participant.removed": ("leave", "被移出"),
    "recording.gap": ("gap", "录像中断"),
    "room.restored": ("session", "服务器重启后恢复"),
    "checklist.current": ("current", "核实要点"),
    "checklist.marked": ("mark", "标记"),
    "record.entry": ("note", "工作记录"),
    "screenshot.taken": ("screenshot", "截图"),
    "screenshot.moved": ("screenshot", "截图移至要点"),
    "conclusion.pronounced": ("conclusion", "宣布结论"),
    "conclusion.confirmed": ("conclusion", "申请人确认"),
    "conclusion.declined": ("conclusion", "申请人不予确认"),
}
# Why the recording has a gap (recorder.participant), as the timeline says it.
GAP_REASONS = {
    "server_restarted": "服务器重启",
    "recorder_died": "录像进程中断",
    "storage": "存储失败",
}


@dataclass(frozen=True)
class Segment:
    recording_id: int
    start: float  # seconds from the timeline's zero
    duration: float
    state: str  # finished | interrupted (recovered) | failed
    label: str


@dataclass(frozen=True)
class Marker:
    at: float  # seconds from the timeline's zero
    kind: str
    label: str
    event_id: int
    item: int | None = None
    screenshot: int | None = None


def live_timeline(
    recordings: list[Recording], events: list[Event], names: dict[int, str]
) -> dict[str, Any]:
    """Segments of the composite recording and markers for the events, on one clock."""
    composites = sorted(
        (r for r in recordings if r.kind == "composite" and r.duration_s),
        key=lambda r: r.started_at,
    )
    if not composites:
        return {"segments": [], "markers": [], "duration": 0.0, "zero": None}
    zero = clock.parse(composites[0].started_at).timestamp()
    segments = [
        Segment(
            r.id,
            round(clock.parse(r.started_at).timestamp() - zero, 3),
            float(r.duration_s or 0.0),
            r.state,
            f"第 {r.segment} 段",
        )
        for r in composites
    ]
    end = max(s.start + s.duration for s in segments)
    markers = []
    for event in events:
        if event.type not in MARKERS:
            continue
        at = round(clock.parse(event.at).timestamp() - zero, 3)
        if event.type == "recording.gap":
            at = round(clock.parse(event.data["start"]).timestamp() - zero, 3)
        if at < -5 or at > end + 5:
            continue  # before or long after what was recorded (the lobby, say)
        markers.append(_marker(event, max(0.0, min(at, end)), names))
    return {
        "segments": [s.__dict__ for s in segments],
        "markers": [m.__dict__ for m in markers],
        "duration": round(end, 3),
        "zero": composites[0].started_at,
    }


def video_timeline(
    video: Recording,
    events: list[Event],
    names: dict[int, str],
    *,
    original: Recording | None = None,
) -> dict[str, Any]:
    """A self-recorded video: one segment, markers at the instants reviewers chose. `video` is
    the file the player plays; reviewers' stamps name the `original` upload when the played
    file is its browser-playable copy (same clock: the copy keeps every frame's time)."""
    duration = float(video.duration_s or 0.0)
    ours = {video.id, None} | ({original.id} if original is not None else set())
    markers = []
    for event in events:
        if event.type not in MARKERS:
            continue
        offset = event.data.get("offset_s")
        if event.data.get("recording") not in ours or offset is None:
            continue
        markers.append(_marker(event, max(0.0, min(float(offset), duration)), names))
    segment = Segment(video.id, 0.0, duration, video.state, "现场视频")
    return {
        "segments": [segment.__dict__],
        "markers": [m.__dict__ for m in markers],
        "duration": duration,
        "zero": None,
    }


def _marker(event: Event, at: float, names: dict[int, str]) -> Marker:
    kind, label = MARKERS[event.type]
    data = event.data
    who = data.get("by") or (names.get(int(event.actor)) if event.actor.isdigit() else "")
    if event.type == "checklist.marked":
        label = f"第 {data.get('seq')} 项 {mark_label(str(data.get('verdict', '')))}"
    elif event.type == "checklist.current":
        label = f"核实第 {data.get('seq')} 项"
    elif event.type.startswith("participant.") and data.get("participant"):
        who = names.get(int(data["participant"]), who)
    elif event.type == "conclusion.pronounced":
        label = f"宣布结论：{verdict_label(str(data.get('verdict', '')))}"
    elif event.type == "recording.gap":
        label = f"录像中断 {data.get('seconds', 0):.0f} 秒"
        if data.get("reason") in GAP_REASONS:
            label = f"{label}（{GAP_REASONS[data['reason']]}）"
    if who:
        label = f"{label} · {who}"
    return Marker(
        at,
        kind,
        label,
        event.id,
        item=data.get("item") if isinstance(data.get("item"), int) else None,
        screenshot=data.get("screenshot") if isinstance(data.get("screenshot"), int) else None,
    )

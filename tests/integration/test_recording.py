"""The recorder in a real room: aiortc peers, the real server, the MP4 decoded frame by frame."""

from __future__ import annotations

import asyncio
import itertools
import time

import av
import numpy as np

from recorder import files, overlay
from recorder.layout import Seat, arrange, fit
from server import clock
from server.archive import GroupMember
from server.archive.files import not_private
from server.clock import parse
from server.services import FONT
from tests.integration.test_forwarding import admit, three_in_room
from tests.support.peers import ColourTrack, RoomClient, ToneTrack
from tests.support.recordings import close_to, decode, seconds_into, tone_level, wait_recordings

RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 40), (40, 60, 230), (230, 200, 30)


def video_rects(seats: list[Seat]) -> dict[int, object]:
    return {p.seat.id: fit(640, 480, p.cell) for p in arrange(seats)}


async def test_twenty_second_session_with_a_join_and_a_leave(server):
    invited, host, clerk, applicant = await three_in_room(server, small=True)
    invited_expert = await server.archive.inspections.add_member(
        invited.inspection.id, GroupMember("expert", "王专家"), actor="test"
    )
    expert = None
    try:
        for other in (clerk, applicant):
            await host.frames_from(other.id, 5)
        await host.send({"type": "start"})
        await host.wait_for(lambda: host.state == "live", what="live")
        started = time.monotonic()
        await asyncio.sleep(6)
        token = server.links.token(invited_expert, invited.inspection)
        expert = RoomClient(
            server.base_url,
            invited.inspection.id,
            token,
            video=ColourTrack(YELLOW, 320, 240),
            audio=ToneTrack(550),
            observe=False,
        )
        await expert.connect()
        await expert.wait_for(lambda: expert.welcome is not None, what="expert welcome")
        await admit(host, expert)
        await asyncio.sleep(max(0.0, 13 - (time.monotonic() - started)))
        await clerk.close()
        await asyncio.sleep(max(0.0, 20 - (time.monotonic() - started)))
        await host.end_session()
        rows = await wait_recordings(server.archive, invited.inspection.id)
    finally:
        for client in (host, clerk, applicant, expert):
            if client is not None:
                await client.close()

    composite = next(r for r in rows if r.kind == "composite")
    assert composite.state == "finished" and composite.segment == 1
    path = files.resolve_inside(server.settings.recordings_dir, composite.path)
    assert path.suffix == ".mp4" and files.TEMP_MARK not in path.name
    assert (path.stat().st_mode & 0o777) == 0o600
    # Everything the recorder process wrote, and the folders it made, is Kanyan's alone.
    assert not_private(server.settings.recordings_dir) == []
    assert files.sha256_file(path) == composite.sha256
    assert path.stat().st_size == composite.size_bytes
    video = decode(path)
    assert (video.width, video.height) == (1280, 720)
    assert video.fps == 15
    events = await server.archive.events.find(inspection_id=invited.inspection.id)
    # The file holds the 20 s the session was held at least, from the recording's start to the
    # session's end as the log has it (the recorder stops at that instant, however late the
    # message reaches it on a loaded machine).
    ended_at = next(e.at for e in events if e.type == "session.ended")
    recorded_s = (clock.parse(ended_at) - clock.parse(composite.started_at)).total_seconds()
    assert video.duration >= 19.5 and abs(video.duration - recorded_s) <= 0.5, (
        video.duration,
        recorded_s,
    )
    assert composite.frames == len(video.times)
    assert abs(composite.duration_s - video.duration) < 0.1

    admitted = next(
        e for e in events if e.type == "participant.admitted" and e.data["participant"] == expert.id
    )
    left = next(e for e in events if e.type == "participant.left" and e.actor == str(clerk.id))
    join_s = seconds_into(composite, admitted.at)
    leave_s = seconds_into(composite, left.at)
    assert 5 < join_s < 9 and 12 < leave_s < 16, (join_s, leave_s)

    seats = {
        c.id: Seat(c.id, role)
        for c, role in ((host, "host"), (clerk, "clerk"), (applicant, "applicant"))
    }
    seats[expert.id] = Seat(expert.id, "expert")
    colours = {host.id: RED, clerk.id: GREEN, applicant.id: BLUE, expert.id: YELLOW}
    phases = [
        ((2.0, join_s - 0.5), [host.id, clerk.id, applicant.id]),
        ((join_s + 3, leave_s - 0.5), [host.id, clerk.id, applicant.id, expert.id]),
        ((leave_s + 1.5, 19.5), [host.id, applicant.id, expert.id]),
    ]
    for (start, end), present in phases:
        rects = video_rects([seats[i] for i in present])
        # The applicant films the site: theirs is the big tile.
        big = max(rects.items(), key=lambda item: item[1].w * item[1].h)[0]
        assert big == applicant.id
        for moment in np.linspace(start, end, 4):
            for member, rect in rects.items():
                seen = video.colour(moment, rect)
                assert close_to(seen, colours[member]), (moment, member, seen)

    # The layout changes when the roster does: the expert's cell appears at the admission,
    # the clerk's leaves at the departure (the bottom small cell in both cases).
    fourth = arrange([seats[i] for i in (host.id, clerk.id, applicant.id, expert.id)])[3].cell
    # (The recorder hears of a roster change through a pipe: on a loaded machine that takes a
    # moment, so the new layout is looked for 1.5 s after the logged instant.)
    assert max(video.colour(join_s - 0.3, fourth)) < 12  # empty: background
    assert max(video.colour(join_s + 1.5, fourth)) > 25  # a tile (placeholder or video)
    assert max(video.colour(leave_s - 0.3, fourth)) > 25
    assert max(video.colour(leave_s + 1.5, fourth)) < 12

    # Everyone's voice is in the mix while they are in the room, and only then.
    tones = {host.id: 440, clerk.id: 660, applicant.id: 880, expert.id: 550}
    for (start, end), present in phases:
        sound = video.samples(start, end)
        for member, frequency in tones.items():
            level = tone_level(sound, frequency)
            if member in present:
                assert level > 0.1, (member, frequency, level, start)
            else:
                assert level < 0.02, (member, frequency, level, start)
    assert np.max(np.abs(video.audio)) <= 1.0

    # The header shows the server's Beijing time of each frame: it changes once a second and
    # matches the text rendered for that frame's time better than the next second's.
    changes = [
        i
        for i in range(1, len(video.headers))
        if np.count_nonzero(
            np.abs(video.headers[i].astype(int) - video.headers[i - 1].astype(int)) > 64
        )
        > 20
    ]
    assert len(changes) in (19, 20, 21), changes
    assert all(13 <= b - a <= 17 for a, b in itertools.pairwise(changes)), changes
    t0 = composite.started_at
    header = overlay.Header(
        str(server.app[FONT]), server_case_no(composite), "食品经营许可", 1280, 40
    )
    base = parse(t0).timestamp()
    for index in (changes[2] + 7, changes[9] + 7, changes[15] + 7):
        at = base + video.times[index]
        decoded = video.headers[index][:, :640].astype(int)
        right = np.abs(decoded - header.patch(at)[:, :640]).mean()
        wrong = np.abs(decoded - header.patch(at + 1)[:, :640]).mean()
        assert right < wrong, (index, right, wrong)

    # The raw tracks: each participant's own VP8 and Opus, decodable.
    raw = {(r.participant_id, r.track): r for r in rows if r.kind == "raw"}
    assert set(raw) == {(m, k) for m in tones for k in ("audio", "video")}
    for (member, track), row in raw.items():
        assert row.state == "finished"
        raw_path = files.resolve_inside(server.settings.recordings_dir, row.path)
        assert files.sha256_file(raw_path) == row.sha256
        with av.open(str(raw_path)) as container:
            stream = container.streams[0]
            assert stream.codec_context.name in ("vp8", "opus", "libvpx", "libopus")
            frames = list(container.decode(stream))
        if track == "video":
            size = (640, 480) if member == applicant.id else (320, 240)
            assert len(frames) > 40 and (frames[-1].width, frames[-1].height) == size
            rgb = frames[-1].to_ndarray(format="rgb24")[size[1] // 3 :].reshape(-1, 3).mean(axis=0)
            assert close_to(tuple(rgb), colours[member]), (member, rgb)
        else:
            sound = np.concatenate([f.to_ndarray().mean(axis=0) for f in frames[-50:]])
            assert tone_level(sound, tones[member]) > 0.1
    finished = [e for e in events if e.type == "recording.finished"]
    assert {e.data["sha256"] for e in finished} == {r.sha256 for r in rows}


def server_case_no(recording) -> str:  # type: ignore[no-untyped-def]
    return recording.path.split("/")[0]

"""The media watchdog: whose video has stopped reaching the server, on the server's clock."""

from __future__ import annotations

from server.live.media import Publication
from server.live.watchdog import MediaWatchdog

VP8_FRAME = b"\x00" * 10


class Upstream:
    """A publisher's receiver as a publication sees it: something to ask for keyframes."""

    def request_keyframe(self) -> None:
        pass


def sending(publisher: int) -> Publication:
    publication = Publication(publisher, "video")
    publication.attach(Upstream())
    publication.sending = True
    return publication


def test_video_still_for_the_stall_time_is_stalled_and_moving_again_is_not():
    watchdog = MediaWatchdog(stall_after_s=20)
    camera = sending(7)
    camera.deliver(VP8_FRAME, 0)
    assert watchdog.check([camera], now=100) == set()
    assert watchdog.check([camera], now=119.9) == set()
    assert watchdog.check([camera], now=120) == {7}
    camera.deliver(VP8_FRAME, 3000)
    assert watchdog.check([camera], now=121) == set()
    assert watchdog.check([camera], now=140.9) == set()
    assert watchdog.check([camera], now=141) == {7}


def test_a_camera_that_never_sent_anything_stalls_too():
    watchdog = MediaWatchdog(stall_after_s=5)
    camera = sending(7)
    assert watchdog.check([camera], now=0) == set()
    assert watchdog.check([camera], now=5) == {7}


def test_what_is_not_expected_to_send_never_stalls():
    watchdog = MediaWatchdog(stall_after_s=5)
    inactive = sending(1)
    inactive.sending = False  # the browser answered without a camera
    detached = Publication(2, "video")  # dropped: the roster already says so
    detached.sending = True
    microphone = Publication(3, "audio")
    microphone.attach(Upstream())
    microphone.sending = True
    publications = [inactive, detached, microphone]
    assert watchdog.check(publications, now=0) == set()
    assert watchdog.check(publications, now=60) == set()


def test_a_reconnect_starts_the_clock_again():
    watchdog = MediaWatchdog(stall_after_s=5)
    camera = sending(7)
    watchdog.check([camera], now=0)
    camera.attach(Upstream())  # a new connection: a new epoch, no frame yet
    assert watchdog.check([camera], now=4) == set()
    assert watchdog.check([camera], now=8) == set()
    assert watchdog.check([camera], now=9) == {7}


def test_a_publisher_who_left_is_forgotten():
    watchdog = MediaWatchdog(stall_after_s=5)
    camera = sending(7)
    watchdog.check([camera], now=0)
    watchdog.check([], now=10)
    assert watchdog.check([camera], now=10) == set()  # seen afresh

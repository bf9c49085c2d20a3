"""The event-loop watch: a stuck loop is logged, while it is stuck, with the stack of its thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from server.live.watchdog import LoopWatch


class Reported(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.stuck = threading.Event()
        self.resumed = threading.Event()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
        if "stuck for" in record.getMessage():
            self.stuck.set()
        if "runs again" in record.getMessage():
            self.resumed.set()


def a_handler_that_blocks_the_loop(reported: threading.Event) -> bool:
    """Blocks the loop's thread until the watch has reported it (at most 30 s)."""
    deadline = time.monotonic() + 30
    while not reported.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    return reported.is_set()


async def test_a_stuck_loop_is_logged_with_where_it_is_stuck():
    handler = Reported()
    logger = logging.getLogger("server.live.watchdog")
    logger.addHandler(handler)
    watch = LoopWatch(0.2)
    watch.start()
    try:
        assert a_handler_that_blocks_the_loop(handler.stuck), "the stall was never reported"
        # While it was stuck, the report named the function holding the loop.
        [report] = [m for m in handler.messages if "stuck for" in m]
        assert "a_handler_that_blocks_the_loop" in report and "time.sleep" in report
        # Once the loop runs again it says how long the stall lasted.
        assert await asyncio.to_thread(handler.resumed.wait, 10)
    finally:
        watch.stop()
        logger.removeHandler(handler)
    assert len([m for m in handler.messages if "stuck for" in m]) == 1  # once per stall

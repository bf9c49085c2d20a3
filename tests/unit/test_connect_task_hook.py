"""Hook 10 (server/live/hooks.py): a connection closed while it starts leaves no "Task exception
was never retrieved" in the log; other failures of that task are still logged. Found by the
room protocol fuzzing (tests/fuzz), where people left while their connection started."""

from __future__ import annotations

import asyncio
import gc
import logging

import aiortc
import pytest
from aiortc.exceptions import InvalidStateError

from server.live import hooks


class RTCPeerConnection:
    """Stands in for aiortc's: the same class and method name, so the same task name."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.started = asyncio.Event()

    async def __connect(self) -> None:
        self.started.set()
        await asyncio.sleep(0.01)  # a transport starting meanwhile the connection closes
        raise self.error


def test_aiortc_still_connects_in_a_task_of_that_name():
    method = aiortc.RTCPeerConnection._RTCPeerConnection__connect  # type: ignore[attr-defined]
    assert method.__qualname__ == hooks.CONNECT_TASK


async def lost_task_reports(error: Exception, settle: bool) -> list[dict]:
    loop = asyncio.get_running_loop()
    reports: list[dict] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: reports.append(context))
    try:
        pc = RTCPeerConnection(error)
        task = asyncio.ensure_future(pc._RTCPeerConnection__connect())  # type: ignore[attr-defined]
        await pc.started.wait()
        if settle:
            hooks.settle_connect_tasks(pc)
        await asyncio.wait([task])
        del task
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    return reports


async def test_the_expected_failure_is_settled():
    assert await lost_task_reports(InvalidStateError("RTCIceTransport is closed"), True) == []


async def test_without_the_hook_it_is_reported_as_lost():
    reports = await lost_task_reports(InvalidStateError("RTCIceTransport is closed"), False)
    assert [r["message"] for r in reports] == ["Task exception was never retrieved"]


async def test_another_failure_is_still_logged(caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.ERROR, logger="server.live.hooks"):
        assert await lost_task_reports(OSError("network unreachable"), True) == []
    assert [r.message for r in caplog.records] == ["a connection failed while it started"]

"""What the fuzz tests share: a real server — in this process on an event loop of its own
thread, or as `python -m server` in a process of its own — driven from plain (hypothesis) test
functions, and the server's log, watched for anything unhandled.

The room protocol is fuzzed against a server process: its log then holds only the server's
words, while aiortc peers on the clients' side may log their own complaints in this one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import subprocess
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

from server import config as settings_module
from server.archive import ArchiveStore
from server.cases.links import Links, LinkSigner
from server.config import load_or_create_secret
from tests.support.server import (
    Invited,
    RunningServer,
    ServerProcess,
    invite,
    make_settings,
    running_server,
    write_config,
)

T = TypeVar("T")
RECORD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")  # server.__main__.setup_logging

# Bounded for CI (the whole fuzz set in a few minutes on 2 cores); KANYAN_FUZZ=long for a
# longer search, KANYAN_FUZZ_EXAMPLES=N to choose the size of every test's search.
PROFILE = os.environ.get("KANYAN_FUZZ", "ci")
SCALE = {"ci": 1, "long": 20}.get(PROFILE, 1)
settings.register_profile(
    "kanyan-fuzz",
    deadline=None,
    # CI runs are reproducible and leave nothing behind; long runs search afresh and keep
    # what they found in .hypothesis/.
    **({"derandomize": True, "database": None} if PROFILE == "ci" else {}),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
    print_blob=True,
)


def examples(ci: int) -> int:
    """How many examples a test tries: `ci` in CI, more in a long run."""
    explicit = os.environ.get("KANYAN_FUZZ_EXAMPLES")
    return int(explicit) if explicit else ci * SCALE


class ServerLog(logging.Handler):
    """Every record at ERROR or above, and any record carrying a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(record)

    def problems(self) -> list[str]:
        lines = []
        for record in self.records:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            lines.append(f"{record.name}: {text}")
        return lines

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "the server logged errors:\n" + "\n\n".join(problems[:5])


class LiveServer:
    """A real server (tests.support.server.running_server) on an event loop of its own thread,
    so that synchronous hypothesis tests can drive it and clients in that loop."""

    def __init__(self, tmp: Path, **sections: dict) -> None:
        self.settings = make_settings(tmp, **sections)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: RunningServer | None = None
        self.log = ServerLog()
        self._stack: contextlib.AsyncExitStack | None = None

    def __enter__(self) -> LiveServer:
        logging.getLogger().addHandler(self.log)
        self.thread.start()
        self.server = self.run(self._start())
        return self

    async def _start(self) -> RunningServer:
        self._stack = contextlib.AsyncExitStack()
        return await self._stack.enter_async_context(running_server(self.settings))

    def __exit__(self, *exc: object) -> None:
        try:
            if self._stack is not None:
                self.run(self._stack.aclose(), timeout=120)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(30)
            logging.getLogger().removeHandler(self.log)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return self.server.base_url


class LoopThread:
    """An event loop in a thread of its own, for clients that outlive one test function."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


class ProcessLog:
    """The errors and tracebacks in a server process's log file, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._problems: list[str] = []
        self._in_problem = False

    @property
    def records(self) -> list[str]:
        if self.path.exists():
            with open(self.path, "rb") as f:
                f.seek(self._offset)
                chunk = f.read()
            # Only whole lines: a traceback being written is read next time.
            end = chunk.rfind(b"\n") + 1
            self._offset += end
            for line in chunk[:end].decode("utf-8", "replace").splitlines():
                if RECORD.match(line):  # a new log record
                    self._in_problem = " ERROR " in line or " CRITICAL " in line
                    if self._in_problem:
                        self._problems.append(line)
                elif line.startswith("Traceback"):  # printed, not logged: still unhandled
                    self._in_problem = True
                    self._problems.append(line)
                elif self._in_problem:
                    self._problems[-1] += "\n" + line
        return self._problems

    def problems(self) -> list[str]:
        return list(self.records)

    def assert_clean(self) -> None:
        problems = self.problems()
        assert not problems, "the server logged errors:\n" + "\n\n".join(problems[:5])


class ProcessServer(LoopThread):
    """`python -m server` (tests.support.server.ServerProcess) with its archive open here for
    making invitations; clients run on this object's loop."""

    def __init__(self, tmp: Path, **sections: dict) -> None:
        super().__init__()
        self.tmp = tmp
        self.config = write_config(tmp, **sections)
        self.process = ServerProcess(self.config, tmp)
        self.log = ProcessLog(tmp / "server.log")
        self.archive: ArchiveStore | None = None
        self.links: Links | None = None

    def __enter__(self) -> ProcessServer:
        self.process.start()
        self.run(self._open())
        return self

    async def _open(self) -> None:
        settings = settings_module.load(self.config)
        self.archive = await ArchiveStore.open(settings.data_dir / "kanyan.sqlite3")
        secret = load_or_create_secret(
            settings.security.link_secret, settings.data_dir / "link-secret"
        )
        self.links = Links(settings, self.archive, LinkSigner(secret))

    def __exit__(self, *exc: object) -> None:
        try:
            if self.archive is not None:
                self.run(self.archive.close())
        finally:
            try:
                self.process.stop()
            except subprocess.TimeoutExpired:  # finalising recordings took too long: enough
                self.process.kill()
            self.stop()

    @property
    def base_url(self) -> str:
        return self.process.base_url

    async def invite(self, *roles: str) -> Invited:
        assert self.archive is not None and self.links is not None
        return await invite(self.archive, self.links, roles)

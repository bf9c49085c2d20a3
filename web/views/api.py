"""The JSON API for the provincial platform (docs/api.md, docs/openapi.json).

Every call carries `Authorization: Bearer <key>`; the key is checked before the body is read, so
an unauthenticated caller cannot make the server read (or buffer) anything.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from server.archive import ApiKey, Case, package
from server.cases.eligibility import GROUND_NAMES, Ground
from server.cases.intake import check_dishonesty_entries, decode_upload, parse_dishonesty_csv
from server.errors import BadRequest, NotFound, UnsupportedMediaType
from server.services import API_KEYS, ARCHIVE, CASES, EVIDENCE, STATUS_LINKS
from server.states import case_label

from ..pages import int_param, public_base
from ..streaming import send_package

OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
KEY = web.RequestKey("api_key", ApiKey)

ApiHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def api(handler: ApiHandler | None = None, *, query: tuple[str, ...] = ()) -> Any:
    """Authenticate by bearer key first, refuse query parameters the operation does not take
    (as unknown body fields are: `?mdoe=replace` must not quietly merge), then run the handler
    (web.middleware renders every error as JSON with the bad fields named)."""

    def decorate(handler: ApiHandler) -> ApiHandler:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            request[KEY] = await request.app[API_KEYS].authenticate(
                request.headers.get("Authorization")
            )
            unknown = sorted(set(request.query) - set(query))
            if unknown:
                raise BadRequest(
                    "不支持的查询参数 / unknown query parameters: " + ", ".join(unknown)[:200],
                    code="invalid",
                    details={name[:60]: "未知参数 / unknown parameter" for name in unknown[:20]},
                )
            return await handler(request)

        return wrapped

    return decorate(handler) if handler is not None else decorate


def _caller(request: web.Request) -> str:
    key: ApiKey = request[KEY]
    return f"apikey:{key.name}"


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise UnsupportedMediaType(
            "请求体应为 application/json / send the body as application/json"
        )
    raw = await request.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(
            f"请求体不是有效的 JSON / the body is not valid JSON: {exc}", code="invalid_json"
        ) from None
    except RecursionError:
        raise BadRequest(
            "请求体嵌套层数过多 / the body is nested too deeply", code="too_deep"
        ) from None
    if not _all_text(data):
        raise BadRequest(
            "请求体含无效字符（孤立的代理码位） / the body holds invalid characters "
            "(lone surrogates such as \\ud800)",
            code="invalid_json",
        )
    return data


def _all_text(data: Any) -> bool:
    """Whether every string in `data` is real text: JSON escapes may carry lone surrogates,
    which UTF-8 (the archive, the pages) cannot hold."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return False
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return True


async def case_json(request: web.Request, case: Case) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    exclusions = await archive.eligibility.exclusions(case.id, active_only=True)
    inspections = await archive.inspections.of_case(case.id)
    return {
        "id": case.id,
        "case_no": case.case_no,
        "application_no": case.application_no,
        "applicant": {
            "name": case.applicant_name,
            "id_no": case.applicant_id_no,
            "phone": case.applicant_phone,
        },
        "item": {"code": case.item_code, "name": case.item_name},
        "site_address": case.site_address,
        "section": case.section,
        "state": case.state,
        "state_name": case_label(case.state),
        "exclusions": [
            {
                "ground": row.ground,
                "ground_name": GROUND_NAMES[Ground(row.ground)][0],
                "reason": row.reason,
                "declared_by": row.declared_by,
                "declared_at": row.declared_at,
            }
            for row in exclusions
        ],
        "inspections": [
            {"seq": i.seq, "scheduled_at": i.scheduled_at, "state": i.state} for i in inspections
        ],
        "status_url": await request.app[STATUS_LINKS].url(case, public_base(request)),
        "created_at": case.created_at,
    }


@api
async def create_case(request: web.Request) -> web.Response:
    data = await _json_body(request)
    case, created = await request.app[CASES].intake(data, actor=_caller(request))
    response = web.json_response(await case_json(request, case), status=201 if created else 200)
    response.headers["Location"] = f"/api/v1/cases/{case.id}"
    return response


@api
async def get_case(request: web.Request) -> web.Response:
    case = await _api_case(request)
    return web.json_response(await case_json(request, case))


@api(query=("mode",))
async def import_dishonesty(request: web.Request) -> web.Response:
    if "mode" in request.query:  # documented for CSV; never silently ignored
        _check_mode(request.query["mode"])
    if request.content_type == "text/csv":
        mode = request.query.get("mode", "merge")
        _check_mode(mode)
        rows = parse_dishonesty_csv(decode_upload(await request.read()))
    else:
        data = await _json_body(request)
        if not isinstance(data, dict):
            raise BadRequest(
                "请求体应为 JSON 对象 / the body must be a JSON object", code="invalid"
            )
        mode = data.get("mode", "merge")
        entries = data.get("entries")
        fields = {}
        unknown = sorted(set(data) - {"mode", "entries"})
        for key in unknown:
            fields[key] = "未知字段 / unknown field"
        if not isinstance(entries, list):
            fields["entries"] = "必填，应为数组 / required, an array"
        if fields:
            raise BadRequest("名单格式有误 / invalid list", code="invalid", details=fields)
        _check_mode(mode)
        rows = check_dishonesty_entries(entries or [])
    result = await request.app[CASES].import_dishonesty(
        rows, replace=mode == "replace", source=f"api:{request[KEY].name}", actor=_caller(request)
    )
    _, total = await request.app[ARCHIVE].eligibility.dishonesty(limit=1)
    return web.json_response(
        {
            "import_id": result.id,
            "mode": result.mode,
            "added": result.added,
            "updated": result.updated,
            "removed": result.removed,
            "listed": total,
        }
    )


def _check_mode(mode: object) -> None:
    if mode not in ("merge", "replace"):
        raise BadRequest(
            "mode 应为 merge 或 replace / mode must be merge or replace",
            code="invalid",
            details={"mode": "merge | replace"},
        )


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(json.loads(OPENAPI.read_text()))


FINDING_KINDS = {
    "faked_video": "视频造假",
    "site_differs": "现场与视频不符",
    "other": "其他",
}


async def _api_case(request: web.Request) -> Case:
    try:
        # Beyond the archive's integer range an id names nothing (and SQLite would refuse it).
        case_id = int_param(request.match_info["case"])
    except NotFound:
        raise NotFound("案件不存在 / no such case") from None
    return await request.app[ARCHIVE].cases.get(case_id)


@api
async def record_finding(request: web.Request) -> web.Response:
    """A regulator records what it found about a concluded case (审管衔接); staff review it."""
    case = await _api_case(request)
    data = await _json_body(request)
    fields: dict[str, str] = {}
    if not isinstance(data, dict):
        raise BadRequest("请求体应为 JSON 对象 / the body must be a JSON object", code="invalid")
    for key in sorted(set(data) - {"kind", "text"}):
        fields[key] = "未知字段 / unknown field"
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in FINDING_KINDS:
        fields["kind"] = "应为 " + " | ".join(FINDING_KINDS)
    text = data.get("text")
    if not isinstance(text, str) or not 2 <= len(text.strip()) <= 1000:
        fields["text"] = "必填，2–1000 字 / required, 2–1000 characters"
    if fields:
        raise BadRequest("核查发现有误 / invalid finding", code="invalid", details=fields)
    finding = await request.app[ARCHIVE].findings.record(
        case.id, str(kind), str(text).strip(), source=_caller(request)
    )
    return web.json_response(
        {
            "id": finding.id,
            "case_no": case.case_no,
            "kind": finding.kind,
            "state": finding.state,
            "at": finding.at,
        },
        status=201,
    )


@api
async def record_pdf(request: web.Request) -> web.StreamResponse:
    """The newest inspection record (勘验笔录) of the case's newest concluded inspection."""
    case = await _api_case(request)
    archive = request.app[ARCHIVE]
    for inspection in reversed(await archive.inspections.of_case(case.id)):
        records = await archive.records.of_inspection(inspection.id)
        if records:
            try:
                path = await request.app[EVIDENCE].fetch(records[-1].pdf_path)
            except (FileNotFoundError, ValueError):
                raise NotFound("勘验笔录文件缺失 / the record's file is missing") from None
            name = f"{case.case_no}-{inspection.seq}-record-v{records[-1].version}.pdf"
            await archive.events.append(
                "file.downloaded",
                actor=_caller(request),
                case_id=case.id,
                inspection_id=inspection.id,
                data={"file": records[-1].pdf_path, "range": None},
            )
            return web.FileResponse(
                path,
                headers={
                    "Content-Type": "application/pdf",
                    "Content-Disposition": f'attachment; filename="{name}"',
                },
            )
    raise NotFound("本案尚无勘验笔录 / this case has no inspection record yet", code="no_record")


@api
async def package_zip(request: web.Request) -> web.StreamResponse:
    """The whole case as a verified package (manifest.json, every file, the events)."""
    case = await _api_case(request)
    archive = request.app[ARCHIVE]
    planned = await package.plan(archive, case.id, actor=_caller(request))
    name = f"{case.case_no}.zip"
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip",
            "Content-Disposition": (
                f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(name)}"
            ),
            "Cache-Control": "no-store",
            # Not the length (the ZIP is made as it goes); the files inside add up to this.
            "X-Kanyan-Content-Bytes": str(planned.total_bytes),
        }
    )
    return await send_package(
        request,
        response,
        archive,
        planned,
        request.app[EVIDENCE].open_sync,
        case_id=case.id,
        actor=_caller(request),
        via="api",
    )

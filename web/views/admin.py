"""Staff pages for the catalog, the dishonesty list, staff accounts and API keys."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField

from server.cases.catalog import item_from_form
from server.cases.eligibility import GROUND_NAMES, ITEM_GROUNDS
from server.cases.intake import decode_upload, parse_dishonesty_csv
from server.errors import BadRequest, NotFound, UserError
from server.services import ACCOUNTS, API_KEYS, ARCHIVE, CASES, CATALOG, SETTINGS
from server.staff.roles import STAFF_ROLE_NAMES, StaffAction

from ..pages import helpers, int_param, page
from ..staff import actor_of, current, staff_page

MAX_UPLOAD_BYTES = 8 * 1024 * 1024


# -- catalog ------------------------------------------------------------------------------------


@staff_page(StaffAction.VIEW_CATALOG)
async def catalog_list(request: web.Request) -> web.StreamResponse:
    return page(
        request,
        "staff/catalog.html",
        {"items": await request.app[CATALOG].items(), "notice": request.query.get("notice", "")},
    )


@staff_page(StaffAction.VIEW_CATALOG)
async def catalog_item(request: web.Request) -> web.StreamResponse:
    versions = await request.app[CATALOG].versions(request.match_info["code"])
    return page(
        request,
        "staff/catalog_item.html",
        {"current": versions[0], "versions": versions, **helpers(request)},
    )


def _item_form(item: Any) -> dict[str, str]:
    return {
        "code": item.code,
        "name": item.name,
        "video_allowed": "on" if item.video_allowed else "",
        "checklist": "\n".join(item.checklist),
        "min_duration_s": str(item.shooting.min_duration_s),
        "min_width": str(item.shooting.min_width),
        "min_height": str(item.shooting.min_height),
        "must_show": "\n".join(item.shooting.must_show),
        "exclusion_ground": item.exclusion_ground,
        "exclusion_reason": item.exclusion_reason,
        "retention_years": str(item.retention_years or ""),
    }


def _edit_context(form: dict[str, str], *, is_new: bool) -> dict[str, Any]:
    return {
        "form": form,
        "is_new": is_new,
        "item_grounds": [(str(g), GROUND_NAMES[g]) for g in ITEM_GROUNDS],
    }


@staff_page(StaffAction.EDIT_CATALOG)
async def catalog_new(request: web.Request) -> web.StreamResponse:
    template = {
        "video_allowed": "on",
        "checklist": "申请人（或委托代理人）出示身份证件并自我介绍，承诺所展示的场所真实、"
        "与申请材料一致\n",
        "min_duration_s": "600",
        "min_width": "1280",
        "min_height": "720",
    }
    return page(request, "staff/catalog_edit.html", _edit_context(template, is_new=True))


@staff_page(StaffAction.EDIT_CATALOG)
async def catalog_edit(request: web.Request) -> web.StreamResponse:
    current_version = await request.app[CATALOG].current(request.match_info["code"])
    return page(
        request,
        "staff/catalog_edit.html",
        _edit_context(_item_form(current_version.item), is_new=False),
    )


@staff_page(StaffAction.EDIT_CATALOG)
async def catalog_save(request: web.Request) -> web.StreamResponse:
    posted = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    is_new = posted.get("is_new") == "1"
    catalog = request.app[CATALOG]
    item, errors = item_from_form(posted)
    if item is not None:
        exists = item.code in await catalog.codes()
        if is_new and exists:
            errors = {"code": f"代码 {item.code} 已存在 / the code {item.code} is taken"}
        elif not is_new and not exists:
            raise NotFound(f"事项目录中没有 {item.code} / no catalog item {item.code}")
    if item is None or errors:
        return page(
            request,
            "staff/catalog_edit.html",
            {**_edit_context(posted, is_new=is_new), "errors": errors},
            status=400,
        )
    try:
        await catalog.save(item, note=posted.get("note", ""), actor=actor_of(request))
    except UserError as exc:
        return page(
            request,
            "staff/catalog_edit.html",
            {**_edit_context(posted, is_new=is_new), "error": exc.message},
            status=exc.status,
        )
    raise web.HTTPSeeOther(f"/catalog/{item.code}")


# -- dishonesty list ---------------------------------------------------------------------------


async def _dishonesty_context(request: web.Request) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    query = request.query.get("q", "").strip()[:60]
    entries, total = await archive.eligibility.dishonesty(query=query, limit=200)
    return {
        "entries": entries,
        "total": total,
        "q": query,
        "imports": await archive.eligibility.dishonesty_imports(),
        **helpers(request),
    }


@staff_page(StaffAction.VIEW_DISHONESTY)
async def dishonesty(request: web.Request) -> web.StreamResponse:
    return page(request, "staff/dishonesty.html", await _dishonesty_context(request))


@staff_page(StaffAction.IMPORT_DISHONESTY)
async def dishonesty_import(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    upload = form.get("file")
    replace = form.get("mode") == "replace"
    try:
        if not isinstance(upload, FileField) or not upload.filename:
            raise BadRequest("请选择 CSV 文件 / choose a CSV file", code="invalid")
        raw = upload.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            raise BadRequest("文件过大（上限 8 MB） / the file is over 8 MB", code="invalid")
        rows = parse_dishonesty_csv(decode_upload(raw))
        result = await request.app[CASES].import_dishonesty(
            rows, replace=replace, source=f"upload:{upload.filename}", actor=actor_of(request)
        )
    except BadRequest as exc:
        return page(
            request,
            "staff/dishonesty.html",
            {**await _dishonesty_context(request), "error": exc.message},
            status=400,
        )
    return page(
        request,
        "staff/dishonesty.html",
        {**await _dishonesty_context(request), "result": result},
    )


# -- staff accounts ----------------------------------------------------------------------------


async def _accounts_context(request: web.Request) -> dict[str, Any]:
    archive = request.app[ARCHIVE]
    return {
        "accounts": await archive.staff.accounts(),
        "roles": [(str(role), names) for role, names in STAFF_ROLE_NAMES.items()],
        "known_sections": await archive.cases.sections(),
        # Who works on their own sections' cases only, and so needs a section to see any.
        "bound_roles": ["clerk", "inspector"]
        if request.app[SETTINGS].staff.inspectors_by_section
        else ["clerk"],
        **helpers(request),
    }


async def _accounts_page(
    request: web.Request, *, extra: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    context = {**await _accounts_context(request), **(extra or {})}
    return page(request, "staff/accounts.html", context, status=status)


@staff_page(StaffAction.MANAGE_ACCOUNTS)
async def accounts(request: web.Request) -> web.StreamResponse:
    return await _accounts_page(request, extra={"notice": request.query.get("notice", "")})


@staff_page(StaffAction.MANAGE_ACCOUNTS)
async def create_account(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        account, password = await request.app[ACCOUNTS].create(
            str(form.get("username", "")),
            str(form.get("role", "")),
            display_name=str(form.get("display_name", "")),
            sections=[str(value) for value in form.getall("sections", [])],
            actor=actor_of(request),
        )
    except (BadRequest, UserError) as exc:
        return await _accounts_page(
            request,
            extra={
                "error": exc.message,
                "errors": exc.details if isinstance(exc.details, dict) else {},
                "form": dict(form),
            },
            status=exc.status,
        )
    return await _accounts_page(request, extra={"issued": (account, password)})


@staff_page(StaffAction.MANAGE_ACCOUNTS)
async def set_sections(request: web.Request) -> web.StreamResponse:
    """The sections (业务股室) whose cases the person works on; replaces the earlier ones."""
    account = await _target_account(request)
    form = await request.post()
    if "sections" not in form:
        raise BadRequest("请填写业务股室 / give the sections", code="invalid")
    try:
        await request.app[ACCOUNTS].set_sections(
            account, [str(value) for value in form.getall("sections")], actor=actor_of(request)
        )
    except BadRequest as exc:
        return await _accounts_page(
            request,
            extra={"error": exc.message, "errors": exc.details or {}},
            status=exc.status,
        )
    raise web.HTTPSeeOther(f"/admin/accounts?notice=sections_saved#account-{account.id}")


async def _target_account(request: web.Request) -> Any:
    return await request.app[ARCHIVE].staff.get(int_param(request.match_info["account"]))


@staff_page(StaffAction.MANAGE_ACCOUNTS)
async def reset_account(request: web.Request) -> web.StreamResponse:
    account = await _target_account(request)
    password = await request.app[ACCOUNTS].reset_password(account, actor=actor_of(request))
    return await _accounts_page(request, extra={"issued": (account, password)})


@staff_page(StaffAction.MANAGE_ACCOUNTS)
async def toggle_account(request: web.Request) -> web.StreamResponse:
    account = await _target_account(request)
    me = current(request)
    disable = request.match_info["action"] == "disable"
    if disable and me is not None and account.id == me.id:
        raise UserError("不能停用自己的账号 / you cannot disable your own account")
    await request.app[ARCHIVE].staff.set_disabled(account.id, disable, actor=actor_of(request))
    raise web.HTTPSeeOther("/admin/accounts")


# -- API keys ----------------------------------------------------------------------------------


async def _keys_context(request: web.Request) -> dict[str, Any]:
    return {"keys": await request.app[ARCHIVE].staff.keys(), **helpers(request)}


@staff_page(StaffAction.MANAGE_API_KEYS)
async def api_keys(request: web.Request) -> web.StreamResponse:
    return page(request, "staff/api_keys.html", await _keys_context(request))


@staff_page(StaffAction.MANAGE_API_KEYS)
async def create_api_key(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        record, key = await request.app[API_KEYS].create(
            str(form.get("name", "")), actor=actor_of(request)
        )
    except BadRequest as exc:
        return page(
            request,
            "staff/api_keys.html",
            {**await _keys_context(request), "error": exc.message},
            status=400,
        )
    return page(
        request,
        "staff/api_keys.html",
        {**await _keys_context(request), "issued": (record, key)},
    )


@staff_page(StaffAction.MANAGE_API_KEYS)
async def revoke_api_key(request: web.Request) -> web.StreamResponse:
    record = await request.app[ARCHIVE].staff.key(int_param(request.match_info["key"]))
    await request.app[ARCHIVE].staff.revoke_key(record.id, actor=actor_of(request))
    raise web.HTTPSeeOther("/admin/api-keys")

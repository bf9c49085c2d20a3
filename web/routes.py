"""URL map: the only place that knows which path goes to which view."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from . import metrics, staff
from .middleware import error_pages, security_headers
from .render import setup_templates
from .views import (
    admin,
    api,
    archive,
    cases,
    downloads,
    live,
    login,
    notices,
    outcome,
    packages,
    review,
    room,
    schedule,
    statistics,
    status,
    uploads,
)

STATIC = Path(__file__).parent / "static"
# Ids in addresses: at most 18 digits, so every id a route passes on fits the archive's 64-bit
# integers; a longer number matches no route and is a plain 404.
ID = "[0-9]{1,18}"


def ident(name: str) -> str:
    """The path part `{name}` that matches an id."""
    return "{" + name + ":" + ID + "}"


CASE = ident("case")
INSPECTION = ident("inspection")
RECORDING = ident("recording")


def setup(app: web.Application) -> None:
    setup_templates(app)
    # staff_sessions runs inside error_pages, so a refused form renders as an error page.
    app.middlewares.extend([security_headers, error_pages, staff.staff_sessions])
    r = app.router
    r.add_get("/", room.index)
    r.add_get("/healthz", room.healthz)
    r.add_get("/metrics", metrics.serve)
    r.add_get(f"/room/{INSPECTION}/{{token}}", room.room_page)
    r.add_get(
        f"/room/{INSPECTION}/{{token}}/screenshots/{ident('screenshot')}.jpg", room.screenshot_image
    )
    r.add_get("/ws", room.websocket)
    r.add_static("/static", STATIC, name="static", append_version=True)

    r.add_get("/login", login.login_page)
    r.add_post("/login", login.login)
    r.add_post("/logout", login.logout)
    r.add_get("/account/password", login.password_page)
    r.add_post("/account/password", login.change_password)

    r.add_get("/dashboard", cases.dashboard)
    r.add_get("/cases", cases.case_list)
    r.add_post("/cases", cases.create_case)
    r.add_get("/cases/new", cases.new_case)
    r.add_get(f"/cases/{CASE}", cases.case_page)
    r.add_post(f"/cases/{CASE}/exclusions", cases.declare_exclusion)
    r.add_post(f"/exclusions/{ident('exclusion')}/withdraw", cases.withdraw_exclusion)
    r.add_get(f"/cases/{CASE}/schedule", schedule.schedule_page)
    r.add_post(f"/cases/{CASE}/inspections", schedule.schedule)
    r.add_post(f"/cases/{CASE}/status-link", schedule.renew_status_link)
    r.add_get(f"/inspections/{INSPECTION}/live", live.live_stream)
    r.add_post(f"/inspections/{INSPECTION}/reschedule", schedule.reschedule)
    r.add_post(f"/inspections/{INSPECTION}/cancel", schedule.cancel)
    r.add_post(f"/inspections/{INSPECTION}/members", schedule.add_member)
    r.add_get(f"/inspections/{INSPECTION}/notice", schedule.applicant_notice)
    r.add_post(f"/invitees/{ident('invitee')}/revoke", schedule.revoke_member)
    r.add_post(f"/invitees/{ident('invitee')}/reminders", notices.set_reminders)
    r.add_post(f"/messages/{ident('message')}/resend", notices.resend)
    r.add_post(f"/findings/{ident('finding')}/review", notices.review_finding)
    r.add_post(f"/cases/{CASE}/close", cases.close_case)
    r.add_post(f"/inspections/{INSPECTION}/record", cases.regenerate_record)
    r.add_get(f"/inspections/{INSPECTION}/video", review.video_file)
    r.add_get(f"/inspections/{INSPECTION}/video/{{kind:poster|strip}}.jpg", review.video_picture)
    r.add_get(f"/inspections/{INSPECTION}/review", review.review_state)
    r.add_post(f"/inspections/{INSPECTION}/review/current", review.set_current)
    r.add_post(f"/inspections/{INSPECTION}/review/marks", review.mark)
    r.add_post(f"/inspections/{INSPECTION}/review/notes", review.note)
    r.add_post(f"/inspections/{INSPECTION}/review/screenshots", review.screenshot)
    r.add_post(f"/inspections/{INSPECTION}/review/conclusion", review.conclude)
    r.add_post(f"/inspections/{INSPECTION}/review/ask-again", review.ask_again)
    r.add_get(f"/screenshots/{ident('screenshot')}.jpg", outcome.screenshot_file)
    r.add_get(f"/records/{ident('record')}.pdf", outcome.record_pdf)
    r.add_get(f"/records/{ident('record')}.html", outcome.record_html)
    r.add_get(f"/inspections/{INSPECTION}/recordings/{RECORDING}", downloads.recording_file)
    r.add_get(
        f"/inspections/{INSPECTION}/recordings/{RECORDING}/original", downloads.recording_original
    )

    r.add_get("/archive", archive.search)
    r.add_get(f"/archive/cases/{CASE}", archive.case_page)
    r.add_post(f"/archive/cases/{CASE}/annotations", archive.annotate)
    r.add_post(f"/archive/cases/{CASE}/delete-files", archive.delete_files)
    r.add_get(f"/archive/cases/{CASE}/package", packages.export)
    r.add_get(f"/archive/inspections/{INSPECTION}", archive.inspection_page)
    r.add_get("/archive/verify", packages.verify_page)
    r.add_post("/archive/verify", packages.verify_upload)
    r.add_post("/archive/verify-files", packages.start_file_check)
    r.add_get("/statistics", statistics.statistics_page)
    r.add_get("/statistics.csv", statistics.statistics_csv)
    r.add_get("/s/{token}", status.status_page)
    r.add_post("/s/{token}/confirm", status.confirm)
    r.add_post("/s/{token}/reinspection", status.request_reinspection)
    r.add_route("OPTIONS", "/s/{token}/uploads", uploads.options)
    r.add_post("/s/{token}/uploads", uploads.create)
    r.add_route("HEAD", "/s/{token}/uploads/{upload}", uploads.head)
    r.add_patch("/s/{token}/uploads/{upload}", uploads.patch)
    r.add_delete("/s/{token}/uploads/{upload}", uploads.delete)
    r.add_get("/s/{token}/uploads/{upload}", uploads.status, allow_head=False)

    r.add_get("/catalog", admin.catalog_list)
    r.add_post("/catalog", admin.catalog_save)
    r.add_get("/catalog/new", admin.catalog_new)
    r.add_get(r"/catalog/{code:[A-Z][A-Z0-9-]{1,31}}", admin.catalog_item)
    r.add_get(r"/catalog/{code:[A-Z][A-Z0-9-]{1,31}}/edit", admin.catalog_edit)
    r.add_get("/dishonesty", admin.dishonesty)
    r.add_post("/dishonesty/import", admin.dishonesty_import)
    r.add_get("/admin/accounts", admin.accounts)
    r.add_post("/admin/accounts", admin.create_account)
    r.add_post(f"/admin/accounts/{ident('account')}/reset", admin.reset_account)
    r.add_post(f"/admin/accounts/{ident('account')}/sections", admin.set_sections)
    r.add_post(
        f"/admin/accounts/{ident('account')}/{{action:disable|enable}}", admin.toggle_account
    )
    r.add_get("/admin/api-keys", admin.api_keys)
    r.add_post("/admin/api-keys", admin.create_api_key)
    r.add_post(f"/admin/api-keys/{ident('key')}/revoke", admin.revoke_api_key)
    r.add_get("/admin/notices", notices.admin_notices)
    r.add_post("/admin/webhooks", notices.add_webhook)
    r.add_post(f"/admin/webhooks/{ident('webhook')}/disable", notices.disable_webhook)

    r.add_post("/api/v1/cases", api.create_case)
    r.add_get(f"/api/v1/cases/{CASE}", api.get_case)
    r.add_post(f"/api/v1/cases/{CASE}/findings", api.record_finding)
    r.add_get(f"/api/v1/cases/{CASE}/record.pdf", api.record_pdf)
    r.add_get(f"/api/v1/cases/{CASE}/package.zip", api.package_zip)
    r.add_post("/api/v1/dishonesty", api.import_dishonesty)
    r.add_get("/api/v1/openapi.json", api.openapi)

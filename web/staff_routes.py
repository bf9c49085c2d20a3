"""URL map of the staff pages, the applicant's status page and the platform API."""

from __future__ import annotations

from aiohttp import web

from . import admin_views, api, case_views, staff

CASE = r"{case:\d+}"
INSPECTION = r"{inspection:\d+}"


def setup(app: web.Application) -> None:
    # Inside error_pages, so a refused form renders as an error page.
    app.middlewares.append(staff.staff_sessions)
    r = app.router
    r.add_get("/login", staff.login_page)
    r.add_post("/login", staff.login)
    r.add_post("/logout", staff.logout)
    r.add_get("/account/password", staff.password_page)
    r.add_post("/account/password", staff.change_password)

    r.add_get("/dashboard", case_views.dashboard)
    r.add_get("/cases", case_views.case_list)
    r.add_post("/cases", case_views.create_case)
    r.add_get("/cases/new", case_views.new_case)
    r.add_get(f"/cases/{CASE}", case_views.case_page)
    r.add_post(f"/cases/{CASE}/exclusions", case_views.declare_exclusion)
    r.add_post(r"/exclusions/{exclusion:\d+}/withdraw", case_views.withdraw_exclusion)
    r.add_get(f"/cases/{CASE}/schedule", case_views.schedule_page)
    r.add_post(f"/cases/{CASE}/inspections", case_views.schedule)
    r.add_post(f"/cases/{CASE}/status-link", case_views.renew_status_link)
    r.add_post(f"/inspections/{INSPECTION}/reschedule", case_views.reschedule)
    r.add_post(f"/inspections/{INSPECTION}/cancel", case_views.cancel)
    r.add_post(f"/inspections/{INSPECTION}/members", case_views.add_member)
    r.add_get(f"/inspections/{INSPECTION}/notice", case_views.applicant_notice)
    r.add_post(r"/invitees/{invitee:\d+}/revoke", case_views.revoke_member)
    r.add_get("/s/{token}", case_views.status_page)

    r.add_get("/catalog", admin_views.catalog_list)
    r.add_post("/catalog", admin_views.catalog_save)
    r.add_get("/catalog/new", admin_views.catalog_new)
    r.add_get(r"/catalog/{code:[A-Z][A-Z0-9-]{1,31}}", admin_views.catalog_item)
    r.add_get(r"/catalog/{code:[A-Z][A-Z0-9-]{1,31}}/edit", admin_views.catalog_edit)
    r.add_get("/dishonesty", admin_views.dishonesty)
    r.add_post("/dishonesty/import", admin_views.dishonesty_import)
    r.add_get("/admin/accounts", admin_views.accounts)
    r.add_post("/admin/accounts", admin_views.create_account)
    r.add_post(r"/admin/accounts/{account:\d+}/reset", admin_views.reset_account)
    r.add_post(r"/admin/accounts/{account:\d+}/{action:disable|enable}", admin_views.toggle_account)
    r.add_get("/admin/api-keys", admin_views.api_keys)
    r.add_post("/admin/api-keys", admin_views.create_api_key)
    r.add_post(r"/admin/api-keys/{key:\d+}/revoke", admin_views.revoke_api_key)

    r.add_post("/api/v1/cases", api.create_case)
    r.add_get(rf"/api/v1/cases/{CASE}", api.get_case)
    r.add_post("/api/v1/dishonesty", api.import_dishonesty)
    r.add_get("/api/v1/openapi.json", api.openapi)

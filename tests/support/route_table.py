"""The table tests/integration/test_permissions.py checks: every route the app serves, the
path it is called with, and the status each kind of caller must get."""

from __future__ import annotations

ROLES = ("admin", "inspector", "clerk", "archivist", "leader")
# Link holders: a browser that opened the applicant's status page, and one in an observer's room.
LINK_HOLDERS = ("applicant", "observer")
CALLERS = ("anonymous", *LINK_HOLDERS, *ROLES, "one_time", "api_key", "other_clerk")
OTHER_SECTION = "卫生审批股"


def staff(ok: int, *allowed: str, fresh: int = 303, case: bool = False) -> dict[str, int]:
    """A staff route: its status for the allowed roles, 403 for other roles, a redirect to the
    login for callers without a session and to the password form for a one-time password.
    `case`: the route is about one case, which a clerk of another section may not know of
    (404, once their role is allowed)."""
    expected = {role: ok if role in allowed else 403 for role in ROLES}
    links = dict.fromkeys(LINK_HOLDERS, 303)
    other_clerk = 404 if case and "clerk" in allowed else expected["clerk"]
    return {
        **expected,
        **links,
        "anonymous": 303,
        "api_key": 303,
        "one_time": fresh,
        "other_clerk": other_clerk,
    }


def everyone(status: int, **exceptions: int) -> dict[str, int]:
    return {**dict.fromkeys(CALLERS, status), **exceptions}


def api(ok: int) -> dict[str, int]:
    return {**dict.fromkeys(CALLERS, 401), "api_key": ok}


ALL = ROLES
CASE_ROLES = ("inspector", "clerk", "archivist")
EVIDENCE_ROLES = (*CASE_ROLES, "admin")  # screenshots and records: the case page or the archive
ARCHIVE_ALL = ("archivist", "admin")  # every case in the archive
ARCHIVE_OWN = (*ARCHIVE_ALL, "inspector")  # the inspector's own case


def table(ids: dict[str, str]) -> list[tuple[str, str, str, object, dict[str, int]]]:
    """(method, route, path, body, expected status per caller). Forms are posted empty (with a
    valid CSRF token): an allowed caller gets the form's own 400, so nothing is changed by
    accident, except where the action needs no input."""
    c, i, x, v = ids["case"], ids["inspection"], ids["exclusion"], ids["invitee"]
    room, status, rv = ids["room"], ids["status"], ids["reviewing"]
    # The archive: the inspector's own archived case, and another's.
    mc, mi, mr, mo = ids["mine_case"], ids["mine_inspection"], ids["mine_rec"], ids["mine_orig"]
    oc, oi, orr, oo = ids["other_case"], ids["other_insp"], ids["other_rec"], ids["other_orig"]
    return [
        ("GET", "/", "/", None, everyone(302)),
        ("GET", "/healthz", "/healthz", None, everyone(200)),
        # Loopback may read the metrics without a token, not with a wrong one (the API key).
        ("GET", "/metrics", "/metrics", None, everyone(200, api_key=403)),  # a wrong token
        # The case page's live view; an ended inspection's stream says so and ends.
        (
            "GET",
            "/inspections/{inspection}/live",
            f"/inspections/{mi}/live",
            None,
            staff(200, "inspector", "clerk", "archivist", case=True),
        ),
        (
            "GET",
            "/login",
            "/login",
            None,
            everyone(303, anonymous=200, api_key=200, applicant=200, observer=200),
        ),
        ("POST", "/login", "/login", {}, everyone(401)),
        ("GET", "/account/password", "/account/password", None, staff(200, *ALL, fresh=200)),
        ("POST", "/account/password", "/account/password", {}, staff(400, *ALL, fresh=400)),
        ("GET", "/dashboard", "/dashboard", None, staff(200, *ALL)),
        ("GET", "/cases", "/cases", None, staff(200, *CASE_ROLES)),
        ("POST", "/cases", "/cases", {}, staff(400, "inspector", "clerk")),
        ("GET", "/cases/new", "/cases/new", None, staff(200, "inspector", "clerk")),
        ("GET", "/cases/{case}", f"/cases/{c}", None, staff(200, *CASE_ROLES, case=True)),
        (
            "POST",
            "/cases/{case}/exclusions",
            f"/cases/{c}/exclusions",
            {},
            staff(400, "inspector", "clerk", case=True),
        ),
        (
            "POST",
            "/exclusions/{exclusion}/withdraw",
            f"/exclusions/{x}/withdraw",
            {},
            staff(400, "inspector", case=True),
        ),
        (
            "GET",
            "/cases/{case}/schedule",
            f"/cases/{c}/schedule",
            None,
            staff(200, "inspector", case=True),
        ),
        (
            "POST",
            "/cases/{case}/inspections",
            f"/cases/{c}/inspections",
            {},
            staff(400, "inspector", case=True),
        ),
        (
            "POST",
            "/cases/{case}/status-link",
            f"/cases/{ids['excluded_case']}/status-link",
            {},
            staff(303, "inspector", case=True),
        ),
        (
            "POST",
            "/inspections/{inspection}/reschedule",
            f"/inspections/{i}/reschedule",
            {},
            staff(400, "inspector", case=True),
        ),
        (
            "POST",
            "/inspections/{inspection}/cancel",
            f"/inspections/{i}/cancel",
            {},
            staff(400, "inspector", case=True),
        ),
        (
            "POST",
            "/inspections/{inspection}/members",
            f"/inspections/{i}/members",
            {},
            staff(400, "inspector", case=True),
        ),
        (
            "GET",
            "/inspections/{inspection}/notice",
            f"/inspections/{i}/notice",
            None,
            staff(200, "inspector", case=True),
        ),
        (
            "POST",
            "/invitees/{invitee}/revoke",
            f"/invitees/{v}/revoke",
            {},
            staff(303, "inspector", case=True),
        ),
        # A scheduled case: nothing to close, no record to make yet.
        (
            "POST",
            "/cases/{case}/close",
            f"/cases/{c}/close",
            {},
            staff(409, "inspector", "clerk", case=True),
        ),
        (
            "POST",
            "/inspections/{inspection}/record",
            f"/inspections/{i}/record",
            {},
            staff(409, "inspector", case=True),
        ),
        (
            "GET",
            "/screenshots/{screenshot}.jpg",
            f"/screenshots/{ids['screenshot']}.jpg",
            None,
            staff(200, *EVIDENCE_ROLES, case=True),
        ),
        (
            "GET",
            "/records/{record}.pdf",
            f"/records/{ids['record']}.pdf",
            None,
            staff(200, *EVIDENCE_ROLES, case=True),
        ),
        (
            "GET",
            "/records/{record}.html",
            f"/records/{ids['record']}.html",
            None,
            staff(200, *EVIDENCE_ROLES, case=True),
        ),
        # The review of a self-recorded video: watched by every role that sees cases; marked
        # by inspectors and the group's members by account (the clerk holds a seat); concluded
        # by inspectors. Posted empty, an allowed caller gets the JSON endpoint's 400.
        (
            "GET",
            "/inspections/{inspection}/video",
            f"/inspections/{rv}/video",
            None,
            staff(200, *CASE_ROLES, case=True),
        ),
        (
            "GET",
            "/inspections/{inspection}/video/{kind}.jpg",
            f"/inspections/{rv}/video/strip.jpg",
            None,
            staff(200, *CASE_ROLES, case=True),
        ),
        (
            "GET",
            "/inspections/{inspection}/review",
            f"/inspections/{rv}/review",
            None,
            staff(200, *CASE_ROLES, case=True),
        ),
        *(
            (
                "POST",
                f"/inspections/{{inspection}}/review/{action}",
                f"/inspections/{rv}/review/{action}",
                {},
                staff(400, "inspector", "clerk", case=True),
            )
            for action in ("current", "marks", "notes", "screenshots")
        ),
        *(
            (
                "POST",
                f"/inspections/{{inspection}}/review/{action}",
                f"/inspections/{rv}/review/{action}",
                {},
                # Clerks pass the page's guard and are refused by the review itself; the
                # case's section is checked first, so another section's clerk learns nothing.
                {**staff(400, "inspector", case=True), "other_clerk": 404},
            )
            for action in ("conclusion", "ask-again")
        ),
        # Recordings: the archive's readers; an inspector only those of their own cases.
        (
            "GET",
            "/inspections/{inspection}/recordings/{recording}",
            f"/inspections/{mi}/recordings/{mr}",
            None,
            staff(200, *ARCHIVE_OWN, case=True),
        ),
        (
            "GET",
            "/inspections/{inspection}/recordings/{recording}",
            f"/inspections/{oi}/recordings/{orr}",
            None,
            staff(200, *ARCHIVE_ALL, case=True),
        ),
        (
            "GET",
            "/inspections/{inspection}/recordings/{recording}/original",
            f"/inspections/{mi}/recordings/{mo}/original",
            None,
            staff(200, *ARCHIVE_OWN, case=True),
        ),
        (
            "GET",
            "/inspections/{inspection}/recordings/{recording}/original",
            f"/inspections/{oi}/recordings/{oo}/original",
            None,
            staff(200, *ARCHIVE_ALL, case=True),
        ),
        ("GET", "/archive", "/archive", None, staff(200, *ARCHIVE_OWN)),
        (
            "GET",
            "/archive/cases/{case}",
            f"/archive/cases/{mc}",
            None,
            staff(200, *ARCHIVE_OWN, case=True),
        ),
        (
            "GET",
            "/archive/cases/{case}",
            f"/archive/cases/{oc}",
            None,
            staff(200, *ARCHIVE_ALL, case=True),
        ),
        (
            "POST",
            "/archive/cases/{case}/annotations",
            f"/archive/cases/{mc}/annotations",
            {},
            staff(400, *ARCHIVE_OWN, case=True),
        ),
        (
            "POST",
            "/archive/cases/{case}/annotations",
            f"/archive/cases/{oc}/annotations",
            {},
            staff(400, *ARCHIVE_ALL, case=True),
        ),
        (
            "POST",
            "/archive/cases/{case}/delete-files",
            f"/archive/cases/{mc}/delete-files",
            {},
            staff(400, "admin", case=True),
        ),
        (
            "GET",
            "/archive/cases/{case}/package",
            f"/archive/cases/{mc}/package",
            None,
            staff(200, *ARCHIVE_ALL, case=True),
        ),
        (
            "GET",
            "/archive/inspections/{inspection}",
            f"/archive/inspections/{mi}",
            None,
            staff(200, *ARCHIVE_OWN, case=True),
        ),
        (
            "GET",
            "/archive/inspections/{inspection}",
            f"/archive/inspections/{oi}",
            None,
            staff(200, *ARCHIVE_ALL, case=True),
        ),
        ("GET", "/archive/verify", "/archive/verify", None, staff(200, *ARCHIVE_ALL)),
        ("POST", "/archive/verify", "/archive/verify", {}, staff(400, *ARCHIVE_ALL)),
        # Starting verify-files needs no input and changes nothing.
        ("POST", "/archive/verify-files", "/archive/verify-files", {}, staff(303, "admin")),
        ("GET", "/statistics", "/statistics", None, staff(200, "leader", "admin")),
        ("GET", "/statistics.csv", "/statistics.csv", None, staff(200, "leader", "admin")),
        ("GET", "/s/{token}", f"/s/{status}", None, everyone(200)),
        # The status link, not a session, is the key: the same for every caller.
        ("POST", "/s/{token}/confirm", f"/s/{status}/confirm", {}, everyone(400)),
        ("POST", "/s/{token}/reinspection", f"/s/{status}/reinspection", {}, everyone(400)),
        # tus: the status link is the credential; without the protocol's header, 412.
        ("OPTIONS", "/s/{token}/uploads", f"/s/{status}/uploads", None, everyone(204)),
        ("POST", "/s/{token}/uploads", f"/s/{status}/uploads", None, everyone(412)),
        ("PATCH", "/s/{token}/uploads/{upload}", f"/s/{status}/uploads/nope", None, everyone(412)),
        ("DELETE", "/s/{token}/uploads/{upload}", f"/s/{status}/uploads/nope", None, everyone(412)),
        ("GET", "/s/{token}/uploads/{upload}", f"/s/{status}/uploads/nope", None, everyone(404)),
        ("GET", "/catalog", "/catalog", None, staff(200, *ALL)),
        ("POST", "/catalog", "/catalog", {}, staff(400, "admin")),
        ("GET", "/catalog/new", "/catalog/new", None, staff(200, "admin")),
        (
            "GET",
            "/catalog/{code}",
            "/catalog/FOOD-OPERATION",
            None,
            staff(200, *ALL),
        ),
        (
            "GET",
            "/catalog/{code}/edit",
            "/catalog/FOOD-OPERATION/edit",
            None,
            staff(200, "admin"),
        ),
        ("GET", "/dishonesty", "/dishonesty", None, staff(200, "admin", "inspector")),
        ("POST", "/dishonesty/import", "/dishonesty/import", {}, staff(400, "admin", "inspector")),
        ("GET", "/admin/accounts", "/admin/accounts", None, staff(200, "admin")),
        ("POST", "/admin/accounts", "/admin/accounts", {}, staff(400, "admin")),
        (
            "POST",
            "/admin/accounts/{account}/reset",
            f"/admin/accounts/{ids['spare_account']}/reset",
            {},
            staff(200, "admin"),
        ),
        # Without the field: refused, nothing changed.
        (
            "POST",
            "/admin/accounts/{account}/sections",
            f"/admin/accounts/{ids['spare_account']}/sections",
            {},
            staff(400, "admin"),
        ),
        (
            "POST",
            "/admin/accounts/{account}/{action}",
            f"/admin/accounts/{ids['spare_account']}/disable",
            {},
            staff(303, "admin"),
        ),
        ("GET", "/admin/api-keys", "/admin/api-keys", None, staff(200, "admin")),
        ("POST", "/admin/api-keys", "/admin/api-keys", {}, staff(400, "admin")),
        (
            "POST",
            "/admin/api-keys/{key}/revoke",
            f"/admin/api-keys/{ids['spare_key']}/revoke",
            {},
            staff(303, "admin"),
        ),
        # Notices: a person's reminders, sending a message again, a regulator's finding.
        (
            "POST",
            "/invitees/{invitee}/reminders",
            f"/invitees/{v}/reminders",
            {},
            staff(400, "inspector", case=True),
        ),
        (
            "POST",
            "/messages/{message}/resend",
            "/messages/999999/resend",
            {},
            staff(404, "inspector", "admin", case=True),
        ),
        (
            "POST",
            "/findings/{finding}/review",
            "/findings/999999/review",
            {},
            staff(404, "inspector", case=True),
        ),
        ("GET", "/admin/notices", "/admin/notices", None, staff(200, "admin")),
        ("POST", "/admin/webhooks", "/admin/webhooks", {}, staff(400, "admin")),
        (
            "POST",
            "/admin/webhooks/{webhook}/disable",
            "/admin/webhooks/999999/disable",
            {},
            staff(404, "admin"),
        ),
        ("POST", "/api/v1/cases", "/api/v1/cases", ids["application"], api(201)),
        ("GET", "/api/v1/cases/{case}", f"/api/v1/cases/{c}", None, api(200)),
        # An empty finding is refused with the field errors.
        ("POST", "/api/v1/cases/{case}/findings", f"/api/v1/cases/{c}/findings", {}, api(400)),
        ("GET", "/api/v1/cases/{case}/record.pdf", f"/api/v1/cases/{c}/record.pdf", None, api(200)),
        (
            "GET",
            "/api/v1/cases/{case}/package.zip",
            f"/api/v1/cases/{c}/package.zip",
            None,
            api(200),
        ),
        ("POST", "/api/v1/dishonesty", "/api/v1/dishonesty", {"entries": []}, api(200)),
        ("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", None, everyone(200)),
        # The link, not a session, opens a room: the same for every caller.
        ("GET", "/room/{inspection}/{token}", f"/room/{i}/{room}", None, everyone(200)),
        # A personal link used for another inspection.
        (
            "GET",
            "/room/{inspection}/{token}",
            f"/room/{ids['other_inspection']}/{room}",
            None,
            everyone(403),
        ),
        # Screenshots: for a link of this inspection whose role may take them, whoever holds it.
        (
            "GET",
            "/room/{inspection}/{token}/screenshots/{screenshot}.jpg",
            f"/room/{i}/{room}/screenshots/{ids['screenshot']}.jpg",
            None,
            everyone(200),
        ),
        (
            "GET",
            "/room/{inspection}/{token}/screenshots/{screenshot}.jpg",
            f"/room/{i}/{ids['observer_room']}/screenshots/{ids['screenshot']}.jpg",
            None,
            everyone(403),
        ),
        (
            "GET",
            "/room/{inspection}/{token}/screenshots/{screenshot}.jpg",
            f"/room/{ids['other_inspection']}/{room}/screenshots/{ids['screenshot']}.jpg",
            None,
            everyone(403),
        ),
        ("GET", "/ws", "/ws", None, everyone(400)),
        # Last: it ends the callers' sessions.
        ("POST", "/logout", "/logout", {}, everyone(303)),
    ]

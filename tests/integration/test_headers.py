"""Headers every page carries, and pages without inline script.

Every GET route of the permission table is opened by a caller it serves: each response must
carry the Content-Security-Policy (scripts and styles only from Kanyan's own files) and
`Cache-Control: no-store`; every HTML page must work under that policy, so none may contain an
inline script, an inline event handler, a `javascript:` URL or a style attribute. The templates
are checked the same way, so a page no test opens is caught too.
"""

from __future__ import annotations

import re
from pathlib import Path

from server.staff.api_keys import ApiKeys
from tests.integration.test_permissions import ROLES, setup_world, table
from tests.support.staff import StaffBrowser

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"

# An inline script: a <script> element without src, unless it is a JSON data block.
INLINE_SCRIPT = re.compile(
    r"<script\b(?![^>]*\bsrc\s*=)(?![^>]*\btype\s*=\s*[\"']application/json[\"'])[^>]*>",
    re.IGNORECASE,
)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
SCRIPT_URL = re.compile(r"(?:href|src|action|formaction)\s*=\s*[\"']?\s*javascript:", re.IGNORECASE)
STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.IGNORECASE)


def inline_code(html: str) -> list[str]:
    """What in a page the policy would refuse to run or apply."""
    found = []
    for name, pattern in (
        ("inline script", INLINE_SCRIPT),
        ("event handler", HANDLER),
        ("javascript: URL", SCRIPT_URL),
        ("inline style", STYLE),
    ):
        found += [f"{name}: {match.group(0)[:80]}" for match in pattern.finditer(html)]
    return found


def directives(policy: str) -> dict[str, list[str]]:
    parsed = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            parsed[words[0]] = words[1:]
    return parsed


def check_policy(policy: str | None) -> list[str]:
    if not policy:
        return ["no Content-Security-Policy"]
    found = directives(policy)
    problems = []
    # Kanyan's own files, or (a download) nothing at all.
    script = found.get("script-src", found.get("default-src"))
    if script not in (["'self'"], ["'none'"]):
        problems.append(f"script-src {script}")
    style = found.get("style-src", found.get("default-src"))
    if style not in (["'self'"], ["'none'"]):
        problems.append(f"style-src {style}")
    if found.get("object-src", found.get("default-src")) != ["'none'"]:
        problems.append(f"object-src {found.get('object-src')}")
    if found.get("base-uri") != ["'none'"]:
        problems.append(f"base-uri {found.get('base-uri')}")
    if found.get("frame-ancestors") != ["'none'"]:
        problems.append("frame-ancestors")
    return problems


async def test_every_page_carries_the_policy_and_no_store_and_runs_no_inline_code(server):
    ids = await setup_world(server)
    _, key = await ApiKeys(server.archive).create("platform", actor="test")
    tabs = {"anonymous": StaffBrowser(server.base_url), "api_key": StaffBrowser(server.base_url)}
    for role in ROLES:
        tabs[role] = StaffBrowser(server.base_url)
        assert (await tabs[role].login(role)).status == 303
    problems, pages, html_pages = [], 0, 0
    try:
        rows = [row for row in table(ids) if row[0] == "GET"]
        # The error pages, too: a 404 and a refused link.
        rows.append(("GET", "404", "/no-such-page", None, {"anonymous": 404}))
        for _, route, path, _, expected in rows:
            callers = sorted(
                (c for c, status in expected.items() if status in (200, 403, 404) and c in tabs),
                key=lambda c: expected[c] != 200,  # one who is served first
            )
            for caller in callers[:1] if route != "/room/{inspection}/{token}" else callers:
                headers = {"Authorization": f"Bearer {key}"} if caller == "api_key" else {}
                response = await tabs[caller].get(path, headers=headers)
                pages += 1
                where = f"{path[:70]} as {caller}"
                own_policy = route == "/records/{record}.html" and response.status == 200
                if not own_policy:
                    problems += [
                        f"{where}: {p}"
                        for p in check_policy(response.headers.get("Content-Security-Policy"))
                    ]
                elif "script" in response.headers.get("Content-Security-Policy", ""):
                    problems.append(f"{where}: the record's own policy allows scripts")
                if "no-store" not in response.headers.get("Cache-Control", ""):
                    problems.append(
                        f"{where}: Cache-Control {response.headers.get('Cache-Control')}"
                    )
                if response.headers.get("Content-Type", "").startswith("text/html"):
                    html_pages += 1
                    if not own_policy:
                        problems += [f"{where}: {p}" for p in inline_code(response.text)]
    finally:
        for tab in tabs.values():
            await tab.close()
    assert not problems, "\n".join(problems)
    assert pages > 30 and html_pages > 20
    # Static files are versioned: they may be cached, and carry the policy like the rest.
    async with StaffBrowser(server.base_url) as tab:
        page = await tab.get("/login")
        script = re.search(r'href="(/static/css/[^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        response = await tab.get(script)
        assert response.status == 200
        assert "no-store" not in response.headers.get("Cache-Control", "")


def test_no_template_contains_inline_code():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 15
    problems = [
        f"{path.relative_to(TEMPLATES)}: {found}"
        for path in templates
        for found in inline_code(path.read_text())
    ]
    assert not problems, "\n".join(problems)


def test_the_checks_find_what_they_look_for():
    """The patterns above must catch inline code, or the two tests could never fail."""
    caught = [
        "<script>alert(1)</script>",
        '<script type="module">import "x"</script>',
        '<button type="button" onclick="window.print()">',
        '<body onload="go()">',
        '<a href="javascript:void(0)">',
        '<p style="color:red">',
        "<style>p{}</style>",
    ]
    for html in caught:
        assert inline_code(html), html
    allowed = [
        '<script type="module" src="/static/js/staff.js"></script>',
        '<script type="application/json" id="kanyan-config">{"a": 1}</script>',
        '<button type="button" data-print>',
        '<p class="online">',
    ]
    for html in allowed:
        assert not inline_code(html), html
    assert check_policy("default-src 'self'; script-src 'self' 'unsafe-inline'")
    assert not check_policy(
        "default-src 'self'; script-src 'self'; style-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'"
    )

"""The leaders' statistics (领导): inspections per month, item and section, the verdicts' rates,
re-inspections, session lengths, self-recorded videos and exclusions, over a date range — as a
page, as CSV for Excel, and as JSON."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from server import clock
from server.cases.eligibility import Ground
from server.cases.statistics import COLUMNS, Report, report, to_csv
from server.errors import BadRequest
from server.services import ARCHIVE
from server.staff.roles import StaffAction

from ..middleware import wants_json
from ..pages import helpers, page
from ..staff import staff_page


def period(request: web.Request) -> tuple[str, str, datetime, datetime]:
    """The range asked for (Beijing dates, both ends included): this year so far by default.
    The ISO instants to query, and the first and last day."""
    today = (
        clock.now().astimezone(clock.SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
    )
    try:
        first = (
            datetime.strptime(request.query["from"], "%Y-%m-%d").replace(tzinfo=clock.SHANGHAI)
            if request.query.get("from")
            else today.replace(month=1, day=1)
        )
        last = (
            datetime.strptime(request.query["to"], "%Y-%m-%d").replace(tzinfo=clock.SHANGHAI)
            if request.query.get("to")
            else today
        )
    except ValueError:
        raise BadRequest(
            "日期格式应为 YYYY-MM-DD / dates are YYYY-MM-DD", code="invalid_date"
        ) from None
    if last < first:
        raise BadRequest("结束日期早于开始日期 / the range ends before it starts", code="invalid")
    return clock.iso(first), clock.iso(last + timedelta(days=1)), first, last


async def _report(request: web.Request) -> tuple[Report, datetime, datetime]:
    since, until, first, last = period(request)
    store = request.app[ARCHIVE].statistics
    result = report(await store.concluded(since, until), await store.exclusions(since, until))
    return result, first, last


def report_json(result: Report, first: datetime, last: datetime) -> dict[str, Any]:
    return {
        "from": first.strftime("%Y-%m-%d"),
        "to": last.strftime("%Y-%m-%d"),
        "overall": result.overall.row(),
        "by_month": {k: v.row() for k, v in result.by_month.items()},
        "by_item": {k: v.row() for k, v in result.by_item.items()},
        "by_section": {k: v.row() for k, v in result.by_section.items()},
        "excluded": result.excluded,
    }


@staff_page(StaffAction.VIEW_STATISTICS)
async def statistics_page(request: web.Request) -> web.StreamResponse:
    result, first, last = await _report(request)
    if request.query.get("format") == "json" or wants_json(request):
        return web.json_response(report_json(result, first, last))
    span = {"from": first.strftime("%Y-%m-%d"), "to": last.strftime("%Y-%m-%d")}
    return page(
        request,
        "archive/statistics.html",
        {
            "result": result,
            "span": span,
            "columns": [key for key, _ in COLUMNS],
            "groups": [
                ("archive_stats_by_month", result.by_month),
                ("archive_stats_by_item", result.by_item),
                ("archive_stats_by_section", result.by_section),
            ],
            "csv_url": f"/statistics.csv?from={span['from']}&to={span['to']}",
            "grounds": {str(g) for g in Ground},
            **helpers(request),
        },
    )


@staff_page(StaffAction.VIEW_STATISTICS)
async def statistics_csv(request: web.Request) -> web.StreamResponse:
    result, first, last = await _report(request)
    name = f"kanyan-statistics-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    return web.Response(
        body=to_csv(result).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "private, no-store",
        },
    )

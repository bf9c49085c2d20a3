"""An inspection as it happens, for the staff case page: server-sent events, one `view` each
time the inspection changes on whichever node holds its room (server/live/feed.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

from server.services import FEED
from server.staff.roles import StaffAction
from server.states import ACTIVE_INSPECTION

from ..pages import int_param
from ..staff import staff_page
from ..streaming import DOWNLOAD_CSP
from .case_ids import inspection_case_id

KEEPALIVE_S = 15.0  # a comment line now and then: proxies close silent streams
SETTLE_S = 0.3  # changes arriving together are sent as one view


async def send(response: web.StreamResponse, view: dict[str, object]) -> None:
    data = json.dumps(view, ensure_ascii=False)
    await response.write(f"event: view\ndata: {data}\n\n".encode())


@staff_page(StaffAction.VIEW_CASES, case=inspection_case_id)
async def live_stream(request: web.Request) -> web.StreamResponse:
    inspection_id = int_param(request.match_info["inspection"])
    feed = request.app[FEED]
    changed = await feed.subscribe(inspection_id)  # first: no change falls between
    try:
        view = await feed.view(inspection_id)  # a wrong id is a 404 before the stream starts
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",
                # Headers go out before the middleware sees the response: set here.
                "Content-Security-Policy": DOWNLOAD_CSP,  # runs nothing, like a download
                "X-Content-Type-Options": "nosniff",
            }
        )
        await response.prepare(request)
        await send(response, view)
        while view["state"] in ACTIVE_INSPECTION:  # once over, the page shows the record
            try:
                await asyncio.wait_for(changed.get(), KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await asyncio.sleep(SETTLE_S)
            with contextlib.suppress(asyncio.QueueEmpty):
                changed.get_nowait()
            view = await feed.view(inspection_id)
            await send(response, view)
    except ConnectionError:
        pass  # the page went away
    finally:
        feed.unsubscribe(inspection_id, changed)
    return response

"""The page's reconnect policy (web/static/js/reconnect.js, run in Chromium) and the one the
aiortc test peers follow (tests/support/reconnecting.py) are the same numbers: the restart and
weak-network tests prove what the page would do only if they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.browser import CHROMIUM, launch, make_y4m
from tests.support.reconnecting import POLICY, heartbeat, reconnect_delay

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

# (attempt, close code, the random draw)
DRAWS = [
    (1, 1006, 0.0),
    (1, 1006, 0.999),
    (2, 4100, 0.5),
    (3, 4050, 0.25),
    (4, 1006, 0.0),
    (5, 1006, 0.0),
    (9, 1006, 0.75),
    (40, None, 0.1),
    (1, 4029, 0.0),
    (3, 4029, 0.9),
    (1, 1006, 0.998),  # 500 × 0.501 = 250.5: rounds up in both
]


async def test_the_page_and_the_test_peers_reconnect_alike(server, tmp_path):
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await launch(playwright, make_y4m(tmp_path / "cam.y4m", (0, 0, 0), frames=2))
        try:
            page = await (await browser.new_context(ignore_https_errors=True)).new_page()
            await page.goto(f"{server.base_url}/login")
            page_side = await page.evaluate(
                """async (draws) => {
                    const m = await import('/static/js/reconnect.js');
                    return {
                        policy: m.POLICY,
                        delays: draws.map(([a, c, r]) => m.reconnectDelay(a, c, () => r)),
                        beats: [undefined, 20, 45, 4].map((s) => m.heartbeat(s)),
                    };
                }""",
                DRAWS,
            )
        finally:
            await browser.close()
    assert page_side["policy"] == POLICY
    assert page_side["delays"] == [reconnect_delay(a, c, lambda r=r: r) for a, c, r in DRAWS]
    assert page_side["beats"] == [heartbeat(s) for s in (None, 20, 45, 4)]
    # The backoff itself: half to all of 0.5, 1, 2, 4, 5, 5 … s; 4029 waits 10–15 s.
    assert [reconnect_delay(n, 1006, lambda: 0.0) for n in range(1, 7)] == [
        500,
        1000,
        2000,
        4000,
        5000,
        5000,
    ]
    assert reconnect_delay(3, 1006, lambda: 1.0) == 1000
    assert reconnect_delay(1, 4029, lambda: 1.0) == 15000

"""The Outlook page in Debian's chromium (Playwright) on the real data: the three charts draw, the
IEA-style scenario selector redraws them, the pipeline table fills, nothing leaves the loopback."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_outlook_page_draws_and_switches_scenario(live_server, browser, shot):
    base, db = live_server
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000},
                              extra_http_headers={"Authorization": f"Bearer {db.tokens['us-analyst']}"})
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(("http://127.0.0.1", "data:")) else errors.append(
        f"external request {r.url}"))
    try:
        page.goto(f"{base}/outlook")
        page.wait_for_selector("#status:has-text('draws')", timeout=180_000)  # (the CSP forbids wait_for_function)
        for div in ("demand", "supply", "gap"):
            assert page.locator(f"#{div} .main-svg").count() > 0, div
        n_traces = page.evaluate("document.getElementById('demand').data.length")
        assert n_traces >= 3  # technologies of the stacked area (copper, the default)
        page.select_option("#outform select[name=commodity]", "rare_earths")
        page.click("#outform button[type=submit]")
        page.wait_for_selector("#projects tbody tr", timeout=180_000)
        page.wait_for_selector("#status:has-text('draws')", timeout=180_000)
        assert page.locator("#projects tbody tr").count() >= 3  # rare-earth separation projects in the pipeline
        steps_total = page.evaluate("document.getElementById('supply').data.at(-1).y.at(-1)")
        page.check("input[name=scenario][value=NZE]")
        page.click("#outform button[type=submit]")
        nze_total = steps_total
        for _ in range(360):
            nze_total = page.evaluate("document.getElementById('supply').data.at(-1).y.at(-1)")
            if nze_total != steps_total:
                break
            page.wait_for_timeout(500)
        assert nze_total > steps_total  # NZE demand for magnet rare earths in 2040 is above STEPS
        shot(page, "outlook_nze")
        assert not errors, errors
    finally:
        ctx.close()

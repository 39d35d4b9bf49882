"""The strict Content-Security-Policy in a real browser: no page of the dashboard triggers a
violation (inline script or style, eval, a foreign origin), and the vendored plotly charts and
maps still draw under it (plotly's styles come from /vendor/plotly.css)."""

from __future__ import annotations

import pytest

from web_support import PASSWORD, PROJECTS, USERS

pytestmark = pytest.mark.browser

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile || document.location.pathname}:${e.lineNumber}`));
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__csp || []")


def test_no_csp_violation_on_any_page_and_charts_draw(live_server, page):
    base, _ = live_server
    console: list[str] = []
    page.on("console", lambda m: console.append(m.text) if "Content Security Policy" in m.text
            or "Content-Security-Policy" in m.text else None)
    page.context.add_init_script(WATCH)
    page.set_default_timeout(240_000)  # the first overview computes the assessment (slow on a busy machine)
    page.goto(f"{base}/login")
    assert _violations(page) == []
    page.fill("input[name=username]", USERS["joint-admin"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    seen = {"/": _violations(page)}
    for url, ready in (
        ("/commodity/rare_earths", "#map.js-plotly-plot path.choroplethlocation"),
        ("/deposits", "#dmap.js-plotly-plot"),
        ("/projects", None),
        (f"/projects/{PROJECTS['joint']}", None),
        ("/scenarios", None),
        ("/stockpile", None),
        ("/data", None),
        ("/audit", None),
        ("/users", "#users tbody tr"),
        ("/approvals", None),
        ("/account", None),
    ):
        page.goto(base + url)
        if ready:
            page.wait_for_selector(ready, state="attached")
        page.wait_for_load_state("networkidle")
        seen[url] = _violations(page)
    assert all(not v for v in seen.values()), {k: v for k, v in seen.items() if v}
    assert not console, console
    # the charts drew with plotly's own stylesheet in force (the modebar is positioned by it)
    page.goto(base + "/commodity/rare_earths")
    page.wait_for_selector("#map.js-plotly-plot path.choroplethlocation", state="attached")
    assert page.locator("#map path.choroplethlocation").count() >= 5
    pos = page.evaluate("getComputedStyle(document.querySelector('#map .modebar') || document.body).position")
    assert pos == "absolute"
    # the stage selector still submits the form (its handler moved out of the page into commodity.js)
    page.select_option("#selector select[name=stage]", "processing")
    page.wait_for_url("**stage=processing**")
    assert not page.errors, page.errors

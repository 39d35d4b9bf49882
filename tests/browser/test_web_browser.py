"""The dashboard in a real browser (Debian's chromium through Playwright), on the real data.

The server is warmed first (``warm_server``: its caches computed, as in a deployment); the
waits are Playwright locator waits (no ``wait_for_function``: the dashboard's CSP allows no
eval), with long timeouts only where the wait is a computation (scenario runs, plans).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from web_support import PASSWORD, USERS

pytestmark = pytest.mark.browser
NAVIGATION_MS = 120_000  # a page whose data is not cached yet (e.g. a commodity's first view) on a loaded machine


@pytest.fixture()
def page(page):
    page.set_default_navigation_timeout(NAVIGATION_MS)
    return page


def finished(page, result: str, timeout: int) -> None:
    """Wait until the ``result`` section is shown or ``#err`` has a message (a job's end)."""
    page.locator(f"{result}:not([hidden]), #err:not(:empty)").first.wait_for(state="attached", timeout=timeout)


def log_in(page, base: str, role: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_login_overview_and_commodity_page(warm_server, page, shot):
    base, _ = warm_server
    page.goto(f"{base}/")
    assert "/login" in page.url  # not logged in: sent to the login form
    shot(page, "01_login")
    log_in(page, base, "us-analyst")
    rows = page.locator("#watchlist tbody tr")
    assert rows.count() >= 10
    page.wait_for_selector("#watchlist [data-spark] svg polyline", state="attached")
    # sortable: clicking the commodity header orders the names
    page.click("#watchlist thead tr:last-child th:nth-child(2)")  # below the column-group row
    names = page.locator("#watchlist tbody tr td:nth-child(2)").all_inner_texts()
    assert names == sorted(names, key=str.lower)
    shot(page, "02_overview")
    page.goto(f"{base}/commodity/rare_earths")
    page.wait_for_selector("#map.js-plotly-plot path.choroplethlocation", state="attached", timeout=20000)
    assert page.locator("#map path.choroplethlocation").count() >= 5  # countries drawn offline
    page.wait_for_selector("#trend.js-plotly-plot .scatterlayer .trace", state="attached")
    assert page.locator("#production tbody tr").count() >= 5
    page.locator("#production a.provlink").first.click()
    page.wait_for_selector("#prov[open]")
    assert "U.S. Geological Survey" in page.locator("#prov-body").inner_text()
    shot(page, "03_commodity_rare_earths")
    page.keyboard.press("Escape")
    page.goto(f"{base}/commodity/copper")
    page.select_option("#selector select[name=stage]", "processing")
    page.wait_for_url("**stage=processing**")
    assert page.locator("#map path.choroplethlocation").count() >= 1
    assert not page.errors, page.errors


def test_run_a_scenario_and_see_the_result(warm_server, page, shot):
    base, _ = warm_server
    log_in(page, base, "jp-analyst")
    page.goto(f"{base}/scenarios")
    # the form fills itself (library scenario, then each event's exporting-country picker from
    # the warehouse) asynchronously: a run clicked before would send events without a country
    page.locator("#events select[name=country] option").first.wait_for(state="attached", timeout=60_000)
    page.select_option("#lib", "cn_gallium_germanium_licensing_2023")
    countries = page.locator("#events tbody select[name=country]")
    expect(countries).to_have_count(4)  # the scenario's four export restrictions
    for box in countries.all():
        expect(box).to_have_value("CHN", timeout=60_000)
    page.click("#runone")
    finished(page, "#results", 120_000)
    assert page.locator("#results").is_visible(), page.locator("#err").inner_text()
    assert page.locator("#resulttable tbody tr").count() >= 2
    page.wait_for_selector("#chart-short.js-plotly-plot")
    shot(page, "04_scenario_result")
    page.fill("#mcruns", "500")
    page.click("#runmc")
    expect(page.locator("#restitle")).to_contain_text("500 run", timeout=300_000)
    page.wait_for_selector("#chart-price.js-plotly-plot .bars", state="attached")
    shot(page, "05_monte_carlo_result")
    assert not page.errors, page.errors


def test_run_a_stockpile_plan(warm_server, page, shot):
    base, _ = warm_server
    log_in(page, base, "us-analyst")
    page.goto(f"{base}/stockpile")
    page.fill("#planform input[name=runs]", "200")
    page.fill("#planform input[name=lossmult]", "3")
    page.click("#planrun")
    finished(page, "#planresult", 300_000)
    assert page.locator("#planresult").is_visible(), page.locator("#err").inner_text()
    assert "Value of coordination" in page.locator("#coo").inner_text()
    assert page.locator("#ind .kpi").count() == 1
    assert page.locator("#targets tbody tr").count() >= 2
    page.wait_for_selector("#frontier.js-plotly-plot .scatterlayer .trace", state="attached")
    shot(page, "06_stockpile_plan")
    assert not page.errors, page.errors


def test_jp_user_cannot_see_a_us_only_project(warm_server, page, shot):
    base, _ = warm_server
    log_in(page, base, "jp-analyst")
    page.goto(f"{base}/projects")
    page.wait_for_selector("#projects tbody tr")
    text = page.locator("#projects").inner_text()
    assert "P-NYR-HOBART" in text  # JP-only project: visible to JP
    assert "P-USAR-STILLWATER" not in text and "P-WWR-KELLYTON" not in text
    assert "P-USAR-STILLWATER" not in page.content()  # not in the map data either
    shot(page, "07_projects_jp")
    resp = page.goto(f"{base}/projects/P-USAR-STILLWATER")
    assert resp.status == 404
    api = page.request.get(f"{base}/api/projects/P-USAR-STILLWATER")
    assert api.status == 404
    shot(page, "08_us_project_404_for_jp")
    page.goto(f"{base}/deposits")
    page.wait_for_selector("#dmap.js-plotly-plot")
    shot(page, "09_deposits")
    page.goto(f"{base}/data")
    shot(page, "10_data_status")
    assert not page.errors, page.errors

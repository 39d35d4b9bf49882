"""The incident workflow in Debian's chromium: open an incident from the curated event for
China's December 2024 Ga/Ge/Sb ban, see the assessment, choose an option, see the decision in
the log."""

from __future__ import annotations

import pytest

from web_support import PASSWORD, USERS

pytestmark = pytest.mark.browser

EVENT = "CHN-GAGESB-USBAN-2024"


def log_in(page, base: str, role: str, next_url: str) -> None:
    page.goto(f"{base}/login?next={next_url}")
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]", no_wait_after=True)
    page.wait_for_url(f"{base}{next_url}", timeout=120000)


def test_open_assess_decide(live_server, page, shot, monkeypatch):
    monkeypatch.setenv("CRITMIN_INCIDENT_MC_RUNS", "50")  # read per call by the server thread
    base, _ = live_server
    log_in(page, base, "us-analyst", "/incidents")
    assert page.locator("nav a[href='/incidents']").count() == 1
    page.select_option("#open-incident select[name=trigger]", EVENT)
    page.select_option("#open-incident select[name=visibility]", "joint")
    page.click("#open-incident button[type=submit]", no_wait_after=True)
    page.wait_for_url(f"{base}/incidents/INC-*", timeout=120000)
    # the assessment: the US is short of gallium in the restricted pool, Japan is not
    row = page.locator("#assess-gallium tbody tr", has_text="United States")
    assert row.count() == 1
    cells = row.locator("td").all_inner_texts()
    assert cells[1] == "restricted" and cells[2] not in ("0 t", "–")
    page.wait_for_selector("#short-gallium.js-plotly-plot .barlayer .trace", state="attached", timeout=20000)
    page.wait_for_selector("#price-gallium.js-plotly-plot .scatterlayer .trace", state="attached")
    assert page.locator("#options-table tbody tr").count() >= 3
    assert page.locator("#options-table .badge", has_text="trade data").count() >= 1
    shot(page, "20_incident_assessment")
    # choose the option ranked second and record the reasons
    second = page.locator("#options-table tbody tr").nth(1).get_attribute("data-option")
    page.select_option("#decide-form select[name=option_id]", second)
    page.fill("#decide-form textarea[name=reasons]", "fastest route to cover the US gallium shortfall")
    page.click("#decide-form button[type=submit]", no_wait_after=True)
    page.wait_for_url("**#decisions")
    log = page.locator("#decision-log tbody tr")
    assert log.count() == 1
    text = log.first.inner_text()
    assert second in text and "fastest route" in text and "proposed" in text and "needs US, JP" in text
    assert "propose" in page.locator("#timeline").inner_text()
    shot(page, "21_incident_decision_log")
    page.goto(page.url.split("#")[0] + "/brief")
    assert "What was decided" in page.content() and second in page.content()
    assert not page.errors, page.errors

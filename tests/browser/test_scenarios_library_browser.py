"""The scenario library in Debian's chromium (issue 19 section 5): the run and save buttons wait
for the exporting-country pickers (a run before they load was a 422), a US-only gallium ban
saved to the library reopens from it and runs to the CLI's result on its TOML, and a Japanese
analyst's library does not list it (nor opens it by id)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib

import pytest
from playwright.sync_api import expect
from test_analyst_browser import _results, log_in, page1280  # noqa: F401

pytestmark = pytest.mark.browser

NAME = "US-only gallium ban (library)"
EVENT = {"country": "CHN", "commodity": "gallium", "stage": "processing", "export_cut": 1.0,
         "start_month": 1, "duration_months": 12, "targets": ["USA"]}


def _cli_equals_web(base: str, page, job_url: str, toml_path, real_db_path) -> None:
    """The browser's run (the job's rows) and ``critmin simulate`` on the TOML, on the same data
    (the comparison of test_analyst_browser's unsaved-form test)."""
    web = _results(page.request.get(f"{base}{job_url}").json()["result"])
    p = subprocess.run([sys.executable, "-m", "critmin.cli.main", "--db", str(real_db_path), "simulate",
                        str(toml_path), "--json", "--no-store"], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    cli = _results(json.loads(p.stdout))
    assert set(web) == set(cli) == {("gallium", "USA"), ("gallium", "JPN")}
    for key in cli:
        for col in ("mean_shortfall_t", "mean_shortfall_pct", "mean_price_change_pct", "cvar95_pct"):
            a, b = web[key].get(col), cli[key].get(col)
            assert (a is None and b is None) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (key, col, a, b)
    assert cli[("gallium", "USA")]["mean_shortfall_pct"] > cli[("gallium", "JPN")]["mean_shortfall_pct"]


def test_run_and_save_wait_for_the_country_pickers(live_server, page1280):  # noqa: F811
    base, _ = live_server
    page = page1280
    log_in(page, base, "us-analyst")
    held: list = []
    release = {"now": False}

    def hold(route) -> None:  # the pickers' production lists, held back until released
        route.continue_() if release["now"] else held.append(route)

    page.route("**/api/production/**", hold)
    page.goto(f"{base}/scenarios")
    page.wait_for_selector("#events tbody tr", state="attached")
    page.wait_for_function("document.querySelector('#runreason').textContent.length > 0")
    page.wait_for_timeout(600)  # past the form's check delay: still nothing to run
    assert held, "the pickers asked for no production list"
    assert page.locator("#runone").is_disabled() and page.locator("#savebtn").is_disabled()
    assert "exporting-country" in page.locator("#runreason").inner_text()
    release["now"] = True
    for route in held:
        route.continue_()
    expect(page.locator("#runone")).to_be_enabled(timeout=60_000)
    expect(page.locator("#savebtn")).to_be_enabled()
    assert page.locator("#runreason").inner_text() == ""
    # an invalid field closes them again, with the reason
    page.locator("#events tbody tr").first.locator("[name=cut]").fill("150")
    expect(page.locator("#runone")).to_be_disabled()
    expect(page.locator("#runreason")).to_contain_text("red")
    assert not page.errors, page.errors


def test_a_saved_us_only_ban_reopens_runs_as_the_cli_and_stays_out_of_japan(live_server, page1280, browser,  # noqa: F811
                                                                             real_db_path, tmp_path):
    base, _ = live_server
    page = page1280
    log_in(page, base, "us-analyst")
    page.goto(f"{base}/scenarios")
    page.wait_for_selector("#events tbody tr [name=country] option", state="attached", timeout=60_000)
    page.select_option("#lib", "")  # a blank scenario: one event row
    page.fill("[name=name]", NAME)
    row = page.locator("#events tbody tr").first
    row.locator("[name=commodity]").select_option("gallium")
    row.locator("[name=stage]").select_option("processing")
    page.wait_for_selector("#events [name=country] option[value=CHN]:text-matches('^China')", state="attached")
    row.locator("[name=country]").select_option("CHN")
    row.locator("[name=cut]").fill("100")
    row.locator("[name=start]").fill("1")
    row.locator("[name=duration]").fill("12")
    row.locator("[name=target][value=USA]").check()
    page.select_option("#savevis", "US")
    expect(page.locator("#savebtn")).to_be_enabled(timeout=60_000)
    page.click("#savebtn")
    expect(page.locator("#savestatus")).to_contain_text("Saved", timeout=60_000)
    saved = [s for s in page.request.get(f"{base}/api/saved-scenarios").json()["scenarios"] if s["name"] == NAME]
    assert len(saved) == 1 and saved[0]["visibility"] == "US" and saved[0]["author"] == "ann-us"
    sid = saved[0]["scenario_id"]
    # the library list: name, author, visibility, updated
    lib_row = page.locator(f"#savedtable tbody tr[data-id='{sid}']")
    expect(lib_row).to_have_count(1)  # the list reloads after the save
    cells = lib_row.locator("td").all_inner_texts()
    assert cells[:3] == [NAME, "ann-us", "United States only"] and cells[3][:4].isdigit(), cells

    # a fresh page: open it from the library, download its TOML, run it
    page.goto(f"{base}/scenarios")
    page.wait_for_selector(f"#savedtable tbody tr[data-id='{sid}']")
    page.locator(f"#savedtable tbody tr[data-id='{sid}'] button.open").click()
    expect(page.locator("[name=name]")).to_have_value(NAME)
    page.wait_for_selector("#toml:has-text('targets')")
    expect(page.locator("#runone")).to_be_enabled(timeout=60_000)
    doc = tomllib.loads(page.locator("#toml").inner_text())
    assert doc["events"] == [EVENT] and doc["name"] == NAME
    with page.expect_download() as d:
        page.locator(f"#savedtable tbody tr[data-id='{sid}'] a.toml").click()
    path = tmp_path / "saved_us_gallium_ban.toml"
    d.value.save_as(path)
    assert tomllib.loads(path.read_text()) == doc
    page.click("#runone")
    page.wait_for_selector("#results:not([hidden]), #err:not(:empty)", timeout=300_000)
    assert page.locator("#results").is_visible(), page.locator("#err").inner_text()
    job_url = page.locator("#resulttable").get_attribute("data-download").split("?")[0]
    _cli_equals_web(base, page, job_url, path, real_db_path)
    assert not page.errors, page.errors

    # Japan's library does not list it, and its id opens nothing
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(120_000)
    jp = ctx.new_page()
    log_in(jp, base, "jp-analyst")
    jp.goto(f"{base}/scenarios")
    jp.wait_for_selector("#savedtable tbody tr")
    listed = jp.locator("#savedtable tbody").inner_text()
    assert "saved JP" in listed and "saved joint" in listed  # the fixture's JP-only and joint scenarios
    assert NAME not in listed and "saved US" not in listed
    assert jp.request.get(f"{base}/api/saved-scenarios/{sid}").status == 404
    assert jp.request.get(f"{base}/api/saved-scenarios/{sid}/toml").status == 404
    jp.goto(f"{base}/scenarios?saved={sid}")
    expect(jp.locator("#savestatus")).to_contain_text("404")
    assert jp.locator("[name=name]").input_value() != NAME
    ctx.close()

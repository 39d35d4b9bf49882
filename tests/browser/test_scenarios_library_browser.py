"""The scenario library in Debian's chromium (issue 19 section 5): the run and save buttons wait
for the exporting-country pickers (a run before they load was a 422), a US-only gallium ban
saved to the library reopens from it and runs to the CLI's result on its TOML, and a Japanese
analyst's library does not list it (nor opens it by id)."""

from __future__ import annotations

import tomllib

import pytest
from playwright.sync_api import expect
from test_analyst_browser import cli_equals_web, log_in, page1280  # noqa: F401

pytestmark = pytest.mark.browser

NAME = "US-only gallium ban (library)"
EVENT = {"country": "CHN", "commodity": "gallium", "stage": "processing", "export_cut": 1.0,
         "start_month": 1, "duration_months": 12, "targets": ["USA"]}


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
    cli_equals_web(base, page, job_url, path, real_db_path)
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


def test_the_builder_speaks_japanese(live_server, page1280):  # noqa: F811
    """In Japanese the script's own texts are Japanese too: the stage picker, the result's title
    and the chart's title (the scenario page's JSON messages)."""
    base, _ = live_server
    page = page1280
    log_in(page, base, "jp-analyst")
    page.click("#langswitch button[value=ja]")
    page.wait_for_selector("html[lang=ja]", state="attached")
    page.goto(f"{base}/scenarios")
    page.wait_for_selector("#events tbody tr [name=country] option", state="attached", timeout=60_000)
    page.select_option("#lib", "")  # a blank scenario: China's gallium processing, 100 % for 12 months
    row = page.locator("#events tbody tr").first
    assert row.locator("[name=stage] option").all_inner_texts() == ["採掘", "精製・加工"]
    assert page.locator("#events thead th").nth(1).inner_text() == "段階"
    page.fill("[name=name]", "ガリウム輸出規制（試験）")
    page.locator("[name=name]").blur()  # its change event re-checks the form: before the click, not during it
    expect(page.locator("#runone")).to_be_enabled(timeout=60_000)
    page.click("#runone")
    page.wait_for_selector("#results:not([hidden]), #err:not(:empty)", timeout=300_000)
    assert page.locator("#results").is_visible(), page.locator("#err").inner_text()
    assert page.locator("#restitle").inner_text().startswith("結果：ガリウム輸出規制（試験） · 試行 ")
    titles = page.locator("#chart-short .gtitle").all_text_contents()  # Plotly's SVG title
    assert titles and titles[0] in ("分析期間中の供給不足", "年間供給不足の分布（平均の大きいもの）"), titles
    assert not page.errors, page.errors

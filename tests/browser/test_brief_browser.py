"""The briefing pack and the language switch in Debian's chromium (Playwright), on the real data."""

from __future__ import annotations

import hashlib

import pytest

from web_support import PASSWORD, USERS

pytestmark = pytest.mark.browser


def log_in(page, base: str, role: str) -> None:
    """Log in and land on the brief page (the overview's watchlist is not needed here)."""
    page.set_default_timeout(120_000)
    page.goto(f"{base}/brief")
    assert "/login" in page.url
    page.fill("input[name=username]", USERS[role])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/brief")


def test_generate_brief_and_download_both_files(live_server, page, monkeypatch, tmp_path, shot):
    monkeypatch.setenv("CRITMIN_BRIEF_MC_RUNS", "200")
    monkeypatch.setenv("CRITMIN_BRIEF_STOCKPILE_RUNS", "100")
    base, _ = live_server
    log_in(page, base, "jp-analyst")
    page.fill("#briefform input[name=commodities]", "gallium")
    page.select_option("#briefform select[name=lang]", "en")
    page.click("#briefrun")
    page.wait_for_selector("#dl-pdf", timeout=600_000)
    assert page.locator("#job .status").inner_text().startswith("done")
    shot(page, "brief_done")
    hashes = page.locator("#hashes").inner_text()
    for sel, name, magic in (("#dl-pdf", "brief.pdf", b"%PDF"), ("#dl-xlsx", "brief.xlsx", b"PK")):
        with page.expect_download() as info:
            page.click(sel)
        d = info.value
        assert d.suggested_filename == name
        path = tmp_path / name
        d.save_as(path)
        data = path.read_bytes()
        assert data.startswith(magic)
        assert f"sha256 {name} {hashlib.sha256(data).hexdigest()}" in hashes
    assert not page.errors, page.errors


def test_switch_to_japanese_navigation(live_server, page, shot):
    base, _ = live_server
    log_in(page, base, "us-analyst")
    assert page.locator("nav a[href='/']").inner_text() == "Overview"
    page.click("#langswitch button[value=ja]")
    page.wait_for_url(f"{base}/brief")
    assert page.locator("h1").inner_text() == "閣僚説明資料"
    nav = page.locator("nav a").all_inner_texts()
    assert {"概要", "シナリオ", "備蓄", "説明資料"} <= set(nav), nav
    assert page.locator("html").get_attribute("lang") == "ja"
    shot(page, "nav_japanese")
    page.goto(f"{base}/data")  # remembered across pages
    assert page.locator("nav a[href='/']").inner_text() == "概要"
    # text the JavaScript writes comes from the page's message catalogue (critmin.i18n.js_messages)
    bar = page.locator("#sources").locator("xpath=preceding-sibling::div[contains(@class, 'downloads')][1]")
    assert bar.inner_text().startswith("ダウンロード（出典）："), bar.inner_text()
    page.click("#langswitch button[value=en]")
    assert page.locator("nav a[href='/']").inner_text() == "Overview"
    assert not page.errors, page.errors

"""The brief job and the language switch on the dashboard (TestClient; the browser tests are in
tests/browser/test_brief_browser.py)."""

from __future__ import annotations

import hashlib
import io
import json
import re

import pytest
from fastapi.testclient import TestClient

from web_support import USERS, bearer, csrf_of, login, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def app_client(web_db, monkeypatch):  # noqa: F811
    from critmin.web.app import create_app

    monkeypatch.setenv("CRITMIN_BRIEF_MC_RUNS", "200")
    monkeypatch.setenv("CRITMIN_BRIEF_STOCKPILE_RUNS", "100")
    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, web_db, app


def _nav(html: str) -> list[str]:
    nav = re.search(r"<nav>(.*?)</nav>", html, re.S).group(1)
    return re.findall(r'<a href="[^"]+"[^>]*>([^<]+)</a>', nav)


def test_language_switch_is_remembered_per_user(app_client, web_db) -> None:  # noqa: F811
    from critmin.i18n import translations

    c, db, app = app_client
    assert login(c, USERS["jp-analyst"]).status_code == 303
    en = c.get("/").text
    assert "Overview" in _nav(en) and '<html lang="en">' in en
    r = c.post("/lang", data={"lang": "ja", "next": "/stockpile", "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/stockpile"
    ja = c.get("/").text
    want = [translations("ja").gettext(x) for x in ("Overview", "Scenarios", "Stockpile", "Projects", "Brief")]
    assert set(want) <= set(_nav(ja)) and "概要" in want and '<html lang="ja">' in ja
    assert "<h1>共同ウォッチリスト</h1>" in ja and ">純輸入依存度（下の凡例参照）<" not in ja  # heading; titles are attributes
    assert 'title="純輸入依存度（下の凡例参照）"' in ja and ">輸入依存度</th>" in ja  # table headers
    assert "<h1>データ状況</h1>" in c.get("/data").text
    # another browser (no cookie) of the same user: the stored preference
    with TestClient(app) as c2:
        login(c2, USERS["jp-analyst"])
        assert "概要" in _nav(c2.get("/").text)
    # another user keeps English
    with TestClient(app) as c3:
        login(c3, USERS["us-analyst"])
        assert "Overview" in _nav(c3.get("/").text)
    # an unknown language is refused, not stored
    bad = c.post("/lang", data={"lang": "fr", "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert bad.status_code == 422


def test_brief_job_downloads_both_files_and_stays_with_its_visibility(app_client, web_db) -> None:  # noqa: F811
    import openpyxl

    c, db, app = app_client
    jp = bearer(db.tokens["jp-analyst"])
    us = bearer(db.tokens["us-analyst"])
    assert c.post("/api/briefs", json={"visibility": "JP"}, headers=us).status_code == 403
    assert c.post("/api/briefs", json={"lang": "fr"}, headers=jp).status_code == 422
    assert c.post("/api/briefs", json={"commodities": ["unobtainium"]}, headers=jp).status_code == 422
    r = c.post("/api/briefs", json={"lang": "ja", "visibility": "JP", "commodities": ["gallium"]}, headers=jp)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    job = app.state.ctx.jobs.wait(job_id, timeout=900)
    assert job["status"] == "done", job.get("error")
    res = c.get(f"/api/briefs/{job_id}", headers=jp).json()["result"]
    assert res["params"]["visibility"] == "JP" and res["params"]["mc_runs"] == 200
    pdf = c.get(f"/api/briefs/{job_id}/files/brief.pdf", headers=jp)
    xlsx = c.get(f"/api/briefs/{job_id}/files/brief.xlsx", headers=jp)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and pdf.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(pdf.content).hexdigest() == res["sha256"]["brief.pdf"]
    assert hashlib.sha256(xlsx.content).hexdigest() == res["sha256"]["brief.xlsx"]
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert "Sources" in wb.sheetnames
    # a US analyst may not see a JP brief, nor download it
    assert c.get(f"/api/briefs/{job_id}", headers=us).status_code == 404
    assert c.get(f"/api/briefs/{job_id}/files/brief.pdf", headers=us).status_code == 404
    assert c.get(f"/api/briefs/{job_id}/files/other.txt", headers=jp).status_code == 422
    with app.state.ctx.db.cursor() as con:
        from critmin.web import audit

        gen = [e for e in audit.entries(con, action="brief.generate")]
    assert gen and json.loads(gen[0]["detail"])["sha256"]["brief.pdf"] == res["sha256"]["brief.pdf"]


PAGES = ("/", "/commodity/rare_earths", "/scenarios", "/stockpile", "/projects", "/projects/P-MPM-MTNPASS", "/deposits",
         "/outlook", "/incidents", "/users", "/account", "/approvals", "/audit", "/data", "/brief")


def test_every_page_renders_in_japanese(app_client) -> None:
    """Every dashboard page renders after the switch to Japanese (a catalogue entry that breaks a
    template, e.g. a stray % in newstyle gettext, would be a 500 here), with its headings in Japanese."""
    c, db, app = app_client
    login(c, USERS["joint-admin"])
    assert c.post("/lang", data={"lang": "ja", "csrf_token": csrf_of(c)}, follow_redirects=False).status_code == 303
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert '<html lang="ja">' in r.text and "概要" in r.text, path
    assert "<h1>備蓄計画ツール</h1>" in c.get("/stockpile").text

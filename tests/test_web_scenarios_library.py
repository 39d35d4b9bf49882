"""The scenario library (issue 19 section 5, "save a scenario to the user's library, with its
visibility"): saved scenarios are scoped like projects (another government's own record is an
unknown id on every route, lists never show it), validated as a run is (a stored scenario is
runnable; 422 names the field), versioned (a stale write is a 409 that writes nothing), a joint
record is narrowed only with both governments' approval, every write is audited, and a session
write needs the CSRF token."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
from fastapi.testclient import TestClient

from web_support import SAVED_SPEC, USERS, bearer, csrf_of, login, web_db, web_db_template  # noqa: F401

BASE = "/api/saved-scenarios"


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path, job_workers=0)
    with TestClient(app) as c:
        yield c, web_db


def _h(db, role: str) -> dict[str, str]:
    return bearer(db.tokens[role])


def _save(c, db, role: str, vis: str | None, spec: dict | None = None):
    body: dict = {"spec": spec or SAVED_SPEC}
    if vis is not None:
        body["visibility"] = vis
    return c.post(BASE, json=body, headers=_h(db, role))


def _audit(c, db, action: str) -> list[dict]:
    r = c.get(f"/api/audit?limit=200&action={action}", headers=_h(db, "joint-admin"))
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_a_us_only_scenario_is_invisible_to_japan_everywhere(client):
    c, db = client
    r = _save(c, db, "us-analyst", None)  # the default: the caller's government
    assert r.status_code == 201, r.text
    rec = r.json()
    sid = rec["scenario_id"]
    assert sid.startswith("US-sc-") and rec["visibility"] == "US" and rec["version"] == 1
    assert rec["author"] == USERS["us-analyst"] and rec["name"] == SAVED_SPEC["name"] and rec["events"] == 1
    us_list = c.get(BASE, headers=_h(db, "us-analyst")).json()["scenarios"]
    assert sid in {s["scenario_id"] for s in us_list}
    # Japan: not in the list, and every item route answers exactly as for an id that does not exist
    for role in ("jp-analyst", "viewer"):
        listing = c.get(BASE, headers=_h(db, role))
        assert listing.status_code == 200 and sid not in listing.text
        assert all(s["visibility"] in ("JP", "joint") if role == "jp-analyst" else s["visibility"] == "joint"
                   for s in listing.json()["scenarios"])
    jp = _h(db, "jp-analyst")
    # the list's CSV download (the page's "Download table") holds Japan's rows only
    csv = c.get(f"{BASE}?table=scenarios&download=csv", headers=jp)
    assert csv.status_code == 200 and "scenario_id" in csv.text and sid not in csv.text
    assert "saved JP" in csv.text and "saved US" not in csv.text
    unknown = "US-sc-" + "0" * 12
    for method, suffix, body in (("GET", "", None), ("GET", "/toml", None),
                                 ("PUT", "", {"spec": SAVED_SPEC, "visibility": "JP"}), ("DELETE", "", None)):
        hidden = c.request(method, f"{BASE}/{sid}{suffix}", json=body, headers=jp)
        missing = c.request(method, f"{BASE}/{unknown}{suffix}", json=body, headers=jp)
        assert hidden.status_code == missing.status_code == 404, (method, suffix, hidden.text)
        assert hidden.json()["detail"].replace(sid, "X") == missing.json()["detail"].replace(unknown, "X")
    # nothing was changed by Japan's attempts
    assert c.get(f"{BASE}/{sid}", headers=_h(db, "us-analyst")).json()["version"] == 1


def test_saved_toml_is_what_the_cli_reads(client, tmp_path):
    from critmin.disruption.scenario import load_scenario, parse_scenario

    c, db = client
    spec = {**SAVED_SPEC, "description": "", "overrides": {"leakage": None}}  # blanks: the setting's default
    sid = _save(c, db, "jp-analyst", "joint", spec).json()["scenario_id"]
    assert sid.startswith("JP-sc-")
    r = c.get(f"{BASE}/{sid}/toml", headers=_h(db, "us-analyst"))  # joint: the US sees it too
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/toml")
    assert 'filename="us_only_gallium_ban.toml"' in r.headers["content-disposition"]
    assert tomllib.loads(r.text) == SAVED_SPEC  # the blanks are left out, as in the form's TOML
    f = tmp_path / "saved.toml"
    f.write_text(r.text)
    assert load_scenario(f) == parse_scenario(SAVED_SPEC)


def test_an_invalid_scenario_is_not_stored_and_names_its_field(client):
    c, db = client
    before = len(c.get(BASE, headers=_h(db, "us-analyst")).json()["scenarios"])
    bad = {**SAVED_SPEC, "events": [{**SAVED_SPEC["events"][0], "export_cut": 1.5}]}
    r = _save(c, db, "us-analyst", "US", bad)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("events[0].export_cut: ") and "1.5" in r.json()["detail"]
    r = _save(c, db, "us-analyst", "US", {**SAVED_SPEC, "name": "  "})
    assert r.status_code == 422 and r.json()["detail"].startswith("name")
    assert len(c.get(BASE, headers=_h(db, "us-analyst")).json()["scenarios"]) == before
    rows = _audit(c, db, "scenario.create")
    assert [e["outcome"] for e in rows[:2]] == ["invalid", "invalid"]
    # an update is validated the same way, and leaves the record as it was
    sid = _save(c, db, "us-analyst", "US").json()["scenario_id"]
    r = c.put(f"{BASE}/{sid}", json={"spec": bad, "version": 1}, headers=_h(db, "us-analyst"))
    assert r.status_code == 422 and "events[0].export_cut" in r.json()["detail"]
    assert c.get(f"{BASE}/{sid}", headers=_h(db, "us-analyst")).json()["spec"] == SAVED_SPEC


def test_a_stale_version_is_a_409_and_writes_nothing(client):
    c, db = client
    us = _h(db, "us-analyst")
    sid = _save(c, db, "us-analyst", "US").json()["scenario_id"]
    first = {**SAVED_SPEC, "horizon_months": 18}
    r = c.put(f"{BASE}/{sid}", json={"spec": first, "version": 1}, headers=us)
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["horizon_months"] == 18
    # a second editor who also opened version 1
    r = c.put(f"{BASE}/{sid}", json={"spec": {**SAVED_SPEC, "horizon_months": 6}, "version": 1}, headers=us)
    assert r.status_code == 409 and "version 1 is stale, the current version is 2" in r.json()["detail"]
    got = c.get(f"{BASE}/{sid}", headers=us).json()
    assert got["version"] == 2 and got["spec"] == first
    assert c.delete(f"{BASE}/{sid}?version=1", headers=us).status_code == 409
    assert c.delete(f"{BASE}/{sid}?version=2", headers=us).status_code == 200
    assert c.get(f"{BASE}/{sid}", headers=us).status_code == 404
    outcomes = {(e["action"], e["outcome"]) for e in _audit(c, db, "scenario.update") + _audit(c, db, "scenario.delete")}
    assert {("scenario.update", "ok"), ("scenario.update", "stale"), ("scenario.delete", "stale"),
            ("scenario.delete", "ok")} <= outcomes
    assert _audit(c, db, "scenario.create")[0]["target"] == sid


def test_visibility_follows_the_project_rules(client):
    c, db = client
    us, jp = _h(db, "us-analyst"), _h(db, "jp-analyst")
    # a JP analyst may not make a US-only record; the viewer (read-only) may not save at all
    assert _save(c, db, "jp-analyst", "US").status_code == 403
    assert _save(c, db, "viewer", "joint").status_code == 403
    sid = _save(c, db, "us-analyst", "US").json()["scenario_id"]
    # a US-namespace record can never become JP-only (not even by a joint-admin)
    r = c.put(f"{BASE}/{sid}", json={"spec": SAVED_SPEC, "visibility": "JP"}, headers=_h(db, "joint-admin"))
    assert r.status_code == 422 and "namespace" in r.json()["detail"]
    # widening to joint is direct; Japan then sees it and may edit it
    r = c.put(f"{BASE}/{sid}", json={"spec": SAVED_SPEC, "visibility": "joint", "version": 1}, headers=us)
    assert r.status_code == 200 and r.json()["visibility"] == "joint"
    r = c.put(f"{BASE}/{sid}", json={"spec": {**SAVED_SPEC, "horizon_months": 24}, "version": 2}, headers=jp)
    assert r.status_code == 200 and r.json()["version"] == 3 and r.json()["updated_by"] == USERS["jp-analyst"]
    # a joint record is deleted by its author or an admin only
    assert c.delete(f"{BASE}/{sid}", headers=jp).status_code == 403
    # narrowing it back to US-only needs both governments: it stays joint until Japan approves
    r = c.put(f"{BASE}/{sid}", json={"spec": SAVED_SPEC, "visibility": "US", "version": 3}, headers=us)
    assert r.status_code == 202 and r.json()["status"] == "pending"
    aid = r.json()["approval"]["approval_id"]
    got = c.get(f"{BASE}/{sid}", headers=jp).json()
    assert got["visibility"] == "joint" and got["version"] == 3
    r = c.post(f"/api/approvals/{aid}/approve", headers=jp)
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    assert c.get(f"{BASE}/{sid}", headers=jp).status_code == 404
    got = c.get(f"{BASE}/{sid}", headers=us).json()
    assert got["visibility"] == "US" and got["version"] == 4 and got["spec"] == SAVED_SPEC
    assert got["updated_by"] == f"approval:{aid}"


def test_an_approval_on_a_changed_scenario_is_stale(client):
    c, db = client
    us, jp = _h(db, "us-analyst"), _h(db, "jp-analyst")
    sid = _save(c, db, "us-analyst", "joint").json()["scenario_id"]
    aid = c.put(f"{BASE}/{sid}", json={"spec": SAVED_SPEC, "visibility": "US"}, headers=us).json()["approval"][
        "approval_id"]
    assert c.put(f"{BASE}/{sid}", json={"spec": {**SAVED_SPEC, "horizon_months": 9}}, headers=jp).status_code == 200
    r = c.post(f"/api/approvals/{aid}/approve", headers=jp)
    assert r.status_code == 200 and r.json()["status"] == "stale"
    got = c.get(f"{BASE}/{sid}", headers=jp).json()  # still joint, with Japan's edit
    assert got["visibility"] == "joint" and got["horizon_months"] == 9


def test_a_browser_save_needs_the_csrf_token(client):
    c, db = client
    assert login(c, USERS["us-analyst"]).status_code == 303
    body = {"spec": SAVED_SPEC, "visibility": "US"}
    assert c.post(BASE, json=body).status_code == 403
    assert c.post(BASE, json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    r = c.post(BASE, json=body, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 201, r.text
    assert c.get(BASE).json()["scenarios"][0]["scenario_id"] == r.json()["scenario_id"]  # newest first


def test_the_scenarios_page_has_the_library_and_gates_the_run(client):
    c, db = client
    assert login(c, USERS["us-analyst"]).status_code == 303
    html = c.get("/scenarios").text
    for needle in ('id="savedlib"', 'id="savebtn"', 'id="savevis"', 'id="runreason"'):
        assert needle in html
    # the run button starts disabled: scenarios.js enables it once every picker is filled and valid
    assert 'id="runone" type="button" disabled' in html
    # in Japanese, the form's own messages (the library, the gate, the live validation) are Japanese
    r = c.post("/lang", data={"lang": "ja", "next": "/scenarios", "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    msgs = json.loads(re.search(r'<script type="application/json" id="scmsgs">(.*?)</script>', c.get("/scenarios").text,
                                re.S).group(1))
    assert msgs["loading"] == "輸出国の一覧を読み込み中です" and msgs["vis"]["joint"] == "日米両政府（共同）"
    assert msgs["v_after"].count("{h}") == 1 and msgs["n_errors"].count("{n}") == 1  # filled in by scenarios.js

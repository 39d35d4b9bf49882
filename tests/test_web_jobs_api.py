"""Jobs and optimistic writes through the HTTP API (in-process app on the store of the run):
requests are validated before anything is queued (422, no job row), per-role run-size limit
(403), per-user quota (429 + Retry-After), cancel, and stale project writes (409)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from critmin.ops import open_store
from web_support import PROJECTS, bearer, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def api(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path, job_workers=0, ops_url=web_db.ops_url)  # nothing runs: jobs stay queued
    with TestClient(app) as c:
        yield c, web_db, open_store(web_db.ops_url)


def _jobs(store) -> int:
    return store.execute("SELECT count(*) FROM web_job").fetchone()[0]


@pytest.mark.parametrize("body, field", [
    ('{"budgets_usd": {"USA": NaN, "JPN": 1e8}}', "budgets_usd.USA"),
    ('{"budgets_usd": {"USA": -5, "JPN": 1e8}}', "budgets_usd.USA"),
    ('{"budgets_usd": {"FRA": 1e8}}', "budgets_usd.FRA"),
    ('{"budgets_usd": {"USA": 1e8}, "loss_multiple": {"*": NaN}}', "loss_multiple.*"),
    ('{"budgets_usd": {"USA": 1e8}, "loss_multiple": {"gallium": 0.5}}', "loss_multiple.gallium"),
    ('{"budgets_usd": {"USA": 1e8}, "loss_multiple": {"unobtainium": 2}}', "loss_multiple"),
])
def test_invalid_plan_requests_are_422_and_queue_nothing(api, body, field):
    c, db, store = api
    before = _jobs(store)
    r = c.post("/api/stockpile/plans", content=body,
               headers={**bearer(db.tokens["us-analyst"]), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert field in r.text
    assert _jobs(store) == before


def test_run_size_limit_per_role(api, monkeypatch):
    c, db, store = api
    monkeypatch.setenv("CRITMIN_JOBS_MAX_RUNS_US_ANALYST", "1000")
    r = c.post("/api/simulations", json={"monte_carlo": {"runs": 1001}}, headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 403 and "at most 1,000 runs" in r.text
    r = c.post("/api/simulations", json={"monte_carlo": {"runs": 1000}}, headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 202, r.text
    r = c.post("/api/simulations", json={"monte_carlo": {"runs": 1001}}, headers=bearer(db.tokens["joint-admin"]))
    assert r.status_code == 202, r.text  # joint-admin's limit (jobs.max_runs.joint-admin) is higher


def test_quota_then_cancel(api, monkeypatch):
    c, db, store = api
    monkeypatch.setenv("CRITMIN_JOBS_MAX_QUEUED_PER_USER", "2")
    h = bearer(db.tokens["jp-analyst"])
    body = {"scenario": "cn_graphite_licensing_2023"}
    first = c.post("/api/simulations", json=body, headers=h)
    assert first.status_code == 202
    assert c.post("/api/simulations", json=body, headers=h).status_code == 202
    r = c.post("/api/simulations", json=body, headers=h)
    assert r.status_code == 429 and r.headers["retry-after"] == "30" and "the limit is 2" in r.text
    # another user is not held back by jun's quota
    assert c.post("/api/simulations", json=body, headers=bearer(db.tokens["us-analyst"])).status_code == 202
    job_id = first.json()["job_id"]
    # another government's analyst cannot see it, let alone cancel it
    assert c.post(f"/api/simulations/{job_id}/cancel", headers=bearer(db.tokens["us-analyst"])).status_code == 404
    r = c.post(f"/api/simulations/{job_id}/cancel", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert c.get(f"/api/simulations/{job_id}", headers=h).json()["status"] == "cancelled"
    assert c.post("/api/simulations", json=body, headers=h).status_code == 202  # room again


def test_unknown_scenario_is_rejected_before_queueing(api):
    c, db, store = api
    before = _jobs(store)
    r = c.post("/api/simulations", json={"scenario": "no-such-scenario"}, headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 404
    r = c.post("/api/simulations", json={"monte_carlo": {"runs": 10, "commodities": ["unobtainium"]}},
               headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 422 and "monte_carlo.commodities" in r.text
    assert _jobs(store) == before


def test_stale_project_write_is_409_and_writes_nothing(api):
    c, db, store = api
    h = bearer(db.tokens["us-analyst"])
    pid = PROJECTS["joint"]
    rec = c.get(f"/api/projects/{pid}", headers=h).json()
    v = rec.pop("version")
    r = c.post(f"/api/projects?version={v}", json={**rec, "name": rec["name"] + " (first)"}, headers=h)
    assert r.status_code == 201 and r.json()["version"] == v + 1
    # a second editor who read version v too
    r = c.post(f"/api/projects?version={v}", json={**rec, "name": rec["name"] + " (second)"}, headers=h)
    assert r.status_code == 409 and f"version {v} is stale, the current version is {v + 1}" in r.text
    r = c.post("/api/projects", json={**rec, "name": rec["name"] + " (third)"},
               headers={**h, "If-Match": f'"{v}"'})
    assert r.status_code == 409
    now = c.get(f"/api/projects/{pid}", headers=h).json()
    assert now["name"].endswith("(first)") and now["version"] == v + 1
    rows = store.execute("SELECT count(*) FROM project_version WHERE project_id = ?", [pid]).fetchone()[0]
    assert rows == v + 1
    assert json.loads(store.execute("SELECT record FROM project_version WHERE project_id = ? AND version = ?",
                                    [pid, v + 1]).fetchone()[0])["name"].endswith("(first)")

"""The outlook API and page (issue 17) on the real warehouse: the same numbers as the workflow,
visibility-scoped pipeline, 422 for bad input, and the page with its scenario selector."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from web_support import bearer, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, app.state.ctx, web_db


def test_outlook_api_agrees_with_the_gap_api(client):
    c, _ctx, db = client
    c.headers.update(bearer(db.tokens["joint-admin"]))
    r = c.get("/api/outlook", params={"commodity": "lithium", "stage": "processing", "scenario": "APS", "draws": 200,
                                      "seed": 5})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["years"][0] == 2024 and body["years"][-1] == 2040 and body["random_state"] == 5
    assert "Electric vehicles" in body["demand"]["WORLD|APS"]["by_technology"]
    g = c.get("/api/gap", params={"for": "US,JP", "year": 2030, "scenario": "APS", "draws": 200, "seed": 5})
    assert g.status_code == 200, g.text
    rows = {(x["commodity"], x["stage"], x["scope"]): x for x in g.json()["rows"]}
    one = next(x for x in body["gap"] if x["year"] == 2030 and x["scope"] == "USA+JPN" and x["scenario"] == "APS")
    two = rows[("lithium", "processing", "USA+JPN")]
    for k in ("demand_t", "secure_base_t", "expected_added_t", "gap_without_projects_t"):
        assert two[k] == pytest.approx(one[k]), k


def test_outlook_api_rejects_bad_input(client):
    c, _ctx, db = client
    c.headers.update(bearer(db.tokens["viewer"]))
    assert c.get("/api/outlook", params={"commodity": "lithium", "stage": "magnet"}).status_code == 422
    ga = c.get("/api/outlook", params={"commodity": "gallium", "draws": 100})
    assert ga.status_code == 200 and ga.json()["gap"] == [] and ga.json()["not_computable"]  # demand only
    assert c.get("/api/outlook", params={"commodity": "unobtainium"}).status_code == 422
    assert c.get("/api/gap", params={"year": 2050}).status_code == 422


def test_viewer_pipeline_holds_only_joint_projects(client):
    c, ctx, db = client
    c.headers.update(bearer(db.tokens["viewer"]))
    body = c.get("/api/outlook", params={"commodity": "rare_earths", "draws": 100}).json()
    from critmin.projects.registry import Registry

    vis = {p.id: str(p.visibility) for p in Registry(ctx.ops).list("joint")}
    assert all(vis.get(p["project"]) == "joint" for p in body["projects"])


def test_outlook_page_has_the_scenario_selector_and_charts(client):
    c, _ctx, db = client
    c.headers.update(bearer(db.tokens["us-analyst"]))
    r = c.get("/outlook")
    assert r.status_code == 200
    for s in ("STEPS", "APS", "NZE"):
        assert f'value="{s}"' in r.text
    for div in ('id="demand"', 'id="supply"', 'id="gap"', "/static/outlook.js", "/vendor/plotly.min.js"):
        assert div in r.text
    assert 'href="/outlook"' in r.text

"""The request path's shortcuts change no answer: the project list built once per registry
version is the same list as before and shows every write at once (through the API, or by another
process straight into the store); the outlook is computed afresh when a visible project changes."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from web_support import PROJECTS, bearer, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path, job_workers=0)
    with TestClient(app) as c:
        yield c, app.state.ctx, web_db


def _count_builds(monkeypatch) -> list:
    from critmin.web import api_projects

    calls: list = []
    real = api_projects.visible_projects

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(api_projects, "visible_projects", counting)
    return calls


def test_the_project_list_is_built_once_per_registry_version(client, monkeypatch):
    c, ctx, db = client
    us = bearer(db.tokens["us-analyst"])
    calls = _count_builds(monkeypatch)
    first = c.get("/api/projects", headers=us)
    assert first.status_code == 200 and first.headers["content-type"] == "application/json"
    again = c.get("/api/projects", headers=us)
    assert calls == [1] and again.json() == first.json()
    # the list is the registry's, as the registry reads it for the US (no JP-only record)
    from critmin.web.api_projects import registry

    expected = [p.model_dump(mode="json")["id"] for p in registry(ctx).list("US")]
    assert [p["id"] for p in first.json()["projects"]] == expected
    assert PROJECTS["JP"] not in expected and PROJECTS["US"] in expected
    # a role that sees other records has its own answer
    jp = c.get("/api/projects", headers=bearer(db.tokens["jp-analyst"])).json()
    assert PROJECTS["JP"] in [p["id"] for p in jp["projects"]] and len(calls) == 2
    # filters too
    one = c.get("/api/projects", params={"commodity": "rare_earths"}, headers=us).json()["projects"]
    assert one and {p["commodity_id"] for p in one} == {"rare_earths"}


def test_a_write_shows_in_the_next_list_through_the_api_or_another_process(client):
    c, ctx, db = client
    us = bearer(db.tokens["us-analyst"])
    pid = PROJECTS["joint"]
    before = {p["id"]: p for p in c.get("/api/projects", headers=us).json()["projects"]}
    rec = c.get(f"/api/projects/{pid}", headers=us).json()
    v = rec.pop("version")
    r = c.post(f"/api/projects?version={v}", json={**rec, "name": rec["name"] + " (edited)"}, headers=us)
    assert r.status_code == 201, r.text
    after = {p["id"]: p for p in c.get("/api/projects", headers=us).json()["projects"]}
    assert after[pid]["name"] == before[pid]["name"] + " (edited)"
    # another server process writes straight into the shared store: seen at the next request
    from critmin.ops import open_store
    from critmin.projects.registry import Registry

    other = Registry.open(open_store(db.ops_url, warehouse=db.path))
    proj = other.get(pid, "joint")
    other.put(proj.model_copy(update={"name": "renamed elsewhere"}), author="other-worker", viewer="joint")
    now = {p["id"]: p for p in c.get("/api/projects", headers=us).json()["projects"]}
    assert now[pid]["name"] == "renamed elsewhere"
    assert len(now) == len(before)


def test_the_outlook_is_computed_again_when_a_visible_project_changes(client, monkeypatch):
    from critmin.outlook import service

    c, ctx, db = client
    h = bearer(db.tokens["joint-admin"])
    calls: list = []
    real = service.outlook
    monkeypatch.setattr(service, "outlook", lambda *a, **k: calls.append(1) or real(*a, **k))
    q = {"commodity": "lithium", "stage": "processing", "scenario": "STEPS", "draws": 100, "seed": 1}
    assert c.get("/api/outlook", params=q, headers=h).status_code == 200
    assert c.get("/api/outlook", params=q, headers=h).status_code == 200
    assert calls == [1]  # cached
    pid = PROJECTS["joint"]
    rec = c.get(f"/api/projects/{pid}", headers=h).json()
    v = rec.pop("version")
    assert c.post(f"/api/projects?version={v}", json={**rec, "name": rec["name"] + " x"}, headers=h).status_code == 201
    assert c.get("/api/outlook", params=q, headers=h).status_code == 200
    assert calls == [1, 1]  # same project ids, new contents: not the old answer


def test_the_served_list_is_the_json_the_api_always_gave(client):
    """Pre-serialised bytes decode to the registry's records, numbers and nulls intact."""
    c, ctx, db = client
    body = c.get("/api/projects", headers=bearer(db.tokens["joint-admin"])).content
    doc = json.loads(body)
    from critmin.web.api_projects import registry
    from critmin.web.convert import jsonable

    assert doc == {"projects": [jsonable(p.model_dump(mode="json")) for p in registry(ctx).list("joint")]}

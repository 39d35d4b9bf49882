"""Issue 18 security list, access: a write to a hidden project id answers exactly as a write to
an id that does not exist (ids namespaced per government); a joint project cannot be turned
into one government's own record without one approval from each government, and the other
side is notified."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from fastapi.testclient import TestClient

from critmin.web import audit
from web_support import PROJECTS, USERS, bearer, csrf_of, login, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, web_db, app


def _seed(pid: str) -> dict:
    seed = json.loads(resources.files("critmin.projects").joinpath("data/seed_projects.json").read_text())
    return next(p for p in seed if p["id"] == pid)


def _same(a, b, id_a: str, id_b: str) -> None:
    """Two answers alike in status, headers (but the date and length) and body (but the id)."""
    assert a.status_code == b.status_code, (a.status_code, a.text, b.status_code, b.text)
    assert a.text.replace(id_a, "X") == b.text.replace(id_b, "X")
    skip = {"date", "content-length"}
    assert {k: v for k, v in a.headers.items() if k not in skip} == \
        {k: v for k, v in b.headers.items() if k not in skip}


def test_write_to_a_hidden_id_answers_as_a_write_to_an_id_that_does_not_exist(client):
    c, db, app = client
    jp = bearer(db.tokens["jp-analyst"])
    hidden = PROJECTS["US"]  # US-only, exists
    record = {**_seed(hidden), "visibility": "JP", "name": "probe"}
    for query in ("", "?version=1", "?version=7"):
        a = c.post("/api/projects" + query, json=record, headers=jp)
        b = c.post("/api/projects" + query, json={**record, "id": "P-NO-SUCH-PROJECT"}, headers=jp)
        _same(a, b, hidden, "P-NO-SUCH-PROJECT")
        assert a.status_code == 404
        # and as an id in the other government's namespace, existing or not
        d = c.post("/api/projects" + query, json={**record, "id": "US-NOT-THERE"}, headers=jp)
        _same(a, d, hidden, "US-NOT-THERE")
    # with If-Match too
    a = c.post("/api/projects", json=record, headers={**jp, "If-Match": "1"})
    b = c.post("/api/projects", json={**record, "id": "P-NO-SUCH-PROJECT"}, headers={**jp, "If-Match": "1"})
    _same(a, b, hidden, "P-NO-SUCH-PROJECT")
    # nothing was written; the US analyst still sees the record as it was
    us = bearer(db.tokens["us-analyst"])
    got = c.get(f"/api/projects/{hidden}", headers=us).json()
    assert got["visibility"] == "US" and got["name"] == _seed(hidden)["name"]


def test_namespaced_ids_cannot_clash_and_cannot_be_probed(client):
    c, db, app = client
    jp, us = bearer(db.tokens["jp-analyst"]), bearer(db.tokens["us-analyst"])
    base = {k: v for k, v in _seed(PROJECTS["JP"]).items() if k != "id"}
    r = c.post("/api/projects", json={**base, "id": "JP-NEW-MINE", "visibility": "JP"}, headers=jp)
    assert r.status_code == 201, r.text
    # the US analyst probing that JP-only id gets what an unused JP- id gets
    a = c.post("/api/projects", json={**base, "id": "JP-NEW-MINE", "visibility": "US"}, headers=us)
    b = c.post("/api/projects", json={**base, "id": "JP-UNUSED", "visibility": "US"}, headers=us)
    _same(a, b, "JP-NEW-MINE", "JP-UNUSED")
    assert a.status_code == 404
    # an unprefixed new id is refused for everyone but the admin (it could clash with a hidden one)
    r = c.post("/api/projects", json={**base, "id": "P-BRAND-NEW", "visibility": "JP"}, headers=jp)
    assert r.status_code == 404 and "namespace" in r.json()["detail"]
    # a namespace holds only its government's or joint records (so it has no hidden ids for it)
    admin = bearer(db.tokens["joint-admin"])
    r = c.post("/api/projects", json={**base, "id": "JP-ADMIN-TRY", "visibility": "US"}, headers=admin)
    assert r.status_code == 422 and "JP namespace" in r.json()["detail"]
    # a joint record in a namespace is visible, so writable, to the other government
    r = c.post("/api/projects", json={**base, "id": "JP-SHARED", "visibility": "joint"}, headers=jp)
    assert r.status_code == 201
    r = c.post("/api/projects", json={**base, "id": "JP-SHARED", "visibility": "joint", "name": "edited by US"},
               headers=us)
    assert r.status_code == 201 and r.json()["name"] == "edited by US"
    # the refusals are audited
    with app.state.ctx.db.cursor() as con:
        refused = [e for e in audit.entries(con, action="project.put") if e["outcome"] == "refused"]
    assert any(e["target"] == "JP-NEW-MINE" for e in refused)


def test_joint_project_becomes_own_only_only_with_both_governments_approval(client):
    c, db, app = client
    us, jp = bearer(db.tokens["us-analyst"]), bearer(db.tokens["jp-analyst"])
    admin, viewer = bearer(db.tokens["joint-admin"]), bearer(db.tokens["viewer"])
    pid = PROJECTS["joint"]
    rec = {**_seed(pid), "visibility": "US", "name": _seed(pid)["name"] + " (US only)"}
    r = c.post("/api/projects", json=rec, headers=us)
    assert r.status_code == 202, r.text
    req = r.json()["approval"]
    assert req["status"] == "pending" and req["us_by"] == USERS["us-analyst"] and req["jp_by"] is None
    # nothing changed yet: still joint, JP and the viewer still see it
    assert c.get(f"/api/projects/{pid}", headers=jp).json()["visibility"] == "joint"
    assert c.get(f"/api/projects/{pid}", headers=viewer).status_code == 200
    # the JP side is told in its dashboard
    n = c.get("/api/notices", headers=jp).json()
    assert n["awaiting_you"] == 1 and pid in n["notices"][0]["text"]
    assert c.get("/api/notices", headers=us).json()["awaiting_you"] == 0
    b = TestClient(app)
    login(b, USERS["jp-analyst"])
    page = b.get("/approvals").text
    assert req["approval_id"] in page and "Approve for JP" in page
    assert 'src="/static/notices.js"' in b.get("/").text
    # a second request on the same record waits for the first
    assert c.post("/api/projects", json={**rec, "visibility": "US"}, headers=us).status_code == 409
    # the US side cannot approve twice, the admin approves for neither, the viewer may not
    url = f"/api/approvals/{req['approval_id']}"
    assert c.post(url + "/approve", headers=us).status_code == 409
    assert c.post(url + "/approve", headers=admin).status_code == 403
    assert c.post(url + "/approve", headers=viewer).status_code == 403
    assert c.get(f"/api/projects/{pid}", headers=jp).json()["visibility"] == "joint"
    # JP approves (through the page's API call, with CSRF): applied
    r = b.post(url + "/approve", headers={"X-CSRF-Token": csrf_of(b)})
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    assert c.get(f"/api/projects/{pid}", headers=us).json()["visibility"] == "US"
    assert c.get(f"/api/projects/{pid}", headers=jp).status_code == 404
    texts = [x["text"] for x in c.get("/api/notices", headers=jp).json()["notices"]]
    assert any("is now US-only" in t for t in texts)
    with app.state.ctx.db.cursor() as con:
        acts = [(e["action"], e["outcome"]) for e in audit.entries(con, action="approval")]
        assert ("approval.request", "ok") in acts and ("approval.approve", "ok") in acts
        assert ("approval.apply", "ok") in acts
        assert audit.verify_chain(con)[0]


def test_the_other_government_can_reject_and_the_record_stays_joint(client):
    c, db, app = client
    us, jp = bearer(db.tokens["us-analyst"]), bearer(db.tokens["jp-analyst"])
    pid = PROJECTS["joint"]
    r = c.post("/api/projects", json={**_seed(pid), "visibility": "JP"}, headers=jp)
    assert r.status_code == 202
    aid = r.json()["approval"]["approval_id"]
    r = c.post(f"/api/approvals/{aid}/reject", headers=us)
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert c.get(f"/api/projects/{pid}", headers=us).json()["visibility"] == "joint"
    assert c.post(f"/api/approvals/{aid}/approve", headers=us).status_code == 409
    assert c.post("/api/approvals/apr-nothere/approve", headers=us).status_code == 404
    # the admin asking needs both governments
    admin = bearer(db.tokens["joint-admin"])
    r = c.post("/api/projects", json={**_seed(pid), "visibility": "US"}, headers=admin)
    assert r.status_code == 202
    aid = r.json()["approval"]["approval_id"]
    assert c.post(f"/api/approvals/{aid}/approve", headers=us).json()["status"] == "pending"
    assert c.get(f"/api/projects/{pid}", headers=jp).json()["visibility"] == "joint"
    assert c.post(f"/api/approvals/{aid}/approve", headers=jp).json()["status"] == "applied"
    assert c.get(f"/api/projects/{pid}", headers=jp).status_code == 404


def test_widening_an_own_record_to_joint_needs_no_approval(client):
    c, db, app = client
    us = bearer(db.tokens["us-analyst"])
    pid = PROJECTS["US"]
    r = c.post("/api/projects", json={**_seed(pid), "visibility": "joint"}, headers=us)
    assert r.status_code == 201 and r.json()["visibility"] == "joint"

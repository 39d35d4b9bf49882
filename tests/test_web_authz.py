"""Authorisation matrix, generated from the app's route table.

Every route of the app must have an access rule (``critmin.web.access.RULES``) and an example
request here (``EXAMPLES``); a new endpoint without either fails. Each route is then called as
anonymous and as every role, on records of the caller's own government and of the other
government, and the status must be what the rule implies:

* anonymous: 401 (API) or a redirect to /login (pages), unless the route is public;
* a role the rule does not list: 403;
* a record the role may not see: 404 (never 403), and lists never contain it;
* otherwise success.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from critmin.web.access import RULES
from web_support import PROJECTS, bearer, web_db, web_db_template  # noqa: F401

ROLE_OWN = {"us-analyst": "US", "jp-analyst": "JP", "joint-admin": "US", "viewer": "joint"}
ROLE_OTHER = {"us-analyst": "JP", "jp-analyst": "US", "viewer": "US"}  # joint-admin sees everything


@dataclass
class Req:
    method: str
    url: str
    json: dict | None = None
    absent: tuple[str, ...] = ()  # ids that must not appear in the body (lists)
    data: dict | None = None  # a form body (instead of json)
    redirect: str | None = None  # success is this 303 redirect (a form post), not a 2xx


Example = Callable[[str, dict], Req]  # (visibility of the record, fixture ids) -> request


def _job(kind: str, base: str) -> Example:
    return lambda vis, ids: Req("GET", f"{base}/{ids['jobs'][(kind, vis)]}")


def _job_list(kind: str, base: str) -> Example:
    return lambda vis, ids: Req("GET", base, absent=tuple(
        j for (k, v), j in ids["jobs"].items() if k == kind and v not in ids["sees"]))


def _project_record(vis: str, ids: dict) -> Req:
    import json
    from importlib import resources

    seed = json.loads(resources.files("critmin.projects").joinpath("data/seed_projects.json").read_text())
    rec = next(p for p in seed if p["id"] == PROJECTS[vis])
    # an edit; for a record the caller may not see, an attempt to overwrite it under a
    # visibility the caller may write
    v = vis if vis in ids["sees"] else ids["own"]
    return Req("POST", "/api/projects", json={**rec, "name": rec["name"] + " (edited)", "visibility": v})


def _unseen_projects(ids: dict) -> tuple[str, ...]:
    return tuple(p for vis, p in PROJECTS.items() if vis not in ids["sees"])


def _scenario_toml() -> str:
    from pathlib import Path

    return (Path(__file__).resolve().parents[1] / "scenarios" / "cn_graphite_licensing_2023.toml").read_text()


_SCENARIO = __import__("tomllib").loads(_scenario_toml())


def _saved(vis: str, ids: dict, suffix: str = "") -> str:
    """The fixture's saved scenario of a visibility (anonymous rows: any id, refused first)."""
    return f"/api/saved-scenarios/{ids.get('scenarios', {}).get(vis, 'US-sc-000000000000')}{suffix}"


def _saved_edit(vis: str, ids: dict) -> Req:
    from web_support import SAVED_SPEC

    # an edit under the visibility the record has (or, for a record the caller may not see, under
    # one the caller may write: still the unknown id's 404)
    v = vis if vis in ids["sees"] else ids["own"]
    return Req("PUT", _saved(vis, ids), json={"spec": {**SAVED_SPEC, "horizon_months": 24}, "visibility": v})


def _saved_delete(vis: str, ids: dict) -> Req:
    # every role deletes a record of its own (the matrix's later rows still find theirs)
    sid = ids.get("scenarios", {}).get((vis, ids.get("role")), "US-sc-000000000000")
    return Req("DELETE", f"/api/saved-scenarios/{sid}")


EXAMPLES: dict[tuple[str, str], Example | None] = {
    # covered by dedicated tests in test_web_auth.py (login flow, CSRF, logout)
    ("POST", "/login"): None,
    ("POST", "/logout"): None,
    ("GET", "/login"): lambda v, i: Req("GET", "/login"),
    ("GET", "/openapi.json"): lambda v, i: Req("GET", "/openapi.json"),
    ("GET", "/static/{path:path}"): lambda v, i: Req("GET", "/static/app.css"),
    ("GET", "/vendor/plotly.min.js"): lambda v, i: Req("GET", "/vendor/plotly.min.js"),
    ("GET", "/vendor/topojson/{name}"): lambda v, i: Req("GET", "/vendor/topojson/world_110m.json"),
    ("GET", "/healthz"): lambda v, i: Req("GET", "/healthz"),
    ("GET", "/readyz"): lambda v, i: Req("GET", "/readyz"),
    ("GET", "/api/me"): lambda v, i: Req("GET", "/api/me"),
    ("GET", "/api/data/status"): lambda v, i: Req("GET", "/api/data/status"),
    ("GET", "/api/commodities"): lambda v, i: Req("GET", "/api/commodities"),
    ("GET", "/api/production/{commodity}"): lambda v, i: Req("GET", "/api/production/gallium"),
    ("GET", "/api/assess"): lambda v, i: Req("GET", "/api/assess"),
    ("GET", "/api/deposits"): lambda v, i: Req("GET", "/api/deposits?commodity=cobalt&limit=50"),
    ("GET", "/api/provenance/{dataset_id}/{source_line}"): lambda v, i: Req("GET", "/api/provenance/1/2"),
    ("GET", "/api/scenarios"): lambda v, i: Req("GET", "/api/scenarios"),
    ("GET", "/api/scenarios/{name}"): lambda v, i: Req("GET", "/api/scenarios/cn_graphite_licensing_2023"),
    ("GET", "/api/simulations"): _job_list("simulation", "/api/simulations"),
    ("GET", "/api/simulations/{job_id}"): _job("simulation", "/api/simulations"),
    ("POST", "/api/simulations"): lambda v, i: Req("POST", "/api/simulations", json={
        "scenario": "cn_graphite_licensing_2023", "visibility": v}),
    ("GET", "/api/stockpile/plans"): _job_list("stockpile", "/api/stockpile/plans"),
    ("GET", "/api/stockpile/plans/{job_id}"): _job("stockpile", "/api/stockpile/plans"),
    # cancelling a finished job is a no-op (200); another government's job is an unknown one (404)
    ("POST", "/api/simulations/{job_id}/cancel"): lambda v, i: Req(
        "POST", f"/api/simulations/{i['jobs'][('simulation', v)]}/cancel"),
    ("POST", "/api/stockpile/plans/{job_id}/cancel"): lambda v, i: Req(
        "POST", f"/api/stockpile/plans/{i['jobs'][('stockpile', v)]}/cancel"),
    # planning against another government's Monte Carlo run must look like an unknown run
    ("POST", "/api/stockpile/plans"): lambda v, i: Req("POST", "/api/stockpile/plans", json={
        "budgets_usd": {"USA": 1e8, "JPN": 1e8}, "run_id": i["jobs"][("simulation", v)], "visibility": v}),
    ("GET", "/api/projects"): lambda v, i: Req("GET", "/api/projects", absent=tuple(
        p for vis, p in PROJECTS.items() if vis not in i["sees"])),
    ("GET", "/api/projects/{project_id}"): lambda v, i: Req("GET", f"/api/projects/{PROJECTS[v]}"),
    ("POST", "/api/projects"): _project_record,
    ("POST", "/api/projects/selection"): lambda v, i: Req("POST", "/api/projects/selection", json={
        "budget_usd": {"USA": 1e9, "JPN": 1e9}, "projects": [PROJECTS[v]], "visibility": v}),
    ("GET", "/api/projects/selection/{job_id}"): _job("selection", "/api/projects/selection"),
    ("GET", "/api/clock"): lambda v, i: Req("GET", "/api/clock", absent=tuple(
        p for vis, p in PROJECTS.items() if vis not in i["sees"])),
    ("GET", "/api/audit"): lambda v, i: Req("GET", "/api/audit?limit=5"),
    ("GET", "/api/audit/export"): lambda v, i: Req("GET", "/api/audit/export?format=json"),
    ("GET", "/api/users"): lambda v, i: Req("GET", "/api/users"),
    ("POST", "/api/users"): lambda v, i: Req("POST", "/api/users", json={"name": "new-user", "role": "viewer"}),
    ("POST", "/api/users/{name}/tokens"): lambda v, i: Req("POST", "/api/users/ann-us/tokens"),
    # revoking the viewer's tokens would break later rows of the matrix: revoke a fresh user
    ("POST", "/api/users/{name}/revoke"): lambda v, i: Req("POST", "/api/users/new-user/revoke"),
    # security administration (test_web_security_*.py test what each does)
    ("GET", "/vendor/plotly.css"): lambda v, i: Req("GET", "/vendor/plotly.css"),
    ("POST", "/api/users/{name}/disable"): lambda v, i: Req("POST", "/api/users/new-user/disable"),
    ("POST", "/api/users/{name}/enable"): lambda v, i: Req("POST", "/api/users/new-user/enable"),
    ("POST", "/api/users/{name}/unlock"): lambda v, i: Req("POST", "/api/users/new-user/unlock"),
    ("POST", "/api/users/{name}/totp/remove"): lambda v, i: Req("POST", "/api/users/new-user/totp/remove"),
    ("GET", "/api/lockouts"): lambda v, i: Req("GET", "/api/lockouts"),
    ("POST", "/api/lockouts/lift"): lambda v, i: Req("POST", "/api/lockouts/lift", json={"key": "user:nobody"}),
    ("POST", "/api/audit/checkpoint"): lambda v, i: Req("POST", "/api/audit/checkpoint"),
    ("GET", "/api/audit/checkpoints"): lambda v, i: Req("GET", "/api/audit/checkpoints"),
    ("GET", "/api/audit/verify"): lambda v, i: Req("GET", "/api/audit/verify"),
    ("GET", "/account"): lambda v, i: Req("GET", "/account"),
    ("POST", "/account/totp/begin"): lambda v, i: Req("POST", "/account/totp/begin"),
    # a password change, the TOTP confirmation and approvals need a secret or a pending request:
    # test_web_security_auth.py and test_web_security_access.py (roles included)
    ("POST", "/api/me/password"): None,
    ("POST", "/account/password"): None,
    ("POST", "/account/totp/confirm"): None,
    ("POST", "/api/approvals/{approval_id}/approve"): None,
    ("POST", "/api/approvals/{approval_id}/reject"): None,
    ("GET", "/api/notices"): lambda v, i: Req("GET", "/api/notices"),
    ("GET", "/api/approvals"): lambda v, i: Req("GET", "/api/approvals"),
    ("GET", "/approvals"): lambda v, i: Req("GET", "/approvals"),
    ("GET", "/users"): lambda v, i: Req("GET", "/users"),
    ("GET", "/"): lambda v, i: Req("GET", "/"),
    ("GET", "/commodity/{commodity}"): lambda v, i: Req("GET", "/commodity/cobalt"),
    ("GET", "/scenarios"): lambda v, i: Req("GET", "/scenarios"),
    ("GET", "/stockpile"): lambda v, i: Req("GET", "/stockpile"),
    ("GET", "/projects"): lambda v, i: Req("GET", "/projects", absent=tuple(
        p for vis, p in PROJECTS.items() if vis not in i["sees"])),
    ("GET", "/projects/{project_id}"): lambda v, i: Req("GET", f"/projects/{PROJECTS[v]}"),
    ("GET", "/deposits"): lambda v, i: Req("GET", "/deposits"),
    ("GET", "/data"): lambda v, i: Req("GET", "/data"),
    ("GET", "/audit"): lambda v, i: Req("GET", "/audit"),
    # briefs: jobs like the simulations (the fixture's finished briefs keep two stored files)
    ("GET", "/api/briefs"): _job_list("brief", "/api/briefs"),
    ("GET", "/api/briefs/{job_id}"): _job("brief", "/api/briefs"),
    ("GET", "/api/briefs/{job_id}/files/{name}"): lambda v, i: Req(
        "GET", f"/api/briefs/{i['jobs'][('brief', v)]}/files/brief.pdf"),
    # a small brief, queued only (the matrix's app runs no job threads)
    ("POST", "/api/briefs"): lambda v, i: Req("POST", "/api/briefs", json={
        "partners": ["USA", "JPN"], "commodities": ["gallium"], "mc_runs": 100, "visibility": v}),
    ("GET", "/brief"): lambda v, i: Req("GET", "/brief"),
    # the outlook's pipeline is the caller's visible projects: the others' never appear (the
    # US-only Stillwater magnet plant is in the rare-earth pipeline a joint-admin sees)
    ("GET", "/api/outlook"): lambda v, i: Req("GET", "/api/outlook?commodity=rare_earths&draws=100&seed=1",
                                              absent=_unseen_projects(i)),
    # (the gap table names no project: its sums over the visible pipeline are what differ)
    ("GET", "/api/gap"): lambda v, i: Req("GET", "/api/gap?year=2030&scenario=STEPS&draws=100&seed=1"),
    ("GET", "/outlook"): lambda v, i: Req("GET", "/outlook"),
    ("POST", "/api/scenarios/check"): lambda v, i: Req("POST", "/api/scenarios/check", json={"spec": _SCENARIO}),
    ("POST", "/api/scenarios/parse"): lambda v, i: Req("POST", "/api/scenarios/parse", json={"toml": _scenario_toml()}),
    # the scenario library: another government's own scenario is an unknown id on every route
    ("GET", "/api/saved-scenarios"): lambda v, i: Req("GET", "/api/saved-scenarios", absent=tuple(
        sid for vis, sid in i.get("scenarios", {}).items() if isinstance(vis, str) and vis not in i["sees"])),
    ("POST", "/api/saved-scenarios"): lambda v, i: Req("POST", "/api/saved-scenarios", json={
        "spec": __import__("web_support").SAVED_SPEC, "visibility": v}),
    ("GET", "/api/saved-scenarios/{scenario_id}"): lambda v, i: Req("GET", _saved(v, i)),
    ("GET", "/api/saved-scenarios/{scenario_id}/toml"): lambda v, i: Req("GET", _saved(v, i, "/toml")),
    ("PUT", "/api/saved-scenarios/{scenario_id}"): _saved_edit,
    ("DELETE", "/api/saved-scenarios/{scenario_id}"): _saved_delete,
    # the default language (a switch to Japanese would change later rows' pages)
    ("POST", "/lang"): lambda v, i: Req("POST", "/lang", data={"lang": "en", "next": "/data"}, redirect="/data"),
}
# the incident routes have their own matrix, generated the same way: tests/test_incident_authz.py
EXAMPLES.update(dict.fromkeys(__import__("critmin.web.api_incidents", fromlist=["x"]).INCIDENT_RULES))


def _routes(app):
    """(original route, full path, methods) of every route, through included routers."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before route contexts: app.routes is already flat
        return [(r, r.path, r.methods) for r in app.routes]
    return [(rc.original_route, rc.path, rc.methods) for rc in iter_route_contexts(app.routes)]


def route_keys(app) -> set[tuple[str, str]]:
    keys = set()
    for route, path, methods in _routes(app):
        if isinstance(route, APIRoute):
            keys |= {(m, path) for m in methods if m != "HEAD"}
        elif path == "/openapi.json":
            keys.add(("GET", "/openapi.json"))
        else:
            raise AssertionError(f"route {route!r} is not an APIRoute: it would bypass the access rules")
    return keys


# the matrix queues several jobs per role and none runs: the per-user quota (tested in
# test_web_jobs_api.py) must not answer 429 to the later rows
QUOTA_ENV = {"CRITMIN_JOBS_MAX_QUEUED_PER_USER": "100"}


@pytest.fixture()
def client(web_db, monkeypatch):  # noqa: F811
    from critmin.web.app import create_app

    for k, v in QUOTA_ENV.items():
        monkeypatch.setenv(k, v)
    # no job threads: the jobs the matrix queues (simulations, briefs) stay queued
    app = create_app(web_db.path, job_workers=0)
    with TestClient(app) as c:
        yield c, web_db


def test_every_route_has_a_rule_and_an_example(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    keys = route_keys(app)
    assert not keys - set(RULES), f"routes without an access rule: {sorted(keys - set(RULES))}"
    assert not set(RULES) - keys, f"rules for routes that do not exist: {sorted(set(RULES) - keys)}"
    assert not keys - set(EXAMPLES), f"routes without an example request: {sorted(keys - set(EXAMPLES))}"
    app.state.ctx.close()


def test_a_route_without_a_rule_is_refused(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)

    @app.get("/api/new-endpoint")
    def new_endpoint() -> dict:
        return {"secret": 1}

    with TestClient(app) as c:
        r = c.get("/api/new-endpoint", headers=bearer(web_db.tokens["joint-admin"]))
    assert r.status_code == 500 and "no access rule" in r.json()["detail"]


def _send(c: TestClient, req: Req, token: str | None):
    headers = bearer(token) if token else {}
    return c.request(req.method, req.url, json=req.json, data=req.data, headers=headers, follow_redirects=False)


def _check(c, key, role, vis, expect):
    ex = EXAMPLES[key]
    ids = {"jobs": c.db.jobs, "sees": _sees(role), "own": ROLE_OWN.get(role, "joint"),
           "scenarios": c.db.scenarios, "role": role}
    req = ex(vis, ids)
    r = _send(c, req, c.db.tokens.get(role) if role else None)
    where = f"{key} as {role or 'anonymous'} on a {vis} record: got {r.status_code} {r.text[:200]!r}"
    if expect == "success" and req.redirect:
        assert r.status_code == 303 and r.headers["location"] == req.redirect, where
    elif expect == "success":
        assert 200 <= r.status_code < 300, where
        for gone in req.absent:
            assert gone not in r.text, f"{where}: response leaks {gone!r}"
    else:
        assert r.status_code == expect, where
        if expect == 404:
            # the error message does not reveal the record either
            assert "fixture" not in r.text.lower() and "visibility" not in r.text.lower(), where
    return r


def _sees(role: str | None) -> frozenset[str]:
    from critmin.web.auth import ROLES

    return ROLES[role].sees if role else frozenset()


ROLES = ("us-analyst", "jp-analyst", "joint-admin", "viewer")
# routes that create a record without referring to an existing one: there is no "other
# government's record" to ask for (creating one for the other government is a 403, tested in
# test_web_auth.py)
NO_OTHER_RECORD = {("POST", "/api/simulations"), ("POST", "/api/briefs")}


def test_authorisation_matrix(client):
    c, db = client
    c.db = db
    checked = 0
    for (method, path), rule in sorted(RULES.items()):
        ex = EXAMPLES[(method, path)]
        if ex is None:
            continue
        # anonymous
        r = _send(c, ex("joint", {"jobs": db.jobs, "sees": frozenset(), "own": "joint"}), None)
        if rule.roles is None:
            assert r.status_code < 400, f"public {method} {path}: {r.status_code}"
        elif path.startswith("/api/"):
            assert r.status_code == 401, f"anonymous {method} {path}: {r.status_code}"
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), f"anonymous {path}"
        if rule.roles is None:
            continue
        for role in ROLES:
            allowed = role in rule.roles
            own = ROLE_OWN[role]
            _check(c, (method, path), role, own, "success" if allowed else 403)
            checked += 1
            if rule.records and role in ROLE_OTHER and (method, path) not in NO_OTHER_RECORD:
                other = ROLE_OTHER[role]
                is_item = "{" in path or method == "POST"
                _check(c, (method, path), role, other,
                       (404 if is_item else "success") if allowed else 403)
                checked += 1
        if rule.records and (method, path) not in NO_OTHER_RECORD:  # joint-admin sees both
            _check(c, (method, path), "joint-admin", "JP", "success")
    assert checked > 100


def test_csrf_required_for_session_writes(client):
    from web_support import USERS, csrf_of, login

    c, db = client
    assert login(c, USERS["us-analyst"]).status_code == 303
    body = {"scenario": "cn_graphite_licensing_2023"}
    assert c.post("/api/simulations", json=body).status_code == 403
    assert c.post("/api/simulations", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
    r = c.post("/api/simulations", json=body, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 202, r.text

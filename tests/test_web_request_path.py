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


def _sample_paths(template: str) -> list[str]:
    """Concrete paths a route template matches: each parameter as one segment, a path
    parameter also as several."""
    import re

    one = re.sub(r"\{[^}:]+\}", "x", template)
    return sorted({re.sub(r"\{[^}]+:path\}", s, one) for s in ("x", "x/y/z")})


def test_the_pages_router_goes_first_and_shares_no_path_with_another_router(client):
    """The pages router is matched first (app.ROUTER_MODULES): that changes no answer only while
    no path of another router is also a path of a page. A new route such as ``/projects/new``
    outside pages.py (which ``/projects/{project_id}`` would take) fails this test."""
    import importlib

    from critmin.web.app import ROUTER_MODULES

    assert ROUTER_MODULES[0] == "critmin.web.pages"
    pages = importlib.import_module("critmin.web.pages").router.routes
    others = [r for name in ROUTER_MODULES[1:] for r in importlib.import_module(name).router.routes]
    assert len(pages) >= 9 and len(others) >= 90
    for page in pages:
        for other in others:
            for path in _sample_paths(other.path):
                assert not page.path_regex.match(path), f"{path} ({other.path}) is also the page {page.path}"
            for path in _sample_paths(page.path):
                assert not other.path_regex.match(path), f"{path} (page {page.path}) is also {other.path}"
    # and a page still answers as a page, the API as the API
    c, ctx, db = client
    us = bearer(db.tokens["us-analyst"])
    assert c.get("/projects", headers=us).headers["content-type"].startswith("text/html")
    assert c.get("/api/projects", headers=us).headers["content-type"] == "application/json"
    assert c.get("/nope", headers=us).status_code == 404


def test_the_current_user_dependency_runs_on_the_event_loop_with_the_same_answers(client, monkeypatch):
    """The ``CurrentUser`` dependency (``access.current_principal``, ``async``) runs on the event
    loop (no worker-thread hop) and calls ``access.current`` as it is when called: a probe in its
    place is reached from a running event loop; the principal, a 401 without credentials and a
    401 for a revoked token are the answers they were."""
    import asyncio

    from critmin.web import access

    c, ctx, db = client
    real = access.current
    seen: list[bool] = []

    def probe(request):
        try:
            asyncio.get_running_loop()
            seen.append(True)
        except RuntimeError:  # a worker thread
            seen.append(False)
        return real(request)

    monkeypatch.setattr(access, "current", probe)
    r = c.get("/api/simulations", headers=bearer(db.tokens["jp-analyst"]))
    assert r.status_code == 200 and seen == [True]
    assert c.get("/api/projects", headers=bearer(db.tokens["viewer"])).status_code == 200 and seen == [True, True]
    assert c.get("/api/simulations").status_code == 401
    assert c.get("/api/simulations", headers=bearer("cm_000000000000_nope")).status_code == 401
    me = c.get("/api/me", headers=bearer(db.tokens["jp-analyst"])).json()
    assert me["name"] == "jun-jp" and me["role"] == "jp-analyst"


def test_a_warm_data_read_is_answered_on_the_loop_and_a_miss_in_a_worker_thread(client, monkeypatch):
    """/api/commodities and /api/production: a cache hit is answered on the event loop, a miss
    (or an expired data-version check) is computed in a worker thread, never on the loop; the
    answers are the same either way."""
    import asyncio

    from critmin.web import api_data

    c, ctx, db = client
    h = bearer(db.tokens["viewer"])
    where: list[str] = []

    def probe(real):
        def run(*a):
            try:
                asyncio.get_running_loop()
                where.append("loop")
            except RuntimeError:
                where.append("thread")
            return real(*a)
        return run

    monkeypatch.setattr(api_data, "commodity_list", probe(api_data.commodity_list))
    monkeypatch.setattr(api_data, "production_rows", probe(api_data.production_rows))
    ctx._cache.clear()
    ctx._version = None  # the next look at the data version reads the warehouse
    cold = c.get("/api/commodities", headers=h)
    assert cold.status_code == 200 and where == ["loop", "thread"]  # the loop gave up before any I/O
    warm = c.get("/api/commodities", headers=h)
    assert warm.json() == cold.json() and where[2:] == ["loop"]
    assert {"gallium", "rare_earths"} <= {r["commodity_id"] for r in warm.json()}
    first = c.get("/api/production/gallium", headers=h).json()
    again = c.get("/api/production/gallium", headers=h).json()
    assert where[3:] == ["loop", "thread", "loop"] and first == again and first["rows"]
    assert c.get("/api/production/unobtainium", headers=h).status_code == 404


#: the load benchmark's mix (benchmarks/bench_web_load.py) and the operational-store reads each
#: route makes (the overview: its open incidents; projects: the registry version; simulations)
LOAD_MIX = {"/": 1, "/commodity/rare_earths": 0, "/api/commodities": 0, "/api/production/gallium": 0,
            "/api/projects": 1, "/api/me": 0, "/api/simulations": 1}


def test_a_warm_request_of_the_load_mix_takes_no_worker_thread_on_postgresql(client, monkeypatch):
    """Once warm, no route of the load mix hands work to a worker thread on PostgreSQL: its store
    reads are awaited on the event loop (critmin.ops.aio). On SQLite each store read is the one
    hop. Counted at anyio.to_thread.run_sync, through which FastAPI runs a plain ``def`` handler,
    its dependencies and its response's serialisation; the answers are the same as the sync reads'."""
    import anyio.to_thread

    from web_support import pg_test_url

    c, ctx, db = client
    h = bearer(db.tokens["us-analyst"])
    from critmin.incident.store import IncidentStore

    IncidentStore(ctx.ops.engine).create({"title": "aio probe", "start_date": "2026-12-01"}, "US", "sam-us")
    for path in LOAD_MIX:  # warm: caches, the registry, the data version
        assert c.get(path, headers=h).status_code == 200, path
    hops: list[str] = []
    real = anyio.to_thread.run_sync

    async def counting(func, *a, **k):
        hops.append(getattr(func, "__qualname__", repr(func)))
        return await real(func, *a, **k)

    monkeypatch.setattr(anyio.to_thread, "run_sync", counting)
    on_pg = pg_test_url() is not None
    for path, reads in LOAD_MIX.items():
        hops.clear()
        r = c.get(path, headers=h)
        assert r.status_code == 200, path
        assert len(hops) == (0 if on_pg else reads), (path, hops)
    # the awaited reads answer what the sync reads answer
    page = c.get("/", headers=h).text
    assert "aio probe" in page and "/incidents/INC-" in page
    jobs = c.get("/api/simulations", headers=h).json()["jobs"]
    want = ctx.jobs.list("simulation", frozenset({"US", "joint"}), 50)
    assert jobs and [j["job_id"] for j in jobs] == [j["job_id"] for j in want]
    assert {j["visibility"] for j in jobs} <= {"US", "joint"}
    jp = c.get("/", headers=bearer(db.tokens["jp-analyst"])).text
    assert "aio probe" not in jp  # a US-only incident is not on Japan's overview


def _where() -> str:
    import asyncio

    try:
        asyncio.get_running_loop()
        return "loop"
    except RuntimeError:
        return "thread"


def test_a_credential_lookup_and_a_denied_audit_never_run_on_the_loop(client, monkeypatch):
    """A token the credential cache does not hold is looked up in a worker thread, one the cache
    holds is checked on the loop with no lookup; the audit of a refused request (an unknown
    token, even when the cache remembers it as unknown; a role refused) is written from a worker
    thread. The answers are the ones they were: 200, 401, 403, and the audit rows."""
    from critmin.web import access

    c, ctx, db = client
    lookups: list[str] = []
    audits: list[tuple[str, str]] = []
    real_lookup, real_audit = access._lookup, ctx.audit
    monkeypatch.setattr(access, "_lookup", lambda *a: lookups.append(_where()) or real_lookup(*a))
    monkeypatch.setattr(ctx, "audit", lambda req, p, action, *a, **k: audits.append((action, _where()))
                        or real_audit(req, p, action, *a, **k))
    ctx.auth_cache._d.clear()
    h = bearer(db.tokens["viewer"])
    assert c.get("/api/me", headers=h).status_code == 200 and lookups == ["thread"]
    assert c.get("/api/me", headers=h).status_code == 200 and lookups == ["thread"]  # cached: no lookup
    bad = bearer("cm_0123456789ab_not-a-token")
    assert c.get("/api/me", headers=bad).status_code == 401
    assert c.get("/api/me", headers=bad).status_code == 401  # remembered as unknown: still audited, off the loop
    assert audits == [("denied.401", "thread"), ("denied.401", "thread")]
    assert c.post("/api/users", json={"name": "x", "role": "viewer"}, headers=h).status_code == 403
    assert audits[-1] == ("denied.403", "thread")
    with ctx.db.cursor() as con:
        from critmin.web import audit

        actions = [e["action"] for e in audit.entries(con, limit=5)]
    assert actions[:3] == ["denied.403", "denied.401", "denied.401"]

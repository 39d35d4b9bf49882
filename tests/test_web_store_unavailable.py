"""While the operational store cannot be used, the server answers 503 with Retry-After (JSON for
the API, an error page for pages), /readyz says not ready and /healthz still answers; when the
store is back, the same server answers again without a restart. A wrong statement stays a 500.
On PostgreSQL the database really refuses connections (ALLOW_CONNECTIONS false, every backend
ended); on SQLite another connection holds the write lock past a short busy timeout."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from web_support import PROJECTS, _pg_admin, bearer, pg_test_url, web_db, web_db_template  # noqa: F401


def test_what_counts_as_unavailable() -> None:
    from critmin.ops import is_unavailable

    locked = sqlite3.OperationalError("database is locked")
    wrong = sqlite3.OperationalError("no such table: nope")
    assert is_unavailable(locked) and not is_unavailable(wrong)
    assert is_unavailable(sa.exc.OperationalError("SELECT 1", (), locked))
    assert not is_unavailable(sa.exc.OperationalError("SELECT 1", (), wrong))
    assert is_unavailable(psycopg.OperationalError("connection refused"))
    assert is_unavailable(sa.exc.OperationalError("SELECT 1", (), psycopg.OperationalError("server closed")))
    assert not is_unavailable(psycopg.errors.UndefinedTable("relation nope does not exist"))
    assert not is_unavailable(ValueError("x"))


def _answers(c, h) -> dict[str, tuple[int, str | None, str]]:
    out = {}
    pid = PROJECTS["US"]
    for path in ("/api/simulations", f"/api/projects/{pid}", "/", "/readyz", "/healthz"):
        r = c.get(path, headers=h)
        out[path] = (r.status_code, r.headers.get("retry-after"), r.headers.get("content-type", "").split(";")[0])
    return out


@pytest.mark.skipif(pg_test_url() is None, reason="needs CRITMIN_TEST_DATABASE_URL (PostgreSQL)")
def test_postgresql_down_answers_503_and_the_server_recovers(web_db):  # noqa: F811
    from critmin.web.app import create_app

    name = sa.engine.make_url(web_db.ops_url).database
    app = create_app(web_db.path, job_workers=0, ops_url=web_db.ops_url)
    h = bearer(web_db.tokens["us-analyst"])
    with TestClient(app) as c:
        before = _answers(c, h)
        assert {p: a[0] for p, a in before.items()} == dict.fromkeys(before, 200)
        _pg_admin(pg_test_url(), f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        _pg_admin(pg_test_url(), f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
        try:
            app.state.ctx.auth_cache._d.clear()  # the credential too must come from the store
            down = _answers(c, h)
            detail = c.get("/api/simulations", headers=h).json()["detail"]
        finally:
            _pg_admin(pg_test_url(), f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        assert down["/api/simulations"] == (503, "5", "application/json")  # the asyncio read path
        assert down[f"/api/projects/{PROJECTS['US']}"] == (503, "5", "application/json")  # SQLAlchemy's
        assert down["/"] == (503, "5", "text/html")
        assert down["/readyz"] == (503, "5", "application/json")
        assert down["/healthz"][0] == 200
        assert detail.startswith("the operational store cannot be reached")
        after = _answers(c, h)  # the same server, no restart
        assert {p: a[0] for p, a in after.items()} == dict.fromkeys(after, 200)
        assert c.get("/readyz").json() == {"ok": True, "store": "postgresql",
                                           "warehouse": app.state.ctx.wh.version_path.name}


@pytest.mark.skipif(pg_test_url() is not None, reason="the SQLite store's lock (the PostgreSQL run has its own test)")
def test_sqlite_locked_past_the_busy_timeout_answers_503(web_db, monkeypatch):  # noqa: F811
    from critmin.ops import dispose_engines
    from critmin.ops.store import forget_stores
    from critmin.web.app import create_app

    monkeypatch.setenv("CRITMIN_OPS_SQLITE_BUSY_TIMEOUT_MS", "200")
    dispose_engines()
    forget_stores()
    app = create_app(web_db.path, job_workers=0, ops_url=web_db.ops_url)
    h = bearer(web_db.tokens["us-analyst"])
    path = sa.engine.make_url(web_db.ops_url).database
    with TestClient(app) as c:
        pid = PROJECTS["US"]
        rec = c.get(f"/api/projects/{pid}", headers=h).json()
        v = rec.pop("version")
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
        try:
            r = c.post(f"/api/projects?version={v}", json={**rec, "name": "while locked"}, headers=h)
            assert (r.status_code, r.headers.get("retry-after")) == (503, "5"), r.text
            assert c.get(f"/api/projects/{pid}", headers=h).status_code == 200  # WAL: reads go on
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        r = c.post(f"/api/projects?version={v}", json={**rec, "name": "after the lock"}, headers=h)
        assert r.status_code == 201, r.text
        assert c.get("/readyz").json()["store"] == "sqlite"
    dispose_engines()
    forget_stores()


def test_a_wrong_statement_stays_a_server_error(web_db, monkeypatch):  # noqa: F811
    """Not every database error is an outage: a missing table is a bug and answers 500."""
    from critmin.web import api_runs  # noqa: F401 - the route module
    from critmin.web.app import create_app
    from critmin.web.jobs import JobQueue

    app = create_app(web_db.path, job_workers=0, ops_url=web_db.ops_url)
    monkeypatch.setattr(JobQueue, "_list_query", staticmethod(lambda *a: ("SELECT * FROM no_such_table", [])))
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/api/simulations", headers=bearer(web_db.tokens["us-analyst"]))
        assert r.status_code == 500 and "retry-after" not in r.headers

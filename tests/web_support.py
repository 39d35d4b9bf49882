"""Shared fixtures for the web tests (imported by tests/test_web_*.py and tests/browser).

``web_db`` is a private copy of the real imported warehouse and an operational store of its
own with one user per role (password ``PASSWORD``) and a bearer token each, three projects of
each visibility from the seed registry, and finished jobs of each kind and visibility (for the
access tests; a finished brief has two small stored files), and saved scenarios (a US-only gallium
ban) of each visibility, plus one per visibility and role for the matrix's deletes.

The operational store is SQLite beside the warehouse copy, or -- when
``CRITMIN_TEST_DATABASE_URL=postgresql://...`` is set (``scripts/test.sh`` starts a throw-away
cluster and runs the store-dependent tests a second time so) -- a fresh PostgreSQL database per
test, cloned from a template database (``CREATE DATABASE ... TEMPLATE``), handed to the app
through ``CRITMIN_DATABASE_URL``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

PASSWORD = "test-password-123"
USERS = {"us-analyst": "ann-us", "jp-analyst": "jun-jp", "joint-admin": "ada-admin", "viewer": "vic-viewer"}
# seed projects (src/critmin/projects/data/seed_projects.json) of each visibility
PROJECTS = {"US": "P-USAR-STILLWATER", "JP": "P-NYR-HOBART", "joint": "P-MPM-MTNPASS"}
JOB_KINDS = ("simulation", "stockpile", "selection", "brief")
# a saved scenario's document (the fixture's library records; valid, so runnable)
SAVED_SPEC = {"name": "US-only gallium ban", "horizon_months": 12, "consumers": ["USA", "JPN"],
              "events": [{"country": "CHN", "commodity": "gallium", "stage": "processing", "export_cut": 1.0,
                          "start_month": 1, "duration_months": 12, "targets": ["USA"]}]}


@dataclass
class WebDB:
    path: Path
    tokens: dict[str, str] = field(default_factory=dict)  # role -> bearer token
    jobs: dict[tuple[str, str], str] = field(default_factory=dict)  # (kind, visibility) -> job id
    ops_url: str | None = None  # the operational store (None: SQLite beside ``path``)
    # saved scenarios: visibility -> id, and (visibility, role) -> id (one for each role to delete)
    scenarios: dict = field(default_factory=dict)


def pg_test_url() -> str | None:
    """``CRITMIN_TEST_DATABASE_URL`` when the tests run against PostgreSQL, else None."""
    url = os.environ.get("CRITMIN_TEST_DATABASE_URL", "").strip()
    return url or None


def _pg_admin(url: str, sql: str) -> None:
    import sqlalchemy as sa

    from critmin.ops.engine import normalise_url

    eng = sa.create_engine(normalise_url(url), isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as c:
            c.exec_driver_sql(sql)
    finally:
        eng.dispose()


def _pg_database_url(base: str, name: str) -> str:
    import sqlalchemy as sa

    return sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)


def new_pg_database(template: str | None = None) -> str:
    """A new, empty (or ``template``-cloned) PostgreSQL database on the test cluster; its URL."""
    base = pg_test_url()
    assert base is not None
    name = f"t_{secrets.token_hex(6)}"
    _pg_admin(base, f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return _pg_database_url(base, name)


def fill_ops_store(store, now: datetime | None = None) -> WebDB:
    """Users, tokens, seed projects and finished fixture jobs in ``store``."""
    from critmin.projects.registry import Registry
    from critmin.web import auth

    Registry.open(store)
    out = WebDB(Path())
    for role, name in USERS.items():
        auth.add_user(store, name, role, PASSWORD)
        out.tokens[role] = auth.create_token(store, name)
    now = now or datetime.now(UTC).replace(tzinfo=None)
    for kind in JOB_KINDS:
        for vis in ("US", "JP", "joint"):
            jid = f"{kind[:3]}-{vis.lower()}0001"
            result: dict = {"sim_run_id": f"run-{vis.lower()}-0001", "note": f"fixture {vis}"}
            if kind == "brief":  # a finished brief keeps its files in the store (critmin.brief.store)
                from critmin.brief.store import put_file

                result["stored"] = {name: put_file(store, name, f"fixture brief {vis} {name}".encode())
                                    for name in ("brief.pdf", "brief.xlsx")}
            store.execute(
                "INSERT INTO web_job (job_id, kind, owner, role, visibility, status, progress, message, spec,"
                " seed, result, created_at, finished_at) VALUES (?, ?, 'fixture', '', ?, 'done', 1, 'done', ?,"
                " 1, ?, ?, ?)",
                [jid, kind, vis, json.dumps({"monte_carlo": {"runs": 1}}), json.dumps(result), now, now],
            )
            out.jobs[(kind, vis)] = jid
    from critmin.web import scenarios_library

    for vis in ("US", "JP", "joint"):
        for key in (vis, *((vis, role) for role in USERS)):
            sid = scenarios_library.new_id(vis)
            scenarios_library.create(store, scenario_id=sid, name=f"saved {vis} {SAVED_SPEC['name']}",
                                     author="fixture", visibility=vis, spec=SAVED_SPEC)
            out.scenarios[key] = sid
    return out


def make_web_db(src: Path, dst: Path) -> WebDB:
    from critmin.ops import dispose_engines, open_store
    from critmin.ops.engine import sqlite_path_for
    from critmin.ops.store import forget_stores

    shutil.copyfile(src, dst)
    ops_url = new_pg_database() if pg_test_url() else f"sqlite:///{sqlite_path_for(dst)}"
    store = open_store(ops_url)
    filled = fill_ops_store(store)
    # closing the last connection checkpoints SQLite's WAL into the file (copied per test), and a
    # PostgreSQL template database must have no open connection
    dispose_engines()
    forget_stores()
    return WebDB(dst, filled.tokens, filled.jobs, ops_url, filled.scenarios)


def copy_web_db(template: WebDB, dst: Path) -> WebDB:
    """A private copy of a fixture: the warehouse file and the operational store."""
    import sqlalchemy as sa

    from critmin.ops.engine import sqlite_path_for

    shutil.copyfile(template.path, dst)
    assert template.ops_url is not None
    if template.ops_url.startswith("sqlite"):
        src_ops = Path(str(sa.engine.make_url(template.ops_url).database))
        shutil.copyfile(src_ops, sqlite_path_for(dst))
        ops_url = f"sqlite:///{sqlite_path_for(dst)}"
    else:
        ops_url = new_pg_database(template=str(sa.engine.make_url(template.ops_url).database))
    return WebDB(dst, dict(template.tokens), dict(template.jobs), ops_url, dict(template.scenarios))


@pytest.fixture(scope="session")
def web_db_template(real_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> WebDB:
    return make_web_db(real_db_path, tmp_path_factory.mktemp("web") / "template.duckdb")


@pytest.fixture()
def web_db(web_db_template: WebDB, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WebDB:
    db = copy_web_db(web_db_template, tmp_path / "web.duckdb")
    if db.ops_url and not db.ops_url.startswith("sqlite"):
        monkeypatch.setenv("CRITMIN_DATABASE_URL", db.ops_url)
    else:
        monkeypatch.delenv("CRITMIN_DATABASE_URL", raising=False)
    return db


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(client, name: str, password: str = PASSWORD):
    """Log in through the form (with its CSRF cookie); returns the response."""
    import re

    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                       follow_redirects=False)


def csrf_of(client) -> str:
    import re

    r = client.get("/data")
    return re.search(r'name="csrf-token" content="([^"]*)"', r.text).group(1)

"""`critmin ops migrate --from-warehouse`: users, tokens and the project registry of a warehouse
from before the operational store are moved into it (empty tables only; sessions and the old
unkeyed audit chain are not)."""

from __future__ import annotations

import datetime as dt
import json

import duckdb
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.ops import open_store
from ops_support import ops_store, ops_url  # noqa: F401

OLD_DDL = (
    "CREATE TABLE web_user (name VARCHAR PRIMARY KEY, role VARCHAR NOT NULL, password_hash VARCHAR NOT NULL,"
    " created_at TIMESTAMP NOT NULL, disabled BOOLEAN NOT NULL DEFAULT FALSE)",
    "CREATE TABLE web_session (session_sha256 VARCHAR PRIMARY KEY, user_name VARCHAR NOT NULL,"
    " csrf_token VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP)",
    "CREATE TABLE project_version (project_id VARCHAR NOT NULL, version INTEGER NOT NULL, valid_from TIMESTAMP NOT NULL,"
    " author VARCHAR NOT NULL, action VARCHAR NOT NULL, visibility VARCHAR NOT NULL, record JSON NOT NULL,"
    " note VARCHAR, PRIMARY KEY (project_id, version))",
)


def test_legacy_rows_move_into_the_store_once(tmp_path, ops_url):  # noqa: F811
    from critmin.web import auth

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    for stmt in OLD_DDL:
        con.execute(stmt)
    at = dt.datetime(2025, 11, 3, 9, 30)
    con.execute("INSERT INTO web_user VALUES (?, ?, ?, ?, FALSE)",
                ["ann-us", "us-analyst", auth.hash_password("an old passphrase 123"), at])
    con.execute("INSERT INTO web_session VALUES ('x', 'ann-us', 'c', ?, ?, NULL)", [at, at])
    rec = {"id": "P-OLD", "name": "Old project"}
    con.execute("INSERT INTO project_version VALUES ('P-OLD', 1, ?, 'ann-us', 'create', 'US', ?, NULL)",
                [at, json.dumps(rec)])
    con.close()
    r = CliRunner().invoke(app, ["--db", str(db), "ops", "migrate", "--from-warehouse"])
    assert r.exit_code == 0, r.output
    assert "web_user: 1 rows" in r.output and "project_version: 1 rows" in r.output
    assert "web_session" not in r.output  # sessions are not carried over
    store = open_store(ops_url)
    assert store.execute("SELECT name, role, created_at, disabled FROM web_user").fetchall() == [
        ("ann-us", "us-analyst", at, False)]
    assert auth.check_password(store, "ann-us", "an old passphrase 123") is not None
    assert json.loads(store.execute("SELECT record FROM project_version").fetchone()[0]) == rec
    again = CliRunner().invoke(app, ["--db", str(db), "ops", "migrate", "--from-warehouse"])
    assert "web_user: skipped: 1 rows already in the operational store" in again.output

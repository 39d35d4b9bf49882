"""Users, passwords, tokens, sessions, CSRF, the audit log and the users/audit CLI."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from critmin.ops import open_store
from critmin.web import audit, auth
from ops_support import ops_store, ops_url  # noqa: F401
from web_support import PASSWORD, USERS, bearer, csrf_of, login, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def con(ops_store):  # noqa: F811 - the operational store (SQLite, or PostgreSQL in the second CI run)
    return ops_store


def test_password_is_hashed_with_argon2_and_checked(con):
    auth.add_user(con, "amy", "us-analyst", "a long enough pw")
    stored = con.execute("SELECT password_hash FROM web_user WHERE name = 'amy'").fetchone()[0]
    assert stored.startswith("$argon2id$") and "a long enough pw" not in stored
    assert auth.check_password(con, "amy", "a long enough pw").role.government == "US"
    assert auth.check_password(con, "amy", "a long enough pX") is None
    assert auth.check_password(con, "nobody", "a long enough pw") is None


def test_user_validation(con):
    with pytest.raises(auth.AuthError, match="unknown role"):
        auth.add_user(con, "x", "admin", "a long enough pw")
    with pytest.raises(auth.AuthError, match="too short"):
        auth.add_user(con, "x", "viewer", "short")
    with pytest.raises(auth.AuthError, match="user name"):
        auth.add_user(con, "bad name!", "viewer", "a long enough pw")
    auth.add_user(con, "x", "viewer", "a long enough pw")
    with pytest.raises(auth.AuthError, match="already exists"):
        auth.add_user(con, "x", "viewer", "a long enough pw")


def test_generated_passwords_differ():
    pws = {auth.generate_password() for _ in range(50)}
    assert len(pws) == 50 and all(len(p) >= 20 for p in pws)


def test_token_store_hash_only_and_revocation(con):
    auth.add_user(con, "tok", "jp-analyst", "a long enough pw")
    t1, t2 = auth.create_token(con, "tok"), auth.create_token(con, "tok")
    secrets = con.execute("SELECT secret_sha256 FROM web_token").fetchall()
    assert all(t1.split("_", 2)[2] not in s[0] for s in secrets)
    assert auth.principal_from_token(con, t1).name == "tok"
    assert auth.principal_from_token(con, t1[:-1] + ("A" if t1[-1] != "A" else "B")) is None
    assert auth.revoke_tokens(con, "tok", token_id=t1.split("_")[1]) == 1
    assert auth.principal_from_token(con, t1) is None
    assert auth.principal_from_token(con, t2) is not None
    assert auth.revoke_tokens(con, "tok") == 1
    assert auth.principal_from_token(con, t2) is None


def test_role_visibility_table():
    R = auth.ROLES
    assert R["us-analyst"].sees == {"US", "joint"} and R["jp-analyst"].sees == {"JP", "joint"}
    assert R["viewer"].sees == {"joint"} and not R["viewer"].can_write
    assert R["joint-admin"].sees == {"US", "JP", "joint"}
    us = auth.Principal("a", R["us-analyst"], "token")
    assert us.may_assign("US") and us.may_assign("joint") and not us.may_assign("JP")


def test_audit_chain_detects_edit_and_deletion(con):
    for i in range(5):
        audit.record(con, actor=f"u{i}", role="viewer", action="login", outcome="ok")
    assert audit.verify_chain(con)[0]
    con.execute("UPDATE web_audit SET outcome = 'failed' WHERE seq = 3")
    ok, msg = audit.verify_chain(con)
    assert not ok and "seq=3" in msg
    con.execute("UPDATE web_audit SET outcome = 'ok' WHERE seq = 3")
    assert audit.verify_chain(con)[0]
    con.execute("DELETE FROM web_audit WHERE seq = 2")
    ok, msg = audit.verify_chain(con)
    assert not ok and "seq=2" in msg


def test_audit_export_formats(con):
    audit.record(con, actor="a", role="viewer", action="login", outcome="failed", detail={"via": "password"})
    rows = json.loads(audit.export(con, "json"))
    assert rows[0]["actor"] == "a" and rows[0]["outcome"] == "failed" and len(rows[0]["hash"]) == 64
    csv_text = audit.export(con, "csv")
    assert csv_text.splitlines()[0].startswith("seq,at,actor,role,action,target,outcome")
    with pytest.raises(ValueError, match="csv"):
        audit.export(con, "xml")


@pytest.fixture()
def app_client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, web_db, app


def _audit_rows(app, action=None):
    with app.state.ctx.db.cursor() as con:
        return audit.entries(con, action=action)


def test_login_logout_and_failed_login_audited(app_client):
    c, db, app = app_client
    r = login(c, USERS["jp-analyst"], "wrong password!")
    assert r.status_code == 401 and "wrong password" in r.text.lower()
    assert login(c, USERS["jp-analyst"]).status_code == 303
    assert c.get("/api/me").json()["government"] == "JP"
    r = c.post("/logout", data={"csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    assert c.get("/api/me").status_code == 401
    logins = _audit_rows(app, "login")
    assert [(e["actor"], e["outcome"]) for e in logins] == [  # newest first
        (USERS["jp-analyst"], "ok"), (USERS["jp-analyst"], "failed")]
    assert any(e["action"] == "logout" for e in _audit_rows(app))


def test_login_form_requires_its_csrf_cookie(app_client):
    c, db, app = app_client
    r = c.post("/login", data={"username": USERS["viewer"], "password": PASSWORD, "csrf_token": "x"},
               follow_redirects=False)
    assert r.status_code == 403


def test_open_redirect_refused(app_client):
    import re

    c, db, app = app_client
    tok = re.search(r'name="csrf_token" value="([^"]+)"', c.get("/login").text).group(1)
    r = c.post("/login", data={"username": USERS["viewer"], "password": PASSWORD, "csrf_token": tok,
                               "next": "//evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"


def test_logout_requires_csrf(app_client):
    c, db, app = app_client
    login(c, USERS["viewer"])
    assert c.post("/logout", follow_redirects=False).status_code == 403
    assert c.get("/api/me").status_code == 200


def test_revoked_token_is_refused(app_client):
    c, db, app = app_client
    tok = db.tokens["us-analyst"]
    assert c.get("/api/me", headers=bearer(tok)).status_code == 200
    r = c.post(f"/api/users/{USERS['us-analyst']}/revoke", headers=bearer(db.tokens["joint-admin"]))
    assert r.json()["revoked"] == 1
    r = c.get("/api/me", headers=bearer(tok))
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_writes_are_audited_and_cross_government_creation_refused(app_client):
    c, db, app = app_client
    r = c.post("/api/simulations", json={"scenario": "cn_graphite_licensing_2023", "visibility": "JP"},
               headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 403
    r = c.post("/api/simulations", json={"scenario": "cn_graphite_licensing_2023"},
               headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 202
    job = r.json()["job_id"]
    app.state.ctx.jobs.wait(job, 120)
    acts = [(e["action"], e["outcome"], e["target"]) for e in _audit_rows(app, "simulation")]
    assert ("simulation.start", "refused", None) in acts
    assert ("simulation.start", "ok", job) in acts
    assert any(a == "simulation.finish" and t == job for a, _, t in acts)
    with app.state.ctx.db.cursor() as con:
        assert audit.verify_chain(con)[0]


def test_invisible_record_and_unknown_record_answer_alike(app_client):
    c, db, app = app_client
    h = bearer(db.tokens["jp-analyst"])
    hidden = c.get("/api/projects/P-USAR-STILLWATER", headers=h)
    unknown = c.get("/api/projects/P-DOES-NOT-EXIST", headers=h)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["detail"].replace("P-USAR-STILLWATER", "X") == unknown.json()["detail"].replace(
        "P-DOES-NOT-EXIST", "X")


# -- CLI ------------------------------------------------------------------------------------


def test_cli_users_and_audit_export(tmp_path, ops_url):  # noqa: F811
    from critmin.cli.main import app

    runner = CliRunner()
    db = str(tmp_path / "cli.duckdb")
    r = runner.invoke(app, ["--db", db, "users", "add", "carol", "--role", "jp-analyst"])
    assert r.exit_code == 0, r.output
    password = r.output.split("password (shown once):")[1].strip()
    r = runner.invoke(app, ["--db", db, "users", "token", "carol"])
    token = r.output.strip()
    assert r.exit_code == 0 and token.startswith("cm_")
    con = open_store(ops_url)
    assert auth.check_password(con, "carol", password) is not None
    assert auth.principal_from_token(con, token).role.name == "jp-analyst"
    r = runner.invoke(app, ["--db", db, "users", "add", "dan", "--role", "superuser"])
    assert r.exit_code == 1 and "unknown role" in r.output
    r = runner.invoke(app, ["--db", db, "users", "revoke", "carol"])
    assert r.exit_code == 0 and "revoked 1" in r.output
    r = runner.invoke(app, ["--db", db, "users", "list"])
    assert r.exit_code == 0 and any("carol" in line and " 0 " in line for line in r.output.splitlines())
    r = runner.invoke(app, ["--db", db, "users", "list", "--json"])
    assert {u["name"]: u["active_tokens"] for u in json.loads(r.output)}["carol"] == 0
    r = runner.invoke(app, ["--db", db, "audit", "export", "--format", "json"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.output[: r.output.rindex("]") + 1])
    assert [x["action"] for x in rows] == ["user.add", "token.create", "user.add", "token.revoke"]
    assert [x["outcome"] for x in rows][2] == "refused"


def test_first_start_creates_one_admin_with_a_generated_password(web_db, tmp_path):  # noqa: F811
    from critmin.cli.web import prepare_database

    con = open_store(web_db.ops_url)
    con.execute("DELETE FROM web_token")
    con.execute("DELETE FROM web_user")
    pw1 = prepare_database(web_db.path, None, echo=lambda *_: None)
    assert pw1 and len(pw1) >= 20
    assert prepare_database(web_db.path, None, echo=lambda *_: None) is None  # only once
    assert auth.check_password(con, "admin", pw1).role.is_admin


def test_admin_creates_user_and_token_through_the_api(app_client):
    c, db, app = app_client
    admin = bearer(db.tokens["joint-admin"])
    r = c.post("/api/users", json={"name": "eve", "role": "jp-analyst"}, headers=admin)
    assert r.status_code == 201 and len(r.json()["secret"]) >= 20
    assert c.post("/api/users", json={"name": "eve", "role": "viewer"}, headers=admin).status_code == 422
    assert login(c, "eve", r.json()["secret"]).status_code == 303
    tok = c.post("/api/users/eve/tokens", headers=admin).json()["secret"]
    assert c.get("/api/me", headers=bearer(tok)).json()["name"] == "eve"
    assert c.post("/api/users/nobody/tokens", headers=admin).status_code == 404
    assert c.post("/api/users", json={"name": "x", "role": "viewer"},
                  headers=bearer(db.tokens["us-analyst"])).status_code == 403


@pytest.mark.slow
def test_portfolio_run_of_a_jp_analyst_never_contains_us_only_projects(app_client):
    from web_support import PROJECTS

    c, db, app = app_client
    r = c.post("/api/projects/selection", json={"budget_usd": {"USA": 2e9, "JPN": 1e9}},
               headers=bearer(db.tokens["jp-analyst"]))
    assert r.status_code == 202, r.text
    job = app.state.ctx.jobs.wait(r.json()["job_id"], 600)
    assert job["status"] == "done", job["error"]
    text = json.dumps(job["result"])
    assert PROJECTS["JP"] in text and PROJECTS["joint"] in text
    assert PROJECTS["US"] not in text and "P-WWR-KELLYTON" not in text
    # the result is JP-only: invisible to the US analyst, visible to the admin
    url = f"/api/projects/selection/{job['job_id']}"
    assert c.get(url, headers=bearer(db.tokens["us-analyst"])).status_code == 404
    assert c.get(url, headers=bearer(db.tokens["joint-admin"])).status_code == 200

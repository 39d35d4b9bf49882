"""Issue 18 security list, authentication: throttling and lockout (40 wrong passwords), the
password policy (12 spaces), disabling a user and revoking ends sessions and tokens at once,
password change, the TOTP second factor, the Users page."""

from __future__ import annotations

import re
import time

import pytest
from fastapi.testclient import TestClient

from critmin.web import audit, auth
from web_support import PASSWORD, USERS, bearer, csrf_of, login, web_db, web_db_template  # noqa: F401


@pytest.fixture()
def client(web_db):  # noqa: F811
    from critmin.web.app import create_app

    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, web_db, app


def _audit(app, action=None):
    with app.state.ctx.db.cursor() as con:
        return audit.entries(con, action=action)


def _session_cookie(r) -> str | None:
    m = re.search(r"critmin_session=([^;]+)", r.headers.get("set-cookie", ""))
    return m.group(1) if m else None


# -- password policy ------------------------------------------------------------------------------


@pytest.mark.parametrize("pw", [" " * 12, " " * 40, "a" * 12, "abcabcabcabc", "password1234", "qwertyuiop12",
                                "123456789012", "critmin-critmin", "P@ssw0rd2024", "iloveyou1234"])
def test_policy_rejects_common_and_repeated_passwords(pw):
    with pytest.raises(auth.AuthError, match="too weak|too short"):
        auth.check_password_policy(pw, "amy", "us-analyst")


def test_policy_rejects_the_user_name_and_short_ones_and_accepts_passphrases():
    with pytest.raises(auth.AuthError, match="too weak"):
        auth.check_password_policy("ann-us-ann-us", "ann-us", "us-analyst")
    with pytest.raises(auth.AuthError, match="too short"):
        auth.check_password_policy("Xy7#kq!", "amy")
    with pytest.raises(auth.AuthError, match="too long"):
        auth.check_password_policy("x" * 1025, "amy")
    auth.check_password_policy("correct horse battery staple", "amy")
    auth.check_password_policy(auth.generate_password(), "amy")


def test_policy_applies_to_new_users_through_the_api_and_cli(client):
    c, db, app = client
    with app.state.ctx.db.cursor() as con:
        with pytest.raises(auth.AuthError, match="too weak"):
            auth.add_user(con, "spacey", "viewer", " " * 12)
        assert auth.get_user(con, "spacey") is None


# -- throttling and lockout -------------------------------------------------------------------------


def test_forty_wrong_passwords_are_throttled_locked_audited_and_an_admin_lifts_it(client):
    c, db, app = client
    user = USERS["jp-analyst"]
    codes = []
    retry = None
    for i in range(40):
        r = login(c, user, f"wrong password {i}!")
        codes.append(r.status_code)
        if r.status_code == 429:
            retry = retry or int(r.headers["retry-after"])
    limit = 5  # web.login_max_failures_user
    assert codes[: limit - 1] == [401] * (limit - 1)
    assert all(code == 429 for code in codes[limit - 1:]), codes
    assert retry is not None and 60 <= retry <= 900
    # while locked, even the right password is refused, with the same 429
    r = login(c, user, PASSWORD)
    assert r.status_code == 429 and "retry-after" in r.headers
    # the lockout is audited once; the refused attempts while locked are audited (rate-limited)
    locks = _audit(app, "login.lockout")
    assert [(e["target"], e["outcome"]) for e in locks] == [(f"user:{user}", "locked")]
    throttled = [e for e in _audit(app, "login") if e["outcome"] == "throttled"]
    assert 1 <= len(throttled) <= 36
    # an admin sees and lifts it (audited); then the right password works
    admin = bearer(db.tokens["joint-admin"])
    keys = [x["key"] for x in c.get("/api/lockouts", headers=admin).json()]
    assert f"user:{user}" in keys
    assert c.post(f"/api/users/{user}/unlock", headers=admin).json()["was_locked"] is True
    assert _audit(app, "login.unlock")[0]["target"] == f"user:{user}"
    assert login(c, user, PASSWORD).status_code == 303


def test_unknown_user_names_lock_like_real_ones(client):
    c, db, app = client
    codes = [login(c, "no-such-user", "whatever password").status_code for _ in range(6)]
    assert codes == [401, 401, 401, 401, 429, 429]


def test_per_address_limit_stops_password_spraying_across_accounts(client, monkeypatch):
    c, db, app = client
    monkeypatch.setenv("CRITMIN_WEB_LOGIN_MAX_FAILURES_ADDR", "8")
    codes = [login(c, f"spray-{i}", "Summer2025!").status_code for i in range(10)]
    assert codes[:7] == [401] * 7 and codes[7:] == [429] * 3
    # another account, right password, same address: still locked (the address is)
    r = login(c, USERS["viewer"], PASSWORD)
    assert r.status_code == 429
    lock = [x for x in _audit(app, "login.lockout") if x["target"].startswith("addr:")]
    assert lock and lock[0]["target"] == "addr:testclient"


def test_lockout_ends_by_itself_and_a_success_resets_the_account_count(client, monkeypatch):
    c, db, app = client
    monkeypatch.setenv("CRITMIN_WEB_LOGIN_LOCKOUT_S", "1")
    user = USERS["viewer"]
    for _ in range(4):
        assert login(c, user, "bad password here").status_code == 401
    assert login(c, user).status_code == 303  # 4 failures, then a success: count starts again
    for _ in range(4):
        assert login(c, user, "bad password here").status_code == 401
    assert login(c, user, "bad password here").status_code == 429
    time.sleep(1.2)
    assert login(c, user).status_code == 303


# -- revoke / disable end sessions and tokens ---------------------------------------------------------


def test_revoking_a_users_credentials_ends_their_browser_sessions_too(client):
    c, db, app = client
    user = USERS["us-analyst"]
    browser = TestClient(app)
    assert login(browser, user).status_code == 303
    assert browser.get("/api/me").status_code == 200
    r = c.post(f"/api/users/{user}/revoke", headers=bearer(db.tokens["joint-admin"]))
    assert r.json()["revoked"] == 1 and r.json()["sessions_ended"] == 1
    assert browser.get("/api/me").status_code == 401
    assert c.get("/api/me", headers=bearer(db.tokens["us-analyst"])).status_code == 401


def test_disabling_a_user_ends_every_session_and_token_at_once(client):
    c, db, app = client
    user = USERS["jp-analyst"]
    b1, b2 = TestClient(app), TestClient(app)
    assert login(b1, user).status_code == 303 and login(b2, user).status_code == 303
    tok = db.tokens["jp-analyst"]
    assert c.get("/api/me", headers=bearer(tok)).status_code == 200
    admin = bearer(db.tokens["joint-admin"])
    r = c.post(f"/api/users/{user}/disable", headers=admin)
    assert r.status_code == 200 and r.json() == {"name": user, "tokens_revoked": 1, "sessions_ended": 2,
                                                  "disabled": True}
    assert b1.get("/api/me").status_code == 401 and b2.get("/api/me").status_code == 401
    assert b1.get("/projects", follow_redirects=False).status_code == 303  # back to the login page
    assert c.get("/api/me", headers=bearer(tok)).status_code == 401
    assert login(TestClient(app), user).status_code == 401  # cannot log in again
    assert _audit(app, "user.disable")[0]["target"] == user
    # enabling again does not revive the old credentials
    assert c.post(f"/api/users/{user}/enable", headers=admin).status_code == 200
    assert b1.get("/api/me").status_code == 401 and c.get("/api/me", headers=bearer(tok)).status_code == 401
    assert login(TestClient(app), user).status_code == 303
    # an admin cannot lock themselves out; others may not disable anyone
    assert c.post(f"/api/users/{USERS['joint-admin']}/disable", headers=admin).status_code == 422
    assert c.post(f"/api/users/{USERS['viewer']}/disable",
                  headers=bearer(db.tokens["us-analyst"])).status_code == 403


def test_cli_disable_ends_sessions(client, tmp_path):
    c, db, app = client
    from typer.testing import CliRunner

    from critmin.cli.main import app as cli

    user = USERS["viewer"]
    b = TestClient(app)
    assert login(b, user).status_code == 303
    app.state.ctx.auth_cache.clear()
    r = CliRunner().invoke(cli, ["--db", str(db.path), "users", "disable", user])
    assert r.exit_code == 0, r.output
    assert "1 session(s) ended" in r.output
    app.state.ctx.auth_cache.clear()  # another process: this server's cache lives web.auth_cache_s
    assert b.get("/api/me").status_code == 401


# -- password change ---------------------------------------------------------------------------------


def test_users_change_their_password_and_other_sessions_end(client):
    c, db, app = client
    user = USERS["us-analyst"]
    other = TestClient(app)
    assert login(other, user).status_code == 303
    assert login(c, user).status_code == 303
    tok = csrf_of(c)
    new = "granite ledger window seventy"
    r = c.post("/account/password", data={"csrf_token": tok, "current_password": "not it at all",
                                           "new_password": new, "new_password2": new})
    assert r.status_code == 422 and "current password is wrong" in r.text
    r = c.post("/account/password", data={"csrf_token": tok, "current_password": PASSWORD,
                                           "new_password": " " * 12, "new_password2": " " * 12})
    assert r.status_code == 422 and "too weak" in r.text
    r = c.post("/account/password", data={"current_password": PASSWORD, "new_password": new, "new_password2": new})
    assert r.status_code == 403  # CSRF
    r = c.post("/account/password", data={"csrf_token": tok, "current_password": PASSWORD,
                                           "new_password": new, "new_password2": new})
    assert r.status_code == 200 and "1 other session(s) ended" in r.text
    assert c.get("/api/me").status_code == 200  # this session stays
    assert other.get("/api/me").status_code == 401
    assert login(TestClient(app), user, PASSWORD).status_code == 401
    assert login(TestClient(app), user, new).status_code == 303
    outcomes = [e["outcome"] for e in _audit(app, "password.change")]
    assert outcomes == ["ok", "refused", "refused"]


def test_password_change_through_the_api(client):
    c, db, app = client
    h = bearer(db.tokens["viewer"])
    r = c.post("/api/me/password", json={"current_password": PASSWORD, "new_password": "password1234"}, headers=h)
    assert r.status_code == 422
    r = c.post("/api/me/password", json={"current_password": PASSWORD,
                                         "new_password": "quiet harbour lantern ninety"}, headers=h)
    assert r.status_code == 200


# -- TOTP ----------------------------------------------------------------------------------------------


def _login_otp(client, name, otp, password=PASSWORD):
    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token, "otp": otp},
                       follow_redirects=False)


def test_totp_enrolment_then_logins_need_a_fresh_code(client):
    import pyotp

    c, db, app = client
    user = USERS["jp-analyst"]
    assert login(c, user).status_code == 303
    tok = csrf_of(c)
    page = c.post("/account/totp/begin", data={"csrf_token": tok}).text
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    assert "otpauth://totp/" in page
    assert c.post("/account/totp/confirm", data={"csrf_token": tok, "code": "000000"}).status_code == 422
    code = pyotp.TOTP(secret).now()
    assert "in force" in c.post("/account/totp/confirm", data={"csrf_token": tok, "code": code}).text
    # the password alone is no longer enough; the code just used cannot be replayed
    assert _login_otp(TestClient(app), user, "").status_code == 401
    assert _login_otp(TestClient(app), user, code).status_code == 401
    nxt = pyotp.TOTP(secret).at(time.time() + 30)
    assert _login_otp(TestClient(app), user, nxt).status_code == 303
    # a wrong code counts as a failed login
    failed = [e for e in _audit(app, "login") if e["outcome"] == "failed"]
    assert failed and '"failed": "totp"' in failed[0]["detail"]


def test_totp_required_for_admin_when_the_setting_says_so(client, monkeypatch):
    import pyotp

    c, db, app = client
    admin = USERS["joint-admin"]
    monkeypatch.setenv("CRITMIN_WEB_TOTP_REQUIRED_FOR_ADMIN", "1")
    r = login(TestClient(app), admin)
    assert r.status_code == 403 and "TOTP" in r.text
    assert login(TestClient(app), USERS["us-analyst"]).status_code == 303  # not for other roles
    from typer.testing import CliRunner

    from critmin.cli.main import app as cli

    out = CliRunner().invoke(cli, ["--db", str(db.path), "users", "totp", admin])
    assert out.exit_code == 0, out.output
    secret = re.search(r"Secret \(shown once\): ([A-Z2-7]+)", out.output).group(1)
    assert _login_otp(TestClient(app), admin, pyotp.TOTP(secret).now()).status_code == 303


# -- the Users page ---------------------------------------------------------------------------------------


def test_users_page_is_admin_only_and_lists_state(client):
    c, db, app = client
    login(c, USERS["us-analyst"])
    assert c.get("/users").status_code == 403
    c2 = TestClient(app)
    login(c2, USERS["joint-admin"])
    c2.post(f"/api/users/{USERS['viewer']}/disable", headers={"X-CSRF-Token": csrf_of(c2)})
    html = c2.get("/users").text
    for name in USERS.values():
        assert name in html
    row = re.search(rf'<tr data-user="{USERS["viewer"]}">.*?</tr>', html, re.S).group(0)
    assert "disabled" in row and 'data-action="enable"' in row
    assert 'href="/users"' in c2.get("/").text  # in the admin's navigation

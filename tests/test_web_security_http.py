"""Issue 18 security list, HTTP layer: headers on every page, Secure cookies behind a TLS proxy,
invalid static paths, the request body limit (critmin.web.security)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from critmin.web.security import CSP
from test_web_authz import _routes
from web_support import PASSWORD, PROJECTS, USERS, bearer, csrf_of, login, web_db, web_db_template  # noqa: F401

SAMPLE_PARAMS = {"commodity": "gallium", "project_id": PROJECTS["joint"], "name": "world_110m.json",
                 "path": "app.css", "dataset_id": "1", "source_line": "1", "job_id": "sim-joint0001"}


@pytest.fixture()
def client(web_db, monkeypatch):  # noqa: F811
    from critmin.web.app import create_app

    monkeypatch.delenv("CRITMIN_WEB_TRUSTED_PROXIES", raising=False)
    monkeypatch.delenv("CRITMIN_WEB_COOKIE_SECURE", raising=False)
    app = create_app(web_db.path)
    with TestClient(app) as c:
        yield c, web_db, app


def _assert_headers(r, what: str) -> None:
    h = r.headers
    assert h.get("content-security-policy") == CSP, what
    assert h.get("x-frame-options") == "DENY", what
    assert h.get("x-content-type-options") == "nosniff", what
    assert h.get("referrer-policy") == "same-origin", what


def test_csp_is_strict():
    d = dict(part.split(" ", 1) for part in CSP.split("; "))
    assert d["default-src"] == "'none'" and d["frame-ancestors"] == "'none'"
    assert d["script-src"] == "'self'" and d["style-src"] == "'self'"  # no unsafe-inline, no eval, no CDN
    assert "unsafe" not in CSP and "http" not in CSP and "*" not in CSP


def test_security_headers_on_every_get_route_and_on_errors(client):
    c, db, app = client
    login(c, USERS["joint-admin"])
    seen = 0
    for _route, path, methods in _routes(app):
        if "GET" not in (methods or ()):
            continue
        url = re.sub(r"\{(\w+)(:path)?\}", lambda m: SAMPLE_PARAMS.get(m.group(1), "x"), path)
        r = c.get(url, follow_redirects=False)
        assert r.status_code < 500, (url, r.status_code, r.text[:200])
        _assert_headers(r, url)
        seen += 1
    assert seen >= 25
    # answers that no route produced: 404 of an unknown path, 401, 405, 413, the login redirect
    c.cookies.clear()
    for r in (c.get("/no/such/page"), c.get("/api/me"), c.delete("/api/me"),
              c.get("/projects", follow_redirects=False),
              c.post("/api/projects", content=b"x" * 2_000_000, headers={"content-type": "application/json"})):
        _assert_headers(r, f"{r.request.method} {r.request.url} -> {r.status_code}")


def test_pages_carry_no_inline_script_or_style(client):
    """The CSP forbids inline script, event handlers and style attributes: none may be in a page
    (JSON data blocks, <script type="application/json">, are not executed and are allowed)."""
    c, db, app = client
    login(c, USERS["joint-admin"])
    for url in ("/", "/commodity/gallium", "/scenarios", "/stockpile", "/projects",
                f"/projects/{PROJECTS['joint']}", "/deposits", "/data", "/audit", "/users", "/login",
                "/account"):
        html = c.get(url).text
        for tag in re.findall(r"<script\b[^>]*>", html):
            assert "src=" in tag or 'type="application/json"' in tag, (url, tag)
        assert not re.search(r"\son[a-z]+\s*=", html), (url, re.search(r".{40}\son[a-z]+\s*=.{40}", html))
        assert not re.search(r"\sstyle\s*=", html), (url, re.search(r".{60}\sstyle\s*=.{40}", html))
        assert "<style" not in html, url
        assert "javascript:" not in html.lower(), url


def test_no_store_on_pages_and_api_but_static_is_cacheable(client):
    c, db, app = client
    assert c.get("/api/me", headers=bearer(db.tokens["viewer"])).headers["cache-control"] == "no-store"
    assert "max-age" in c.get("/static/app.css").headers["cache-control"]
    css = c.get("/vendor/plotly.css")
    assert css.status_code == 200 and ".js-plotly-plot .plotly .modebar{" in css.text


@pytest.mark.parametrize("path", ["/static/%00", "/static/app.css%00", "/static/%2e%2e/app.py",
                                  "/static/..%2f..%2fpyproject.toml", "/static/a\\b", "/static/%ff",
                                  "/static/", "/static/nope.js", "/%00", "/api/%00"])
def test_invalid_static_paths_answer_404(client, path):
    c, db, app = client
    r = c.get(path)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert "pyproject" not in r.text and "Traceback" not in r.text


def test_five_megabyte_body_refused_with_413_and_nothing_stored(client):
    c, db, app = client
    h = {**bearer(db.tokens["us-analyst"]), "content-type": "application/json"}
    note = "x" * (5 * 1024 * 1024)
    body = json.dumps({"id": "P-BIG-NOTE", "name": "big", "notes": note}).encode()
    r = c.post("/api/projects", content=body, headers=h)
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: streamed, counted while read
        for i in range(0, len(body), 65536):
            yield body[i:i + 65536]

    r = c.post("/api/projects", content=chunks(), headers=h)
    assert r.status_code == 413
    assert c.get("/api/projects/P-BIG-NOTE", headers=bearer(db.tokens["us-analyst"])).status_code == 404
    # a normal body still passes the limit (a validation error, not 413)
    r = c.post("/api/projects", json={"id": "P-SMALL"}, headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 422


def test_body_limit_is_a_setting(client, monkeypatch):
    c, db, app = client
    monkeypatch.setenv("CRITMIN_WEB_MAX_BODY_BYTES", "100")
    r = c.post("/api/projects", json={"id": "P-X", "name": "y" * 200}, headers=bearer(db.tokens["us-analyst"]))
    assert r.status_code == 413


def _proxied_login(c, user):
    """Log in through the form, sending the login-CSRF cookie by hand (httpx does not send a
    Secure cookie to http://testserver; the proxy in front would be https)."""
    r = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    set_cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie")
    value = re.match(r"critmin_login_csrf=([^;]+)", set_cookie).group(1)
    c.cookies.clear()
    return r, c.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": token},
                     headers={"Cookie": f"critmin_login_csrf={value}"}, follow_redirects=False)


def _session_cookie_header(r) -> str:
    return next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("critmin_session="))


def test_secure_cookie_only_behind_a_trusted_tls_proxy(client, monkeypatch):
    c, db, app = client
    user = USERS["viewer"]
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"}
    # no trusted proxy configured: the forwarded header is ignored
    c.headers.update(tls)
    r = login(c, user)
    assert r.status_code == 303 and "secure" not in _session_cookie_header(r).lower()
    assert "strict-transport-security" not in r.headers
    # the TestClient's peer (testclient) is not an address; trust it by its documented network
    monkeypatch.setenv("CRITMIN_WEB_TRUSTED_PROXIES", "testclient")
    with pytest.raises(ValueError, match="trusted_proxies"):
        c.get("/login")
    monkeypatch.setenv("CRITMIN_WEB_TRUSTED_PROXIES", "127.0.0.1")
    from critmin.web import security

    monkeypatch.setattr(security, "_peer", lambda scope: "127.0.0.1")
    c.cookies.clear()
    form, r = _proxied_login(c, user)
    assert "secure" in next(v for k, v in form.headers.multi_items() if k == "set-cookie").lower()
    cookie = _session_cookie_header(r)
    assert "secure" in cookie.lower() and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert r.headers["strict-transport-security"].startswith("max-age=")
    # the client address the proxy forwarded is the one audited
    with app.state.ctx.db.cursor() as con:
        from critmin.web import audit

        assert audit.entries(con, action="login", limit=1)[0]["client"] == "198.51.100.7"
    # plain http from the proxy: not secure, unless the setting says the site is TLS-only
    c.headers["X-Forwarded-Proto"] = "http"
    c.cookies.clear()
    assert "secure" not in _session_cookie_header(login(c, user)).lower()
    monkeypatch.setenv("CRITMIN_WEB_COOKIE_SECURE", "1")
    c.cookies.clear()
    assert "secure" in _session_cookie_header(_proxied_login(c, user)[1]).lower()


def test_forwarded_headers_from_an_untrusted_peer_do_not_change_the_client(client, monkeypatch):
    c, db, app = client
    from critmin.web import security

    monkeypatch.setenv("CRITMIN_WEB_TRUSTED_PROXIES", "10.0.0.0/8")
    monkeypatch.setattr(security, "_peer", lambda scope: "192.0.2.1")
    c.headers.update({"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
    r = login(c, USERS["viewer"])
    assert "secure" not in _session_cookie_header(r).lower()
    with app.state.ctx.db.cursor() as con:
        from critmin.web import audit

        assert audit.entries(con, action="login", limit=1)[0]["client"] != "203.0.113.9"


def test_csrf_still_required_with_the_middleware(client):
    c, db, app = client
    login(c, USERS["us-analyst"])
    assert c.post("/logout", follow_redirects=False).status_code == 403
    assert c.post("/logout", data={"csrf_token": csrf_of(c)}, follow_redirects=False).status_code == 303


@pytest.mark.parametrize("body, ctype", [
    (b'{"commodity": "gallium", "partner": "USA", "note": "a\\u0000b"}', "application/json"),
    (b'{"commodity": "gallium\x00"}', "application/json"),
    (b"name=a%00b", "application/x-www-form-urlencoded"),
])
def test_a_nul_character_in_a_body_is_a_400_before_any_route(client, body, ctype):
    """Found by schemathesis on the PostgreSQL store: a NUL in a JSON text reached an INSERT
    (PostgreSQL text cannot hold U+0000) and answered 500. Refused before any route, on both
    stores, and nothing is written."""
    c, db, app = client
    h = {**bearer(db.tokens["us-analyst"]), "content-type": ctype}
    before = c.get("/api/incidents/inventory", headers=bearer(db.tokens["us-analyst"]))
    r = c.post("/api/incidents/inventory/adopt", content=body, headers=h)
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
    after = c.get("/api/incidents/inventory", headers=bearer(db.tokens["us-analyst"]))
    assert before.status_code == after.status_code and before.text == after.text
    # the same body without the NUL reaches the route (its own validation answers)
    clean = body.replace(b"\\u0000", b"").replace(b"\x00", b"").replace(b"%00", b"")
    assert c.post("/api/incidents/inventory/adopt", content=clean, headers=h).status_code != 400


def test_a_nul_character_in_a_query_is_a_400(client):
    """Found by schemathesis on PostgreSQL: ``GET /api/incidents?status=%00`` answered 500."""
    c, db, app = client
    h = bearer(db.tokens["us-analyst"])
    r = c.get("/api/incidents?status=%00%16", headers=h)
    assert r.status_code == 400 and "NUL" in r.json()["detail"]
    assert c.get("/api/incidents?status=open", headers=h).status_code == 200

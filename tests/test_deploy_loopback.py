"""The documented production set-up (docs/deployment.md) on loopback: Debian's nginx with a
self-signed certificate terminating TLS in front of ``critmin serve --workers 2``, which trusts
X-Forwarded-* from nginx only (web.trusted_proxies). Skipped when nginx is not installed
(scripts/install_postgres.sh does not install it; `apt-get install nginx`)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from server_support import REPO, free_port, server
from web_support import PASSWORD, USERS, web_db, web_db_template  # noqa: F401

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                                 reason="nginx not installed (apt-get install nginx)")]


def test_tls_termination_by_nginx_with_secure_cookies(web_db, tmp_path):  # noqa: F811
    script = str(REPO / "scripts" / "deploy_loopback.sh")
    tls = free_port()
    with server(web_db, workers=2, job_workers=0, CRITMIN_WEB_TRUSTED_PROXIES="127.0.0.1") as base:
        app_port = base.rsplit(":", 1)[1]
        subprocess.run(["bash", script, "start", str(tmp_path / "ngx"), str(tls), app_port], check=True)
        try:
            import ssl

            trust = ssl.create_default_context(cafile=str(tmp_path / "ngx" / "cert.pem"))
            with httpx.Client(base_url=f"https://127.0.0.1:{tls}", verify=trust, timeout=60) as c:
                assert c.get("/healthz").status_code == 200
                r = c.get("/login")
                assert r.status_code == 200
                assert r.headers["strict-transport-security"].startswith("max-age=")
                assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
                token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
                r = c.post("/login", data={"username": USERS["us-analyst"], "password": PASSWORD,
                                           "csrf_token": token})
                assert r.status_code == 303, r.text[:300]
                session_cookies = [h for h in r.headers.get_list("set-cookie") if "critmin_session" in h]
                assert session_cookies and all("Secure" in h and "HttpOnly" in h for h in session_cookies)
                assert c.get("/api/me").json()["name"] == USERS["us-analyst"]
                assert c.post("/api/projects", content=b"x" * (2 << 20),
                              headers={"Content-Type": "application/json"}).status_code == 413
            # the app itself, reached directly over plain HTTP, does not mark cookies Secure
            # (nothing says the site is on TLS there): the TLS decision is nginx's header
            r = httpx.get(f"{base}/login", timeout=60)
            assert "strict-transport-security" not in r.headers
        finally:
            subprocess.run(["bash", script, "stop", str(tmp_path / "ngx")], check=False)

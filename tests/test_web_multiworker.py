"""``critmin serve --workers N`` in a subprocess, on the store of the run (SQLite, or PostgreSQL
with CRITMIN_TEST_DATABASE_URL): CLI commands while it runs, sessions and CSRF across worker
processes, the job queue run by the server and by ``critmin worker`` processes."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from server_support import critmin, server, start_worker, stop
from web_support import PASSWORD, USERS, bearer, web_db, web_db_template  # noqa: F401

pytestmark = pytest.mark.slow


def _login(c: httpx.Client, name: str) -> str:
    r = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    r = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text[:300]
    page = c.get("/data")
    return re.search(r'name="csrf-token" content="([^"]*)"', page.text).group(1)


def test_cli_reads_imports_and_user_admin_work_while_the_server_runs(web_db):  # noqa: F811
    with server(web_db, workers=2) as base:
        r = critmin(web_db, "production", "gallium", "--json")
        assert r.returncode == 0, r.stderr[-1500:]
        assert '"country_iso3": "CHN"' in r.stdout
        r = critmin(web_db, "users", "add", "bob", "--role", "us-analyst", "--password-stdin",
                    input="a much longer passphrase 42\n")
        assert r.returncode == 0, r.stderr[-1500:]
        r = critmin(web_db, "users", "token", "bob")
        assert r.returncode == 0, r.stderr[-1500:]
        token = r.stdout.strip()
        me = httpx.get(f"{base}/api/me", headers=bearer(token), timeout=30)
        assert me.status_code == 200 and me.json()["name"] == "bob"
        before = httpx.get(f"{base}/api/data/status", headers=bearer(token), timeout=60).json()
        r = critmin(web_db, "data", "import", "--fresh")  # a new version, switched while serving
        assert r.returncode == 0, r.stderr[-1500:]
        assert "now at version" in r.stdout
        assert web_db.path.is_symlink()
        # readers were never blocked, and the server moves to the new version without a restart
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            after = httpx.get(f"{base}/api/data/status", headers=bearer(token), timeout=60).json()
            if after != before:
                break
            time.sleep(1)
        assert after != before, "the server kept the old warehouse version"
        assert critmin(web_db, "production", "gallium").returncode == 0


def test_sessions_csrf_and_jobs_across_worker_processes(web_db):  # noqa: F811
    with server(web_db, workers=3, job_workers=0) as base:
        # the session made by one worker is honoured by the others (new connection each time)
        with httpx.Client(base_url=base, timeout=60) as c:
            csrf = _login(c, USERS["us-analyst"])
            cookies = dict(c.cookies)
        for _ in range(12):
            with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c2:
                assert c2.get("/api/me").json()["name"] == USERS["us-analyst"]
        with httpx.Client(base_url=base, cookies=cookies, timeout=60) as c3:
            body = {"scenario": "cn_graphite_licensing_2023"}
            assert c3.post("/api/simulations", json=body, headers={"X-CSRF-Token": "forged"}).status_code == 403
            r = c3.post("/api/simulations", json=body, headers={"X-CSRF-Token": csrf})
            assert r.status_code == 202, r.text
            job_url = r.json()["url"]
            # no job thread in the server: the job waits for a `critmin worker`
            time.sleep(1.5)
            assert c3.get(job_url).json()["status"] == "queued"
            w = start_worker(web_db)
            try:
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline:
                    job = c3.get(job_url).json()
                    if job["status"] in ("done", "failed"):
                        break
                    time.sleep(0.5)
            finally:
                stop(w)
            assert job["status"] == "done", job
            assert job["result"]["sim_run_id"]

"""Concurrency test (issue 18): ``critmin serve --workers 4`` and 50 clients for 30 s doing
concurrent project edits (optimistic versions), simulation runs and logins.

* No lost update: every edit names the version it read; a stale one answers 409. Afterwards
  each project's history has exactly one new version per accepted edit, each accepted edit is
  the version after the one it read, and its content is what was written.
* The audit chain verifies (``critmin audit export``, exit 0).
* Every job reaches a final state.
* No 5xx answer.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter

import httpx
import pytest

from critmin.ops import open_store
from server_support import critmin, server
from web_support import PASSWORD, USERS, bearer, web_db, web_db_template  # noqa: F401

pytestmark = pytest.mark.slow
PROJECTS = ("P-MPM-MTNPASS", "P-MPM-INDEPENDENCE", "P-LYC-MTWELD")
SECONDS = 30.0


def test_fifty_clients_four_workers_no_lost_update(web_db, monkeypatch):  # noqa: F811
    extra = {"CRITMIN_JOBS_MAX_QUEUED_PER_USER": "3", "CRITMIN_WEB_AUTH_CACHE_S": "2"}
    accepted: list[tuple[str, int, str]] = []  # (project, version read, name written)
    statuses: Counter[int] = Counter()
    jobs: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    with server(web_db, workers=4, job_workers=1, **extra) as base:
        stop_at = time.monotonic() + SECONDS

        def note(r: httpx.Response) -> None:
            with lock:
                statuses[r.status_code] += 1
                if r.status_code >= 500:
                    errors.append(f"{r.request.method} {r.request.url}: {r.status_code} {r.text[:200]}")

        def editor(n: int) -> None:
            role = ("us-analyst", "jp-analyst")[n % 2]
            pid = PROJECTS[n % len(PROJECTS)]
            with httpx.Client(base_url=base, headers=bearer(web_db.tokens[role]), timeout=300) as c:
                k = 0
                while time.monotonic() < stop_at:
                    r = c.get(f"/api/projects/{pid}")
                    note(r)
                    if r.status_code != 200:
                        continue
                    rec = r.json()
                    v = rec.pop("version")
                    k += 1
                    name = f"{rec['name'].split(' [')[0]} [c{n}-{k}]"
                    r = c.post(f"/api/projects?version={v}", json={**rec, "name": name})
                    note(r)
                    if r.status_code == 201:
                        assert r.json()["version"] == v + 1
                        with lock:
                            accepted.append((pid, v, name))
                    else:
                        assert r.status_code == 409, r.text

        def runner(n: int) -> None:
            role = ("us-analyst", "jp-analyst")[n % 2]
            with httpx.Client(base_url=base, headers=bearer(web_db.tokens[role]), timeout=300) as c:
                while time.monotonic() < stop_at:
                    r = c.post("/api/simulations", json={"scenario": "cn_graphite_licensing_2023"})
                    note(r)
                    if r.status_code == 202:
                        with lock:
                            jobs.append(r.json()["job_id"])
                    else:
                        assert r.status_code == 429 and r.headers.get("retry-after"), r.text
                    time.sleep(1.0)

        def login_user(n: int) -> None:
            name = list(USERS.values())[n % len(USERS)]
            while time.monotonic() < stop_at:
                with httpx.Client(base_url=base, timeout=300) as c:
                    r = c.get("/login")
                    note(r)
                    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
                    r = c.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
                    note(r)
                    if r.status_code != 303:
                        continue  # a throttled login (429) is an answer, not an error
                    note(c.get("/api/me"))
                    note(c.get("/projects"))

        def guarded(fn):
            def run(n: int) -> None:
                try:
                    fn(n)
                except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                    with lock:
                        errors.append(f"{fn.__name__} {n}: {type(exc).__name__}: {exc}")
            return run

        threads = ([threading.Thread(target=guarded(editor), args=(i,)) for i in range(20)]
                   + [threading.Thread(target=guarded(runner), args=(i,)) for i in range(10)]
                   + [threading.Thread(target=guarded(login_user), args=(i,)) for i in range(20)])
        for t in threads:
            t.start()
        for t in threads:
            t.join(SECONDS + 600)
        assert not any(t.is_alive() for t in threads)
        # every job reaches a final state
        q = open_store(web_db.ops_url)
        end = time.monotonic() + 600
        while time.monotonic() < end:
            rows = q.execute("SELECT status, count(*) FROM web_job WHERE owner <> 'fixture' GROUP BY status").fetchall()
            if all(s in ("done", "failed", "cancelled") for s, _ in rows):
                break
            time.sleep(1)
    assert not errors, errors[:5]
    assert accepted and statuses[409] > 0, statuses  # the edits did race
    assert jobs
    final = dict(q.execute("SELECT status, count(*) FROM web_job WHERE owner <> 'fixture' GROUP BY status").fetchall())
    assert set(final) <= {"done", "failed", "cancelled"}, final
    assert final.get("done", 0) == len(jobs), final
    # no lost update: one version per accepted edit, each right after the version it read
    for pid in PROJECTS:
        hist = q.execute("SELECT version, record FROM project_version WHERE project_id = ? ORDER BY version",
                         [pid]).fetchall()
        versions = [v for v, _ in hist]
        assert versions == list(range(1, len(versions) + 1))
        mine = [(v, name) for p, v, name in accepted if p == pid]
        assert len(versions) == 1 + len(mine)  # the seed, then one per accepted edit
        names = {v: json.loads(rec)["name"] for v, rec in hist}
        for v, name in mine:
            assert names[v + 1] == name
    # the audit chain verifies
    r = critmin(web_db, "audit", "export", "--format", "json")
    assert r.returncode == 0 and "chain ok" in r.stderr, r.stderr[-500:]

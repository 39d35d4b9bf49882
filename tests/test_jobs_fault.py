"""Fault test (issue 18): a `critmin worker` killed with SIGKILL during a Monte Carlo job, 10
times. Each job ends re-queued with the reason (and is then finished by a surviving worker) or
failed with the reason; none is left running."""

from __future__ import annotations

import os
import random
import signal
import time

import pytest

from critmin.ops import open_store
from critmin.web.jobs import FINAL, JobQueue
from critmin.web.store import Database
from server_support import start_worker, stop
from web_support import web_db, web_db_template  # noqa: F401

pytestmark = pytest.mark.slow
LEASE_S = "2"


def _wait(q: JobQueue, job_id: str, cond, timeout: float = 240) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        job = q.get(job_id)
        row = q.db.store.execute("SELECT worker, attempts FROM web_job WHERE job_id = ?", [job_id]).fetchone()
        if cond(job, row):
            return job
        time.sleep(0.1)
    raise TimeoutError(f"job {job_id}: {q.get(job_id)}")


def test_sigkilled_worker_leaves_every_job_requeued_or_failed_with_a_reason(web_db, monkeypatch):  # noqa: F811
    """10 Monte Carlo jobs queued; 10 times a new worker takes the oldest queued job and is
    killed with SIGKILL while running it. With jobs.max_attempts = 3 the first jobs are killed
    three times (failed, with the reason) and the next once (re-queued, with the reason); a
    surviving worker then finishes every job that is still queued."""
    monkeypatch.setenv("CRITMIN_JOBS_LEASE_S", LEASE_S)
    monkeypatch.setenv("CRITMIN_JOBS_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("CRITMIN_JOBS_MAX_QUEUED_PER_USER", "20")
    env = {"CRITMIN_JOBS_LEASE_S": LEASE_S, "CRITMIN_JOBS_MAX_ATTEMPTS": "3"}
    q = JobQueue(Database(open_store(web_db.ops_url)))
    rng = random.Random(18)
    ids = [q.submit(kind="simulation", owner=f"analyst{i}", role="us-analyst", visibility="US",
                    spec={"monte_carlo": {"runs": 400}}, seed=i, size=400,
                    payload={"task": "monte_carlo", "runs": 400, "seed": i, "horizon_months": 12,
                             "commodities": ["gallium", "germanium"]})
           for i in range(10)]
    kills: list[tuple[str, dict]] = []
    for _ in range(10):
        w = start_worker(web_db, **env)
        try:
            end = time.monotonic() + 240
            while time.monotonic() < end:
                row = q.db.store.execute("SELECT job_id FROM web_job WHERE status = 'running' AND worker LIKE ?",
                                         [f"%:{w.pid}"]).fetchone()
                if row is not None:
                    break
                time.sleep(0.1)
            assert row is not None, "the worker took no job"
            victim = row[0]
            time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the job: loading the market or simulating
            os.kill(w.pid, signal.SIGKILL)
            w.wait(10)
        finally:
            stop(w)
        time.sleep(float(LEASE_S) + 0.5)
        q.reap()
        job = q.get(victim)
        kills.append((victim, job))
        if job["status"] == "done":  # it finished in the instant before the kill
            continue
        attempts = q.db.store.execute("SELECT attempts FROM web_job WHERE job_id = ?", [victim]).fetchone()[0]
        why = f":{w.pid} stopped responding"
        if attempts < 3:
            assert job["status"] == "queued", job
            assert job["message"].startswith("re-queued: worker ") and why in job["message"], job
            assert f"attempt {attempts} of 3" in job["message"]
        else:
            assert job["status"] == "failed", job
            assert why in job["error"] and "attempt 3 of 3" in job["error"], job
    assert all(j["status"] != "running" for _, j in kills)
    statuses = [j["status"] for _, j in kills]
    assert "failed" in statuses and "queued" in statuses, statuses
    # a surviving worker finishes every job that is still queued
    w = start_worker(web_db, "--threads", "2", **env)
    try:
        finals = [_wait(q, i, lambda job, row: job["status"] in FINAL, timeout=600) for i in ids]
    finally:
        stop(w)
    for j in finals:
        assert j["status"] in ("done", "failed"), j
        if j["status"] == "failed":
            assert "stopped responding" in j["error"] and "attempt 3 of 3" in j["error"]
        else:
            assert j["result"]["runs"] == 400 and j["result"]["sim_run_id"]
    assert sum(j["status"] == "failed" for j in finals) == statuses.count("failed")

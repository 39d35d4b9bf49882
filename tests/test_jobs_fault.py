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
    monkeypatch.setenv("CRITMIN_JOBS_LEASE_S", LEASE_S)
    monkeypatch.setenv("CRITMIN_JOBS_MAX_QUEUED_PER_USER", "20")
    q = JobQueue(Database(open_store(web_db.ops_url)))
    rng = random.Random(18)
    outcomes = []
    for i in range(10):
        job_id = q.submit(kind="simulation", owner=f"analyst{i}", role="us-analyst", visibility="US",
                          spec={"monte_carlo": {"runs": 400}}, seed=i, size=400,
                          payload={"task": "monte_carlo", "runs": 400, "seed": i, "horizon_months": 12,
                                   "commodities": ["gallium", "germanium"]})
        w = start_worker(web_db, CRITMIN_JOBS_LEASE_S=LEASE_S)
        try:
            _wait(q, job_id, lambda job, row, pid=w.pid: job["status"] == "running" and row[0].endswith(f":{pid}"))
            time.sleep(rng.uniform(0.0, 1.0))  # somewhere in the job: loading the market or simulating
            os.kill(w.pid, signal.SIGKILL)
            w.wait(10)
        finally:
            stop(w)
        assert q.get(job_id)["status"] in ("running", "done"), "killed before the job settled"
        time.sleep(float(LEASE_S) + 0.5)
        q.reap()
        job = q.get(job_id)
        outcomes.append(job)
        if job["status"] == "queued":
            assert "re-queued: worker " in job["message"] and f":{w.pid} stopped responding" in job["message"]
        elif job["status"] == "failed":
            assert "stopped responding" in job["error"]
        else:  # the job finished in the instant before the kill
            assert job["status"] == "done"
    assert all(j["status"] != "running" for j in outcomes)
    assert sum(j["status"] == "queued" for j in outcomes) >= 8, [j["status"] for j in outcomes]
    # a surviving worker takes the re-queued jobs and finishes them
    w = start_worker(web_db, "--threads", "2", CRITMIN_JOBS_LEASE_S=LEASE_S)
    try:
        finals = [_wait(q, j["job_id"], lambda job, row: job["status"] in FINAL, timeout=600) for j in outcomes]
    finally:
        stop(w)
    assert [j["status"] for j in finals] == ["done"] * 10, [(j["status"], j["error"]) for j in finals]
    for j in finals:
        assert j["result"]["runs"] == 400 and j["result"]["sim_run_id"]

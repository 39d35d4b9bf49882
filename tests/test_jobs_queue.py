"""The job queue in the operational store (critmin.web.jobs), on SQLite and PostgreSQL:
atomic claims, per-user quotas and fairness, leases (a lost worker's job is re-queued or
failed with the reason, never left running), cancellation, and stale finishes ignored."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from critmin.web.jobs import JobRunner, QuotaExceeded, _now, register_task
from critmin.web.store import Database
from ops_support import ops_store, ops_url  # noqa: F401

CALLS: list[str] = []


@register_task("test.echo")
def _echo(ctx, payload):
    def run(progress):
        CALLS.append(payload["x"])
        for i in range(int(payload.get("steps", 1))):
            progress(i / max(1, int(payload.get("steps", 1))), "step")
            time.sleep(float(payload.get("sleep", 0)))
        return {"x": payload["x"]}

    return run


def _runner(store, **kw) -> JobRunner:
    return JobRunner(Database(store), workers=0, ctx=object(), **kw)  # type: ignore[arg-type]


def _submit(q: JobRunner, owner: str = "ann", **payload) -> str:
    return q.submit(kind="simulation", owner=owner, role="us-analyst", visibility="US", spec={"p": payload},
                    seed=1, payload={"task": "test.echo", "x": "?", **payload})


def _status(q: JobRunner, job_id: str) -> str:
    job = q.get(job_id)
    assert job is not None
    return job["status"]


def test_quota_per_user_and_queue_cap(ops_store, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CRITMIN_JOBS_MAX_QUEUED_PER_USER", "3")
    monkeypatch.setenv("CRITMIN_JOBS_QUEUE_CAP", "5")
    q = _runner(ops_store)
    for _ in range(3):
        _submit(q, "ann")
    with pytest.raises(QuotaExceeded, match="3 jobs queued or running; the limit is 3"):
        _submit(q, "ann")
    _submit(q, "jun")
    _submit(q, "jun")
    with pytest.raises(QuotaExceeded, match="queue is full"):
        _submit(q, "vic")


def test_claims_are_atomic_across_threads(ops_store, monkeypatch):  # noqa: F811
    """4 claimers race over 20 queued jobs of 20 owners: every job is claimed exactly once."""
    monkeypatch.setenv("CRITMIN_JOBS_QUEUE_CAP", "100")
    q = _runner(ops_store)
    ids = {_submit(q, f"user{i}", x=str(i)) for i in range(20)}
    got: list[str] = []
    lock = threading.Lock()

    def claimer(n: int) -> None:
        while True:
            job = q.claim(f"w{n}")
            if job is None:
                return
            with lock:
                got.append(job[0])

    threads = [threading.Thread(target=claimer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(ids)


def test_one_users_jobs_do_not_hold_back_anothers(ops_store):  # noqa: F811
    """With jobs.max_running_per_user = 1, ann's second job waits while jun's runs."""
    q = _runner(ops_store)
    a1, a2 = _submit(q, "ann"), _submit(q, "ann")
    j1 = _submit(q, "jun")
    assert q.claim("w1")[0] == a1
    assert q.claim("w2")[0] == j1  # not a2: ann already has a running job
    assert q.claim("w3") is None
    assert _status(q, a2) == "queued"


def test_lost_worker_job_is_requeued_then_failed_with_the_reason(ops_store, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CRITMIN_JOBS_MAX_ATTEMPTS", "2")
    q = _runner(ops_store)
    jid = _submit(q)
    assert q.claim("host:111")[0] == jid
    past = _now() - timedelta(seconds=5)
    ops_store.execute("UPDATE web_job SET lease_until = ? WHERE job_id = ?", [past, jid])
    assert q.reap() == 1
    job = q.get(jid)
    assert job["status"] == "queued"
    assert "re-queued: worker host:111 stopped responding" in job["message"] and "attempt 1 of 2" in job["message"]
    assert q.claim("host:222")[0] == jid
    ops_store.execute("UPDATE web_job SET lease_until = ? WHERE job_id = ?", [past, jid])
    q.reap()
    job = q.get(jid)
    assert job["status"] == "failed"
    assert job["error"].startswith("worker host:222 stopped responding") and "attempt 2 of 2" in job["error"]
    # the lost worker comes back: its late result is not written over the settled job
    assert not q.finish(jid, "host:222", owner="ann", role="us-analyst", kind="simulation", status="done",
                        result="{}", error=None)
    assert q.get(jid)["status"] == "failed"


def test_a_live_lease_is_renewed_and_not_reaped(ops_store, monkeypatch):  # noqa: F811
    monkeypatch.setenv("CRITMIN_JOBS_LEASE_S", "0.6")
    q = _runner(ops_store)
    jid = _submit(q, x="slow", steps=8, sleep=0.15)
    ran = q.run_one()  # 1.2 s of work, twice the lease: the heartbeat keeps it
    assert ran and q.reap() == 0
    job = q.get(jid)
    assert job["status"] == "done" and job["result"] == {"x": "slow"}


def test_cancel_queued_and_running(ops_store, monkeypatch):  # noqa: F811
    q = _runner(ops_store)
    queued = _submit(q, "ann")
    assert q.cancel(queued) == "cancelled"
    assert _status(q, queued) == "cancelled" and q.claim("w") is None
    running = _submit(q, "ann", x="long", steps=100, sleep=0.02)
    t = threading.Thread(target=q.run_one)
    t.start()
    deadline = time.monotonic() + 10
    while _status(q, running) != "running" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert q.cancel(running) == "cancelling"
    t.join(10)
    job = q.get(running)
    assert job["status"] == "cancelled" and job["error"] == "cancelled by the user"


def test_threads_run_the_queue(ops_store):  # noqa: F811
    db = Database(ops_store)
    q = JobRunner(db, workers=2, ctx=object())  # type: ignore[arg-type]
    try:
        ids = [_submit(q, f"u{i}", x=f"t{i}") for i in range(4)]
        done = [q.wait(i, timeout=30) for i in ids]
    finally:
        q.shutdown()
    assert [d["status"] for d in done] == ["done"] * 4
    assert [d["result"]["x"] for d in done] == [f"t{i}" for i in range(4)]

"""The job queue (Monte Carlo runs, scenarios, stockpile plans, selections) in the operational store.

A job is a row of ``web_job``: kind, owner and role, visibility, the request ``spec`` shown to
users, the ``seed``, and a ``payload`` naming a *task* (``{"task": "monte_carlo", ...}``) that
any process can rebuild with the builder registered under that name (:func:`register_task`).
Statuses: ``queued`` -> ``running`` -> ``done`` | ``failed`` | ``cancelled`` (``interrupted``:
a job of the old single-process runner).

Who runs jobs: every server process runs ``web.job_workers`` claiming threads, and
``critmin worker`` processes run more. A claim is atomic: ``SELECT ... FOR UPDATE SKIP LOCKED``
on PostgreSQL, a ``BEGIN IMMEDIATE`` transaction on SQLite. The oldest queued job whose owner
has fewer than ``jobs.max_running_per_user`` running jobs is taken (so one user's long
Monte Carlo does not hold everyone else's work back). A running job holds a *lease*
(``lease_until``), renewed by a heartbeat thread every third of ``jobs.lease_s``. When a worker
dies (SIGKILL, power loss) its lease runs out and the next claimer puts the job back in the
queue with the reason (``message``/``error``: which worker was lost, attempt n of
``jobs.max_attempts``) or, after the last attempt, marks it failed with that reason. A job is
never left ``running`` by a dead worker.

Quotas on submission (:class:`QuotaExceeded`, HTTP 429): at most ``jobs.max_queued_per_user``
jobs queued or running per user, and ``jobs.queue_cap`` queued in all. Cancel: a queued job is
cancelled at once; a running one at its next progress report.

``submit(fn=...)`` with a closure instead of a task still works (for code that has not
registered a task): such a job runs only in the submitting process and cannot be re-queued.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from critmin import settings
from critmin.web import audit
from critmin.web.store import Database

if TYPE_CHECKING:
    from critmin.web.context import WebContext

log = logging.getLogger(__name__)

settings.register(
    "web.job_workers",
    1,
    "Job threads in each server process (0: leave the queue to `critmin worker` processes); each "
    "already uses numpy's threads.",
    "CI machine: 2 cores",
)
settings.register(
    "web.progress_interval_s",
    0.25,
    "Shortest interval between two progress writes of one job, in seconds.",
    "",
)
settings.register("jobs.lease_s", 30.0,
                  "Seconds a running job's lease lasts; a worker renews it every third of that. A job whose "
                  "worker died is re-queued (or failed) once the lease has run out.",
                  "Trade-off: re-queue delay after a crash vs heartbeat writes")
settings.register("jobs.max_attempts", 2,
                  "Times a job is started before a lost worker marks it failed instead of re-queued.",
                  "One retry: a job that kills its worker twice is likely the cause")
settings.register("jobs.max_queued_per_user", 5,
                  "Jobs one user may have queued or running at once (more answer 429).",
                  "ASSUMPTION: an analyst compares a handful of runs at a time")
settings.register("jobs.max_running_per_user", 1,
                  "Jobs of one user that run at the same time (the others wait while other users' jobs run).",
                  "ASSUMPTION: fairness between the two governments' analysts on a small server")
settings.register("jobs.queue_cap", 100, "Queued jobs in all, beyond which submissions answer 429.",
                  "ASSUMPTION: ~1 hour of work on the 2-core reference machine")
settings.register("jobs.poll_s", 0.5, "How often an idle worker looks for queued jobs, in seconds.", "")

FINAL = frozenset({"done", "failed", "cancelled", "interrupted"})
Progress = Callable[[float, str], None]
Task = Callable[[Progress], dict[str, Any]]
TaskBuilder = Callable[["WebContext", dict[str, Any]], Task]
JOB_COLUMNS = (
    "job_id", "kind", "owner", "visibility", "status", "progress", "message", "spec", "seed",
    "result", "error", "created_at", "finished_at",
)
_TASKS: dict[str, TaskBuilder] = {}


class QuotaExceeded(RuntimeError):
    """A submission over a user's or the queue's limit (HTTP 429)."""


class JobCancelled(RuntimeError):
    """Raised in a running job's progress callback once the job has been cancelled."""


def register_task(name: str) -> Callable[[TaskBuilder], TaskBuilder]:
    """Register ``builder(ctx, payload) -> fn(progress) -> dict`` under ``name``."""

    def deco(fn: TaskBuilder) -> TaskBuilder:
        _TASKS[name] = fn
        return fn

    return deco


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class JobQueue:
    """The queue's statements (no threads): submit, claim, renew, finish, cancel, reap."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.pg = not db.store.sqlite

    def submit(self, *, kind: str, owner: str, role: str, visibility: str, spec: dict[str, Any],
               seed: int | None, payload: dict[str, Any] | None, size: int = 1,
               status: str = "queued", worker: str | None = None) -> str:
        job_id = f"{kind[:3]}-{secrets.token_hex(6)}"
        now = _now()
        lease = now + timedelta(seconds=float(settings.get("jobs.lease_s"))) if status == "running" else None
        with self.db.transaction(lock=f"web_job_submit:{owner}") as con:
            row = con.execute("SELECT count(*) FROM web_job WHERE owner = ? AND status IN ('queued', 'running')",
                              [owner]).fetchone()
            mine = int(row[0]) if row else 0
            limit = int(settings.get("jobs.max_queued_per_user"))
            if mine >= limit:
                raise QuotaExceeded(f"you have {mine} jobs queued or running; the limit is {limit} "
                                    "(setting jobs.max_queued_per_user): wait for one to finish or cancel one")
            row = con.execute("SELECT count(*) FROM web_job WHERE status = 'queued'").fetchone()
            queued = int(row[0]) if row else 0
            cap = int(settings.get("jobs.queue_cap"))
            if queued >= cap:
                raise QuotaExceeded(f"the job queue is full ({queued} queued; setting jobs.queue_cap = {cap})")
            con.execute(
                "INSERT INTO web_job (job_id, kind, owner, role, visibility, status, progress, message, spec, seed,"
                " payload, created_at, started_at, worker, lease_until, attempts, cancel_requested, size)"
                " VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, FALSE, ?)",
                [job_id, kind, owner, role, visibility, status, status, json.dumps(spec, sort_keys=True), seed,
                 None if payload is None else json.dumps(payload, sort_keys=True), now,
                 now if status == "running" else None, worker, lease, 1 if status == "running" else 0, size],
            )
        return job_id

    def claim(self, worker: str) -> tuple[str, str, str, str, dict[str, Any]] | None:
        """Take the next runnable job: (job_id, kind, owner, role, payload), or None."""
        lease = _now() + timedelta(seconds=float(settings.get("jobs.lease_s")))
        sql = ("SELECT job_id, kind, owner, role, payload FROM web_job WHERE status = 'queued'"
               " AND payload IS NOT NULL AND cancel_requested = FALSE AND owner NOT IN ("
               "SELECT owner FROM web_job WHERE status = 'running' GROUP BY owner HAVING count(*) >= ?)"
               " ORDER BY created_at, job_id LIMIT 1")
        if self.pg:
            sql += " FOR UPDATE SKIP LOCKED"
        with self.db.transaction() as con:
            row = con.execute(sql, [int(settings.get("jobs.max_running_per_user"))]).fetchone()
            if row is None:
                return None
            con.execute(
                "UPDATE web_job SET status = 'running', worker = ?, lease_until = ?, started_at = ?,"
                " attempts = attempts + 1, message = 'started' WHERE job_id = ? AND status = 'queued'",
                [worker, lease, _now(), row[0]],
            )
        return row[0], row[1], row[2], row[3], json.loads(row[4])

    def renew(self, job_id: str, worker: str) -> bool | None:
        """Extend the lease; returns whether cancellation was requested (None: lease lost)."""
        lease = _now() + timedelta(seconds=float(settings.get("jobs.lease_s")))
        with self.db.transaction() as con:
            n = con.execute("UPDATE web_job SET lease_until = ? WHERE job_id = ? AND worker = ? AND status = 'running'",
                            [lease, job_id, worker]).rowcount
            if not n:
                return None
            row = con.execute("SELECT cancel_requested FROM web_job WHERE job_id = ?", [job_id]).fetchone()
        return bool(row and row[0])

    def progress(self, job_id: str, worker: str, fraction: float, message: str) -> None:
        self.db.store.execute("UPDATE web_job SET progress = ?, message = ? WHERE job_id = ? AND worker = ?",
                              [max(0.0, min(1.0, float(fraction))), message, job_id, worker])

    def finish(self, job_id: str, worker: str, *, owner: str, role: str, kind: str, status: str,
               result: str | None, error: str | None) -> bool:
        """Store the outcome (and audit it) unless the job was taken from this worker meanwhile."""
        with self.db.transaction(lock="web_audit") as con:
            row = con.execute("SELECT worker, status FROM web_job WHERE job_id = ?", [job_id]).fetchone()
            if row is None or row[0] != worker or row[1] != "running":
                return False
            audit.record(con, actor=owner, role=role, action=f"{kind}.finish", target=job_id, outcome=status,
                         detail={"error": error} if error else None)
            con.execute(
                "UPDATE web_job SET status = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END,"
                " result = ?, error = ?, finished_at = ?, message = ?, lease_until = NULL WHERE job_id = ?",
                [status, status, result, error, _now(), status, job_id],
            )
        return True

    def cancel(self, job_id: str) -> str:
        """Cancel: a queued job at once, a running one at its next progress report; returns the status."""
        with self.db.transaction() as con:
            row = con.execute("SELECT status FROM web_job WHERE job_id = ?", [job_id]).fetchone()
            if row is None:
                raise KeyError(job_id)
            if row[0] == "queued":
                con.execute("UPDATE web_job SET status = 'cancelled', message = 'cancelled before it started',"
                            " error = 'cancelled by the user', finished_at = ? WHERE job_id = ?", [_now(), job_id])
                return "cancelled"
            if row[0] == "running":
                con.execute("UPDATE web_job SET cancel_requested = TRUE, message = 'cancelling' WHERE job_id = ?",
                            [job_id])
                return "cancelling"
            return str(row[0])

    def reap(self) -> int:
        """Re-queue (or fail) running jobs whose lease has run out; returns how many."""
        now = _now()
        max_attempts = int(settings.get("jobs.max_attempts"))
        with self.db.transaction() as con:
            rows = con.execute(
                "SELECT job_id, worker, attempts, payload IS NULL, cancel_requested, lease_until FROM web_job"
                " WHERE status = 'running' AND lease_until < ?", [now]).fetchall()
            for job_id, worker, attempts, local, cancel, lease in rows:
                why = f"worker {worker} stopped responding (lease expired {lease:%H:%M:%S} UTC)"
                if cancel:
                    status, err = "cancelled", f"cancelled; {why}"
                elif local:
                    status, err = "failed", f"{why}; this job ran in its server process and cannot be re-run"
                elif attempts >= max_attempts:
                    status, err = "failed", f"{why} on attempt {attempts} of {max_attempts}"
                else:
                    status, err = "queued", None
                msg = f"re-queued: {why} (attempt {attempts} of {max_attempts})" if status == "queued" else err
                con.execute(
                    "UPDATE web_job SET status = ?, worker = NULL, lease_until = NULL, message = ?, error = ?,"
                    " finished_at = ? WHERE job_id = ? AND status = 'running'",
                    [status, msg, err, None if status == "queued" else now, job_id],
                )
        return len(rows)

    def get(self, job_id: str) -> dict[str, Any] | None:
        row = self.db.store.execute(
            "SELECT " + ", ".join(JOB_COLUMNS) + " FROM web_job WHERE job_id = ?", [job_id]).fetchone()
        return None if row is None else _decode(row)

    @staticmethod
    def _list_query(kind: str, visibilities: frozenset[str], limit: int) -> tuple[str, list[Any]]:
        marks = ", ".join("?" for _ in visibilities)
        return ("SELECT " + ", ".join(JOB_COLUMNS) + f" FROM web_job WHERE kind = ? AND visibility IN ({marks})"
                f" ORDER BY created_at DESC LIMIT {int(limit)}", [kind, *sorted(visibilities)])

    def list(self, kind: str, visibilities: frozenset[str], limit: int = 100) -> list[dict[str, Any]]:
        rows = self.db.store.execute(*self._list_query(kind, visibilities, limit)).fetchall()
        return [_decode(r, with_result=False) for r in rows]

    async def alist(self, kind: str, visibilities: frozenset[str], limit: int = 100) -> builtins.list[dict[str, Any]]:
        """:meth:`list`, awaited on the event loop (:func:`critmin.ops.aio.read`)."""
        from critmin.ops import aio

        rows = (await aio.read(self.db.store, *self._list_query(kind, visibilities, limit))).fetchall()
        return [_decode(r, with_result=False) for r in rows]


class JobRunner(JobQueue):
    """The queue plus the threads that run its jobs in this process (``workers`` of them)."""

    def __init__(self, db: Database, workers: int | None = None, ctx: WebContext | None = None,
                 *, name: str | None = None) -> None:
        super().__init__(db)
        self.ctx = ctx
        self.name = name or worker_name()
        n = int(settings.get("web.job_workers")) if workers is None else int(workers)
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._threads = [threading.Thread(target=self._loop, args=(i,), name=f"critmin-job-{i}", daemon=True)
                         for i in range(n)]
        self._local_pool: ThreadPoolExecutor | None = None
        for t in self._threads:
            t.start()

    # -- submission --------------------------------------------------------------------
    def submit(self, *, kind: str, owner: str, role: str, visibility: str, spec: dict[str, Any],  # type: ignore[override]
               seed: int | None, fn: Task | None = None, payload: dict[str, Any] | None = None,
               size: int = 1, **_: Any) -> str:
        if fn is None and payload is None:
            raise ValueError("submit: give a task payload (or a closure fn)")
        if payload is not None:
            if payload.get("task") not in _TASKS:
                raise ValueError(f"unknown task {payload.get('task')!r}; registered: {sorted(_TASKS)}")
            job_id = super().submit(kind=kind, owner=owner, role=role, visibility=visibility, spec=spec,
                                    seed=seed, payload=payload, size=size)
            with self._wake:
                self._wake.notify()
            return job_id
        assert fn is not None
        job_id = super().submit(kind=kind, owner=owner, role=role, visibility=visibility, spec=spec, seed=seed,
                                payload=None, size=size, status="running", worker=self.name)
        if self._local_pool is None:
            self._local_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="critmin-local-job")
        self._local_pool.submit(self._execute, job_id, kind, owner, role, fn)
        return job_id

    # -- running -----------------------------------------------------------------------
    def _loop(self, i: int) -> None:
        poll = float(settings.get("jobs.poll_s"))
        while not self._stop.is_set():
            try:
                self.reap()
                job = self.claim(self.name)
            except Exception:  # noqa: BLE001 - a store hiccup must not end the worker thread
                log.exception("job claim failed; retrying")
                job = None
            if job is None:
                with self._wake:
                    self._wake.wait(poll)
                continue
            job_id, kind, owner, role, payload = job
            try:
                if self.ctx is None:
                    raise RuntimeError("this job runner has no context to build tasks in")
                fn = _TASKS[payload["task"]](self.ctx, payload)
            except Exception as exc:  # noqa: BLE001 - a task that cannot be built fails with its reason
                self.finish(job_id, self.name, owner=owner, role=role, kind=kind, status="failed",
                            result=None, error=f"{type(exc).__name__}: {exc}")
                continue
            self._execute(job_id, kind, owner, role, fn)

    def run_one(self) -> bool:
        """Claim and run one job in the calling thread (tests, ``critmin worker --once``)."""
        self.reap()
        job = self.claim(self.name)
        if job is None:
            return False
        job_id, kind, owner, role, payload = job
        assert self.ctx is not None
        self._execute(job_id, kind, owner, role, _TASKS[payload["task"]](self.ctx, payload))
        return True

    def _execute(self, job_id: str, kind: str, owner: str, role: str, fn: Task) -> None:
        worker = self.name
        last = [0.0]
        interval = float(settings.get("web.progress_interval_s"))
        state = {"cancel": False, "lost": False}
        done = threading.Event()

        def heartbeat() -> None:
            period = float(settings.get("jobs.lease_s")) / 3
            while not done.wait(period):
                try:
                    flag = self.renew(job_id, worker)
                except Exception:  # noqa: BLE001 - try again at the next beat
                    log.exception("lease renewal of %s failed", job_id)
                    continue
                if flag is None:
                    state["lost"] = True
                    return
                state["cancel"] = bool(flag)

        beat = threading.Thread(target=heartbeat, name=f"critmin-lease-{job_id}", daemon=True)
        beat.start()

        def progress(fraction: float, message: str) -> None:
            if state["cancel"] or state["lost"]:
                raise JobCancelled("cancelled by the user" if state["cancel"] else "the job's lease was lost")
            now = time.monotonic()
            if now - last[0] < interval and fraction < 1.0:
                return
            last[0] = now
            self.progress(job_id, worker, fraction, message)
            flag = self.renew(job_id, worker)
            if flag is None or flag:
                state["cancel"] = bool(flag)
                state["lost"] = flag is None
                raise JobCancelled("cancelled by the user" if flag else "the job's lease was lost")

        try:
            result = fn(progress)
            text: str | None = json.dumps(result, default=_json_default, allow_nan=False)
            status, error = "done", None
        except JobCancelled as exc:
            text, status, error = None, "cancelled", str(exc)
        except Exception as exc:  # noqa: BLE001 - the job's failure is stored and audited
            log.exception("job %s failed", job_id)
            text, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
        finally:
            done.set()
        try:
            self.finish(job_id, worker, owner=owner, role=role, kind=kind, status=status, result=text, error=error)
        except Exception:  # noqa: BLE001 - the lease will run out and the reaper settles the job
            log.exception("could not store the outcome of job %s", job_id)
        with self._wake:
            self._wake.notify_all()

    def wait(self, job_id: str, timeout: float = 60.0) -> dict[str, Any] | None:
        """Block until the job has finished (for tests and the CLI)."""
        end = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None or job["status"] in FINAL:
                return job
            remaining = end - time.monotonic()
            if remaining <= 0:
                return job
            with self._wake:
                self._wake.wait(min(remaining, 0.1))

    def shutdown(self) -> None:
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for t in self._threads:
            t.join(timeout=5)
        if self._local_pool is not None:
            self._local_pool.shutdown(wait=True, cancel_futures=True)


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(f"job result field of type {type(o).__name__} is not JSON-serialisable")


def _decode(row: tuple, with_result: bool = True) -> dict[str, Any]:
    d = dict(zip(JOB_COLUMNS, row, strict=True))
    d["spec"] = json.loads(d["spec"])
    d["result"] = json.loads(d["result"]) if (with_result and d["result"]) else None
    d["progress"] = float(d["progress"])
    for k in ("created_at", "finished_at"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    return d

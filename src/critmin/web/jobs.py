"""Background jobs (Monte Carlo runs, stockpile plans) with progress, stored with spec and seed.

A job is a function ``fn(progress) -> dict`` run on a small thread pool. ``progress(fraction,
message)`` updates the job's row in ``web_job`` (at most every ``web.progress_interval_s``
seconds, and always at the end). The row keeps the request ``spec`` (JSON), the ``seed``, the
owner, the visibility chosen when it started, the status (``queued``, ``running``, ``done``,
``failed``, ``interrupted``) and the JSON ``result`` or the error message. Jobs left
``running``/``queued`` by a stopped server are marked ``interrupted`` on the next start.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from critmin import settings
from critmin.web import audit
from critmin.web.store import Database

log = logging.getLogger(__name__)

settings.register(
    "web.job_workers",
    1,
    "Background job threads (Monte Carlo, stockpile plans); each already uses numpy's threads.",
    "CI machine: 2 cores",
)
settings.register(
    "web.progress_interval_s",
    0.25,
    "Shortest interval between two progress writes of one job, in seconds.",
    "",
)

Progress = Callable[[float, str], None]
JOB_COLUMNS = (
    "job_id", "kind", "owner", "visibility", "status", "progress", "message", "spec", "seed",
    "result", "error", "created_at", "finished_at",
)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class JobRunner:
    def __init__(self, db: Database, workers: int | None = None) -> None:
        self.db = db
        self._pool = ThreadPoolExecutor(
            max_workers=workers or int(settings.get("web.job_workers")), thread_name_prefix="critmin-job"
        )
        self._done = threading.Condition()
        with db.cursor() as con:
            con.execute(
                "UPDATE web_job SET status = 'interrupted', error = 'server stopped while the job ran',"
                " finished_at = ? WHERE status IN ('queued', 'running')",
                [_now()],
            )

    def submit(
        self,
        *,
        kind: str,
        owner: str,
        role: str,
        visibility: str,
        spec: dict[str, Any],
        seed: int | None,
        fn: Callable[[Progress], dict[str, Any]],
    ) -> str:
        job_id = f"{kind[:3]}-{secrets.token_hex(6)}"
        with self.db.cursor() as con:
            con.execute(
                "INSERT INTO web_job VALUES (?, ?, ?, ?, 'queued', 0, NULL, ?, ?, NULL, NULL, ?, NULL)",
                [job_id, kind, owner, visibility, json.dumps(spec, sort_keys=True), seed, _now()],
            )
        self._pool.submit(self._run, job_id, kind, owner, role, fn)
        return job_id

    def _run(self, job_id: str, kind: str, owner: str, role: str, fn: Callable) -> None:
        last = [0.0]
        interval = float(settings.get("web.progress_interval_s"))

        def progress(fraction: float, message: str) -> None:
            now = time.monotonic()
            if now - last[0] < interval and fraction < 1.0:
                return
            last[0] = now
            with self.db.cursor() as con:
                con.execute(
                    "UPDATE web_job SET progress = ?, message = ? WHERE job_id = ?",
                    [max(0.0, min(1.0, float(fraction))), message, job_id],
                )

        with self.db.cursor() as con:
            con.execute("UPDATE web_job SET status = 'running' WHERE job_id = ?", [job_id])
        try:
            result = fn(progress)
            text = json.dumps(result, default=_json_default, allow_nan=False)
            status, error = "done", None
        except Exception as exc:  # noqa: BLE001 - the job's failure is stored and audited
            log.exception("job %s failed", job_id)
            text, status, error = None, "failed", f"{type(exc).__name__}: {exc}"
        with self.db.cursor() as con:
            # audit first, so that whoever sees the job finished also finds its audit entry
            with self.db.lock:
                audit.record(
                    con, actor=owner, role=role, action=f"{kind}.finish", target=job_id,
                    outcome=status, detail={"error": error} if error else None,
                )
            con.execute(
                "UPDATE web_job SET status = ?, progress = CASE WHEN ? = 'done' THEN 1 ELSE progress END,"
                " result = ?, error = ?, finished_at = ?, message = ? WHERE job_id = ?",
                [status, status, text, error, _now(), status, job_id],
            )
        with self._done:
            self._done.notify_all()

    def get(self, job_id: str) -> dict[str, Any] | None:
        with self.db.cursor() as con:
            row = con.execute(
                "SELECT " + ", ".join(JOB_COLUMNS) + " FROM web_job WHERE job_id = ?", [job_id]
            ).fetchone()
        return None if row is None else _decode(row)

    def list(self, kind: str, visibilities: frozenset[str], limit: int = 100) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in visibilities)
        with self.db.cursor() as con:
            rows = con.execute(
                "SELECT " + ", ".join(JOB_COLUMNS) + f" FROM web_job WHERE kind = ? AND visibility IN ({marks})"
                f" ORDER BY created_at DESC LIMIT {int(limit)}",
                [kind, *sorted(visibilities)],
            ).fetchall()
        return [_decode(r, with_result=False) for r in rows]

    def wait(self, job_id: str, timeout: float = 60.0) -> dict[str, Any] | None:
        """Block until the job has finished (for tests and the CLI)."""
        end = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None or job["status"] in ("done", "failed", "interrupted"):
                return job
            remaining = end - time.monotonic()
            if remaining <= 0:
                return job
            with self._done:
                self._done.wait(min(remaining, 0.2))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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
    for k in ("created_at", "finished_at"):
        d[k] = d[k].isoformat() if d[k] is not None else None
    return d

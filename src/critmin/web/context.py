"""What the app holds for the life of the process: the database, the job runner, caches."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request

from critmin.web import audit
from critmin.web.auth import Principal
from critmin.web.jobs import JobRunner
from critmin.web.store import Database

T = TypeVar("T")


class WebContext:
    def __init__(self, db_path: str | Path, *, job_workers: int | None = None) -> None:
        from critmin.data.warehouse import Warehouse

        #: one read-write Warehouse for the process; its ``query`` runs each call on its own
        #: cursor, so request threads share it safely
        self.wh = Warehouse(db_path)
        self.db = Database(db_path, self.wh.con)
        self.jobs = JobRunner(self.db, workers=job_workers)
        self._cache: dict[tuple, Any] = {}
        self._cache_lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}


    def data_version(self) -> tuple:
        """Changes whenever data is (re-)imported: the key of every cached computation."""
        with self.db.cursor() as con:
            try:
                row = con.execute("SELECT count(*), max(imported_at) FROM dataset").fetchone()
            except Exception:  # noqa: BLE001 - no dataset table yet: nothing imported
                return (0, None)
        return tuple(row)

    def cached(self, key: tuple, compute: Callable[[], T]) -> T:
        """Memoise ``compute()`` under ``key`` + the data version; one computation at a time per key."""
        full = (*key, self.data_version())
        with self._cache_lock:
            if full in self._cache:
                return self._cache[full]
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            with self._cache_lock:
                if full in self._cache:
                    return self._cache[full]
            value = compute()
            with self._cache_lock:
                for k in [k for k in self._cache if k[: len(key)] == key]:
                    del self._cache[k]  # drop results for older data versions
                self._cache[full] = value
        return value

    def audit(
        self,
        request: Request | None,
        principal: Principal | None,
        action: str,
        outcome: str,
        *,
        actor: str | None = None,
        target: str | None = None,
        detail: dict | None = None,
    ) -> None:
        client = request.client.host if request is not None and request.client else None
        with self.db.cursor() as con, self.db.lock:
            audit.record(
                con,
                actor=actor or (principal.name if principal else "anonymous"),
                role=principal.role.name if principal else None,
                action=action,
                target=target,
                outcome=outcome,
                detail=detail,
                client=client,
            )

    def close(self) -> None:
        self.jobs.shutdown()
        self.wh.close()


def ctx_of(request: Request) -> WebContext:
    return request.app.state.ctx

"""What the app holds for the life of the process: the warehouse, the operational store, the
job runner, caches.

The warehouse is opened read-only (so CLI commands, imports and other server workers use it at
the same time) and followed across versions: when ``critmin data import`` has switched the
warehouse path to a new version (:mod:`critmin.data.versions`), the next look at the data
version (every ``web.data_version_ttl_s`` seconds) opens the new file; requests and jobs that
hold the old one finish on it. Users, sessions, audit, projects and jobs are in the operational
store (:mod:`critmin.ops`, ``ctx.ops``), shared by every worker process.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastapi import Request

from critmin import settings
from critmin.web import audit
from critmin.web.auth import Principal
from critmin.web.jobs import JobRunner
from critmin.web.sharedcache import SharedCache
from critmin.web.store import Database

if TYPE_CHECKING:
    from critmin.data.warehouse import Warehouse

T = TypeVar("T")
log = logging.getLogger(__name__)

settings.register(
    "web.auth_cache_s",
    2.0,
    "Seconds a checked token or session is trusted before it is looked up again (logout and "
    "revocation through the server clear it at once).",
    "",
)
settings.register(
    "web.data_version_ttl_s",
    5.0,
    "How long the server trusts its last look at the dataset table before checking for a new "
    "import (cached results are keyed by the data version).",
    "",
)


#: set while :func:`from_memory_or_thread` runs a handler on the event loop: a cache miss or a
#: data-version check (store or file I/O) raises :class:`WouldBlock` instead of blocking the loop
_MEMORY_ONLY: contextvars.ContextVar[bool] = contextvars.ContextVar("critmin_web_memory_only", default=False)


class WouldBlock(Exception):
    """A memory-only call needed I/O (see :func:`from_memory_or_thread`)."""


def before_io(what: str) -> None:
    """Call before a store or file read that a cache did not answer: inside
    :func:`from_memory_or_thread`'s first try it raises :class:`WouldBlock` (the handler is
    run again in a worker thread), elsewhere it does nothing."""
    if _MEMORY_ONLY.get():
        raise WouldBlock(what)


async def from_memory_or_thread(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` on the event loop when every :meth:`WebContext.cached` and
    :meth:`WebContext.data_version` it calls is answered from memory, else ``fn(*args)`` again in
    a worker thread (never a store or file read on the loop). Only for read-only ``fn`` whose
    other work is in memory, so that starting it afresh in the thread changes nothing. A warm
    request so saves FastAPI's worker-thread hops (the handler's and its response's)."""
    from starlette.concurrency import run_in_threadpool

    token = _MEMORY_ONLY.set(True)
    try:
        return fn(*args)
    except WouldBlock:
        pass
    finally:
        _MEMORY_ONLY.reset(token)
    return await run_in_threadpool(fn, *args)


class AuthCache:
    """Short-lived memo of credential -> principal (keys are the secrets' SHA-256)."""

    def __init__(self) -> None:
        self._d: dict[tuple[str, str], tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str], lookup: Callable[[], Any]) -> Any:
        import hashlib

        k = (key[0], hashlib.sha256(key[1].encode()).hexdigest())
        now = time.monotonic()
        with self._lock:
            hit = self._d.get(k)
        if hit is not None and now - hit[0] < float(settings.get("web.auth_cache_s")):
            return hit[1]
        before_io("credential lookup")
        value = lookup()
        with self._lock:
            if len(self._d) > 10_000:
                self._d.clear()
            self._d[k] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._d.clear()


class WebContext:
    def __init__(self, db_path: str | Path, *, job_workers: int | None = None, ops_url: str | None = None) -> None:
        from critmin.data.warehouse import Warehouse
        from critmin.ops import open_store

        self.db_path = Path(db_path)
        self._wh_lock = threading.Lock()
        #: the current read-only Warehouse; its ``query`` runs each call on its own cursor
        self._wh = Warehouse(self.db_path, read_only=True)
        #: the operational store (users, sessions, audit, projects, jobs, runs, incidents, briefs)
        self.ops = open_store(ops_url, warehouse=self.db_path)
        self.db = Database(self.ops)
        self._cache: dict[tuple, Any] = {}
        self._cache_lock = threading.Lock()
        self._key_locks: dict[tuple, threading.Lock] = {}
        self._latest: dict[tuple, tuple[Any, Any]] = {}
        self._version: tuple[float, tuple[Any, ...]] | None = None
        self.auth_cache = AuthCache()
        #: the file layer of ``cached(..., shared=True)``: results shared by every server process
        self.shared = SharedCache()
        self.jobs = JobRunner(self.db, workers=job_workers, ctx=self)

    @property
    def wh(self) -> Warehouse:
        """The warehouse version current at the last look (see :meth:`data_version`)."""
        return self._wh

    def _follow_version(self) -> None:
        """Open the version the warehouse path points at now, if it is not the one open."""
        from critmin.data.warehouse import Warehouse

        try:
            target = self.db_path.resolve(strict=True)
        except OSError:
            return
        if target == self._wh.version_path:
            return
        with self._wh_lock:
            if target != self._wh.version_path:
                log.info("warehouse %s now points at %s; opening it", self.db_path, target)
                # the old Warehouse is closed when the last request or job using it lets go
                self._wh = Warehouse(self.db_path, read_only=True)

    def data_version(self) -> tuple[Any, ...]:
        """Changes whenever data is (re-)imported: the key of every cached computation.

        It is :meth:`Warehouse.fingerprint` (the one data-version key of critmin's caches),
        looked up at most every ``web.data_version_ttl_s`` seconds.
        """
        now = time.monotonic()
        cached = self._version
        if cached is not None and now - cached[0] < float(settings.get("web.data_version_ttl_s")):
            return cached[1]
        before_io("data version check")
        self._follow_version()
        version = self.wh.fingerprint()
        self._version = (now, version)
        return version

    def cached(self, key: tuple, compute: Callable[[], T], *, shared: bool = False) -> T:
        """Memoise ``compute()`` under ``key`` + the data version; one computation at a time per key.

        ``shared``: also through the file cache beside the warehouse version
        (:mod:`critmin.web.sharedcache`), so one server process computes the value and the
        others read it. Only for keys from a bounded set (never built from free request
        parameters), since each is a file."""
        version = self.data_version()
        full = (*key, version)
        with self._cache_lock:
            if full in self._cache:
                return self._cache[full]
            before_io(f"cache miss {key!r}")
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            with self._cache_lock:
                if full in self._cache:
                    return self._cache[full]
            value = self.shared.get(self.wh.version_path, version, key, compute) if shared else compute()
            with self._cache_lock:
                for k in [k for k in self._cache if k[: len(key)] == key]:
                    del self._cache[k]  # drop results for older data versions
                self._cache[full] = value
        return value

    def latest_hit(self, key: tuple, token: Any) -> Any | None:
        """What :meth:`latest` holds for ``key`` at ``token``, or None (nothing computed)."""
        with self._cache_lock:
            hit = self._latest.get(key)
        return hit[1] if hit is not None and hit[0] == token else None

    def latest(self, key: tuple, token: Any, compute: Callable[[], T]) -> T:
        """``compute()`` for ``key`` while ``token`` (a version of what it reads, such as
        :func:`critmin.web.api_projects.registry_version`) is unchanged; a new token computes
        afresh and replaces the old value. Per process, at most 1024 keys."""
        hit = self.latest_hit(key, token)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        value = compute()
        with self._cache_lock:
            if len(self._latest) >= 1024:
                self._latest.clear()
            self._latest[key] = (token, value)
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
        with self.db.transaction(lock="web_audit") as con:
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

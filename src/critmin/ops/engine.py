"""The operational database's engine: SQLite (WAL) by default, PostgreSQL via a URL.

Which database (first that applies):

1. the ``url`` argument;
2. ``CRITMIN_DATABASE_URL`` (``postgresql://user:pass@host/db`` -- the driver is psycopg 3,
   pooled by SQLAlchemy's :class:`~sqlalchemy.pool.QueuePool`; ``sqlite:///path`` also works);
3. ``sqlite:///<dir>/<stem>.ops.sqlite`` beside the warehouse file ``<dir>/<stem>.duckdb``
   (``warehouse`` argument, else the resolved ``--db``/``CRITMIN_DB`` path).

SQLite is opened in WAL mode (readers never wait for the writer), with a busy timeout, and
every write transaction starts with ``BEGIN IMMEDIATE`` so that two processes never deadlock
upgrading a read lock. Timestamps are stored as ISO text and read back as ``datetime``
(own sqlite3 adapters, not the ones Python 3.12 deprecates).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine

from critmin import settings

settings.register(
    "ops.pool_size",
    5,
    "Connections kept open per process to the PostgreSQL operational store (SQLAlchemy QueuePool).",
    "SQLAlchemy default (5); 4 workers x (5 + overflow 10) stays under PostgreSQL's 100 connections",
)
settings.register(
    "ops.sqlite_busy_timeout_ms",
    30000,
    "How long a SQLite write waits for another process's write transaction before failing.",
    "Writes here are short (one row or a few); 30 s only matters under heavy contention",
)

#: the one MetaData of the operational store; packages add their Tables to it
metadata = sa.MetaData()

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def _adapt_datetime(v: dt.datetime) -> str:
    return v.isoformat(sep=" ")


def _convert_timestamp(b: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(b.decode())


def _convert_bool(b: bytes) -> bool:
    return b not in (b"0", b"", b"false", b"FALSE")


sqlite3.register_adapter(dt.datetime, _adapt_datetime)
sqlite3.register_adapter(dt.date, lambda d: d.isoformat())
for _decl in ("TIMESTAMP", "DATETIME"):
    sqlite3.register_converter(_decl, _convert_timestamp)
sqlite3.register_converter("BOOLEAN", _convert_bool)


def sqlite_path_for(warehouse: str | os.PathLike[str]) -> Path:
    """The default operational store beside a warehouse file (``wh.duckdb`` -> ``wh.ops.sqlite``)."""
    p = Path(warehouse)
    return p.with_name(f"{p.stem}.ops.sqlite")


def database_url(url: str | None = None, *, warehouse: str | os.PathLike[str] | None = None) -> str:
    """The operational store's URL (see the module docstring for the order)."""
    if url:
        return normalise_url(url)
    env = os.environ.get("CRITMIN_DATABASE_URL")
    if env:
        return normalise_url(env)
    if warehouse is None:
        from critmin.data import paths

        warehouse = paths.resolve_db_path()
    path = sqlite_path_for(warehouse)
    return f"sqlite:///{path}"


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (SQLAlchemy's default is psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def get_engine(url: str | None = None, *, warehouse: str | os.PathLike[str] | None = None) -> Engine:
    """The process's engine for ``url`` (created once per URL and process)."""
    full = database_url(url, warehouse=warehouse)
    key = f"{os.getpid()}:{full}"
    with _lock:
        eng = _engines.get(key)
        if eng is None:
            eng = _engines[key] = _create(full)
    return eng


def dispose_engines() -> None:
    """Close every pooled connection of this process (tests, and after a fork)."""
    with _lock:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _create(url: str) -> Engine:
    if url.startswith("sqlite"):
        return _create_sqlite(url)
    eng = sa.create_engine(
        url,
        pool_size=int(settings.get("ops.pool_size")),
        max_overflow=10,
        pool_recycle=1800,
    )
    _ping_when_idle(eng)
    return eng


#: a pooled PostgreSQL connection idle for longer than this is pinged before it is handed out
PING_IDLE_S = 10.0


def _ping_when_idle(eng: Engine) -> None:
    """Pessimistic disconnect handling for connections that sat idle (SQLAlchemy's recipe of a
    custom ping at checkout): one that was idle over :data:`PING_IDLE_S` seconds is pinged and
    replaced if the server has gone away. ``pool_pre_ping`` would ping at *every* checkout, one
    more round trip per statement on the request path; a connection used a moment ago is alive
    (if the server restarts in between, the statement fails once and SQLAlchemy replaces the
    pool's connections)."""
    import time

    @event.listens_for(eng, "checkin")
    def _checkin(_dbapi_con: Any, record: Any) -> None:
        record.info["critmin_used"] = time.monotonic()

    @event.listens_for(eng, "checkout")
    def _checkout(dbapi_con: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("critmin_used")
        if used is not None and time.monotonic() - used < PING_IDLE_S:
            return
        try:
            eng.dialect.do_ping(dbapi_con)
        except Exception as exc:
            # the DB-API driver's error (psycopg.Error), typed as the generic DBAPI Error
            if eng.dialect.is_disconnect(cast(Any, exc), dbapi_con, None):
                raise sa.exc.DisconnectionError(f"pooled connection is gone: {exc}") from exc
            raise


def _create_sqlite(url: str) -> Engine:
    target = sa.engine.make_url(url).database
    if target and target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    eng = sa.create_engine(
        url,
        native_datetime=True,
        connect_args={"detect_types": sqlite3.PARSE_DECLTYPES, "check_same_thread": False,
                      "timeout": int(settings.get("ops.sqlite_busy_timeout_ms")) / 1000},
    )
    busy = int(settings.get("ops.sqlite_busy_timeout_ms"))

    @event.listens_for(eng, "connect")
    def _on_connect(dbapi_con: Any, _record: Any) -> None:
        dbapi_con.isolation_level = None  # we emit BEGIN ourselves (below)
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={busy}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(eng, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        mode = conn.get_execution_options().get("critmin_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return eng


#: SQLite errors that say the database cannot be used now (not that the SQL is wrong)
_SQLITE_UNAVAILABLE = ("database is locked", "database table is locked", "unable to open database",
                       "disk i/o error", "database or disk is full")


def is_unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the operational store cannot be reached or used right now: a
    PostgreSQL connection error or a cancelled statement (psycopg's ``OperationalError``, also
    inside SQLAlchemy's), a SQLite database locked past the busy timeout or not openable. A
    wrong statement (a missing table, a syntax error) is not: it stays a server error."""
    import psycopg

    orig = getattr(exc, "orig", None) if isinstance(exc, sa.exc.DBAPIError) else exc
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(orig, psycopg.OperationalError):
        return True
    if isinstance(orig, sqlite3.OperationalError):
        return str(orig).lower().startswith(_SQLITE_UNAVAILABLE)
    return False

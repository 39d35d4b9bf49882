"""A store over one engine, with the DuckDB-style API the web, projects and runs code uses.

``store.execute("SELECT ... WHERE name = ?", [name]).fetchone()``: ``?`` placeholders on both
SQLite and PostgreSQL (translated to the driver's style), results buffered (``fetchone``,
``fetchall``, ``description``, ``rowcount``). Outside a transaction each statement commits on
its own (reads on SQLite start a deferred transaction and take no write lock; a read on
PostgreSQL runs in autocommit mode, one round trip with no BEGIN/COMMIT around it).

``with store.transaction(lock="audit"):`` groups statements (this thread's ``execute`` calls
join it). ``lock`` names a read-modify-write section that must not interleave across
processes: on PostgreSQL an advisory transaction lock on the name; on SQLite every write
transaction is ``BEGIN IMMEDIATE``, which already serialises writers. ``BEGIN TRANSACTION``,
``COMMIT`` and ``ROLLBACK`` passed to ``execute`` do the same as the context manager (for
code written against DuckDB).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from critmin.ops.engine import get_engine, is_sqlite


class StaleVersion(RuntimeError):
    """An optimistic write whose expected version is no longer the current one (HTTP 409)."""

    def __init__(self, what: str, expected: int | None, current: int | None) -> None:
        super().__init__(f"{what}: version {expected} is stale, the current version is {current}")
        self.what, self.expected, self.current = what, expected, current


class Result:
    """A buffered result (rows fetched before the connection goes back to the pool)."""

    def __init__(self, rows: list[tuple[Any, ...]], description: Any, rowcount: int) -> None:
        self._rows = rows
        self._i = 0
        self.description = description
        self.rowcount = rowcount

    def fetchone(self) -> tuple[Any, ...] | None:
        if self._i >= len(self._rows):
            return None
        row = self._rows[self._i]
        self._i += 1
        return row

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._i:]
        self._i = len(self._rows)
        return rows


_QMARK = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")
_TX_WORDS = {"BEGIN", "BEGIN TRANSACTION", "COMMIT", "ROLLBACK", "END"}


def _to_format(sql: str) -> str:
    """``?`` -> ``%s`` (psycopg's style) and ``%`` -> ``%%``, leaving quoted text alone."""

    def sub(m: re.Match[str]) -> str:
        t = m.group(0)
        if t == "?":
            return "%s"
        if t == "%":
            return "%%"
        return t.replace("%", "%%")

    return _QMARK.sub(sub, sql)


class Store:
    """The operational store of one engine; safe to share between threads."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sqlite = is_sqlite(engine)
        self._local = threading.local()
        #: serialises multi-statement sequences between this process's threads (kept for code
        #: written for the DuckDB store; cross-process safety comes from ``transaction(lock=)``)
        self.lock = threading.RLock()
        self._sql_cache: dict[str, str] = {}

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def _sql(self, sql: str) -> str:
        if self.sqlite:
            return sql
        out = self._sql_cache.get(sql)
        if out is None:
            out = self._sql_cache[sql] = _to_format(sql)
        return out

    # -- statements ----------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Result:
        word = sql.strip().rstrip(";").upper()
        if word in _TX_WORDS:
            self._tx_word(word)
            return Result([], None, -1)
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return self._run(conn, sql, params)
        read = word.startswith(("SELECT", "WITH"))
        if read and not self.sqlite:
            # one statement alone: autocommit, no BEGIN/COMMIT round trips around it
            with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                return self._run(c, sql, params)
        with self.engine.connect().execution_options(critmin_begin="DEFERRED" if read else "IMMEDIATE") as c:
            res = self._run(c, sql, params)
            c.commit()
        return res

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.transaction():
            conn = self._local.conn
            conn.exec_driver_sql(self._sql(sql), [tuple(r) for r in rows])

    def _run(self, conn: sa.Connection, sql: str, params: Sequence[Any] | None) -> Result:
        cur = conn.exec_driver_sql(self._sql(sql), tuple(params or ()))
        if cur.returns_rows:
            # DB-API style description (name first), taken before the fetch closes the cursor
            names = cur.keys()  # a RowMapping's keys, not the rows
            desc = [(k, None, None, None, None, None, None) for k in names]
            rows = [tuple(r) for r in cur.fetchall()]
            return Result(rows, desc, len(rows))
        return Result([], None, cur.rowcount)

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[Store]:
        """Group this thread's statements; nested use joins the outer transaction."""
        if getattr(self._local, "conn", None) is not None:
            if lock and not self.sqlite:
                self._local.conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            yield self
            return
        conn = self.engine.connect().execution_options(critmin_begin="IMMEDIATE")
        self._local.conn = conn
        try:
            conn.begin()
            if lock and not self.sqlite:
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))", (lock,))
            yield self
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            self._local.conn = None
            conn.close()

    def _tx_word(self, word: str) -> None:
        if word.startswith("BEGIN"):
            if getattr(self._local, "conn", None) is not None:
                raise RuntimeError("a transaction is already open on this thread")
            new = self.engine.connect().execution_options(critmin_begin="IMMEDIATE")
            new.begin()
            self._local.conn = new
            return
        open_conn: sa.Connection | None = getattr(self._local, "conn", None)
        if open_conn is None:
            return
        try:
            if word == "ROLLBACK":
                open_conn.rollback()
            else:
                open_conn.commit()
        finally:
            self._local.conn = None
            open_conn.close()

    # -- compatibility with the DuckDB-era code --------------------------------------------
    def cursor(self) -> Store:
        """The store itself (it holds no per-cursor state outside transactions)."""
        return self

    @property
    def con(self) -> Store:
        return self

    def close(self) -> None:
        """No-op: pooled connections are returned after every statement or transaction."""


_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def open_store(url: str | None = None, *, warehouse: str | os.PathLike[str] | Path | None = None,
               migrate: bool = True) -> Store:
    """The process's store for ``url`` (see :func:`critmin.ops.engine.database_url`), migrated
    to the newest schema on first use."""
    engine = get_engine(url, warehouse=warehouse)
    key = f"{os.getpid()}:{engine.url}"
    with _stores_lock:
        store = _stores.get(key)
    if store is not None:
        return store
    if migrate:
        from critmin.ops.migrate import ensure_migrated

        ensure_migrated(engine)
    store = Store(engine)
    with _stores_lock:
        return _stores.setdefault(key, store)


def forget_stores() -> None:
    """Drop the cached stores (tests that switch databases; after dispose_engines)."""
    with _stores_lock:
        _stores.clear()

"""The web layer's own tables in the warehouse DuckDB file, and the shared connection.

DuckDB allows one read-write *process* per file. The server process holds one connection
(:class:`Database`) and gives every request and every background job its own cursor
(``con.cursor()``: a separate connection to the same database instance, safe to use from its
own thread). While the server runs, CLI writes to the same file (``critmin users add``, data
imports) fail with DuckDB's lock error; go through the HTTP API instead, or stop the server.

Tables (all ``CREATE TABLE IF NOT EXISTS``; the data importer never touches them):

* ``web_user``: users, roles and argon2 password hashes.
* ``web_token``: bearer API tokens (only a SHA-256 of the secret is stored), revocable.
* ``web_session``: browser sessions (only a SHA-256 of the cookie value), with the CSRF token.
* ``web_audit``: the append-only audit log, hash-chained (see :mod:`critmin.web.audit`).
* ``web_job``: background jobs (Monte Carlo runs, stockpile plans) with spec, seed, progress
  and result.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

DDL = (
    """CREATE TABLE IF NOT EXISTS web_user (
      name VARCHAR PRIMARY KEY,
      role VARCHAR NOT NULL,
      password_hash VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL,
      disabled BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    """CREATE TABLE IF NOT EXISTS web_token (
      token_id VARCHAR PRIMARY KEY,
      user_name VARCHAR NOT NULL,
      secret_sha256 VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL,
      revoked_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS web_session (
      session_sha256 VARCHAR PRIMARY KEY,
      user_name VARCHAR NOT NULL,
      csrf_token VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL,
      expires_at TIMESTAMP NOT NULL,
      revoked_at TIMESTAMP
    )""",
    """CREATE TABLE IF NOT EXISTS web_audit (
      seq BIGINT PRIMARY KEY,
      "at" TIMESTAMP NOT NULL,
      actor VARCHAR NOT NULL,
      role VARCHAR,
      action VARCHAR NOT NULL,
      target VARCHAR,
      outcome VARCHAR NOT NULL,
      detail VARCHAR,
      client VARCHAR,
      prev_hash VARCHAR NOT NULL,
      hash VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS web_job (
      job_id VARCHAR PRIMARY KEY,
      kind VARCHAR NOT NULL,
      owner VARCHAR NOT NULL,
      visibility VARCHAR NOT NULL,
      status VARCHAR NOT NULL,
      progress DOUBLE NOT NULL,
      message VARCHAR,
      spec VARCHAR NOT NULL,
      seed BIGINT,
      result VARCHAR,
      error VARCHAR,
      created_at TIMESTAMP NOT NULL,
      finished_at TIMESTAMP
    )""",
)


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the web tables if they do not exist (idempotent)."""
    for stmt in DDL:
        con.execute(stmt)


class Database:
    """One read-write DuckDB connection per process; one cursor per request or job.

    ``lock`` serialises the few multi-statement writes that must not interleave (the audit hash
    chain, user creation); plain reads need no lock.
    """

    def __init__(self, path: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> None:
        self.path = Path(path)
        self._con = con if con is not None else duckdb.connect(str(self.path))
        self.lock = threading.RLock()
        self._local = threading.local()
        ensure_tables(self._con)

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The root connection (for code that needs one for the life of the process)."""
        return self._con

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """This thread's cursor (created on first use and kept: creating one costs about a
        millisecond, which matters at hundreds of requests per second)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._con.cursor()
        yield cur

    def close(self) -> None:
        self._con.close()

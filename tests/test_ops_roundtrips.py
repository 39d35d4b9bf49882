"""PostgreSQL round trips on the request path (critmin.ops): a read outside a transaction is one
round trip (no ping, no BEGIN/COMMIT), a connection that sat idle is pinged and replaced when the
server has dropped it, and reads inside a transaction still see its own writes. Counted from
libpq's protocol trace, not timed."""

from __future__ import annotations

import tempfile

import pytest

from ops_support import ops_store, ops_url  # noqa: F401
from web_support import pg_test_url

pytestmark = pytest.mark.skipif(pg_test_url() is None, reason="needs CRITMIN_TEST_DATABASE_URL (PostgreSQL)")


def _pooled(store) -> list:
    """The psycopg connections in the pool (one of them serves the next statement)."""
    store.execute("SELECT 1").fetchone()
    return [r.driver_connection for r in store.engine.pool._pool.queue]


def _trace(conns, action) -> list[str]:
    """The protocol messages the client sent on any of ``conns`` during ``action()``."""
    import psycopg

    with tempfile.NamedTemporaryFile("w+") as f:
        for conn in conns:
            conn.pgconn.trace(f.fileno())
            conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS)
        try:
            action()
        finally:
            for conn in conns:
                conn.pgconn.untrace()
        f.seek(0)
        return [" ".join(line.split("\t")[2:]).strip() for line in f.read().splitlines() if line.startswith("F\t")]


def test_a_read_outside_a_transaction_is_one_round_trip(ops_store):  # noqa: F811
    sent = _trace(_pooled(ops_store), lambda: ops_store.execute("SELECT count(*) FROM web_user").fetchone())
    # a round trip ends with a simple Query or with the Sync after Parse/Bind/Execute
    trips = [m for m in sent if m.startswith(("Query", "Sync"))]
    assert len(trips) == 1, sent  # no ping (";"), no BEGIN, no COMMIT
    assert not any(w in m for m in sent for w in ("BEGIN", "COMMIT", '";"')), sent


def test_a_write_and_reads_inside_a_transaction_see_each_other(ops_store):  # noqa: F811
    with ops_store.transaction():
        ops_store.execute("INSERT INTO project_meta VALUES (?, ?)", ["h1-rt", "x"])
        assert ops_store.execute("SELECT value FROM project_meta WHERE key = ?", ["h1-rt"]).fetchone() == ("x",)
    assert ops_store.execute("SELECT value FROM project_meta WHERE key = ?", ["h1-rt"]).fetchone() == ("x",)


def test_an_idle_connection_the_server_dropped_is_replaced(ops_store, monkeypatch):  # noqa: F811
    import sqlalchemy as sa

    from critmin.ops import engine

    pids = {c.info.backend_pid for c in _pooled(ops_store)}
    with sa.create_engine(ops_store.engine.url, poolclass=sa.pool.NullPool).connect() as k:
        for pid in pids:  # the server drops every pooled connection
            k.exec_driver_sql("SELECT pg_terminate_backend(%s)", (pid,))
    monkeypatch.setattr(engine, "PING_IDLE_S", 0.0)  # as if they had sat idle
    assert ops_store.execute("SELECT 1").fetchone() == (1,)  # pinged, found gone, replaced
    assert not pids & {c.info.backend_pid for c in _pooled(ops_store)}

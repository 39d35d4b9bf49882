"""Reads awaited on the event loop (critmin.ops.aio) answer what the store's own reads answer,
on both stores; on PostgreSQL a connection the server dropped is replaced within the read, and the
connections of an event loop that has closed are closed at the next read."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from ops_support import ops_store, ops_url  # noqa: F401
from web_support import pg_test_url

needs_pg = pytest.mark.skipif(pg_test_url() is None, reason="needs CRITMIN_TEST_DATABASE_URL (PostgreSQL)")

ROWS = [("ann", "lang", "ja", dt.datetime(2026, 1, 2, 3, 4, 5)),
        ("bob", "lang", "en", dt.datetime(2025, 12, 31, 23, 59, 59)),
        ("bob", "100%", "x'y", dt.datetime(2026, 6, 1))]


def run(fn, *args):
    """``asyncio.run(fn(*args))`` in a thread of its own: a new event loop even while the main
    thread has one running (Playwright's sync API keeps one there during the browser tests)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(fn(*args))).result()


def _fill(store) -> None:
    store.executemany("INSERT INTO web_user_pref VALUES (?, ?, ?, ?)", ROWS)


def test_read_answers_what_execute_answers(ops_store):  # noqa: F811
    from critmin.ops import aio

    _fill(ops_store)
    queries = [
        ("SELECT user_name, key, value, updated_at FROM web_user_pref WHERE user_name = ? ORDER BY key", ["bob"]),
        # a literal % and a quoted ? stay as they are; the placeholder is the unquoted ?
        ("SELECT value FROM web_user_pref WHERE key LIKE '100%' AND value <> '?' AND user_name = ?", ["bob"]),
        ("SELECT count(*) FROM web_user_pref", None),
        ("WITH t AS (SELECT user_name FROM web_user_pref) SELECT count(DISTINCT user_name) FROM t", None),
    ]
    for sql, params in queries:
        want = ops_store.execute(sql, params)
        got = run(aio.read, ops_store, sql, params)
        assert got.fetchall() == want.fetchall(), sql
        assert [d[0] for d in got.description] == [d[0] for d in want.description], sql
    rows = run(aio.read, ops_store, queries[0][0], ["bob"]).fetchall()
    assert rows == [("bob", "100%", "x'y", ROWS[2][3]), ("bob", "lang", "en", ROWS[1][3])]
    assert isinstance(rows[0][3], dt.datetime)


def test_select_answers_what_the_engine_answers(ops_store):  # noqa: F811
    import sqlalchemy as sa

    from critmin.ops import aio

    _fill(ops_store)
    t = sa.table("web_user_pref", sa.column("user_name"), sa.column("key"), sa.column("value"))
    q = sa.select(t.c.user_name, t.c.value).where(t.c.key.in_(["lang", "100%"]), t.c.user_name.in_(["bob"])) \
        .order_by(t.c.value)
    with ops_store.engine.connect() as c:
        want = [dict(r._mapping) for r in c.execute(q)]
    assert run(aio.select, ops_store, q) == want == [{"user_name": "bob", "value": "en"},
                                                             {"user_name": "bob", "value": "x'y"}]


def test_only_a_select_is_read(ops_store):  # noqa: F811
    from critmin.ops import aio

    with pytest.raises(ValueError, match="one SELECT"):
        run(aio.read, ops_store, "DELETE FROM web_user_pref")


def _aio_backends(store) -> set[int]:
    from critmin.ops import aio

    rows = store.execute("SELECT pid FROM pg_stat_activity WHERE application_name = ? AND datname = current_database()",
                         [aio.APPLICATION_NAME]).fetchall()
    return {r[0] for r in rows}


@needs_pg
def test_a_connection_the_server_dropped_is_replaced_within_the_read(ops_store):  # noqa: F811
    from critmin.ops import aio

    async def scenario() -> tuple[set[int], tuple]:
        await aio.read(ops_store, "SELECT 1")  # leaves one idle connection on this loop
        before = _aio_backends(ops_store)
        for pid in before:  # the server drops it
            ops_store.execute("SELECT pg_terminate_backend(?)", [pid])
        got = (await aio.read(ops_store, "SELECT 41 + 1")).fetchone()
        await aio.close_pools()
        return before, got

    before, got = run(scenario)
    assert len(before) == 1 and got == (42,)


@needs_pg
def test_the_connections_of_a_closed_loop_are_closed_at_the_next_read(ops_store):  # noqa: F811
    import time

    from critmin.ops import aio

    async def read_and_leave() -> None:
        await aio.read(ops_store, "SELECT 1")  # no close_pools: a short-lived loop, as a test client's

    run(read_and_leave)
    left = _aio_backends(ops_store)
    assert len(left) == 1
    run(read_and_leave)  # a new loop: the old loop's connection is closed first
    deadline = time.monotonic() + 10
    while left & _aio_backends(ops_store) and time.monotonic() < deadline:
        time.sleep(0.05)  # the server ends the backend after the client's close
    assert not left & _aio_backends(ops_store)
    assert len(_aio_backends(ops_store)) == 1  # the new loop's, until it too is swept

"""One read of the operational store awaited on the event loop, for request handlers.

``await read(store, sql, params)`` answers what ``store.execute(sql, params)`` answers for a
``SELECT`` outside a transaction (the same ``?`` placeholders, a buffered :class:`Result`):

* on **PostgreSQL** through an asyncio psycopg connection (autocommit, like
  :meth:`Store.execute`'s reads) kept for the running event loop, so that the handler awaits the
  round trip on the loop instead of taking a worker-thread hop (a sync handler costs FastAPI one
  hop for the handler and one for its response; under load each hop waits behind the loop's
  other work and the GIL, which ``benchmarks/bench_web_load.py`` measured);
* on **SQLite** in a worker thread (the ``sqlite3`` module has no asyncio interface; a read
  there is a local file read, and the embedded store serves one process).

Connections belong to one event loop (asyncio connections cannot cross loops): each loop keeps
at most ``ops.pool_size`` idle ones per database. An idle connection older than
``ops.async_idle_s`` is closed rather than reused (a firewall or the server may have cut it),
and a read that fails on a broken connection is tried once more on a new one. The idle
connections of loops that have closed (short-lived test loops) are closed at the next read, and
:func:`close_pools` closes the current loop's at the app's shutdown. psycopg_pool's
``AsyncConnectionPool`` is not used here because its background tasks live on the loop that
opened it, so a pool of a loop that closed without closing it keeps its connections open.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import time
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from critmin import settings
from critmin.ops.store import Result, Store

settings.register(
    "ops.async_idle_s",
    30.0,
    "Seconds an idle asyncio connection of the request handlers to PostgreSQL may be reused "
    "(older: closed, and a new one opened).",
    "A reconnect costs ~5 ms on loopback; an older idle connection may have been cut by a "
    "firewall or the server",
)

@dataclass
class _Idle:
    """The idle connections of one event loop: database URI -> [(connection, last used)]."""

    loop: weakref.ref[asyncio.AbstractEventLoop]
    conns: dict[str, list[tuple[Any, float]]] = field(default_factory=dict)
    #: at most ``ops.pool_size`` connections per database in use at once on this loop
    slots: dict[str, asyncio.Semaphore] = field(default_factory=dict)


_idle: dict[int, _Idle] = {}

#: how these connections show in ``pg_stat_activity``
APPLICATION_NAME = "critmin-web-aio"


def conninfo(store: Store) -> str:
    """libpq connection URI of a PostgreSQL store's engine (psycopg's, without SQLAlchemy's
    ``+psycopg`` driver name); rendered once per engine URL, not per read."""
    return _conninfo(store.engine.url)


@functools.lru_cache(maxsize=64)
def _conninfo(url: sa.URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _sweep(*, every: bool = False) -> None:
    """Close the idle connections of loops that are gone or closed (``every``: of all loops,
    at interpreter exit)."""
    for key, idle in list(_idle.items()):
        loop = idle.loop()
        if every or loop is None or loop.is_closed():
            del _idle[key]
            for conns in idle.conns.values():
                for conn, _ in conns:
                    conn.pgconn.finish()


atexit.register(_sweep, every=True)


def _mine() -> _Idle:
    loop = asyncio.get_running_loop()
    idle = _idle.get(id(loop))
    if idle is None or idle.loop() is not loop:
        _sweep()
        idle = _idle[id(loop)] = _Idle(weakref.ref(loop))
    return idle


async def _get(uri: str) -> Any:
    import psycopg

    conns = _mine().conns.setdefault(uri, [])
    max_idle = float(settings.get("ops.async_idle_s"))
    while conns:
        conn, used = conns.pop()
        if time.monotonic() - used <= max_idle and not conn.closed:
            return conn
        await conn.close()
    return await psycopg.AsyncConnection.connect(uri, autocommit=True, application_name=APPLICATION_NAME)


async def _put(uri: str, conn: Any) -> None:
    conns = _mine().conns.setdefault(uri, [])
    if conn.closed or conn.broken or len(conns) >= max(1, int(settings.get("ops.pool_size"))):
        await conn.close()
    else:
        conns.append((conn, time.monotonic()))


async def read(store: Store, sql: str, params: Sequence[Any] | None = None) -> Result:
    """``store.execute(sql, params)`` for one ``SELECT``, awaited (see the module docstring)."""
    if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
        raise ValueError(f"aio.read runs one SELECT; got {sql.strip()[:40]!r}")
    if store.sqlite:
        from starlette.concurrency import run_in_threadpool

        return await run_in_threadpool(store.execute, sql, params)
    return await _pg(store, store._sql(sql), tuple(params or ()))


async def select(store: Store, query: sa.Select[Any]) -> list[dict[str, Any]]:
    """The rows of a SQLAlchemy Core ``query`` as dicts (column label -> value), awaited: on
    PostgreSQL the query compiled for the engine's dialect (``IN`` lists expanded) and run as
    :func:`read` runs SQL; on SQLite in a worker thread, in a ``BEGIN DEFERRED`` read
    transaction (critmin.ops.engine)."""
    if store.sqlite:
        from starlette.concurrency import run_in_threadpool

        def run() -> list[dict[str, Any]]:
            with store.engine.connect().execution_options(critmin_begin="DEFERRED") as c:
                return [dict(r._mapping) for r in c.execute(query)]

        return await run_in_threadpool(run)
    compiled = query.compile(dialect=store.engine.dialect, compile_kwargs={"render_postcompile": True})
    res = await _pg(store, compiled.string, compiled.params)
    names = [d[0] for d in res.description or ()]
    return [dict(zip(names, r, strict=True)) for r in res.fetchall()]


async def _pg(store: Store, text: str, args: Sequence[Any] | Mapping[str, Any]) -> Result:
    """Run ``text`` (psycopg's placeholders) on a connection of this loop (module docstring)."""
    import psycopg

    uri = conninfo(store)
    mine = _mine()
    slots = mine.slots.get(uri)
    if slots is None:
        slots = mine.slots[uri] = asyncio.Semaphore(max(1, int(settings.get("ops.pool_size"))))
    async with slots:
        for attempt in (1, 2):
            conn = await _get(uri)
            try:
                cur = await conn.execute(text, args)
                if cur.description is None:
                    return Result([], None, cur.rowcount)
                rows = [tuple(r) for r in await cur.fetchall()]
                desc = [(d.name, None, None, None, None, None, None) for d in cur.description]
                return Result(rows, desc, len(rows))
            except psycopg.OperationalError:
                if attempt == 2 or not conn.broken:
                    raise
            finally:
                await _put(uri, conn)
    raise AssertionError("unreachable")


async def close_pools() -> int:
    """Close the current event loop's idle connections; returns how many."""
    idle = _idle.pop(id(asyncio.get_running_loop()), None)
    n = 0
    for conns in (idle.conns.values() if idle else ()):
        for conn, _ in conns:
            await conn.close()
            n += 1
    return n

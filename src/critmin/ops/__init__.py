"""The operational store: users, sessions, tokens, audit, projects, jobs, runs, incidents, briefs.

Kept apart from the DuckDB warehouse (which holds only imported, read-mostly data), so that
a running server, its workers and every CLI command can use both at once.

* :data:`metadata` -- the one :class:`sqlalchemy.MetaData`; every package that stores state
  defines its :class:`sqlalchemy.Table` objects on it (``Table("incident", metadata, ...)``).
* :func:`get_engine` -- the SQLAlchemy engine: PostgreSQL (psycopg 3, pooled) when
  ``CRITMIN_DATABASE_URL=postgresql://...`` is set, else SQLite in WAL mode in a file beside
  the warehouse (``<warehouse stem>.ops.sqlite``).
* :class:`Store` -- a store for one engine: DuckDB-style ``execute(sql, params)`` with ``?``
  placeholders (one SQL text for both databases), transactions (``with store.transaction()``)
  and named locks for read-modify-write sequences (the audit chain).
* :func:`migrate` -- Alembic migrations in ``critmin/ops/migrations/versions`` (run at server
  start and by ``critmin ops migrate``).
"""

from critmin.ops.engine import database_url, dispose_engines, get_engine, is_unavailable, metadata
from critmin.ops.migrate import current_revisions, head_revisions, migrate
from critmin.ops.store import Result, StaleVersion, Store, open_store

__all__ = [
    "Result", "StaleVersion", "Store", "current_revisions", "database_url", "dispose_engines", "get_engine", "head_revisions",
    "is_unavailable", "metadata", "migrate", "open_store",
]

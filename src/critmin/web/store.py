"""The web layer's tables in the operational store (:mod:`critmin.ops`), and its handle.

Tables (created by the Alembic migrations in ``critmin/ops/migrations``; the data importer
never sees them -- they are not in the warehouse):

* ``web_user``: users, roles and argon2 password hashes.
* ``web_token``: bearer API tokens (only a SHA-256 of the secret is stored), revocable.
* ``web_session``: browser sessions (only a SHA-256 of the cookie value), with the CSRF token.
  Sessions live in the store, so every server worker process sees the same ones.
* ``web_audit``: the append-only audit log, hash-chained (see :mod:`critmin.web.audit`);
  appended inside ``db.transaction(lock="web_audit")`` so that two processes never chain onto
  the same head.
* ``web_job``: the job queue and the jobs' results (see :mod:`critmin.web.jobs`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from critmin.ops import Store, metadata

_ts, _txt = sa.DateTime(), sa.Text()

web_user = sa.Table(
    "web_user", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("password_hash", _txt, nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
)
web_token = sa.Table(
    "web_token", metadata,
    sa.Column("token_id", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(200), nullable=False, index=True),
    sa.Column("secret_sha256", sa.String(64), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("revoked_at", _ts),
)
web_session = sa.Table(
    "web_session", metadata,
    sa.Column("session_sha256", sa.String(64), primary_key=True),
    sa.Column("user_name", sa.String(200), nullable=False, index=True),
    sa.Column("csrf_token", sa.String(200), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("expires_at", _ts, nullable=False),
    sa.Column("revoked_at", _ts),
)
web_audit = sa.Table(
    "web_audit", metadata,
    sa.Column("seq", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("at", _ts, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40)),
    sa.Column("action", sa.String(200), nullable=False),
    sa.Column("target", _txt),
    sa.Column("outcome", sa.String(40), nullable=False),
    sa.Column("detail", _txt),
    sa.Column("client", sa.String(200)),
    sa.Column("prev_hash", sa.String(128), nullable=False),
    sa.Column("hash", sa.String(128), nullable=False),
)
web_job = sa.Table(
    "web_job", metadata,
    sa.Column("job_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("role", sa.String(40), nullable=False, server_default=""),
    sa.Column("visibility", sa.String(40), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress", sa.Float(), nullable=False, server_default="0"),
    sa.Column("message", _txt),
    sa.Column("spec", _txt, nullable=False),
    sa.Column("seed", sa.BigInteger()),
    sa.Column("result", _txt),
    sa.Column("error", _txt),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("finished_at", _ts),
    sa.Column("started_at", _ts),
    sa.Column("worker", sa.String(200)),
    sa.Column("lease_until", _ts),
    sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("cancel_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("size", sa.Integer(), nullable=False, server_default="1"),
    sa.Column("payload", _txt),
    sa.Index("web_job_queue", "status", "created_at"),
    sa.Index("web_job_owner", "owner", "status"),
)


class Database:
    """The web layer's handle on the operational store.

    ``cursor()`` yields the :class:`~critmin.ops.Store` (DuckDB-style ``execute`` with ``?``);
    ``transaction(lock=...)`` groups statements and serialises a named read-modify-write
    across processes; ``lock`` serialises this process's threads (kept for callers written
    against the single-process DuckDB store).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = store.lock

    @property
    def con(self) -> Store:
        return self.store

    @contextmanager
    def cursor(self) -> Iterator[Store]:
        yield self.store

    @contextmanager
    def transaction(self, lock: str | None = None) -> Iterator[Store]:
        with self.store.transaction(lock=lock) as s:
            yield s

    def close(self) -> None:
        """Nothing to close: the engine's pool belongs to the process."""

"""The operational tables of the security controls (issue 18 sections 3-5).

* ``web_throttle``: failed logins per key (``user:<name>`` or ``addr:<client address>``) in the
  current window, and the time a lockout ends (:mod:`critmin.web.throttle`).
* ``web_totp``: a user's TOTP secret (RFC 6238), when it was confirmed, and the last time step
  accepted (a code is accepted once).
* ``web_approval``: requests to change the visibility of a joint record, with one approval
  per government (:mod:`critmin.web.approvals`).
* ``web_notice``: dashboard notices for a government's users (a request awaiting them, a
  change made).

They are defined on :data:`critmin.ops.metadata` and created by the Alembic revision
``0002_security``. The SQL that uses them is plain SQL with ``?`` placeholders, which DuckDB,
SQLite and PostgreSQL all accept; :func:`ensure` creates them on a DuckDB connection (a
warehouse opened by code from before the operational store).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from critmin.ops import metadata

_ts, _txt = sa.DateTime(), sa.Text()

web_throttle = sa.Table(
    "web_throttle", metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("failures", sa.Integer(), nullable=False),
    sa.Column("window_start", _ts, nullable=False),
    sa.Column("locked_until", _ts),
    sa.Column("lockouts", sa.Integer(), nullable=False, server_default="0"),
)
web_totp = sa.Table(
    "web_totp", metadata,
    sa.Column("user_name", sa.String(200), primary_key=True),
    sa.Column("secret", sa.String(64), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("enabled_at", _ts),
    sa.Column("last_step", sa.BigInteger()),
)
web_approval = sa.Table(
    "web_approval", metadata,
    sa.Column("approval_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(40), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("from_visibility", sa.String(10), nullable=False),
    sa.Column("to_visibility", sa.String(10), nullable=False),
    sa.Column("record", _txt, nullable=False),
    sa.Column("requested_by", sa.String(200), nullable=False),
    sa.Column("requested_at", _ts, nullable=False),
    sa.Column("us_by", sa.String(200)),
    sa.Column("us_at", _ts),
    sa.Column("jp_by", sa.String(200)),
    sa.Column("jp_at", _ts),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("decided_at", _ts),
    sa.Index("web_approval_target", "kind", "target", "status"),
)
web_notice = sa.Table(
    "web_notice", metadata,
    sa.Column("notice_id", sa.String(64), primary_key=True),
    sa.Column("government", sa.String(10), nullable=False),
    sa.Column("created_at", _ts, nullable=False),
    sa.Column("text", _txt, nullable=False),
    sa.Column("link", sa.String(300)),
    sa.Index("web_notice_gov", "government", "created_at"),
)

TABLES = (web_throttle, web_totp, web_approval, web_notice)

_DDL = (
    """CREATE TABLE IF NOT EXISTS web_throttle (key VARCHAR PRIMARY KEY, failures INTEGER NOT NULL,
      window_start TIMESTAMP NOT NULL, locked_until TIMESTAMP, lockouts INTEGER NOT NULL DEFAULT 0)""",
    """CREATE TABLE IF NOT EXISTS web_totp (user_name VARCHAR PRIMARY KEY, secret VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL, enabled_at TIMESTAMP, last_step BIGINT)""",
    """CREATE TABLE IF NOT EXISTS web_approval (approval_id VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL,
      target VARCHAR NOT NULL, from_visibility VARCHAR NOT NULL, to_visibility VARCHAR NOT NULL,
      record VARCHAR NOT NULL, requested_by VARCHAR NOT NULL, requested_at TIMESTAMP NOT NULL,
      us_by VARCHAR, us_at TIMESTAMP, jp_by VARCHAR, jp_at TIMESTAMP, status VARCHAR NOT NULL,
      decided_at TIMESTAMP)""",
    """CREATE TABLE IF NOT EXISTS web_notice (notice_id VARCHAR PRIMARY KEY, government VARCHAR NOT NULL,
      created_at TIMESTAMP NOT NULL, text VARCHAR NOT NULL, link VARCHAR)""",
)


def ensure(con: Any) -> None:
    """Create the tables on a DuckDB connection (the operational store, a
    :class:`critmin.ops.Store`, has them from its migrations: nothing to do there)."""
    if hasattr(con, "engine"):
        return
    for stmt in _DDL:
        con.execute(stmt)

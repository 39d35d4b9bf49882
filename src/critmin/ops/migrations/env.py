"""Alembic environment: runs on the connection handed over by :func:`critmin.ops.migrate.migrate`
(or, from the ``alembic`` command line, on ``sqlalchemy.url``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from critmin.ops.tables import all_metadata

target_metadata = all_metadata()
config = context.config


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as c:
        context.configure(connection=c, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run()

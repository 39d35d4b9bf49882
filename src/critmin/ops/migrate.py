"""Alembic migrations of the operational store, run from code (no alembic.ini needed).

Revisions live in ``critmin/ops/migrations/versions``. A package that adds tables adds a
revision there (``down_revision`` = the revision it builds on; two packages branching from the
same revision is fine: :func:`migrate` upgrades to every head). :func:`migrate` runs at server
start, at first use of a store by any command (:func:`critmin.ops.store.open_store`) and via
``critmin ops migrate``. Concurrent starters (several workers) are serialised: an advisory lock
on PostgreSQL, a lock file beside the SQLite file.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from critmin.ops.engine import get_engine, is_sqlite

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x6372_6974  # "crit": the advisory lock id of migrations


def alembic_config(engine: Engine | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if engine is not None:
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> set[str]:
    with engine.connect() as c:
        return set(MigrationContext.configure(c).get_current_heads())


@contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if is_sqlite(engine):
        db = engine.url.database
        if not db or db == ":memory:":
            yield
            return
        lock = Path(db).with_name(Path(db).name + ".migrate.lock")
        with open(lock, "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)
        return
    with engine.connect() as c:
        c.exec_driver_sql(f"SELECT pg_advisory_lock({_LOCK_KEY})")
        c.commit()
        try:
            yield
        finally:
            c.exec_driver_sql(f"SELECT pg_advisory_unlock({_LOCK_KEY})")
            c.commit()


def migrate(engine: Engine | str | None = None, revision: str = "heads") -> set[str]:
    """Upgrade the store to ``revision`` (default: every head); returns the revisions it is at."""
    eng = engine if isinstance(engine, Engine) else get_engine(engine)
    with _migration_lock(eng), eng.begin() as conn:
        cfg = alembic_config(eng)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return current_revisions(eng)


def ensure_migrated(engine: Engine) -> None:
    """Migrate when the store is behind the code's heads (cheap when it is not)."""
    if current_revisions(engine) != head_revisions():
        migrate(engine)

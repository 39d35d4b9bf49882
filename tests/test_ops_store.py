"""The operational store (critmin.ops) on SQLite and, with CRITMIN_TEST_DATABASE_URL, PostgreSQL:
one SQL text for both, types that survive the round trip, transactions, named locks, and
migrations that create exactly the tables the code declares."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from critmin.ops import Store, current_revisions, head_revisions, open_store
from ops_support import ops_store, ops_url  # noqa: F401


def test_migrated_to_every_head(ops_store: Store):  # noqa: F811
    assert current_revisions(ops_store.engine) == head_revisions() != set()


def test_migrations_create_what_the_code_declares(ops_store: Store):  # noqa: F811
    """Alembic's comparison of the migrated database with critmin.ops.metadata (every table
    module imported) finds no missing or extra table or column."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from critmin.ops.tables import all_metadata

    md = all_metadata()
    with ops_store.engine.connect() as c:
        diffs = compare_metadata(MigrationContext.configure(c), md)
    structural = [d for d in diffs if isinstance(d, tuple) and d[0] in ("add_table", "remove_table",
                                                                        "add_column", "remove_column")]
    structural += [d for d in diffs if isinstance(d, list) and d and d[0][0] == "modify_nullable"]
    assert structural == [], structural


def test_types_round_trip_and_placeholders(ops_store: Store):  # noqa: F811
    at = dt.datetime(2026, 12, 2, 1, 2, 3, 456789)
    ops_store.execute("INSERT INTO web_user VALUES (?, ?, ?, ?, ?)", ["a?b", "viewer", "50% 'x?'", at, True])
    row = ops_store.execute(
        "SELECT name, password_hash, created_at, disabled FROM web_user WHERE name = ? AND password_hash LIKE '50%'",
        ["a?b"]).fetchone()
    assert row == ("a?b", "50% 'x?'", at, True)
    assert isinstance(row[2], dt.datetime) and row[3] is True
    cur = ops_store.execute("SELECT name AS n, role FROM web_user")
    assert [d[0] for d in cur.description] == ["n", "role"] and cur.fetchall() == [("a?b", "viewer")]
    assert ops_store.execute("SELECT count(*) FROM web_user WHERE disabled = FALSE").fetchone() == (0,)


def test_transaction_is_all_or_nothing(ops_store: Store):  # noqa: F811
    now = dt.datetime(2026, 1, 1)
    with pytest.raises(RuntimeError), ops_store.transaction():
        ops_store.execute("INSERT INTO project_meta VALUES (?, ?)", ["k1", "v"])
        raise RuntimeError("abort")
    assert ops_store.execute("SELECT count(*) FROM project_meta").fetchone() == (0,)
    ops_store.execute("BEGIN TRANSACTION")
    ops_store.execute("INSERT INTO project_meta VALUES (?, ?)", ["k2", "v"])
    ops_store.execute("ROLLBACK")
    ops_store.execute("INSERT INTO web_audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      [1, now, "x", None, "a", None, "ok", None, None, "0", "h"])
    assert ops_store.execute("SELECT count(*) FROM project_meta").fetchone() == (0,)
    assert ops_store.execute("SELECT seq FROM web_audit").fetchall() == [(1,)]


def test_named_lock_serialises_read_modify_write(ops_url):  # noqa: F811
    """4 threads x 25 read-increment-write cycles under transaction(lock=...): no lost update
    (without the lock two threads would read the same value)."""
    store = open_store(ops_url)
    store.execute("INSERT INTO project_meta VALUES ('n', '0')")
    errors: list[BaseException] = []

    def bump() -> None:
        try:
            for _ in range(25):
                with store.transaction(lock="counter"):
                    (v,) = store.execute("SELECT value FROM project_meta WHERE key = 'n'").fetchone()
                    store.execute("UPDATE project_meta SET value = ? WHERE key = 'n'", [str(int(v) + 1)])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.execute("SELECT value FROM project_meta WHERE key = 'n'").fetchone() == ("100",)


def test_sqlite_default_is_beside_the_warehouse_in_wal_mode(tmp_path, monkeypatch):
    from critmin.ops import database_url
    from critmin.ops.store import Store as S

    monkeypatch.delenv("CRITMIN_DATABASE_URL", raising=False)
    wh = tmp_path / "critmin.duckdb"
    assert database_url(warehouse=wh) == f"sqlite:///{tmp_path / 'critmin.ops.sqlite'}"
    store: S = open_store(warehouse=wh)
    with store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    monkeypatch.setenv("CRITMIN_DATABASE_URL", "postgresql://u:p@db.example/critmin")
    assert database_url(warehouse=wh) == "postgresql+psycopg://u:p@db.example/critmin"

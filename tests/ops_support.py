"""Operational-store fixtures for store-dependent tests (both stores).

``ops_url``: a fresh, empty operational store for the test -- SQLite in ``tmp_path``, or a new
PostgreSQL database when ``CRITMIN_TEST_DATABASE_URL`` is set (``scripts/test.sh`` starts a
throw-away cluster and runs the store-dependent tests a second time that way). The URL is also
put in ``CRITMIN_DATABASE_URL`` so that commands run by the test (CliRunner, subprocesses) use
the same store. ``ops_store``: the migrated :class:`~critmin.ops.Store` on it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from web_support import new_pg_database, pg_test_url


@pytest.fixture()
def ops_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = new_pg_database() if pg_test_url() else f"sqlite:///{tmp_path / 'ops.sqlite'}"
    monkeypatch.setenv("CRITMIN_DATABASE_URL", url)
    return url


@pytest.fixture()
def ops_store(ops_url: str):
    from critmin.ops import open_store

    return open_store(ops_url)

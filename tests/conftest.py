"""Shared fixtures.

* ``real_db_path``: the real data (``../shared/data/raw`` or ``CRITMIN_DATA``) imported once
  per test session into a temporary DuckDB file.
* ``warehouse``: a read-only :class:`~critmin.data.warehouse.Warehouse` on it.
* ``warehouse_rw_path``: a private writable copy of that file for tests that write.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from critmin.data import paths


def _data_dir() -> Path:
    try:
        return paths.resolve_data_dir()
    except paths.DataDirNotFound as e:
        pytest.skip(f"real data not available: {e}")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return _data_dir()


@pytest.fixture(scope="session")
def real_db_path(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    from critmin.data.warehouse import Warehouse

    path = tmp_path_factory.mktemp("warehouse") / "critmin.duckdb"
    wh = Warehouse(path)
    try:
        wh.import_data(data_dir)
        wh.con.execute("CHECKPOINT")
    finally:
        wh.close()
    return path


@pytest.fixture(scope="session")
def warehouse(real_db_path: Path):
    from critmin.data.warehouse import Warehouse

    wh = Warehouse(real_db_path, read_only=True)
    yield wh
    wh.close()


@pytest.fixture()
def warehouse_rw_path(real_db_path: Path, tmp_path: Path, warehouse) -> Path:
    """A private writable copy of the imported warehouse."""
    dst = tmp_path / "critmin_rw.duckdb"
    shutil.copyfile(real_db_path, dst)
    return dst

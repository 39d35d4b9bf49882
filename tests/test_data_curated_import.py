"""The curated processing-stage shares imported as production rows (source 'CURATED'): each row
is the CSV's line, share and source; a 'world' row of 1 per group; all or nothing (a broken
CSV changes nothing and names its line and column)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from critmin.data.curated import stage_shares
from critmin.data.errors import ImportFault
from critmin.data.ingest import curated as ingest_curated
from critmin.data.supply import NoStageSupply, select_stage
from critmin.data.warehouse import Warehouse

PKG_CSV = Path(ingest_curated.curated_dir()) / "stage_shares.csv"


def _snapshot(path: Path) -> dict[str, tuple[Any, ...]]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: con.execute(f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{name}" t').fetchone()
                for (name,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()}
    finally:
        con.close()


def test_every_csv_row_is_a_production_row_with_its_line(warehouse) -> None:
    rows = warehouse.query(
        """SELECT p.*, d.source_path, d.vintage FROM production p JOIN current_dataset d USING (dataset_id)
           WHERE p.source = 'CURATED' ORDER BY p.source_line, p.aggregate NULLS FIRST""")
    csv_rows = stage_shares()
    assert (rows["source_path"] == "<critmin>/data/curated/stage_shares.csv").all()
    assert set(rows["vintage"]) == {"curated-" + csv_rows["as_of"].max().strftime("%Y-%m-%d")}
    shares = rows[rows["aggregate"].ne("world") | rows["aggregate"].isna()]
    assert len(shares) == len(csv_rows)
    for r in shares.itertuples():
        c = csv_rows.loc[r.source_line]
        assert (r.commodity_id, r.stage, r.product, r.year) == (c["commodity_id"], c["stage"], c["product"], c["year"])
        assert r.quantity == c["share"] and r.unit == "fraction" and c["source"] in r.note
        assert r.country_iso3 == (None if c["country_iso3"] in ("ROW", "EUROPE") else c["country_iso3"])
    world = rows[rows["aggregate"] == "world"]
    assert (world["quantity"] == 1.0).all()
    assert len(world) == csv_rows.groupby(["commodity_id", "stage", "product", "year"]).ngroups


def test_the_csv_line_of_a_known_row(warehouse) -> None:
    """Hand-checked: CSV line 10 is HPMSM 2022, China 84 % (Stratas Advisors, 2023-02-24)."""
    with open(PKG_CSV, encoding="utf-8", newline="") as f:
        line10 = list(csv.DictReader(f))[8]  # line 1 is the header
    assert (line10["commodity_id"], line10["country_iso3"], line10["share"]) == ("manganese", "CHN", "0.84")
    r = warehouse.query("SELECT * FROM production WHERE source = 'CURATED' AND source_line = 10 AND aggregate IS NULL")
    assert (r["commodity_id"].item(), r["country_iso3"].item(), r["quantity"].item(), r["value_raw"].item()) == (
        "manganese", "CHN", 0.84, "0.84")
    s = select_stage(warehouse.production_of("manganese"), "manganese", "processing", 2022)
    assert s.leading == ("CHN", 0.84) and s.shares is not None
    assert s.shares.shares["JPN"] == 0.11 and s.shares.residual_share == pytest.approx(0.05)
    with pytest.raises(NoStageSupply, match="not a mass unit"):
        s.quantities_t()


def test_a_region_is_an_aggregate_not_a_country(warehouse) -> None:
    s = select_stage(warehouse.production_of("rare_earths"), "rare_earths", "component", 2010)
    assert s.shares is not None and set(s.shares.shares) == {"CHN", "JPN"}
    assert s.shares.residual_share == pytest.approx(0.013)  # Europe, as the source groups it


def _write(dirpath: Path, rows: list[dict[str, str]]) -> None:
    with open(PKG_CSV, encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    dirpath.mkdir(parents=True, exist_ok=True)
    with open(dirpath / "stage_shares.csv", "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def _pkg_rows() -> list[dict[str, str]]:
    with open(PKG_CSV, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize(("change", "line", "column"), [
    ({"share": "1.5"}, 4, "share"),
    ({"country_iso3": "XXX"}, 4, "country_iso3"),
    ({"as_of": "someday"}, 4, "as_of"),
])
def test_a_broken_csv_names_line_and_column_and_changes_nothing(
        warehouse_rw_path: Path, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        change: dict[str, str], line: int, column: str) -> None:
    rows = _pkg_rows()
    rows[2] = {**rows[2], **change}  # CSV line 4
    _write(tmp_path / "broken", rows)
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path / "broken"))
    before = _snapshot(warehouse_rw_path)
    with Warehouse(warehouse_rw_path) as wh, pytest.raises(ImportFault) as e:
        wh.import_data(data_dir)
    assert (e.value.path, e.value.line, e.value.column) == ("<critmin>/data/curated/stage_shares.csv", line, column)
    assert _snapshot(warehouse_rw_path) == before


def test_two_sources_for_one_group_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _pkg_rows()
    second = {**rows[0], "country_iso3": "JPN", "share": "0.01", "source": "Another report, https://example.org/x"}
    _write(tmp_path / "two", [rows[0], second])
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path / "two"))
    (spec,) = ingest_curated.specs(tmp_path)
    with pytest.raises(ImportFault, match="one source per") as e:
        spec.parser(spec)
    assert (e.value.line, e.value.column) == (3, "source")


def test_a_changed_csv_is_a_new_vintage_and_replaces_the_old(warehouse_rw_path: Path, data_dir: Path,
                                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _pkg_rows()
    rows[0] = {**rows[0], "share": "0.98"}  # gallium 2023 China 98.8 % -> 98 %
    _write(tmp_path / "changed", rows)
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path / "changed"))
    with Warehouse(warehouse_rw_path) as wh:
        report = wh.import_data(data_dir)
        assert [a["source_path"] for a in report.added] == ["<critmin>/data/curated/stage_shares.csv"]
        s = select_stage(wh.production_of("gallium"), "gallium", "refinery", 2023, sources=("CURATED",))
        assert s.leading == ("CHN", 0.98)


def test_no_curated_directory_means_no_curated_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path / "empty"))
    assert ingest_curated.specs(tmp_path) == []
    shutil.rmtree(tmp_path, ignore_errors=True)

"""The IEA Critical Minerals Data Explorer extract (``iea_cmde_2025/iea.json``, SOURCES.md
section 16) in the real warehouse, against figures published by the IEA and against the file
itself read here with plain ``json`` (not with the importer).

Published figures: the 2024 refining shares typed in from SOURCES.md section 16 (cobalt China
78.4 %, Finland 8.0 %, Japan 2.3 %; lithium chemicals China 70.2 %, Chile 20.4 %; nickel
Indonesia 42.9 %, China 31.3 %; battery-grade graphite China 95.7 %, Japan 2.4 %; magnet rare
earths China 91.3 %, Malaysia 4.5 %; refined copper China 44.0 %, Chile 7.3 %, Japan 5.9 %); the
IEA's critical-minerals topic page (https://www.iea.org/topics/critical-minerals): "the average
market share of the top three refining nations rose to 86% in 2024" for copper, lithium, nickel,
cobalt, graphite and rare earths; total demand 2024 lithium 205 kt and copper 26,717 kt (the
IEA Global Critical Minerals Outlook 2025 figures, as in the file).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from critmin.cli.main import app
from critmin.data.errors import ImportFault
from critmin.data.fetch_registry import load_registry
from critmin.data.iea import iea_demand, iea_supply
from critmin.data.supply import production_with_shares as calc_shares
from critmin.data.warehouse import Warehouse

REL = "iea_cmde_2025/iea.json"
FIXTURES = Path(__file__).parent / "fixtures" / "iea"
SIX = {"Copper": "copper", "Cobalt": "cobalt", "Lithium": "lithium", "Nickel": "nickel", "Graphite": "graphite",
       "Rare Earth Elements": "rare_earths"}

# (commodity, ISO3, published 2024 share of refining in %)
REFINING_2024 = [
    ("cobalt", "CHN", 78.4), ("cobalt", "FIN", 8.0), ("cobalt", "JPN", 2.3),
    ("lithium", "CHN", 70.2), ("lithium", "CHL", 20.4),
    ("graphite", "CHN", 95.7), ("graphite", "JPN", 2.4),
    ("rare_earths", "CHN", 91.3), ("rare_earths", "MYS", 4.5),
    ("nickel", "IDN", 42.9), ("nickel", "CHN", 31.3),
    ("copper", "CHN", 44.0), ("copper", "CHL", 7.3), ("copper", "JPN", 5.9),
]


@pytest.fixture(scope="module")
def iea_file(data_dir: Path) -> Path:
    p = data_dir / REL
    if not p.exists():
        pytest.skip(f"{REL} not in the data directory")
    return p


@pytest.fixture(scope="module")
def raw(iea_file: Path) -> dict[str, Any]:
    return json.loads(iea_file.read_text(encoding="utf-8"))


def _at(doc: Any, ref: str) -> Any:
    for k in ref.split("."):
        doc = doc[k]
    return doc


def _snapshot(path: Path) -> dict[str, tuple[Any, ...]]:
    """Every table and view: columns, row count and an order-free hash of its rows."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out = {}
        for (name,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            cols = tuple(r[0] for r in con.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position", [name]
            ).fetchall())
            out[name] = (cols, *con.execute(f'SELECT count(*), sum(hash(t)::HUGEINT) FROM "{name}" t').fetchone())
        return out
    finally:
        con.close()


# --------------------------------------------------------------------------------------
# supply


@pytest.mark.parametrize(("commodity", "iso3", "pct"), REFINING_2024, ids=[f"{c}-{i}" for c, i, _ in REFINING_2024])
def test_published_refining_shares_2024(warehouse, commodity: str, iso3: str, pct: float) -> None:
    df = warehouse.production(commodity, stage="refinery", source="IEA", year=2024)
    row = df[df["country_iso3"] == iso3]
    world = df[df["aggregate"] == "world"]
    assert len(row) == 1 and len(world) == 1, df
    share = float(row["quantity"].iloc[0]) / float(world["quantity"].iloc[0])
    assert 100 * share == pytest.approx(pct, abs=0.1)
    # the shared share calculation uses the same world total
    shares = calc_shares(df)
    assert shares.loc[shares["country_iso3"] == iso3, "share"].iloc[0] == pytest.approx(share)
    assert set(shares["share_basis"]) == {"world_total"}
    assert set(df["stage_group"]) == {"processing"} and set(df["unit"]) == {"t"}


def test_average_top3_refining_share_is_86_percent(warehouse) -> None:
    tops = []
    for cid in SIX.values():
        df = warehouse.production(cid, stage="refinery", source="IEA", year=2024)
        countries = df[df["aggregate"].isna()]["quantity"].nlargest(3).sum()
        tops.append(countries / df[df["aggregate"] == "world"]["quantity"].iloc[0])
    assert round(100 * sum(tops) / len(tops)) == 86


def test_supply_rows_match_the_file_in_tonnes(warehouse, raw: dict[str, Any]) -> None:
    df = iea_supply(warehouse)
    assert len(df) > 300
    for r in df.itertuples():
        assert r.source_ref.startswith("supply.") and "[" not in r.source_ref
        kt = _at(raw, r.source_ref)
        assert float(r.value_raw) == kt and r.unit_raw == "kt"
        assert r.quantity == pytest.approx(kt * 1000, rel=1e-12)
    stages = df.groupby("stage")["stage_group"].unique().map(list).to_dict()
    assert stages == {"mine": ["extraction"], "refinery": ["processing"]}
    assert set(df[df["year"] == 2024]["measure"]) == {"production"}
    assert set(df[df["year"] > 2024]["measure"]) == {"outlook_base_case"}
    assert set(df["year"]) == {2024, 2030, 2035, 2040}
    assert set(df["commodity_id"]) == set(SIX.values())


def test_projections_never_answer_a_production_query(warehouse) -> None:
    assert warehouse.production("cobalt", stage="refinery", source="IEA", year=2030).empty
    out = warehouse.production("cobalt", stage="refinery", source="IEA", year=2030, measure="outlook_base_case")
    assert len(out) == 7
    # the USGS default and the unfiltered production measure hold no IEA row
    assert "IEA" not in set(warehouse.production(None, year=2024)["source"])
    n = warehouse.query("SELECT count(*) AS n FROM production WHERE measure = 'production' AND source = 'IEA' AND year > 2024")
    assert n["n"].iloc[0] == 0


def test_countries_and_aggregates(warehouse) -> None:
    df = iea_supply(warehouse, "cobalt", stage="mine", year=2024)
    assert df[df["country_raw"] == "Democratic Republic of Congo"]["country_iso3"].tolist() == ["COD"]
    rest = df[df["country_raw"] == "Rest of world"]
    assert rest["aggregate"].tolist() == ["other"] and rest["country_iso3"].isna().all()
    assert df[df["aggregate"] == "world"]["country_raw"].tolist() == ["total"]


def test_cobalt_refining_total_is_the_workbook_total_clean_technologies_row(warehouse) -> None:
    df = iea_supply(warehouse, "cobalt", stage="refinery", year=2024)
    world = df[df["aggregate"] == "world"].iloc[0]
    assert world["quantity"] == pytest.approx(250_150, abs=1)  # SOURCES.md: 250.15 kt for 2024
    assert "Total clean technologies" in world["note"]
    assert df[df["aggregate"] != "world"]["quantity"].sum() == pytest.approx(world["quantity"], rel=1e-9)


def test_a_country_also_inside_rest_of_world_is_noted(warehouse, raw: dict[str, Any]) -> None:
    block = raw["supply"]["Nickel"]["mining"]
    excess = sum(v["2024"] for v in block["countries"].values()) - block["total"]["2024"]
    assert excess == pytest.approx(block["countries"]["Australia"]["2024"])
    df = iea_supply(warehouse, "nickel", stage="mine", year=2024)
    assert "also counted in 'Rest of world'" in df[df["country_iso3"] == "AUS"]["note"].iloc[0]
    assert "includes Australia" in df[df["aggregate"] == "other"]["note"].iloc[0]


def test_notes_keys_produce_no_rows(warehouse, raw: dict[str, Any]) -> None:
    notes = [k for k in raw["supply"]["Rare Earth Elements"]["mining"]["countries"] if len(k) > 60]
    assert len(notes) == 2
    got = warehouse.query(
        "SELECT count(*) AS n FROM production WHERE source = 'IEA' AND (length(country_raw) > 60 OR source_ref LIKE '%Notes:%'"
        " OR source_ref LIKE '%Base case%')"
    )
    assert got["n"].iloc[0] == 0
    ree = iea_supply(warehouse, "rare_earths", stage="mine", year=2024)
    assert len(ree) == 6  # China, Myanmar, Australia, United States, Rest of world, total


# --------------------------------------------------------------------------------------
# demand


def test_published_total_demand_2024(warehouse) -> None:
    td = iea_demand(warehouse, section="totalDemand", measure="total_demand", scenario="observed", year=2024)
    by = dict(zip(td["commodity_id"], td["quantity"], strict=True))
    assert by["lithium"] == 205_000
    assert round(by["copper"] / 1000) == 26_717
    assert set(td["unit"]) == {"t"}


def test_steps_2030_totals_equal_the_file(warehouse, raw: dict[str, Any]) -> None:
    td = iea_demand(warehouse, section="totalDemand", measure="total_demand", scenario="STEPS", year=2030)
    assert len(td) == 6
    for mineral, cid in SIX.items():
        expected_kt = raw["totalDemand"][mineral]["totalDemand"]["STEPS"]["2030"]
        row = td[td["commodity_id"] == cid].iloc[0]
        assert row["mineral_raw"] == mineral
        assert float(row["value_raw"]) == expected_kt
        assert row["quantity"] == pytest.approx(expected_kt * 1000, rel=1e-12)
        assert row["source_ref"] == f"totalDemand.{mineral}.totalDemand.STEPS.2030"


def test_every_demand_value_of_the_file_is_a_row(warehouse, raw: dict[str, Any]) -> None:
    def leaves(node: Any, ref: str) -> list[str]:
        if isinstance(node, dict):
            return [x for k, v in node.items() for x in leaves(v, f"{ref}.{k}")]
        return [ref]

    expected = {x for sec in ("totalDemand", "cleantechByMineral", "cleantechByTech", "byTechnology") for x in leaves(raw[sec], sec)}
    df = iea_demand(warehouse)
    assert set(df["source_ref"]) == expected
    assert len(df) == len(expected)
    for r in df.itertuples():
        v = _at(raw, r.source_ref)
        assert float(r.value_raw) == v
        assert r.quantity == pytest.approx(v if r.unit == "fraction" else v * 1000, rel=1e-12)


def test_cleantech_minerals_are_all_kept_and_mapped(warehouse, raw: dict[str, Any]) -> None:
    df = iea_demand(warehouse, section="cleantechByMineral")
    minerals = df.drop_duplicates("mineral_raw").set_index("mineral_raw")
    assert len(minerals) == len(raw["cleantechByMineral"]) == 38
    assert minerals.loc["Neodymium", "commodity_id"] == "rare_earths" and minerals.loc["Neodymium", "element"] == "Nd"
    assert minerals.loc["Dysprosium", "element"] == "Dy" and minerals.loc["Terbium", "element"] == "Tb"
    assert minerals.loc["PGMs", "commodity_id"] == "pgm"
    assert minerals.loc["Battery-grade graphite", "commodity_id"] == "graphite"
    assert minerals.loc["Yttrium", "commodity_id"] == "yttrium"
    ir = minerals.loc["Iridium"]
    assert ir["commodity_id"] is None and ir["mineral_flag"] == "no_catalogue_id"
    mapped = minerals[minerals["commodity_id"].notna()]
    assert mapped["mineral_flag"].isna().all()
    assert len(mapped) == 37
    totals = iea_demand(warehouse, section="byTechnology", measure="technology_total")
    assert set(totals["mineral_raw"]) == {"Total solar PV", "Total wind", "Total EV", "Total battery storage",
                                          "Total hydrogen technologies"}
    assert set(totals["mineral_flag"]) == {"not_a_mineral"} and totals["commodity_id"].isna().all()


def test_scenarios_and_shares(warehouse) -> None:
    df = iea_demand(warehouse, "lithium", section="totalDemand")
    assert set(df["scenario"]) == {"observed", "STEPS", "APS", "NZE"}
    assert set(df[df["scenario"] == "observed"]["year"]) == {2024}
    share = df[(df["measure"] == "clean_share") & (df["scenario"] == "observed")].iloc[0]
    assert share["unit"] == "fraction" and share["quantity"] == pytest.approx(128.001 / 205.0)


# --------------------------------------------------------------------------------------
# provenance


def test_every_iea_row_has_a_json_path_and_its_line(warehouse, iea_file: Path) -> None:
    lines = iea_file.read_text(encoding="utf-8").splitlines()
    for table in ("production", "demand_outlook"):
        df = warehouse.query(f"SELECT source_ref, source_line, value_raw FROM {table} WHERE source = 'IEA'")
        assert len(df) > 300
        assert df["source_ref"].notna().all() and (df["source_ref"].str.len() > 0).all()
        assert not df["source_ref"].duplicated().any()
        for r in df.itertuples():
            line = lines[r.source_line - 1]
            key = r.source_ref.rsplit(".", 1)[1]
            assert f'"{key}": {r.value_raw}' in line, (r.source_ref, line)
    # line-based sources keep source_ref NULL
    assert warehouse.query("SELECT count(source_ref) AS n FROM production WHERE source <> 'IEA'")["n"].iloc[0] == 0


def test_dataset_row(warehouse, iea_file: Path) -> None:
    ds = warehouse.query("SELECT * FROM dataset WHERE key = 'iea_cmde_2025'")
    assert len(ds) == 1
    d = ds.iloc[0]
    assert d["source_path"] == REL
    assert d["publisher"] == "International Energy Agency"
    assert d["licence"] == "CC BY 4.0"
    assert d["vintage"] == "2025-05"
    assert d["sha256"] == hashlib.sha256(iea_file.read_bytes()).hexdigest()
    assert d["sha256"] == "110a2fff8406a2a3a6dcacf0153ed3f025d2ef17e4db0ac24a1e49c614fc8100"  # SOURCES.md
    assert "IEA (2025), Critical Minerals Data Explorer, CC BY 4.0" in d["title"]
    n = warehouse.query(
        "SELECT (SELECT count(*) FROM production WHERE dataset_id = ?) + (SELECT count(*) FROM demand_outlook WHERE dataset_id = ?) AS n",
        [int(d["dataset_id"]), int(d["dataset_id"])],
    )["n"].iloc[0]
    assert d["row_count"] == n


def test_release_registry_lists_the_file() -> None:
    reg = load_registry()
    (rel,) = [r for r in reg.releases if r.target and REL.startswith(r.target)]
    assert rel.key == "iea_cmde_2025" and rel.kind == "manual"
    assert reg.checksums[REL] == "110a2fff8406a2a3a6dcacf0153ed3f025d2ef17e4db0ac24a1e49c614fc8100"


# --------------------------------------------------------------------------------------
# the fixtures: skipped values are reported; a broken file changes nothing


@pytest.fixture()
def no_geopolrisk(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRITMIN_GEOPOLRISK_DIR", str(tmp_path_factory.mktemp("no_geopolrisk")))
    monkeypatch.setenv("CRITMIN_CURATED_DIR", str(tmp_path_factory.mktemp("no_curated")))


def test_fixture_import_reports_what_it_skipped(tmp_path: Path, no_geopolrisk: None) -> None:
    with Warehouse(tmp_path / "w.duckdb") as wh:
        report = wh.import_data(FIXTURES / "good")
        again = wh.import_data(FIXTURES / "good")
        n = wh.query("SELECT count(*) AS n FROM production WHERE source = 'IEA'")["n"].iloc[0]
    assert [a["source_path"] for a in report.added] == [REL]
    assert again.added == [] and again.skipped == 1
    refs = {x["ref"]: x for x in report.not_imported}
    notes = [x for r, x in refs.items() if "Notes:" in r or "Base case" in r]
    assert len(notes) == 2
    assert all("note text standing as a country key" in x["reason"] and x["line"] > 1 for x in notes)
    assert "supply.Cobalt.refining.top3Share" in refs and "source" in refs
    # Cobalt mining 5+1 and refining 6+1 members, rare-earth mining 5+1 (the notes skipped), 4 years each
    assert n == (6 + 7 + 6) * 4


def test_an_older_warehouse_gets_the_new_column(tmp_path: Path, no_geopolrisk: None) -> None:
    path = tmp_path / "old.duckdb"
    with Warehouse(path) as wh:
        wh.con.execute("ALTER TABLE production DROP COLUMN source_ref")
    with Warehouse(path) as wh:
        wh.import_data(FIXTURES / "good")
        df = iea_supply(wh, "cobalt", stage="refinery", year=2024)
    assert df["source_ref"].str.startswith("supply.Cobalt.refining.").all()


def test_broken_fixture_names_the_json_path_and_leaves_the_db_unchanged(warehouse_rw_path: Path, no_geopolrisk: None) -> None:
    broken = FIXTURES / "broken_non_numeric"
    line = next(i for i, t in enumerate((broken / REL).read_text().splitlines(), start=1) if '"abc"' in t)
    before = _snapshot(warehouse_rw_path)
    with Warehouse(warehouse_rw_path) as wh, pytest.raises(ImportFault) as ei:
        wh.import_data(broken)
    e = ei.value
    assert (e.path, e.line, e.column) == (REL, line, "supply.Cobalt.refining.countries.China.2024")
    assert e.found == '"abc"'
    assert "a non-negative number" in e.expected
    msg = str(e)
    assert msg.startswith(f"{REL}, line {line}, JSON path 'supply.Cobalt.refining.countries.China.2024'")
    assert "found '\"abc\"', expected a non-negative number" in msg
    assert _snapshot(warehouse_rw_path) == before


def test_broken_fixture_cli(tmp_path: Path, no_geopolrisk: None) -> None:
    db = tmp_path / "w.duckdb"
    shutil.copytree(FIXTURES / "good", tmp_path / "data")
    ok = CliRunner().invoke(app, ["--db", str(db), "--data", str(tmp_path / "data"), "data", "import"])
    assert ok.exit_code == 0, ok.output
    before = _snapshot(db)
    result = CliRunner().invoke(app, ["--db", str(db), "--data", str(FIXTURES / "broken_non_numeric"), "data", "import"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)
    assert "nothing was written" in result.stderr
    assert "JSON path 'supply.Cobalt.refining.countries.China.2024'" in result.stderr
    assert _snapshot(db) == before


# --------------------------------------------------------------------------------------
# each kind of fault, on a mutated copy of the good fixture (parser only)


def _mutated(tmp_path: Path, change: Any) -> ImportFault:
    from critmin.data.ingest import iea

    text = (FIXTURES / "good" / REL).read_text(encoding="utf-8")
    text = change(text)
    target = tmp_path / REL
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    (spec,) = iea.specs(tmp_path)
    with pytest.raises(ImportFault) as ei:
        iea.parse(spec)
    return ei.value


def _edit(path: str, value: Any) -> Any:
    def change(text: str) -> str:
        doc = json.loads(text)
        *parents, last = path.split(".")
        node = doc
        for k in parents:
            node = node[k]
        if value is KeyError:
            del node[last]
        else:
            node[last] = value
        return json.dumps(doc, indent=2) + "\n"

    return change


FAULTS = {
    "null_value": (_edit("supply.Cobalt.refining.countries.China.2024", None), "supply.Cobalt.refining.countries.China.2024",
                   "null", "a non-negative number"),
    "negative": (_edit("totalDemand.Lithium.otherUses.STEPS.2030", -1.5), "totalDemand.Lithium.otherUses.STEPS.2030",
                 "-1.5", "a non-negative number"),
    "unknown_country": (lambda t: t.replace('"Finland"', '"Atlantis"'), "supply.Cobalt.refining.countries.Atlantis",
                        "Atlantis", "a country name known to critmin"),
    "totals_disagree": (_edit("supply.Cobalt.mining.total.2030", 1.0), "supply.Cobalt.mining.total.2030",
                        None, "countries + Rest of world = total"),
    "unknown_section": (_edit("extra", {}), "extra", "extra", "a key among"),
    "missing_section": (_edit("byTechnology", KeyError), "(top level)", "no key 'byTechnology'", "keys"),
    "unknown_scenario": (lambda t: t.replace('"APS"', '"XYZ"', 1), "totalDemand.Lithium.sectors.Electric vehicles.XYZ",
                         "XYZ", "a year or a scenario"),
    "share_above_one": (_edit("totalDemand.Lithium.cleanShare.2024", 1.5), "totalDemand.Lithium.cleanShare.2024",
                        "1.5", "a share between 0 and 1"),
    "duplicate_key": (lambda t: t.replace('"Finland"', '"China"'), "supply.Cobalt.refining.countries.China",
                      "China", "each key once"),
    "note_key_with_a_value": (lambda t: t.replace('"2024": null', '"2024": 1.0', 1),
                              None, None, "null values under a note text"),
}


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_each_fault_names_the_json_path_and_line(tmp_path: Path, case: str) -> None:
    change, ref, found, expected = FAULTS[case]
    e = _mutated(tmp_path, change)
    assert e.path == REL
    assert expected in e.expected
    if ref is not None:
        assert e.column == ref
    if found is not None:
        assert e.found == found
    assert e.line is not None and e.line >= 1
    assert f"JSON path {e.column!r}" in str(e)
    if ref not in (None, "(top level)"):
        line = (tmp_path / REL).read_text(encoding="utf-8").splitlines()[e.line - 1]
        assert f'"{ref.rsplit(".", 1)[-1]}"' in line


def test_malformed_json_names_line_and_character(tmp_path: Path) -> None:
    e = _mutated(tmp_path, lambda t: t.replace('"Lithium": {', '"Lithium": {,', 1))
    line = next(i for i, t in enumerate((tmp_path / REL).read_text().splitlines(), start=1) if '"Lithium": {,' in t)
    assert e.path == REL and e.expected == "well-formed JSON"
    assert e.line == line and e.column == "character 17"


def test_cli_import_reports_what_it_skipped_on_purpose(tmp_path: Path, no_geopolrisk: None) -> None:
    """`critmin data import --json` lists the values skipped on purpose (the note texts standing as
    country keys), with file, JSON path, line and reason; the plain output says how many."""
    import json

    db = tmp_path / "w.duckdb"
    shutil.copytree(FIXTURES / "good", tmp_path / "data")
    r = CliRunner().invoke(app, ["--db", str(db), "--data", str(tmp_path / "data"), "data", "import", "--json"])
    assert r.exit_code == 0, r.output
    skipped = json.loads(r.stdout)["not_imported"]
    assert skipped and all(set(s) >= {"source_path", "ref", "line", "reason"} for s in skipped)
    assert any(s["ref"].startswith("supply.") and "Notes" in s["ref"] for s in skipped), skipped
    plain = CliRunner().invoke(app, ["--db", str(tmp_path / "w2.duckdb"), "--data", str(tmp_path / "data"),
                                     "data", "import"])
    assert plain.exit_code == 0 and "skipped on purpose" in plain.stdout

"""Validation of the curated damage-model inputs (issue 13; see docs/curated_data.md).

``end_uses.csv``, ``value_added.csv`` and ``substitutability.csv`` are checked directly with the
csv module (columns, catalogue ids, partners, share sums, NAICS format, URLs, dates, currency),
against numbers read by hand from the USGS MCS 2025 chapters, against the warehouse (every
US2025 commodity with production data has a US end-use row), and through the typed loader in
``critmin.data.curated.economics`` (types, and that its validators name file, line and column).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

from critmin.data.curated import CuratedTableError, economics, list_members
from curated_support import catalogue_ids, csv_rows

REPO = Path(__file__).resolve().parents[1]
CURATED = REPO / "src" / "critmin" / "data" / "curated"
END_USES = CURATED / "end_uses.csv"
VALUE_ADDED = CURATED / "value_added.csv"
SUBST = CURATED / "substitutability.csv"
URL = re.compile(r"https?://\S+")
NAICS = re.compile(r"\d{2,6}(;\d{2,6})*")
TODAY = dt.date.today()


_rows = csv_rows
CATALOGUE = catalogue_ids()


def _date_ok(value: str, where: str) -> None:
    d = dt.date.fromisoformat(value)  # raises on a malformed date
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), f"{where}: {value!r} not YYYY-MM-DD"
    assert dt.date(2009, 1, 1) <= d <= TODAY, f"{where}: as_of {d} outside 2009..today"


# --- end_uses.csv ---------------------------------------------------------------------------
def test_end_uses_columns_and_rows() -> None:
    cols, rows = _rows(END_USES)
    assert cols == economics.END_USE_COLUMNS
    assert rows
    seen = set()
    for i, r in enumerate(rows, start=2):
        where = f"end_uses.csv line {i}"
        assert r["commodity_id"] in CATALOGUE, f"{where}: unknown commodity {r['commodity_id']!r}"
        assert r["partner"] in ("USA", "JPN", "WORLD"), f"{where}: partner {r['partner']!r}"
        assert r["sector"] in economics.SECTORS, f"{where}: sector {r['sector']!r}"
        key = (r["commodity_id"], r["partner"], r["sector"])
        assert key not in seen, f"{where}: duplicate {key}"
        seen.add(key)
        if r["share"]:
            assert 0.0 <= float(r["share"]) <= 1.0, f"{where}: share {r['share']}"
        else:
            assert r["note"].strip(), f"{where}: blank share without a reason"
        if r["sector"] in ("other", "unspecified"):
            assert r["naics"] == "", f"{where}: {r['sector']} names no industry"
        else:
            assert NAICS.fullmatch(r["naics"]), f"{where}: NAICS {r['naics']!r} not 2-6 digit codes joined by ';'"
            assert r["jsic_or_sna"].startswith("JSNA: "), f"{where}: jsic_or_sna {r['jsic_or_sna']!r}"
        if r["sector"] == "unspecified":
            assert r["share"] == "" and "NO PUBLIC SPLIT" in r["note"], where
        assert URL.search(r["source"]), f"{where}: source has no URL"
        _date_ok(r["as_of"], where)


def test_end_use_shares_sum_to_at_most_one() -> None:
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for r in _rows(END_USES)[1]:
        if r["share"]:
            totals[(r["commodity_id"], r["partner"])] += float(r["share"])
    over = {k: round(v, 4) for k, v in totals.items() if v > 1.0 + economics.END_USE_SUM_TOLERANCE}
    assert not over, f"shares above 1 (+{economics.END_USE_SUM_TOLERANCE}): {over}"


def test_japan_rows_are_marked_proxy_or_no_split() -> None:
    for i, r in enumerate(_rows(END_USES)[1], start=2):
        if r["partner"] == "JPN":
            assert "PROXY" in r["note"] or "NO PUBLIC SPLIT" in r["note"] or re.search("METI|JOGMEC", r["source"]), \
                f"end_uses.csv line {i}: a JPN row from a non-Japanese source must say PROXY"


def test_world_proxies_copy_the_world_rows() -> None:
    rows = _rows(END_USES)[1]
    world = {(r["commodity_id"], r["sector"]): r["share"] for r in rows if r["partner"] == "WORLD"}
    assert world
    for r in rows:
        if r["partner"] != "WORLD" and (r["commodity_id"], r["sector"]) in world and r["note"].startswith("PROXY: WORLD"):
            assert r["share"] == world[(r["commodity_id"], r["sector"])]


def _share(commodity: str, partner: str, sector: str) -> float:
    for r in _rows(END_USES)[1]:
        if (r["commodity_id"], r["partner"], r["sector"]) == (commodity, partner, sector):
            return float(r["share"])
    raise AssertionError(f"no row {commodity}/{partner}/{sector}")


def test_us_shares_hand_checked_against_mcs2025() -> None:
    # Hand-checked against the text of the USGS MCS 2025 chapters (Domestic Production and Use):
    # gallium (p. 74): "ICs accounted for 79% of domestic gallium consumption, optoelectronic
    #   devices accounted for 20%, and research and development accounted for 1%."
    assert _share("gallium", "USA", "semiconductors_electronics") == pytest.approx(0.79 + 0.20)
    assert _share("gallium", "USA", "research") == pytest.approx(0.01)
    # cobalt: "An estimated 51% of cobalt consumed in the United States was used in superalloys,
    #   mainly aircraft gas turbine engines; 25% in a variety of chemical applications; 15% in
    #   various other metallic applications; and 9% in cemented carbides"
    assert _share("cobalt", "USA", "aerospace_defence") == pytest.approx(0.51)
    assert _share("cobalt", "USA", "cutting_tools") == pytest.approx(0.09)
    # copper: "building construction, 42%; electrical and electronic products, 23%;
    #   transportation equipment, 18%; consumer and general products, 10%; and industrial
    #   machinery and equipment, 7%."
    assert _share("copper", "USA", "construction") == pytest.approx(0.42)
    assert _share("copper", "USA", "transport_equipment") == pytest.approx(0.18)
    # aluminum: "Transportation applications accounted for 36% of domestic consumption"
    assert _share("aluminum", "USA", "transport_equipment") == pytest.approx(0.36)
    # antimony: "metal products, including antimonial lead and ammunition, 40%; flame
    #   retardants, 39%; and nonmetal products, including ceramics and glass and rubber
    #   products, 21%."
    assert _share("antimony", "USA", "chemicals") == pytest.approx(0.39)
    assert _share("antimony", "USA", "glass_ceramics") == pytest.approx(0.21)
    # niobium: "steels, about 77%, and superalloys, about 21%."
    assert _share("niobium", "USA", "steel_alloys") == pytest.approx(0.77)
    # lead: "The lead-acid battery industry accounted for an estimated 86% of reported U.S.
    #   lead consumption during 2024."
    assert _share("lead", "USA", "batteries") == pytest.approx(0.86)
    # tungsten: "An estimated 60% of the tungsten consumed in the United States was used in
    #   cemented carbide parts"
    assert _share("tungsten", "USA", "cutting_tools") == pytest.approx(0.60)
    # rhenium: superalloys and petroleum-reforming catalysts, "an estimated 80% and 15%"
    assert _share("rhenium", "USA", "aerospace_defence") == pytest.approx(0.80)
    # silver: "physical investment (bars), 30%; ... coins and medals, 12%; photovoltaics (PV),
    #   12%; jewelry and silverware, 6%"
    assert _share("silver", "USA", "solar_pv") == pytest.approx(0.12)
    assert _share("silver", "USA", "investment_jewelry") == pytest.approx(0.30 + 0.12 + 0.06)
    # lithium (global, so a PROXY for the US): "batteries, 87%"
    assert _share("lithium", "WORLD", "batteries") == pytest.approx(0.87)


def test_us_sources_are_the_mcs_chapter_of_the_commodity() -> None:
    for i, r in enumerate(_rows(END_USES)[1], start=2):
        if r["partner"] == "USA" and "mcs2025/mcs2025-" in r["source"]:
            assert r["as_of"] == "2025-01-31", f"end_uses.csv line {i}: MCS 2025 as_of"
            assert re.search(r"https://pubs\.usgs\.gov/periodicals/mcs2025/mcs2025-[a-z-]+\.pdf", r["source"]), i


def test_every_us2025_commodity_with_production_has_a_us_row(warehouse) -> None:
    produced = set(warehouse.query("SELECT DISTINCT commodity_id FROM production")["commodity_id"])
    us_rows = {r["commodity_id"] for r in _rows(END_USES)[1] if r["partner"] == "USA"}
    wanted = list_members("US2025") & produced
    assert len(wanted) >= 30
    missing = sorted(wanted - us_rows)
    assert not missing, f"US2025 commodities with production data but no US end-use row: {missing}"


def test_lists_coverage_for_japan() -> None:
    jp_rows = {r["commodity_id"] for r in _rows(END_USES)[1] if r["partner"] == "JPN"}
    priority = {"rare_earths", "gallium", "germanium", "antimony", "cobalt", "nickel", "lithium", "graphite",
                "tungsten", "platinum", "palladium", "manganese", "vanadium", "niobium", "tantalum", "titanium",
                "magnesium", "silicon", "indium", "tellurium", "bismuth", "copper", "aluminum", "zinc", "tin",
                "chromium", "fluorspar", "beryllium", "hafnium", "zirconium"}
    assert not priority - jp_rows, sorted(priority - jp_rows)


# --- value_added.csv ------------------------------------------------------------------------
def test_value_added_columns_and_rows() -> None:
    cols, rows = _rows(VALUE_ADDED)
    assert cols == economics.VALUE_ADDED_COLUMNS
    seen = set()
    for i, r in enumerate(rows, start=2):
        where = f"value_added.csv line {i}"
        assert r["partner"] in ("USA", "JPN"), where
        assert r["classification"] in economics.VALUE_ADDED_CLASSIFICATIONS, where
        key = (r["partner"], r["classification"], r["industry_code"], r["year"])
        assert key not in seen, f"{where}: duplicate {key}"
        seen.add(key)
        assert r["currency"] in ("USD", "JPY"), f"{where}: currency {r['currency']!r}"
        assert r["unit"] in economics.UNITS, where
        if r["value_added"]:
            assert float(r["value_added"]) > 0, where
        else:
            assert "NOT FOUND" in r["note"], f"{where}: blank value without NOT FOUND"
        if r["currency"] == "JPY" and r["value_added"]:
            assert float(r["fx_jpy_per_usd"]) > 0 and URL.search(r["fx_source"]), f"{where}: JPY without a sourced rate"
        if r["currency"] == "USD":
            assert r["fx_jpy_per_usd"] == "", f"{where}: exchange rate on a USD row"
        assert URL.search(r["source"]), f"{where}: source has no URL"
        _date_ok(r["as_of"], where)
        assert int(r["year"]) <= int(r["as_of"][:4]), where


def test_value_added_covers_every_mapped_industry() -> None:
    codes = {(r["partner"], r["industry_code"]) for r in _rows(VALUE_ADDED)[1]}
    for r in _rows(END_USES)[1]:
        if r["sector"] in economics.NO_INDUSTRY_SECTORS or r["partner"] == "WORLD":
            continue
        isic = economics.sector_isic(r["sector"])
        assert (r["partner"], isic) in codes, f"no value_added row for {r['partner']} {isic} ({r['sector']})"


def test_value_added_hand_checked() -> None:
    # NCSES Table SKTI-2, 2022, millions of current US$: United States, computer, electronic and
    # optical products (C26) 379,996; Japan, C26 61,325; US all industries 25,462,722.
    va = economics.value_added()
    get = lambda p, c: float(va[(va.partner == p) & (va.industry_code == c)]["value_added"].iloc[0])  # noqa: E731
    assert get("USA", "C26") == 379996
    assert get("JPN", "C26") == 61325
    assert get("USA", "A-U") == 25462722
    usd = va[(va.partner == "USA") & (va.industry_code == "C26")]["value_added_usd"].iloc[0]
    assert usd == pytest.approx(379996e6)


# --- substitutability.csv -------------------------------------------------------------------
def test_substitutability_columns_and_rows() -> None:
    cols, rows = _rows(SUBST)
    assert cols == economics.SUBSTITUTABILITY_COLUMNS
    seen = set()
    for i, r in enumerate(rows, start=2):
        where = f"substitutability.csv line {i}"
        assert r["commodity_id"] in CATALOGUE, where
        assert r["sector"] in economics.SECTORS and r["sector"] not in economics.NO_INDUSTRY_SECTORS, where
        key = (r["commodity_id"], r["sector"])
        assert key not in seen, f"{where}: duplicate {key}"
        seen.add(key)
        assert r["basis"] in economics.SUBSTITUTABILITY_BASES, where
        if r["short_run_substitutability"]:
            v = float(r["short_run_substitutability"])
            assert 0.0 <= v <= 1.0, where
        else:
            assert r["basis"] == "none" and "NOT FOUND" in r["note"], where
        if r["rating"]:
            vals = [economics.RATING_SCALE[x] for x in r["rating"].split("|")]
            assert min(vals) - 1e-9 <= float(r["short_run_substitutability"]) <= max(vals) + 1e-9, where
            assert "ASSUMPTION" in r["note"], where
        if r["basis"] == "commodity":
            assert "COMMODITY-LEVEL" in r["note"], where
        assert URL.search(r["source"]), where
        _date_ok(r["as_of"], where)


def test_every_end_use_industry_has_a_substitutability_row() -> None:
    subst = {(r["commodity_id"], r["sector"]) for r in _rows(SUBST)[1]}
    for r in _rows(END_USES)[1]:
        if r["sector"] not in economics.NO_INDUSTRY_SECTORS:
            assert (r["commodity_id"], r["sector"]) in subst, (r["commodity_id"], r["sector"])


def test_substitutability_hand_checked() -> None:
    s = economics.substitutability().set_index(["commodity_id", "sector"])
    # Graedel et al. SI: Re superalloys 78%, primary substitute "none" -> no substitute
    assert s.loc[("rhenium", "aerospace_defence"), "short_run_substitutability"] == 0.0
    # Ga integrated circuits and optoelectronics: substitutes silicon / indium phosphide, "good"
    assert s.loc[("gallium", "semiconductors_electronics"), "short_run_substitutability"] == 0.75
    # Pt autocatalysts: diesel 33% "none", gasoline 13% "good" -> (0.33*0 + 0.13*0.75) / 0.46
    assert s.loc[("platinum", "autos_catalysts"), "short_run_substitutability"] == pytest.approx(0.13 * 0.75 / 0.46, abs=1e-4)
    # graphite: no Graedel rating; SCARCE 0.7 (1 = not substitutable) -> 0.3
    assert s.loc[("graphite", "batteries"), "short_run_substitutability"] == pytest.approx(0.3)


def test_rating_scale_is_a_setting() -> None:
    flat = dict.fromkeys(economics.RATING_SCALE, 0.2)
    s = economics.substitutability(scale=flat)
    rated = s[s["rating"] != ""]
    assert (rated["short_run_substitutability"] == 0.2).all()
    assert economics.rating_value("good|poor") == pytest.approx(0.5)


# --- typed loader ---------------------------------------------------------------------------
def test_loaders_types() -> None:
    eu = economics.end_uses()
    assert eu.index.name == "csv_line"
    assert eu["share"].dtype == "float64"
    assert pd.api.types.is_datetime64_any_dtype(eu["as_of"])
    assert set(economics.end_uses(partner="JPN")["partner"]) == {"JPN"}
    with pytest.raises(KeyError):
        economics.end_uses(partner="CHN")
    va = economics.value_added()
    assert va["year"].dtype == "int64" and va["value_added_usd"].dtype == "float64"
    assert economics.substitutability()["short_run_substitutability"].dtype == "float64"


def _raw(path: Path) -> pd.DataFrame:
    from critmin.data.curated import _read

    return _read(path.read_text(encoding="utf-8"), path.name)


def test_validators_name_file_line_and_column() -> None:
    df = _raw(END_USES)
    df.loc[3, "partner"] = "CHN"
    df.loc[4, "naics"] = "33x"
    with pytest.raises(CuratedTableError) as e:
        economics.validate_end_uses(df)
    text = str(e.value)
    assert "end_uses.csv" in text and "partner" in text and "naics" in text and ":3" in text.replace(" line ", ":")

    df = _raw(END_USES)
    first = df.index[(df["commodity_id"] == "copper") & (df["partner"] == "USA")][0]
    df.loc[first, "share"] = "0.9"
    with pytest.raises(CuratedTableError, match="summing to at most 1"):
        economics.validate_end_uses(df)

    va = _raw(VALUE_ADDED)
    va.loc[2, "currency"] = "JPY"
    with pytest.raises(CuratedTableError, match="JPY/USD rate"):
        economics.validate_value_added(va)

    sb = _raw(SUBST)
    line = sb.index[(sb["rating"] == "good")][0]
    sb.loc[line, "short_run_substitutability"] = "0.9"
    with pytest.raises(CuratedTableError, match="RATING_SCALE"):
        economics.validate_substitutability(sb)

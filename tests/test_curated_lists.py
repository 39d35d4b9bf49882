"""Validation of the curated list-membership and stage-share tables (see docs/curated_data.md).

The CSVs are checked twice: directly with the csv module (independently of the loader:
columns, catalogue ids, ISO3 codes with pycountry, dates, source URLs, share sums, published list
sizes, agreement with the catalogue's ``critical_2022`` flag), and through the typed loader in
``critmin.data.curated`` (types, and that its validator rejects bad rows naming file, line and
column).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

from critmin.data import curated
from curated_support import as_of_ok, catalogue_rows, csv_rows, iso3_ok

REPO = Path(__file__).resolve().parents[1]
CURATED = REPO / "src" / "critmin" / "data" / "curated"
LISTS = CURATED / "list_memberships.csv"
SHARES = CURATED / "stage_shares.csv"
URL = re.compile(r"https?://\S+")
TODAY = dt.date.today()


CATALOGUE = catalogue_rows()
_rows, _iso3_ok, _as_of_ok = csv_rows, iso3_ok, as_of_ok


# --- list memberships ---------------------------------------------------------------------
def test_list_memberships_columns_and_rows() -> None:
    cols, rows = _rows(LISTS)
    assert cols == ["list_id", "commodity_id", "name_on_list", "source", "as_of", "note"]
    seen = set()
    for i, r in enumerate(rows, start=2):
        where = f"list_memberships.csv line {i}"
        assert r["list_id"] in curated.PUBLISHED_COUNTS, f"{where}: list_id {r['list_id']!r}"
        assert r["commodity_id"] in CATALOGUE, f"{where}: unknown commodity {r['commodity_id']!r}"
        assert r["name_on_list"].strip(), f"{where}: name_on_list blank"
        key = (r["list_id"], r["commodity_id"], r["name_on_list"])
        assert key not in seen, f"{where}: duplicate {key}"
        seen.add(key)
        assert URL.search(r["source"]), f"{where}: source has no URL"
        _as_of_ok(r["as_of"], where)


def _members(list_id: str) -> list[dict[str, str]]:
    return [r for r in _rows(LISTS)[1] if r["list_id"] == list_id]


@pytest.mark.parametrize("list_id", sorted(curated.PUBLISHED_COUNTS))
def test_list_sizes_equal_the_published_counts(list_id: str) -> None:
    names = {r["name_on_list"] for r in _members(list_id)}
    assert len(names) == curated.PUBLISHED_COUNTS[list_id], list_id
    assert len({r["source"] for r in _members(list_id)}) == 1, f"{list_id}: one source per list"


def test_published_counts_are_the_official_numbers() -> None:
    # 87 FR 10381 (50); USGS 2025 final list (60); Regulation (EU) 2024/1252 Annexes II (34)
    # and I (17); Japan: 34 stockpile types, 31 types in the older definition.
    assert curated.PUBLISHED_COUNTS == {"US2022": 50, "US2025": 60, "EU2023": 34, "EU2023_SRM": 17,
                                        "JP": 34, "JP_RM31": 31}


def test_catalogue_critical_2022_agrees_with_the_2022_us_list() -> None:
    on_list = {r["commodity_id"] for r in _members("US2022")}
    flagged = {cid for cid, r in CATALOGUE.items() if r["critical_2022"] == "true"}
    assert on_list - flagged == set(), f"on the 2022 list but critical_2022=false: {sorted(on_list - flagged)}"
    assert flagged - on_list == set(), f"critical_2022=true but not on the 2022 list: {sorted(flagged - on_list)}"


def test_us_lists_contents() -> None:
    us22 = {r["name_on_list"]: r["commodity_id"] for r in _members("US2022")}
    us25 = {r["name_on_list"]: r["commodity_id"] for r in _members("US2025")}
    # the 2025 list keeps all 50 of 2022 (arsenic and tellurium were only dropped in the draft)
    assert set(us22) <= set(us25)
    assert set(us25) - set(us22) == {"Boron", "Copper", "Lead", "Metallurgical coal", "Phosphate", "Potash",
                                     "Rhenium", "Silicon", "Silver", "Uranium"}
    ree = {"Cerium", "Dysprosium", "Erbium", "Europium", "Gadolinium", "Holmium", "Lanthanum", "Lutetium",
           "Neodymium", "Praseodymium", "Samarium", "Terbium", "Thulium", "Ytterbium"}
    assert {n for n, c in us22.items() if c == "rare_earths"} == ree
    assert (us22["Yttrium"], us22["Scandium"]) == ("yttrium", "scandium")
    assert {n: us22[n] for n in ("Iridium", "Ruthenium", "Platinum", "Palladium", "Rhodium")} == {
        "Iridium": "pgm", "Ruthenium": "pgm", "Platinum": "platinum", "Palladium": "palladium",
        "Rhodium": "rhodium"}
    assert "helium" not in set(us25.values()) and "strontium" not in set(us25.values())


def test_eu_lists_contents() -> None:
    crm = {r["commodity_id"] for r in _members("EU2023")}
    srm = {r["commodity_id"] for r in _members("EU2023_SRM")}
    assert srm <= crm, "every strategic raw material is also critical (Annex II)"
    assert {"coal", "helium", "feldspar", "phosphate_rock", "copper", "nickel"} <= crm
    assert "tin" not in crm and "indium" not in crm
    names = {r["name_on_list"] for r in _members("EU2023_SRM")}
    assert "bauxite/alumina/aluminium" in names  # the 17th, added by the Regulation


def test_japan_lists_contents() -> None:
    jp = {r["commodity_id"] for r in _members("JP")}
    old = {r["commodity_id"] for r in _members("JP_RM31")}
    assert {"graphite", "fluorspar", "magnesium", "silicon", "pgm"} <= jp  # C, F, Mg, Si, PGM
    assert {"palladium", "platinum"} <= old and not {"graphite", "silicon"} & old


def test_list_notes_explain_group_mappings() -> None:
    for r in _rows(LISTS)[1]:
        if r["commodity_id"] in {"rare_earths", "pgm"} and r["list_id"].startswith("US"):
            assert "group" in r["note"], f"{r['list_id']} {r['name_on_list']}: group mapping not explained"


# --- stage shares -------------------------------------------------------------------------
SHARE_COLS = ["commodity_id", "stage", "product", "country_iso3", "year", "share", "quantity", "unit",
              "source", "as_of", "note"]


def test_stage_shares_columns_and_rows() -> None:
    cols, rows = _rows(SHARES)
    assert cols == SHARE_COLS
    assert rows
    for i, r in enumerate(rows, start=2):
        where = f"stage_shares.csv line {i}"
        assert r["commodity_id"] in CATALOGUE, f"{where}: unknown commodity {r['commodity_id']!r}"
        assert r["stage"] in {"refinery", "separation", "metal", "magnet", "chemical"}, where
        assert r["product"].strip(), f"{where}: product blank"
        c = r["country_iso3"]
        assert _iso3_ok(c) or c in {"ROW", "EUROPE"}, f"{where}: bad country {c!r}"
        year = int(r["year"])
        assert 1990 <= year <= TODAY.year, where
        share = float(r["share"])
        assert 0.0 <= share <= 1.0, f"{where}: share {share}"
        if r["quantity"]:
            assert float(r["quantity"]) > 0 and r["unit"], f"{where}: quantity needs a unit"
        else:
            assert not r["unit"], f"{where}: unit without a quantity"
        assert URL.search(r["source"]), f"{where}: source has no URL"
        as_of = _as_of_ok(r["as_of"], where)
        assert year <= as_of.year, f"{where}: data year after the source date"
        if "more than" in r["note"]:
            assert "LOWER BOUND" in r["note"], f"{where}: a 'more than' figure must be flagged LOWER BOUND"


def test_stage_shares_sum_to_at_most_one_per_group() -> None:
    totals: dict[tuple[str, ...], float] = defaultdict(float)
    keys = set()
    for r in _rows(SHARES)[1]:
        group = (r["commodity_id"], r["stage"], r["product"], r["year"], r["source"])
        key = (*group, r["country_iso3"])
        assert key not in keys, f"duplicate row {key}"
        keys.add(key)
        totals[group] += float(r["share"])
    for group, total in totals.items():
        assert total <= 1.0 + curated.SHARE_SUM_TOLERANCE, f"{group[:4]}: shares sum to {total:.3f}"


def test_stage_shares_published_figures() -> None:
    rows = _rows(SHARES)[1]

    def share(cid: str, stage: str, country: str, year: int) -> float:
        hits = [r for r in rows if (r["commodity_id"], r["stage"], r["country_iso3"], r["year"])
                == (cid, stage, country, str(year))]
        assert len(hits) == 1, (cid, stage, country, year)
        return float(hits[0]["share"])

    # Project Blue via Reuters (2024-12-03): 98.8% refined gallium, 59.2% refined germanium, 2023.
    assert share("gallium", "refinery", "CHN", 2023) == pytest.approx(0.988)
    assert share("germanium", "refinery", "CHN", 2023) == pytest.approx(0.592)
    # 2010 sintered NdFeB: China 79.4%, Japan 19.3%, Europe 1.3% of 98,200 t - a complete split.
    magnets_2010 = [r for r in rows if r["stage"] == "magnet" and r["year"] == "2010"]
    assert sum(float(r["share"]) for r in magnets_2010) == pytest.approx(1.0, abs=0.001)
    assert share("manganese", "chemical", "JPN", 2022) == pytest.approx(0.11)


def test_iea_minerals_are_not_duplicated() -> None:
    """The IEA refining shares (Cu, Co, Li, Ni, graphite, magnet rare earths) are imported
    elsewhere; rows here for those minerals must come from another source."""
    for r in _rows(SHARES)[1]:
        hosts = re.findall(r"https?://([^/\s]+)", r["source"])
        assert hosts and not any(h.endswith("iea.org") for h in hosts), r["source"]
        assert "International Energy Agency" not in r["source"], r["source"]


# --- typed loader ---------------------------------------------------------------------------
def test_loaders_return_typed_frames() -> None:
    lists = curated.list_memberships()
    assert list(lists.columns) == curated.LIST_COLUMNS
    assert pd.api.types.is_datetime64_any_dtype(lists["as_of"])
    shares = curated.stage_shares()
    assert list(shares.columns) == curated.SHARE_COLUMNS
    assert shares["year"].dtype == "int64" and shares["share"].dtype == "float64"
    assert shares["quantity"].dtype == "float64" and shares["quantity"].notna().sum() >= 1
    assert len(lists) == len(_rows(LISTS)[1]) and len(shares) == len(_rows(SHARES)[1])
    lists.loc[lists.index[0], "note"] = "mutated"
    assert curated.list_memberships().iloc[0]["note"] != "mutated", "loaders return copies"


def test_list_helpers() -> None:
    assert "copper" in curated.list_members("US2025") and "copper" not in curated.list_members("US2022")
    assert curated.lists_for("copper") == ["US2025", "EU2023", "EU2023_SRM"]
    with pytest.raises(KeyError, match="unknown list"):
        curated.list_members("XX1999")


def _raw(name: str) -> pd.DataFrame:
    text = (CURATED / name).read_text(encoding="utf-8")
    return curated._read(text, name)


def test_share_validator_names_file_line_and_column() -> None:
    df = _raw("stage_shares.csv")
    df.loc[3, "share"] = "1.4"
    df.loc[4, "country_iso3"] = "XXX"
    df.loc[5, "stage"] = "smelting"
    with pytest.raises(curated.CuratedTableError) as exc:
        curated.validate_stage_shares(df, "stage_shares.csv")
    msg = str(exc.value)
    assert "stage_shares.csv, line 3, column 'share': found '1.4'" in msg
    assert "line 4, column 'country_iso3'" in msg and "line 5, column 'stage'" in msg
    assert len(exc.value.faults) == 3


def test_share_validator_rejects_sums_above_one_and_unit_mismatch() -> None:
    df = _raw("stage_shares.csv")
    mag = df.index[(df["year"] == "2010") & (df["country_iso3"] == "JPN")][0]
    df.loc[mag, "share"] = "0.3"  # 0.794 + 0.3 + 0.013 > 1
    df.loc[df.index[0], "unit"] = "t"  # unit without quantity
    with pytest.raises(curated.CuratedTableError) as exc:
        curated.validate_stage_shares(df)
    msg = str(exc.value)
    assert "summing to at most 1" in msg and "a unit exactly when a quantity is given" in msg


def test_list_validator_rejects_bad_rows() -> None:
    df = _raw("list_memberships.csv")
    df.loc[2, "commodity_id"] = "unobtainium"
    df.loc[3, "as_of"] = "Feb 2022"
    df.loc[4, "source"] = "USGS (no link)"
    with pytest.raises(curated.CuratedTableError) as exc:
        curated.validate_list_memberships(df, "list_memberships.csv")
    msg = str(exc.value)
    for needle in ("line 2, column 'commodity_id': found 'unobtainium'", "line 3, column 'as_of'",
                   "line 4, column 'source'"):
        assert needle in msg
    missing = _raw("list_memberships.csv").drop(columns=["note"])
    with pytest.raises(curated.CuratedTableError, match="note"):
        curated.validate_list_memberships(missing)


def test_csvs_ship_as_package_data() -> None:
    pkg = resources.files("critmin.data.curated")
    for name in ("list_memberships.csv", "stage_shares.csv"):
        assert pkg.joinpath(name).is_file(), name

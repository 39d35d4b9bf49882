"""Price units of the USGS MCS salient tables (critmin.data.normalize.prices).

References, none of them critmin's own numbers:
* the MCS releases' metadata (``mcs2025-<code>_meta.xml``): every price column's unit in words,
  read here from the raw files and mapped to a unit with the table :data:`WORDS` below;
* the MCS 2025 tungsten and manganese salient tables (2024: 250 US$/mtu WO3, 5.8 US$/mtu Mn)
  with the metadata's "a metric ton unit of tungsten trioxide contains 7.93 kilograms of
  tungsten" (1 mtu = 10 kg): 250 x 100 / 0.793 = 31,526 US$/t W; 5.8 x 100 = 580 US$/t Mn;
* the World Bank Pink Sheet (monthly prices, CC BY 4.0, in the warehouse) for the metals it
  quotes: the model's salient price must lie within a band of the Pink Sheet's annual mean;
* world trade unit values (CEPII BACI, HS 2602 manganese ores, HS 2611 tungsten ores) against
  the price per t of contained metal: the implied metal content of the traded ore must be a
  possible one (HS 2602 covers ores of 20 % Mn or more, the richest ores are about 55 % Mn;
  pure WO3 is 79.3 % W, so no tungsten concentrate holds more).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from critmin.data.ingest.usgs_salient import decode_variable
from critmin.data.normalize import commodities
from critmin.data.normalize.prices import (
    NON_MASS_PRICE_UNITS,
    PRICE_OVERRIDES,
    UNIT_UNKNOWN,
    salient_price_unit,
)
from critmin.data.normalize.units import PRICE_TO_USD_PER_T, price_to_usd_per_t

#: the metadata's unit words (``attrunit``, else the start of ``attrdef``) -> the unit they name
WORDS = [
    (r"dry metric ton unit of tungsten trioxide", "USD/mtu WO3"),
    (r"dollars per metric ton unit", "USD/mtu Mn"),
    (r"kilogram of ta2o5 content", "USD/kg Ta2O5"),
    (r"ton of k2o equivalent", "USD/t K2O"),
    (r"lithium carbonate, dollars per metric ton", "USD/t Li2CO3"),
    (r"vanadium pentoxide, dollars per pound", "USD/lb V2O5"),
    (r"dollars per (metric )?ton", "USD/t"),
    (r"dollars ?(per|/) ?kilogram", "USD/kg"),
    (r"dollars per gram", "USD/g"),
    (r"dollars per troy ounce", "USD/troy oz"),
    (r"dollars per short ton", "USD/short ton"),
    (r"dollars per pound", "USD/lb"),
    (r"cents per pound", "USc/lb"),
    (r"dollars per carat", "USD/carat"),
    (r"^index$", "index"),
]


def _words_unit(text: str) -> str | None:
    low = text.strip().lower()
    return next((u for rx, u in WORDS if re.search(rx, low)), None)


def _metadata_price_units(meta: Path) -> list[tuple[str, str | None]]:
    """(label, unit) of the price attributes of a metadata file, in file order."""
    out = []
    for a in ET.parse(meta).getroot().iter("attr"):
        label = (a.findtext("attrlabl") or "").strip()
        if decode_variable(label)[0] != "price":
            continue
        unit_words, definition = (a.findtext(".//attrunit") or "").strip(), a.findtext("attrdef") or ""
        # the definition names the product priced (lithium carbonate, V2O5); the unit words the unit
        words = definition if re.search(r"lithium carbonate|vanadium pentoxide", definition, re.I) else (
            unit_words or definition)
        out.append((label, _words_unit(words)))
    return out


def _csv_price_columns(csv: Path) -> list[str]:
    header = csv.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    return [h.strip() for h in header if h.strip() and decode_variable(h.strip())[0] == "price"]


def _mcs2025_pairs(data_dir: Path) -> list[tuple[str, str, str, str | None]]:
    """(file, commodity id, CSV column, metadata unit) for every MCS 2025 price column: the
    metadata attribute of the same label, else of the same position (the labels are sometimes
    spelt otherwise, in the CSV's order)."""
    d = data_dir / "usgs_mcs2025" / "salient_commodity"
    out = []
    for csv in sorted(d.glob("mcs2025-*_salient.csv")):
        code = re.search(r"mcs2025-([a-z-]+)_salient", csv.name).group(1)
        cid = commodities.resolve_or_none(code) or commodities.resolve_or_none(
            csv.read_text(encoding="utf-8-sig").splitlines()[1].split(",")[1].strip())
        # lithium's metadata file is named mcs2025-lithi_meta.xml
        meta = d / ("mcs2025-lithi_meta.xml" if code == "lithium" else csv.name.replace("_salient.csv", "_meta.xml"))
        cols, units = _csv_price_columns(csv), _metadata_price_units(meta)
        if code == "feste":  # the steel price index column is 'Prod_Price_index' (a producer price index)
            assert cols == [] and units == [("Price_Index", "index")]
            continue
        by_label = dict(units)
        for i, c in enumerate(cols):
            if c in by_label:  # the same label
                u = by_label[c]
            elif len(cols) == len(units):  # else the same position
                u = units[i][1]
            else:  # else the metadata's one unit (lead: the CSV has one of its two columns)
                assert len({u for _, u in units}) == 1, f"{csv.name}: {cols} vs metadata {units}"
                u = units[0][1]
            out.append((csv.name, cid, c, u))
    return out


def test_every_mcs2025_price_column_has_the_unit_its_metadata_states(data_dir: Path) -> None:
    pairs = _mcs2025_pairs(data_dir)
    assert len(pairs) > 150
    wrong = []
    for name, cid, col, meta_unit in pairs:
        unit, flag = salient_price_unit(cid, col, decode_variable(col)[1])
        if meta_unit is None and unit in NON_MASS_PRICE_UNITS:  # dimension stone 'mdol': no unit words
            continue
        if unit is None:  # flagged: the CSV suffix and the metadata disagree (arsenic: _dkg vs dollars per pound)
            assert flag == UNIT_UNKNOWN and decode_variable(col)[1] != meta_unit, (name, col)
            continue
        if unit != meta_unit:
            wrong.append((name, col, unit, meta_unit))
    assert wrong == []


def test_tungsten_and_manganese_are_per_metric_ton_unit_of_content(data_dir: Path) -> None:
    pairs = {(n, c): u for n, _, c, u in _mcs2025_pairs(data_dir)}
    assert pairs[("mcs2025-tungs_salient.csv", "Price_WO3_dt")] == "USD/mtu WO3"
    assert pairs[("mcs2025-manga_salient.csv", "Price_CN_CIF_dt")] == "USD/mtu Mn"
    # MCS 2025 2024 values, 250 US$/mtu WO3 and 5.8 US$/mtu Mn, worked by hand
    assert 250 * price_to_usd_per_t("USD/mtu WO3") == pytest.approx(250 * 100 / 0.793, rel=1e-9)
    assert 250 * price_to_usd_per_t("USD/mtu WO3") == pytest.approx(31_526, abs=1)
    assert 5.8 * price_to_usd_per_t("USD/mtu Mn") == pytest.approx(580)
    # MCS 2025 2024: lithium carbonate 14,000 US$/t -> per t Li (Li2CO3 = 2 x 6.94 + 12.011 + 3 x 15.999);
    # V2O5 5.45 US$/lb -> per t V (V2O5 = 2 x 50.9415 + 5 x 15.999)
    assert 14_000 * price_to_usd_per_t("USD/t Li2CO3") == pytest.approx(14_000 * 73.888 / 13.88, rel=1e-9)
    assert 14_000 * price_to_usd_per_t("USD/t Li2CO3") == pytest.approx(74_527, abs=1)
    assert 5.45 * price_to_usd_per_t("USD/lb V2O5") == pytest.approx(5.45 * 2204.62262 / 0.560170, rel=1e-5)
    # tantalite: US$/kg of Ta2O5 content -> per t of Ta; Ta2O5 = 2 x 180.948 + 5 x 15.999 = 441.891
    assert price_to_usd_per_t("USD/kg Ta2O5") == pytest.approx(1000 * 441.891 / 361.896, rel=1e-4)


def test_overrides_name_only_units_of_the_unit_table() -> None:
    for key, o in PRICE_OVERRIDES.items():
        assert o.unit is None or o.unit in PRICE_TO_USD_PER_T or o.unit in NON_MASS_PRICE_UNITS, key
        assert o.source.strip(), key


def test_warehouse_price_rows_have_a_known_unit_or_are_flagged(warehouse) -> None:
    df = warehouse.query("SELECT commodity_id, trim(variable) AS variable, unit, flag FROM us_salient "
                         "WHERE category = 'price'")
    known = set(PRICE_TO_USD_PER_T) | NON_MASS_PRICE_UNITS
    bad = df[~df["unit"].isin(known) & (df["flag"].isna() | df["unit"].notna())]
    assert bad.empty, bad.drop_duplicates(["commodity_id", "variable"]).to_string()
    mtu = df[df["commodity_id"].isin(["tungsten", "manganese"])]
    assert set(mtu["unit"]) == {"USD/mtu WO3", "USD/mtu Mn"}


@pytest.fixture(scope="module")
def market(warehouse):
    from critmin.disruption.inputs import market_from_warehouse

    return market_from_warehouse(warehouse, ["aluminum", "copper", "tin", "nickel", "lead", "zinc", "platinum",
                                             "tungsten", "manganese", "lithium", "vanadium"], cache=False)


# Pink Sheet series -> (commodity, US$/t per Pink Sheet unit): US$/mt is per metric ton; a troy
# ounce is 31.1034768 g
PINK = {"ALUMINUM": ("aluminum", 1.0), "COPPER": ("copper", 1.0), "Tin": ("tin", 1.0), "NICKEL": ("nickel", 1.0),
        "LEAD": ("lead", 1.0), "Zinc": ("zinc", 1.0), "PLATINUM": ("platinum", 1e6 / 31.1034768)}


@pytest.mark.parametrize("series", sorted(PINK))
def test_model_price_is_within_a_band_of_the_pink_sheet(warehouse, market, series: str) -> None:
    cid, per_t = PINK[series]
    cm = market.commodities[cid]
    year = int(re.search(r"\((\d{4})\)", cm.price_note).group(1))
    got = warehouse.query("SELECT avg(quantity) AS q, count(*) AS n FROM price WHERE series = ? AND frequency = 'M' "
                          "AND year(date) = ?", [series, year])
    assert int(got["n"].iloc[0]) == 12
    pink = float(got["q"].iloc[0]) * per_t
    # USGS quotes US producer / North American prices (with the regional premium) beside LME
    # cash: a band of -25 % / +40 % around the Pink Sheet's LME-based annual mean
    assert 0.75 <= cm.price_usd_per_t / pink <= 1.40, (cid, year, cm.price_usd_per_t, pink)


def _world_unit_value(warehouse, hs: str, year: int) -> float:
    got = warehouse.query("SELECT sum(value_usd) / sum(qty_t) AS uv FROM trade WHERE source = 'BACI' AND hs_code = ? "
                          "AND year = ? AND qty_t > 0", [hs, year])
    return float(got["uv"].iloc[0])


def test_manganese_price_implies_a_possible_ore_grade(warehouse, market) -> None:
    cm = market.commodities["manganese"]
    year = int(re.search(r"\((\d{4})\)", cm.price_note).group(1))
    grade = _world_unit_value(warehouse, "260200", year) / cm.price_usd_per_t  # t Mn per t of ore
    assert 0.20 <= grade <= 0.55, grade  # read as US$/t of ore, 5.8 US$/t would imply 2,600 % Mn


def test_tungsten_price_implies_a_possible_concentrate_grade(warehouse, market) -> None:
    cm = market.commodities["tungsten"]
    year = int(re.search(r"\((\d{4})\)", cm.price_note).group(1))
    w_share = _world_unit_value(warehouse, "261100", year) / cm.price_usd_per_t  # t W per t of concentrate
    assert 0.10 <= w_share <= 0.793, w_share  # read as US$/t, 250 US$/t would imply 3,900 % W


#: factors a misread unit would leave between two releases' values of one price (kg/lb, t/kg,
#: mtu, t/lb, kg/troy oz, flask); not the short ton (1.102: a revision of 10 % looks the same)
UNIT_FACTORS = (1 / 0.45359237, 1000.0, 100.0, 1e3 / 0.45359237, 1e3 / 31.1034768, 34.473)


def test_lithium_price_implies_the_lithium_share_of_lithium_carbonate(warehouse, market) -> None:
    """HS 283691 is lithium carbonate, 18.785 % Li (2 x 6.94 / 73.888): its world unit value over
    the model's price per t of contained Li is that share, give or take the gap between contract
    and trade prices (MCS 2025: 14,000 US$/t of carbonate in 2024 = 74,527 US$/t Li)."""
    cm = market.commodities["lithium"]
    year = int(re.search(r"\((\d{4})\)", cm.price_note).group(1))
    li_share = _world_unit_value(warehouse, "283691", year) / cm.price_usd_per_t
    assert 0.12 <= li_share <= 0.28, li_share  # read per t of carbonate: 0.81


def test_vanadium_price_implies_a_possible_oxide_grade(warehouse, market) -> None:
    """HS 282530 vanadium oxides: the world unit value over the model's price per t of contained V
    is the V share of the traded oxide; V2O5 is 56.0 % V and V2O3, the most reduced oxide traded,
    68.0 %."""
    cm = market.commodities["vanadium"]
    year = int(re.search(r"\((\d{4})\)", cm.price_note).group(1))
    v_share = _world_unit_value(warehouse, "282530", year) / cm.price_usd_per_t
    assert 0.30 <= v_share <= 0.68, v_share  # read per t of V2O5: 0.88


def test_no_two_releases_differ_by_a_unit_factor(warehouse) -> None:
    """A price the MCS publishes in two releases for one year may be revised (an estimate replaced
    by the count: lithium 2022 37,000 -> 71,100 US$/t), but not by a unit factor: the MCS 2024
    selenium columns, headed US$/lb, were 2.15-2.30 x the MCS 2023 values until read as US$/kg."""
    df = warehouse.query(
        "SELECT s.commodity_id, trim(s.variable) AS variable, s.year, d.vintage, s.quantity, s.unit "
        "FROM us_salient s JOIN dataset d USING (dataset_id) WHERE s.category = 'price' AND s.quantity > 0")
    df = df[df["unit"].isin(list(PRICE_TO_USD_PER_T))]
    df = df.assign(usd_t=df["quantity"] * df["unit"].map(PRICE_TO_USD_PER_T))
    pairs = df.merge(df, on=["commodity_id", "variable", "year"])
    pairs = pairs[pairs["vintage_x"] < pairs["vintage_y"]]
    assert len(pairs) > 300
    ratio = pairs["usd_t_y"] / pairs["usd_t_x"]
    near = sum(((ratio / f).between(0.95, 1.05) | (ratio * f).between(0.95, 1.05)) for f in UNIT_FACTORS)
    assert pairs[near > 0].empty, pairs[near > 0].to_string()
    se = pairs[(pairs["commodity_id"] == "selenium") & (pairs["year"] == 2019)]
    assert not se.empty and (se["usd_t_y"] / se["usd_t_x"]).between(0.9, 1.1).all()


def _raw_2024(data_dir: Path, name: str, column: str) -> float:
    lines = (data_dir / "usgs_mcs2025" / "salient_commodity" / name).read_text(encoding="utf-8-sig").splitlines()
    header = lines[0].split(",")
    row = next(r.split(",") for r in lines[1:] if r.split(",")[2] == "2024")
    return float(row[header.index(column)])


@pytest.mark.parametrize(("cid", "name", "column", "published", "per_t"), [
    ("tungsten", "mcs2025-tungs_salient.csv", "Price_WO3_dt", 250.0, 100 / 0.793),  # 1 mtu WO3 holds 7.93 kg W
    ("manganese", "mcs2025-manga_salient.csv", "Price_CN_CIF_dt", 5.8, 100.0),  # 1 mtu = 10 kg Mn
    ("lithium", "mcs2025-lithium_salient.csv", "Price_dt", 14_000.0, 73.888 / 13.88),  # Li2CO3 -> Li
    ("vanadium", "mcs2025-vanad_salient.csv", "Price_V2O5_dlb", 5.45, 2204.62262 * 181.878 / 101.883),  # V2O5 -> V
])
def test_model_price_is_the_raw_file_value_per_t_of_contained_metal(data_dir: Path, market, cid, name, column,
                                                                   published, per_t) -> None:
    raw = _raw_2024(data_dir, name, column)
    assert raw == published  # MCS 2025, 2024 (estimated)
    cm = market.commodities[cid]
    assert "(2024)" in cm.price_note
    assert cm.price_usd_per_t == pytest.approx(raw * per_t, rel=1e-5)
